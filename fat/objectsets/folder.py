"""A folder of meshes: one object per mesh file at its top level (named by the file's stem), or
per sub-folder holding one mesh (named by the folder; a ``collision.*`` mesh beside it is its
collision shape). Also a single mesh file: a set of one object."""

from __future__ import annotations

from pathlib import Path

from ..catalog import ObjectSet
from ..errors import ConfigError
from ..assets.mesh_reading import MESH_SUFFIXES
from .build import Entry, make_set, quality_warnings, units_scale

#: Stems of a sub-folder's collision mesh.
COLLISION_STEMS = ("collision",)


def _meshes(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MESH_SUFFIXES
                  and not p.name.startswith("."))


class MeshFolder:
    name = "meshes"
    help = "a folder of mesh files (OBJ, PLY, glTF/GLB, STL), one object per file or sub-folder"

    def claims(self, path: Path) -> bool:
        if path.is_file():
            return path.suffix.lower() in MESH_SUFFIXES
        return path.is_dir()

    def load(self, path: Path, options) -> ObjectSet:
        scale = units_scale(options.units, "--units")  # options as load() gives them: numbers as numbers
        entries = []
        if path.is_file():
            entries.append(Entry(path.stem, path, str(path), scale, options.align))
        else:
            for p in _meshes(path):
                entries.append(Entry(p.stem, p, str(p), scale, options.align))
            for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
                found = _meshes(sub)
                collision = [p for p in found if p.stem.lower() in COLLISION_STEMS]
                visual = [p for p in found if p not in collision]
                if not visual:
                    continue
                if len(visual) > 1:
                    raise ConfigError(f"--objects {path}: sub-folder {sub.name} holds {len(visual)} meshes "
                                      f"({', '.join(p.name for p in visual[:4])}); keep one per object "
                                      "(and collision.obj for its collision shape), or use an object-set file")
                entries.append(Entry(sub.name, visual[0], str(visual[0]), scale, options.align,
                                     collision=collision[0] if collision else None))
            entries.sort(key=lambda e: e.name.lower())
            names = [e.name.lower() for e in entries]
            dup = next((n for n in names if names.count(n) > 1), None)
            if dup is not None:
                raise ConfigError(f"--objects {path}: two objects are called {dup!r} (a file and a sub-folder?)")
        if not entries:
            raise ConfigError(f"--objects {path}: no mesh file ({', '.join(MESH_SUFFIXES)}) found")
        s = make_set(path.stem if path.is_file() else path.name, entries, "objects", f"meshes of {path}", str(path))
        quality_warnings(entries)
        return s
