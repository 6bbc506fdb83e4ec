"""A glTF scene's materials and geometry made ready for the ``gl`` renderer (numpy only; the
renderer uploads them).

Each material becomes a :class:`SceneMaterial`: its base colour texture (sRGB) and factor, its
packed material map (RGBA, linear: R ambient occlusion, G roughness, B metalness, both times their
factors, A coverage where the alpha mask cuts the surface out), its normal map and scale, its
emission (sRGB, in units of its largest value) and whether it is drawn from both sides. Every image
is kept at most :data:`MAX_TEXTURE_SIDE` texels a side. All of a material's textures are read with
the coordinates of its base colour texture (:mod:`fat.scene.gltf_scene`).

Each material's triangles are cut into :func:`chunks` of at most :data:`CHUNK` metres a side, so
that what lies outside the view is not drawn (frustum culling) and near chunks are drawn first.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...scene.gltf_materials import Images, srgb_decode, srgb_encode
from ...scene.gltf_scene import Batch, GltfScene
from ...assets.meshes import Mesh
from ..scenery import base_colour

#: Largest side of a scene texture, texels (larger images are shrunk: memory and speed stay bounded).
MAX_TEXTURE_SIDE = 1024
#: Side of the cells a material's triangles are cut into (metres).
CHUNK = 4.0


@dataclass(frozen=True, eq=False)
class SceneMaterial:
    base: np.ndarray | None  # (H, W, 3) uint8 RGB, sRGB; None: white
    factor: tuple[float, float, float]  # linear base colour factor
    roughness: float  # factors (the values where there is no material map)
    metallic: float
    orm: np.ndarray | None  # (H, W, 4) uint8 RGBA: occlusion, roughness, metalness, coverage; None: the factors
    occlusion: float  # the occlusion texture's strength (0: none)
    masked: bool  # orm's A cuts the surface out
    normal: np.ndarray | None  # (H, W, 3) uint8 RGB tangent-space normals
    normal_scale: float
    emission: np.ndarray | None  # (H, W, 3) uint8 RGB, sRGB, times emission_scale
    emission_scale: float
    double_sided: bool


def _bounded(img: np.ndarray, side: int = MAX_TEXTURE_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    if max(h, w) <= side:
        return img
    s = side / max(h, w)
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _sized(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return img if img.shape[:2] == shape else cv2.resize(img, shape[::-1], interpolation=cv2.INTER_LINEAR)


def scene_material(g: GltfScene, batch: Batch, images: Images) -> SceneMaterial | None:
    """The material of ``batch`` as the renderer draws it; None when its alpha mask cuts all of it out."""
    m = g.material(batch.material)
    textured = batch.uvs is not None
    base = _bounded(images[m.base_texture.image]) if textured and m.base_texture is not None else None
    masked = m.alpha_mode == "MASK"
    if masked and base is None:  # one coverage for the whole material
        if m.base[3] < m.alpha_cutoff:
            return None
        masked = False
    mr = _bounded(images[m.metallic_roughness_texture.image]) if textured and m.metallic_roughness_texture else None
    occ = _bounded(images[m.occlusion_texture.image]) if textured and m.occlusion_texture else None
    orm = None
    if mr is not None or occ is not None or masked:
        sizes = [x.shape[:2] for x in (mr, occ, base if masked else None) if x is not None]
        shape = max(sizes, key=lambda s: s[0] * s[1])
        orm = np.empty((*shape, 4), np.uint8)
        orm[..., 0] = _sized(occ, shape)[..., 0] if occ is not None else 255
        if mr is not None:
            mr_ = _sized(mr, shape)
            orm[..., 1] = np.rint(mr_[..., 1] * m.roughness).astype(np.uint8)
            orm[..., 2] = np.rint(mr_[..., 2] * m.metallic).astype(np.uint8)
        else:
            orm[..., 1], orm[..., 2] = round(255 * m.roughness), round(255 * m.metallic)
        if masked:
            alpha = _sized(base, shape)[..., 3].astype(np.float64) / 255.0 * m.base[3]
            orm[..., 3] = np.where(alpha >= m.alpha_cutoff, 255, 0)
        else:
            orm[..., 3] = 255
    normal = _bounded(images[m.normal_texture.image])[..., :3] if textured and m.normal_texture else None
    emission, scale = None, float(max(m.emissive))
    if scale > 0:
        e = np.asarray(m.emissive, dtype=np.float64) / scale
        if textured and m.emissive_texture is not None:
            img = _bounded(images[m.emissive_texture.image])[..., :3]
            emission = np.clip(np.rint(srgb_encode(srgb_decode(img / 255.0) * e) * 255), 0, 255).astype(np.uint8)
        else:
            emission = np.clip(np.rint(srgb_encode(e) * 255), 0, 255).astype(np.uint8).reshape(1, 1, 3)
    mean = np.asarray(m.base[:3], dtype=np.float64)
    if base is None and m.base_texture is not None:  # no coordinates: the texture's mean colour
        mean = srgb_decode(np.asarray(base_colour(g, batch), dtype=np.float64) / 255.0)
    return SceneMaterial(None if base is None else np.ascontiguousarray(base[..., :3]), tuple(float(x) for x in mean),
                         m.roughness, m.metallic, orm, m.occlusion_strength if occ is not None else 0.0, masked,
                         normal, m.normal_scale, emission, scale, m.double_sided)


def chunks(mesh: Mesh, cell: float = CHUNK) -> list[Mesh]:
    """``mesh`` cut into the triangles of each ``cell``-metre cell (by the triangles' centres), each
    with only the vertices it uses."""
    v, f = mesh.vertices, mesh.faces
    if not len(f):
        return []
    key = np.floor(v[f].mean(axis=1) / cell).astype(np.int64)
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.reshape(-1)
    out = []
    for k in range(int(group.max()) + 1):
        sub = f[group == k]
        used, inverse = np.unique(sub.reshape(-1), return_inverse=True)
        out.append(Mesh(v[used], inverse.reshape(-1, 3), None if mesh.uvs is None else mesh.uvs[used],
                        None if mesh.normals is None else mesh.normals[used]))
    return out
