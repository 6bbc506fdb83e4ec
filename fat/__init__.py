"""fat: make, load and study Falling Things (FAT) style synthetic datasets."""

import os as _os
import sys as _sys

__version__ = "0.1.0"

#: Subpackages that live in top-level folders of the repository and are mapped into ``fat`` when the
#: package is installed (pyproject.toml's package-dir): ``cli/`` is ``fat.cli`` and so on.
_MAPPED = {"fat.cli": "cli", "fat.objects": "objects", "fat.scenes": "scenes"}


class _CheckoutFinder:
    """Finds ``fat.cli``, ``fat.objects`` and ``fat.scenes`` in the repository's top-level folders when
    ``fat`` is imported from a source checkout (``python -m pytest`` or a notebook at the repository
    root, where the working directory comes first on ``sys.path``), as an install maps them. An
    installed package has them inside ``fat/`` and never needs this finder."""

    root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        folder = _MAPPED.get(name)
        if folder is None:
            return None
        init = _os.path.join(cls.root, folder, "__init__.py")
        if not _os.path.isfile(init):
            return None
        from importlib.util import spec_from_file_location

        return spec_from_file_location(name, init, submodule_search_locations=[_os.path.dirname(init)])


if not _os.path.isdir(_os.path.join(_os.path.dirname(__file__), "cli")) and _CheckoutFinder not in _sys.meta_path:
    _sys.meta_path.append(_CheckoutFinder)


def __getattr__(name):  # fat.Dataset without importing OpenCV for every ``import fat``
    if name == "Dataset":
        from .dataset import Dataset

        return Dataset
    raise AttributeError(f"module 'fat' has no attribute {name!r}")
