"""A BOP dataset's ``models/`` folder: ``obj_XXXXXX.ply`` meshes in millimetres and
``models_info.json`` (the layout of LM, T-LESS, YCB-V and every other BOP dataset, and of ``fat
export bop``). Classes are ``obj_000001``... unless a mapping file names them (``--class-names
FILE``, which wins, or else ``class_names.json`` beside ``models_info.json``, which ``fat export bop``
writes): a JSON object from object id (``"1"`` or ``"obj_000001"``) to class name. Symmetries are
kept from ``models_info.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..catalog import ObjectSet
from ..errors import ConfigError
from .build import UNITS, Entry, make_set, quality_warnings

_MODEL = re.compile(r"^obj_(\d{6})\.ply$", re.I)
MAPPING_FILE = "class_names.json"


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read {what}: {e.strerror}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: {what} is not valid JSON: {e}") from None


def _names(path: Path | None, ids: list[int]) -> dict[int, str]:
    if path is None:
        return {}
    doc = _read_json(path, "the class-name mapping")
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a JSON object from object id to class name")
    out = {}
    for k, v in doc.items():
        m = re.fullmatch(r"(?:obj_)?0*(\d+)", str(k))
        if not m:
            raise ConfigError(f"{path}: key {k!r} is not an object id (1 or obj_000001)")
        if int(m.group(1)) not in ids:
            raise ConfigError(f"{path}: object id {k} is not in models_info.json")
        out[int(m.group(1))] = v
    return out


class BopModels:
    name = "bop"
    help = "a BOP models/ folder (obj_XXXXXX.ply in mm, models_info.json)"

    def claims(self, path: Path) -> bool:
        return path.is_dir() and (path / "models_info.json").is_file()

    def load(self, path: Path, options) -> ObjectSet:
        info_path = path / "models_info.json"
        info = _read_json(info_path, "models_info.json")
        if not isinstance(info, dict) or not info:
            raise ConfigError(f"{info_path}: expected a JSON object from object id to model information")
        ids = []
        for k in info:
            if not re.fullmatch(r"\d+", str(k)) or int(k) < 1:
                raise ConfigError(f"{info_path}: key {k!r} is not an object id (a positive integer)")
            ids.append(int(k))
        ids.sort()
        mapping = options.class_names and Path(options.class_names).expanduser()
        if not mapping and (path / MAPPING_FILE).is_file():
            mapping = path / MAPPING_FILE
        names = _names(mapping or None, ids)
        entries = []
        for i in ids:
            mesh = path / f"obj_{i:06d}.ply"
            if not mesh.is_file():
                raise ConfigError(f"{info_path}: object {i} has no mesh {mesh.name} in {path}")
            sym = {k: v for k, v in info[str(i)].items() if k.startswith("symmetries_")} if isinstance(info[str(i)], dict) else {}
            entries.append(Entry(f"obj_{i:06d}", mesh, f"{mesh}", UNITS["mm"], options.align,
                                 class_name=names.get(i, ""), symmetry=sym or None))
        stray = sorted(p.name for p in path.iterdir() if _MODEL.match(p.name) and int(_MODEL.match(p.name).group(1)) not in ids)
        if stray:
            raise ConfigError(f"{info_path}: no entry for {', '.join(stray[:3])}")
        s = make_set(path.parent.name or path.name, entries, "bop", f"BOP models of {path}", str(path))
        quality_warnings(entries)
        return s
