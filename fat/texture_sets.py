"""PBR texture sets for the scenery (ground and props): colour, normal, roughness, metalness maps.

A folder of sets in ambientCG's layout (the ``cc_textures`` BlenderProc downloads too):

```
DIR/<Name>/<Name>_<res>_Color.jpg       sRGB albedo (required)
DIR/<Name>/<Name>_<res>_NormalGL.jpg    tangent-space normal, OpenGL convention (green up)
DIR/<Name>/<Name>_<res>_Normal.jpg      ... the older name BlenderProc users have (taken as OpenGL)
DIR/<Name>/<Name>_<res>_Roughness.jpg   linear roughness
DIR/<Name>/<Name>_<res>_Metalness.jpg   linear metalness (metals only)
```

``<res>`` is any tag (``1K``, ``2K``, ``512``); PNG files are taken as well. The project ships six
small sets in ``scenes/textures/`` (CC0, see its SOURCE.md) that the locations' surfaces use by kind.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

#: The scenery kinds (fat.textures) drawn with a shipped set, and the set.
SHIPPED = {"tiles": "Tiles107", "marble": "Marble006", "wood": "rosewood_veneer1", "stone": "Rock058",
           "rock": "Rock053", "gravel": "Ground054", "sand": "Ground054"}
_MAP = re.compile(r"^(?P<name>.+?)_(?P<res>[^_]+)_(?P<map>Color|NormalGL|Normal|Roughness|Metalness)\.(?:jpe?g|png)$", re.I)


@dataclass(frozen=True)
class TextureSet:
    name: str
    color: Path
    normal: Path | None = None
    roughness: Path | None = None
    metalness: Path | None = None


def read_set(folder: Path) -> TextureSet | None:
    """The set in ``folder`` (None when it holds no ``_Color`` map). Of several resolutions, the
    first by name is taken."""
    maps: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        m = _MAP.match(p.name)
        if m and p.is_file():
            kind = m.group("map").lower()
            kind = "normal" if kind in ("normalgl", "normal") and "normal" not in maps else kind
            maps.setdefault(kind, p)
    if "color" not in maps:
        return None
    return TextureSet(folder.name, maps["color"], maps.get("normal"), maps.get("roughness"), maps.get("metalness"))


@functools.lru_cache(maxsize=8)
def texture_sets(folder: str) -> tuple[TextureSet, ...]:
    """Every set of ``folder`` (its sub-folders), sorted by name; a ConfigError when there is none."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{root}: no such folder of texture sets")
    sets = tuple(s for s in (read_set(d) for d in sorted(root.iterdir()) if d.is_dir()) if s is not None)
    if not sets:
        raise ConfigError(f"{root}: no texture set (<Name>/<Name>_<res>_Color.jpg) in the folder")
    return sets


def shipped_folder() -> Path:
    from .scene import scenes_folder

    return Path(str(scenes_folder().joinpath("textures")))


def surface_set(location: str, surface_name: str, kind: str, user: str | None = None) -> TextureSet | None:
    """The set a scenery surface is drawn with: with ``user`` sets, one of them chosen by the sha256
    of the location and surface names (every surface gets one); else the shipped set of its kind, or
    None (its procedural texture)."""
    if user:
        sets = texture_sets(user)
        key = hashlib.sha256(f"{location}/{surface_name}".encode()).digest()
        return sets[int.from_bytes(key[:8], "big") % len(sets)]
    name = SHIPPED.get(kind)
    if name is None:
        return None
    return read_set(shipped_folder() / name)
