"""An object-set file (TOML or JSON): the objects, their meshes and everything about them.

```toml
name = "workshop"          # the set's name (default: the file's stem)
supercategory = "tools"    # COCO's supercategory of its classes (default: objects)
units = "mm"               # default units of the meshes: mm, cm, m or metres per unit (default: m)
align = "aabb"             # default alignment: aabb (NDDS) or obb (default: aabb)

[[objects]]
name = "drill"             # required
mesh = "meshes/drill.ply"  # required; relative to this file
class = "drill"            # the class written in the dataset (default: the name)
units = "mm"               # overrides the set's
mass = 1.2                 # kg (default: volume x 500 kg/m^3)
segmentation_id = 40       # mixed folders' id, 1..255 (default: the spread rule)
collision = "meshes/drill_parts.obj"  # convex parts, one closed part after another (V-HACD's output)
align = "obb"
transform = [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]  # metres, applied before the box
symmetry = { symmetries_continuous = [{ axis = [0, 0, 1], offset = [0, 0, 0] }] }  # BOP's form
roughness = 0.3            # the material (glTF metallic-roughness, 0..1; default: a glTF file's own,
metallic = 0.0             # else by class name); each value given overrides the file's
specular = 1.0             # 0: no specular reflection at all
```

JSON files hold the same keys (``{"objects": [{"name": ..., "mesh": ...}]}``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..catalog import ObjectSet
from ..errors import ConfigError
from .build import ALIGNMENTS, Entry, make_set, quality_warnings, units_scale

SUFFIXES = (".toml", ".json")
SET_KEYS = {"name", "supercategory", "units", "align", "objects", "about"}
OBJECT_KEYS = {"name", "mesh", "class", "units", "mass", "segmentation_id", "collision", "align", "transform", "symmetry",
               "roughness", "metallic", "specular"}
SYMMETRY_KEYS = {"symmetries_discrete", "symmetries_continuous"}
#: The material's values a set may give; a glTF file's own metallic and roughness are used for those it does not.
MATERIAL_KEYS = ("roughness", "metallic", "specular")


def _parse(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the object-set file: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the object-set file is not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise ConfigError(f"{path}: not valid JSON: {e}") from None
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a table (a JSON object) at the top level")
    return doc


def _file(path: Path, where: str, key: str, value) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}: expected a file name, got {value!r}")
    p = (path.parent / Path(value).expanduser()).resolve() if not Path(value).expanduser().is_absolute() else Path(value).expanduser()
    if not p.is_file():
        raise ConfigError(f"{where}.{key}: no such file {p}")
    return p


def _transform(where: str, value) -> np.ndarray:
    try:
        T = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        T = None
    if T is None or T.shape != (4, 4) or not np.isfinite(T).all():
        raise ConfigError(f"{where}.transform: expected a 4x4 matrix of numbers (rows), got {value!r}")
    if not np.allclose(T[3], [0, 0, 0, 1]) or abs(np.linalg.det(T[:3, :3])) < 1e-12:
        raise ConfigError(f"{where}.transform: the last row must be [0, 0, 0, 1] and the 3x3 part invertible")
    return T


def _symmetry(where: str, value):
    if value is None or value == "none":
        return None
    if not isinstance(value, dict) or not set(value) <= SYMMETRY_KEYS:
        raise ConfigError(f"{where}.symmetry: expected \"none\" or a table of {' / '.join(sorted(SYMMETRY_KEYS))} "
                          f"(BOP's models_info form), got {value!r}")
    return check_symmetry(f"{where}.symmetry", value)


def _numbers(value, n: int) -> np.ndarray | None:
    """``value`` as ``n`` finite numbers (a flat list, or nested lists of them), else None."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        return None
    try:
        a = np.array(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    if a.size != n or not np.isfinite(a).all():
        return None
    flat = np.array(value, dtype=object).ravel()
    if any(isinstance(x, bool) for x in flat):
        return None
    return a


def check_symmetry(where: str, value: dict) -> dict:
    """BOP's symmetries (``models_info.json``'s form), each checked: a continuous one's ``axis`` is 3
    numbers, not all 0 (an axis of (0, 0, 0) names no axis), its ``offset`` 3 numbers (mm); a
    discrete one is a 4x4 transform (16 numbers, rows; translation in mm) whose 3x3 part is a
    rotation and whose last row is 0, 0, 0, 1. Returns ``value`` as given."""
    continuous = value.get("symmetries_continuous", [])
    if not isinstance(continuous, list):
        raise ConfigError(f"{where}.symmetries_continuous: expected a list of {{axis, offset}} tables, got {continuous!r}")
    for k, sym in enumerate(continuous):
        at = f"{where}.symmetries_continuous[{k}]"
        if not isinstance(sym, dict) or "axis" not in sym or not set(sym) <= {"axis", "offset"}:
            raise ConfigError(f"{at}: expected a table of axis and offset, got {sym!r}")
        axis = _numbers(sym["axis"], 3)
        if axis is None or not np.linalg.norm(axis) > 1e-9:
            raise ConfigError(f"{at}.axis: expected 3 numbers, not all 0 (the direction of the axis), got {sym['axis']!r}")
        if "offset" in sym and _numbers(sym["offset"], 3) is None:
            raise ConfigError(f"{at}.offset: expected 3 numbers (a point of the axis, mm), got {sym['offset']!r}")
    discrete = value.get("symmetries_discrete", [])
    if not isinstance(discrete, list):
        raise ConfigError(f"{where}.symmetries_discrete: expected a list of 4x4 transforms, got {discrete!r}")
    for k, sym in enumerate(discrete):
        at = f"{where}.symmetries_discrete[{k}]"
        T = _numbers(sym, 16)
        if T is None:
            raise ConfigError(f"{at}: expected a 4x4 transform (16 numbers, rows; translation in mm), got {sym!r}")
        T = T.reshape(4, 4)
        R = T[:3, :3]
        if not np.allclose(T[3], [0, 0, 0, 1]) or not np.allclose(R @ R.T, np.eye(3), atol=1e-3) \
                or not np.linalg.det(R) > 0:
            raise ConfigError(f"{at}: not a rigid transform (its 3x3 part must be a rotation and its last row "
                              f"0, 0, 0, 1), got {sym!r}")
    return value


def _material(where: str, o: dict):
    """A :class:`~fat.render.materials.Material` from ``roughness``, ``metallic`` and ``specular``
    (each 0..1; glTF's metallic-roughness model, ``specular`` 0 for a purely diffuse surface)."""
    keys = [k for k in MATERIAL_KEYS if k in o]
    if not keys:
        return None
    from ..render.materials import DEFAULT_OBJECT, Material

    values = {}
    for k in keys:
        v = o[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ConfigError(f"{where}.{k}: expected a number 0..1, got {v!r}")
        values[k] = float(v)
    return Material(**{**DEFAULT_OBJECT.__dict__, **values})


class SetFile:
    name = "setfile"
    help = "an object-set file (TOML or JSON)"

    def claims(self, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in SUFFIXES

    def load(self, path: Path, options) -> ObjectSet:
        doc = _parse(path)
        unknown = sorted(set(doc) - SET_KEYS)
        if unknown:
            raise ConfigError(f"{path}: unknown key {unknown[0]!r}; known: {', '.join(sorted(SET_KEYS))}")
        default_units = doc.get("units", options.units)
        default_align = doc.get("align", options.align)
        units_scale(default_units, f"{path}: units")
        if default_align not in ALIGNMENTS:
            raise ConfigError(f"{path}: align: expected {' or '.join(ALIGNMENTS)}, got {default_align!r}")
        objs = doc.get("objects")
        if not isinstance(objs, list) or not objs:
            raise ConfigError(f"{path}: objects: expected a list of objects ([[objects]] tables), got {objs!r}")
        entries = []
        for i, o in enumerate(objs):
            where = f"{path}: objects[{i}]"
            if not isinstance(o, dict):
                raise ConfigError(f"{where}: expected a table, got {o!r}")
            unknown = sorted(set(o) - OBJECT_KEYS)
            if unknown:
                raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(OBJECT_KEYS))}")
            for key in ("name", "mesh"):
                if key not in o:
                    raise ConfigError(f"{where}: no {key!r}")
            name = o["name"]
            if not isinstance(name, str):
                raise ConfigError(f"{where}.name: expected a string, got {name!r}")
            align = o.get("align", default_align)
            if align not in ALIGNMENTS:
                raise ConfigError(f"{where}.align: expected {' or '.join(ALIGNMENTS)}, got {align!r}")
            mass = o.get("mass")
            if mass is not None and (isinstance(mass, bool) or not isinstance(mass, (int, float))
                                     or not math.isfinite(mass) or mass <= 0):
                raise ConfigError(f"{where}.mass: expected a positive number of kg, got {mass!r}")
            cls = o.get("class", "")
            if not isinstance(cls, str):
                raise ConfigError(f"{where}.class: expected a string, got {cls!r}")
            entries.append(Entry(
                name, _file(path, where, "mesh", o["mesh"]), where, units_scale(o.get("units", default_units), f"{where}.units"),
                align, _transform(where, o["transform"]) if "transform" in o else None, cls, mass,
                o.get("segmentation_id"),
                _file(path, where, "collision", o["collision"]) if "collision" in o else None,
                _symmetry(where, o.get("symmetry")), _material(where, o),
                tuple(k for k in MATERIAL_KEYS if k in o)))
        name = doc.get("name", path.stem)
        sup = doc.get("supercategory", "objects")
        for key, v in (("name", name), ("supercategory", sup)):
            if not isinstance(v, str) or not v:
                raise ConfigError(f"{path}: {key}: expected a non-empty string, got {v!r}")
        s = make_set(name, entries, sup, str(doc.get("about", f"object set {path}")), str(path))
        quality_warnings(entries)
        return s
