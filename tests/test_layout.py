"""The layout stays readable: small modules and functions, every package described in
docs/architecture.md's layout table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _sources():
    for top in ("fat", "cli"):
        yield from sorted((ROOT / top).rglob("*.py"))


def test_no_module_over_600_lines_and_no_function_over_80():
    """Catches: a module or a function growing into several concerns again."""
    long_modules, long_functions = [], []
    for path in _sources():
        text = path.read_text("utf-8")
        rel = path.relative_to(ROOT)
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert not long_modules, long_modules
    assert not long_functions, long_functions


def _layout_rows() -> dict[str, str]:
    """docs/architecture.md's layout table: the path of each row (its first cell) -> the row."""
    doc = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    section = doc[doc.index("## Layout"):]
    section = section[:section.index("\n## ", 4)]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| `([^`]+)`", line)
        if m:
            rows[m.group(1)] = line
    return rows


def test_the_architecture_layout_names_every_package_and_module():
    """Catches: a package or module added without a word in docs/architecture.md's layout table (in
    its package's row, or a row of its own), or the table naming one that is gone."""
    rows = _layout_rows()
    missing = []
    for path in _sources():
        rel = path.relative_to(ROOT)
        folder = rel.parent.as_posix() + "/"
        if path.name == "__init__.py":
            if folder not in rows:
                missing.append(folder)
            continue
        own = rows.get(rel.as_posix())
        if own is None and not (folder in rows and f"`{path.name}`" in rows[folder]) and not path.name.startswith("_"):
            missing.append(rel.as_posix())
    assert not missing, f"not in docs/architecture.md's layout table: {missing}"
    for row in rows.values():
        for name in re.findall(r"`((?:fat|cli)/[\w/]+\.py)`", row):
            assert (ROOT / name).is_file(), f"the layout table names {name}, which is gone"
