"""Plugin registries: entry points of a group, plus the project's own plugins.

Renderers (group ``fat.renderers``) and exports (group ``fat.exports``) are found through entry
points, ours among them (pyproject.toml registers them). The project's own are also known by name
here, so that a source checkout that was never installed (``python -m pytest`` or a notebook at the
repository root, where no entry points are recorded) still has them; an installed distribution's
entry point of the same name comes first.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points


def registered(group: str, builtin: dict[str, str]) -> dict[str, EntryPoint]:
    """Name -> entry point of ``group``: the installed ones (the first distribution on the path wins
    a name, as for imports), then ``builtin`` (name -> ``module:attribute``) for names not installed."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)
    for name, value in builtin.items():
        found.setdefault(name, EntryPoint(name, value, group))
    return found
