"""The location's ground and props as textured meshes (world coordinates), shared by the renderers."""

from __future__ import annotations

from ..meshes import Mesh, grid, planar_uvs
from ..props import PROP_SHAPES
from ..scene import Location, Surface

GROUND_HALF_EXTENT = 9.0


def surface_count(loc: Location) -> int:
    """How many meshes :func:`location_meshes` gives: the ground, then one per prop."""
    return 1 + len(loc.props)


def location_meshes(loc: Location) -> tuple[tuple[Mesh, Surface], ...]:
    out = [(grid(GROUND_HALF_EXTENT, loc.ground.tile, loc.ground_z, loc.fixation[:2]), loc.ground)]
    for prop in loc.props:
        m = PROP_SHAPES[prop.shape].mesh(prop.size)
        out.append((planar_uvs(m.transformed(prop.pose), prop.surface.tile), prop.surface))
    return tuple(out)
