"""The location's scenery as textured meshes (world coordinates), shared by the renderers: the
ground and the props, or a glTF scene's triangles, one mesh per material."""

from __future__ import annotations

import functools

import numpy as np

from ..assets.meshes import Mesh, grid, planar_uvs
from ..scene.props import PROP_SHAPES
from ..scene.scenes import Location, Surface

GROUND_HALF_EXTENT = 9.0


def surface_count(loc: Location) -> int:
    """How many meshes :func:`location_meshes` gives: the ground, then one per prop; or one per
    material batch of a glTF scene."""
    if loc.asset:
        return len(_gltf_meshes(loc.asset))
    return 1 + len(loc.props)


def location_meshes(loc: Location) -> tuple[tuple[Mesh, Surface], ...]:
    if loc.asset:
        return _gltf_meshes(loc.asset)
    out = [(grid(GROUND_HALF_EXTENT, loc.ground.tile, loc.ground_z, loc.fixation[:2]), loc.ground)]
    for prop in loc.props:
        m = PROP_SHAPES[prop.shape].mesh(prop.size)
        out.append((planar_uvs(m.transformed(prop.pose), prop.surface.tile), prop.surface))
    return tuple(out)


@functools.lru_cache(maxsize=2)
def _gltf_meshes(path: str) -> tuple[tuple[Mesh, Surface], ...]:
    """A glTF scene's batches, each with its material's mean base colour as a plain surface (what
    renderers without glTF materials draw; ``gl`` draws the materials: :mod:`fat.render.gl.scene`)."""
    from ..scene.gltf_scene import load_gltf_scene

    g = load_gltf_scene(path)
    return tuple((Mesh(b.vertices, b.faces, b.uvs, b.normals), Surface("plain", (base_colour(g, b),)))
                 for b in g.batches)


def base_colour(g, batch) -> tuple[int, int, int]:
    """A batch's mean base colour, sRGB 0-255: the factor times its texture's mean (linear)."""
    from ..scene.gltf_materials import Images, srgb_decode, srgb_encode

    m = g.material(batch.material)
    c = np.asarray(m.base[:3], dtype=np.float64)
    if m.base_texture is not None:
        img = Images(g.gltf)[m.base_texture.image]
        c = c * srgb_decode(img[..., :3].reshape(-1, 3) / 255.0).mean(axis=0)
    return tuple(int(x) for x in np.clip(np.rint(srgb_encode(c) * 255), 0, 255))
