"""fat: make, load and study Falling Things (FAT) style synthetic datasets."""

__version__ = "0.1.0"


def __getattr__(name):  # fat.Dataset without importing OpenCV for every ``import fat``
    if name == "Dataset":
        from .dataset import Dataset

        return Dataset
    raise AttributeError(f"module 'fat' has no attribute {name!r}")
