"""Prop shapes: each shape in one place, with what every part of the project needs of it.

A scene file gives a prop a ``shape`` and that shape's size fields; :data:`PROP_SHAPES` says how to
read the size, whether a point lies inside (the camera clearance check), the mesh the renderers draw
and the collision shape the physics uses. A new shape is one more entry here and nothing else.
Everything is in the prop's own frame (centre at the origin, a cylinder's axis along z).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..assets.meshes import Mesh, box, cylinder, ellipsoid


@dataclass(frozen=True)
class Collision:
    """A physics collision shape: ``kind`` box (``half_extents``), cylinder (``radius``, ``height``)
    or mesh (the convex hull of ``vertices``)."""

    kind: str
    half_extents: tuple[float, float, float] | None = None
    radius: float | None = None
    height: float | None = None
    vertices: np.ndarray | None = None


@dataclass(frozen=True)
class PropShape:
    name: str
    fields: tuple[str, ...]  # size fields of the scene file (each a number or a list)
    size: Callable[[dict], np.ndarray]  # (3,) size from the scene file's fields
    contains: Callable[[np.ndarray, np.ndarray, float], np.ndarray]  # (local points, size, margin) -> bool
    mesh: Callable[[np.ndarray], Mesh]  # render mesh
    collision: Callable[[np.ndarray], Collision]


def _in_box(local, size, margin):
    return np.all(np.abs(local) <= size / 2 + margin, axis=-1)


def _in_cylinder(local, size, margin):
    r = np.hypot(local[..., 0], local[..., 1])
    return (r <= size[0] + margin) & (np.abs(local[..., 2]) <= size[2] / 2 + margin)


def _in_ellipsoid(local, size, margin):
    return np.sum((local / (size + margin)) ** 2, axis=-1) <= 1.0


PROP_SHAPES: dict[str, PropShape] = {s.name: s for s in (
    PropShape("box", ("size",), lambda d: np.array(d["size"], float), _in_box,
              lambda size: box(size), lambda size: Collision("box", half_extents=tuple((size / 2).tolist()))),
    PropShape("cylinder", ("radius", "height"), lambda d: np.array([d["radius"], d["radius"], d["height"]], float),
              _in_cylinder, lambda size: cylinder(size[0], size[2], axis=2, segments=24),
              lambda size: Collision("cylinder", radius=float(size[0]), height=float(size[2]))),
    # a "rock": an ellipsoid with radii ``radii``
    PropShape("rock", ("radii",), lambda d: np.array(d["radii"], float), _in_ellipsoid,
              lambda size: ellipsoid(size, rings=10, segments=16),
              lambda size: Collision("mesh", vertices=ellipsoid(size, rings=8, segments=12).vertices)),
)}


def prop_shape(name: str) -> PropShape | None:
    return PROP_SHAPES.get(name)
