"""``import fat`` and ``python -m pytest`` from the repository root, as many users run them: the
working directory comes first on ``sys.path``, so Python imports the source tree, where ``fat.cli``,
``fat.objects`` and ``fat.scenes`` are the top-level folders ``cli/``, ``objects/``, ``scenes/``.

Each check runs in a fresh interpreter from which the editable install's import hook is removed, so
that it sees the checkout as a user without an editable install does (``pip install .`` elsewhere, or
no install beside the dependencies)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: run first in each child: forget the editable install's finders, any installed fat and the entry
#: points its installation recorded (a checkout that was never installed has none)
_AS_CHECKOUT = (
    "import sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in str(getattr(f, '__module__', ''))]\n"
    "sys.path[:] = [p for p in sys.path if 'fat_datasets' not in p]\n"
    "import importlib.metadata as _m\n"
    "_all = _m.entry_points\n"
    "_m.entry_points = lambda **kw: [] if kw.get('group', '').startswith('fat.') else _all(**kw)\n"
)


def _python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _AS_CHECKOUT + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_import_fat_from_the_checkout_finds_the_mapped_packages():
    r = _python(
        "import fat, fat.objects, fat.scenes, fat.cli.main\n"
        "from importlib import resources\n"
        "from fat import catalog\n"
        "print(fat.__file__); print(fat.objects.__file__); print(fat.cli.main.__file__)\n"
        "print(len(catalog.fat_objects().objects))\n"
        "print(len(resources.files('fat.scenes').joinpath('kitchen.json').read_text('utf-8')) > 0)\n"
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0] == str(ROOT / "fat" / "__init__.py")  # the source tree, not an installed copy
    assert lines[1] == str(ROOT / "objects" / "__init__.py")
    assert lines[2] == str(ROOT / "cli" / "main.py")
    assert lines[3] == "21" and lines[4] == "True"


def test_the_cli_runs_from_the_checkout():
    r = _python("import sys; sys.argv = ['fat', 'objects']\nfrom fat.cli.main import main\nmain()\n")
    assert r.returncode == 0, r.stderr
    assert "011_banana" in r.stdout


def test_the_plugins_of_the_project_are_there_without_an_install():
    r = _python("import sys; sys.argv = ['fat', 'export', '--help']\nfrom fat.cli.main import main\nmain()\n")
    assert r.returncode == 0, r.stderr
    assert all(f"  {name} " in r.stdout for name in ("coco", "bop", "hdf5")), r.stdout


@pytest.mark.slow
def test_python_m_pytest_from_the_root_collects_the_suite():
    r = _python("import pytest\nsys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider']))\n")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    collected = [line for line in r.stdout.splitlines() if "::" in line]
    files = {line.split("::")[0] for line in collected}
    on_disk = {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")}
    assert files == on_disk, f"not collected: {sorted(on_disk - files)}"
    assert "error" not in r.stdout.splitlines()[-1].lower()
