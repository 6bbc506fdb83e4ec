"""The location's ground and props as textured meshes (world coordinates), shared by the renderers."""

from __future__ import annotations

from ..meshes import Mesh, box, cylinder, ellipsoid, grid, planar_uvs
from ..scene import Location, Surface

GROUND_HALF_EXTENT = 9.0


def location_meshes(loc: Location) -> tuple[tuple[Mesh, Surface], ...]:
    out = [(grid(GROUND_HALF_EXTENT, loc.ground.tile, loc.ground_z, loc.fixation[:2]), loc.ground)]
    for prop in loc.props:
        if prop.shape == "box":
            m = box(prop.size)
        elif prop.shape == "cylinder":
            m = cylinder(prop.size[0], prop.size[2], axis=2, segments=24)
        else:
            m = ellipsoid(prop.size, rings=10, segments=16)
        out.append((planar_uvs(m.transformed(prop.pose), prop.surface.tile), prop.surface))
    return tuple(out)
