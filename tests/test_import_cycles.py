"""No import cycle among the package's modules: every module of ``fat`` (with ``cli/``, ``objects/``
and ``scenes/`` as the ``fat.cli``, ``fat.objects`` and ``fat.scenes`` they install as) is parsed, and
every import counts, those inside functions too: a cycle hidden in a function is still two modules
that cannot be understood, tested or replaced apart."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"fat": ROOT / "fat", "fat.cli": ROOT / "cli", "fat.objects": ROOT / "objects", "fat.scenes": ROOT / "scenes"}


def modules(packages: dict[str, Path]) -> dict[str, Path]:
    """Module name -> source file, for every .py file under each package folder."""
    out = {}
    for name, folder in packages.items():
        for f in sorted(folder.rglob("*.py")):
            parts = [name, *f.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = f
    return out


def imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (``from a import b`` counts as ``a.b`` when that is a
    module, else as ``a``)."""
    graph = {}
    for m, f in mods.items():
        package = m if f.name == "__init__.py" else m.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(f.read_text("utf-8"), str(f))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in names:
                while t and t not in mods:  # fat.geometry.Intrinsics -> fat.geometry
                    t = t.rpartition(".")[0]
                if t and t != m and not m.startswith(t + "."):  # a module's own package's __init__ runs first anyway
                    found.add(t)
        graph[m] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_cycle():
    graph = imports(modules(PACKAGES))
    assert len(graph) > 30  # the whole package was read
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_check_finds_a_cycle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "p"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub.b import thing\n")
    (pkg / "sub" / "b.py").write_text("def thing():\n    from ..a import x\n    return x\n")
    (pkg / "c.py").write_text("from . import a\n")  # imports into the cycle, is not part of it
    graph = imports(modules({"p": pkg}))
    assert graph["p.c"] == {"p.a"}
    assert cycles(graph) == [["p.a", "p.sub.b"]]
