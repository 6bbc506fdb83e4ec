"""A glTF file's parts, each with its own material, baked into one texture atlas and its maps.

Every renderer draws an object with one texture; the ``gl`` renderer also reads maps beside it. So
each part's material is evaluated where the texture is read (:func:`fat.scene.gltf_materials.evaluate`:
base colour factor x texture x vertex colour, the metallic-roughness factors and map, the emission,
alpha masking) and written into:

* the colour texture (sRGB): the base colour;
* the material map (RGBA, linear): G roughness, B metalness (glTF's layout), A coverage (0 where
  alpha masking cuts the surface out), R unused (255);
* the emission map (sRGB), in units of the largest emission, only when something emits.

Textured parts get a region of the atlas each (parts sharing a material and texture coordinates
share one), sampled over the range of their transformed texture coordinates at about the texture's
own resolution, whatever the wrap modes (a repeated texture is repeated in the region); the other
parts get a 4 x 4 swatch per distinct value (each triangle its corners' mean vertex colour), as
:mod:`fat.assets.mesh_reading` bakes the colours of other formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..assets.atlas import chart_mask, pack, texel_triangles
from .gltf import GltfFile
from .gltf_materials import (DEFAULT_MATERIAL, Channels, GltfMaterial, Images, evaluate, ignored_extensions, materials,
                             srgb_encode)
from ..assets.meshes import Mesh

#: Texels a side of one region at most, and of the whole atlas (regions shrink together beyond).
MAX_REGION, MAX_ATLAS = 1024, 2048
#: Side of the square of texels baked for one value (mipmap levels 1 and 2 still see one value).
SWATCH = 4
#: Distinct swatches at most (values are rounded to fewer bits until they fit).
MAX_SWATCHES = 4096


@dataclass
class Baked:
    mesh: Mesh  # the parts' triangles, texture coordinates into the atlas (OBJ convention: v = 0 at the bottom)
    texture: np.ndarray  # (H, W, 3) uint8 BGR, base colour, sRGB
    maps: np.ndarray  # (H, W, 4) uint8 RGBA: R 255, G roughness, B metalness, A coverage
    emissive: np.ndarray | None  # (H, W, 3) uint8 RGB, sRGB, in units of emissive_scale; None: nothing emits
    emissive_scale: float  # linear emission of the value 255
    known: np.ndarray  # (H, W) bool: texels the triangles use
    masked: bool  # alpha masking cuts some surface out
    notes: list[str] = field(default_factory=list)  # what the file lacks or holds that is not drawn


@dataclass
class _Region:
    material: GltfMaterial
    parts: list  # the file's parts drawn with it
    lo: np.ndarray  # (2,) the transformed texture coordinates it spans
    span: np.ndarray
    size: tuple[int, int]  # (height, width) texels
    channels: Channels | None = None


def _uniform(colors: np.ndarray | None):
    """A part's vertex colours as one colour when they are all (nearly) the same."""
    if colors is None:
        return ()
    if np.ptp(colors, axis=0).max() <= 1 / 512:
        return tuple(np.round(colors[0] * 4096).astype(int))
    return None


def bake(f: GltfFile) -> Baked:
    mats = materials(f.doc, str(f.path))
    images = Images(f)
    groups: dict = {}
    flat = []
    for k, part in enumerate(f.parts):
        m = mats[part.material] if part.material is not None else DEFAULT_MATERIAL
        refs = [r for r in m.textures() if r is not None and r.tex_coord in part.texcoords]
        if not refs:
            flat.append((part, m))
            continue
        colour = _uniform(part.colors)
        key = (part.material, refs[0].tex_coord, refs[0].matrix.tobytes(), k if colour is None else colour)
        groups.setdefault(key, (m, refs[0], []))[2].append(part)
    regions = [_region(m, ref, parts, images) for m, ref, parts in groups.values()]
    total = sum(r.size[0] * r.size[1] for r in regions)
    if total > MAX_ATLAS ** 2 * 0.8:  # the regions shrink together (the swatches need some room too)
        s = np.sqrt(MAX_ATLAS ** 2 * 0.8 / total)
        for r in regions:
            r.size = (max(SWATCH, int(r.size[0] * s)), max(SWATCH, int(r.size[1] * s)))
    for r in regions:
        r.channels = _region_channels(r, images)
    faces = [(part, m, _face_channels(part, m, images)) for part, m in flat]
    return _assemble(f, mats, regions, faces)


def _region(m: GltfMaterial, ref, parts: list, images: Images) -> _Region:
    t = np.concatenate([ref.transform(p.texcoords[ref.tex_coord]) for p in parts])
    lo, hi = t.min(0), t.max(0)
    span = np.maximum(hi - lo, 1e-6)
    h, w = images[ref.image].shape[:2]
    size = np.clip(np.ceil(span * (w, h)).astype(int), SWATCH, MAX_REGION)
    return _Region(m, parts, lo, span, (int(size[1]), int(size[0])), None)


def _region_px(r: _Region, part) -> np.ndarray:
    """A part's vertices in its region's texel units (x right, y down)."""
    ref = next(x for x in r.material.textures() if x is not None and x.tex_coord in part.texcoords)
    t = ref.transform(part.texcoords[ref.tex_coord])
    return (t - r.lo) / r.span * (r.size[1], r.size[0])


def _region_channels(r: _Region, images: Images) -> Channels:
    """The material at every texel of the region. Texture coordinates of the region's set come from
    inverting its transform; other sets and varying vertex colours are interpolated over the
    triangles each texel lies in."""
    h, w = r.size
    ref = next(x for x in r.material.textures() if x is not None and x.tex_coord in r.parts[0].texcoords)
    xs = r.lo[0] + (np.arange(w) + 0.5) / w * r.span[0]
    ys = r.lo[1] + (np.arange(h) + 0.5) / h * r.span[1]
    t = np.stack(np.meshgrid(xs, ys), axis=-1)  # (h, w, 2) transformed coordinates
    uvs = {}
    det = np.linalg.det(ref.matrix[:2, :2])
    if abs(det) > 1e-12:
        inv = np.linalg.inv(ref.matrix)
        uvs[ref.tex_coord] = t @ inv[:2, :2].T + inv[:2, 2]
    sets = {x.tex_coord for x in r.material.textures() if x is not None} - set(uvs)
    sets = {s for s in sets if all(s in p.texcoords for p in r.parts)}
    colors = None
    if r.parts[0].colors is not None:
        if _uniform(r.parts[0].colors) is not None:
            colors = np.broadcast_to(r.parts[0].colors[0].astype(np.float32), (h, w, 4))
        else:
            sets.add("colors")
    if sets:  # interpolated over the triangles
        px = np.concatenate([_region_px(r, p) for p in r.parts])
        offsets = np.cumsum([0] + [len(p.positions) for p in r.parts])
        faces = np.concatenate([p.faces + o for p, o in zip(r.parts, offsets)])
        tri, bary = texel_triangles((h, w), px, faces)
        corner = faces[np.maximum(tri, 0)]  # (h, w, 3) vertices of each texel's triangle

        def interpolate(values: np.ndarray, default) -> np.ndarray:
            out = (values[corner] * bary[..., None]).sum(axis=2)
            out[tri < 0] = default
            return out

        for s in sets:
            if s == "colors":
                colors = interpolate(np.concatenate([p.colors for p in r.parts]), 1.0).astype(np.float32)
            else:
                uvs[s] = interpolate(np.concatenate([p.texcoords[s] for p in r.parts]), 0.0)
    return evaluate(r.material, images, uvs, colors, (h, w))


def _face_channels(part, m: GltfMaterial, images: Images) -> Channels:
    colors = None if part.colors is None else part.colors[part.faces].mean(axis=1)
    return evaluate(m, images, {}, colors, (len(part.faces),))


def _quantised(ch: Channels, coverage: np.ndarray, scale: float, bits: int = 8) -> np.ndarray:
    """(..., 9) uint8: base colour sRGB (3), coverage, roughness, metalness, emission sRGB (3)."""
    step = 1 << (8 - bits)

    def q(x):
        v = np.clip(np.rint(x * 255), 0, 255).astype(np.int64)
        return ((v // step) * step + (step // 2 if bits < 8 else 0)).clip(0, 255)

    return np.concatenate([q(srgb_encode(ch.base[..., :3])), q(coverage[..., None]), q(ch.roughness[..., None]),
                           q(ch.metallic[..., None]), q(srgb_encode(ch.emissive / scale))], axis=-1).astype(np.uint8)


def _assemble(f: GltfFile, mats: list, regions: list[_Region], faces: list) -> Baked:
    scale = max([float(r.channels.emissive.max()) for r in regions] + [float(c.emissive.max()) for _, _, c in faces]
                + [0.0])
    emits = scale > 1e-6
    scale = scale if emits else 1.0
    masked = False
    # the swatches: one per distinct value of the untextured parts' triangles
    records = [_quantised(c, c.coverage(m), scale) for _, m, c in faces]
    palette, which = np.zeros((0, 9), np.uint8), [np.zeros(0, np.int64) for _ in faces]
    if faces:
        allrec = np.concatenate(records)
        for bits in (8, 5, 4, 3):
            if bits < 8:
                allrec = np.concatenate([_quantised(c, c.coverage(m), scale, bits) for _, m, c in faces])
            palette, inverse = np.unique(allrec, axis=0, return_inverse=True)
            if len(palette) <= MAX_SWATCHES:
                break
        which = np.split(inverse.ravel(), np.cumsum([len(r) for r in records])[:-1])
    cols = min(64, max(len(palette), 1))
    rows = (len(palette) + cols - 1) // cols
    sizes = [r.size for r in regions] + ([(rows * SWATCH, cols * SWATCH)] if len(palette) else [])
    places, (H, W) = pack(sizes)
    H, W = max(H, SWATCH), max(W, SWATCH)
    atlas = np.zeros((H, W, 9), np.uint8)  # _quantised's channels; texels no triangle uses are filled later
    known = np.zeros((H, W), bool)
    vertices, tris, uvs = [], [], []
    n = 0
    for r, (y, x) in zip(regions, places):
        h, w = r.size
        cov = r.channels.coverage(r.material)
        masked |= bool((cov < 1).any())
        rec = _quantised(r.channels, cov, scale)
        atlas[y:y + h, x:x + w] = rec
        for p in r.parts:
            px = _region_px(r, p) + (x, y)
            vertices.append(p.positions)
            tris.append(p.faces + n)
            uvs.append(np.column_stack([px[:, 0] / W, 1.0 - px[:, 1] / H]))
            n += len(p.positions)
    if regions:  # the texels the triangles touch, inside their regions (not the gutters)
        inside = np.zeros((H, W), bool)
        for r, (y, x) in zip(regions, places):
            inside[y:y + r.size[0], x:x + r.size[1]] = True
        known |= chart_mask((H, W), np.concatenate(uvs), np.concatenate(tris)) & inside
    if len(palette):
        y0, x0 = places[-1]
        for i, value in enumerate(palette):
            r_, c_ = divmod(i, cols)
            atlas[y0 + r_ * SWATCH:y0 + (r_ + 1) * SWATCH, x0 + c_ * SWATCH:x0 + (c_ + 1) * SWATCH] = value
        known[y0:y0 + rows * SWATCH, x0:x0 + cols * SWATCH] = True
        masked |= bool((palette[:, 3] < 128).any())
        for (part, _, _), w_ in zip(faces, which):
            r_, c_ = np.divmod(w_, cols)
            centre = np.column_stack([(x0 + c_ * SWATCH + SWATCH / 2) / W, 1.0 - (y0 + r_ * SWATCH + SWATCH / 2) / H])
            if len(w_) and (w_ == w_[0]).all():  # one value: the part keeps its vertices
                vertices.append(part.positions)
                tris.append(part.faces + n)
                uvs.append(np.repeat(centre[:1], len(part.positions), axis=0))
                n += len(part.positions)
                continue
            vertices.append(part.positions[part.faces.reshape(-1)])  # each triangle its own vertices
            tris.append(np.arange(3 * len(part.faces)).reshape(-1, 3) + n)
            uvs.append(np.repeat(centre, 3, axis=0))
            n += 3 * len(part.faces)
    mesh = Mesh(np.concatenate(vertices) if vertices else np.zeros((0, 3)),
                np.concatenate(tris).astype(np.int64) if tris else np.zeros((0, 3), np.int64),
                np.concatenate(uvs) if uvs else np.zeros((0, 2)))
    texture = np.ascontiguousarray(atlas[..., 2::-1])
    maps = np.ascontiguousarray(np.stack([np.full((H, W), 255, np.uint8), atlas[..., 4], atlas[..., 5], atlas[..., 3]], -1))
    emissive = np.ascontiguousarray(atlas[..., 6:9]) if emits else None
    return Baked(mesh, texture, maps, emissive, scale, known, masked, notes(f, mats))


def notes(f: GltfFile, mats: list) -> list[str]:
    """What the file lacks, or holds that is not drawn, one line each."""
    out = []
    n = len(f.parts)
    bare = sum(1 for p in f.parts if p.material is None)
    if bare:
        with_colours = any(p.colors is not None for p in f.parts if p.material is None)
        what = "white" + (" times their vertex colours" if with_colours else "")
        out.append(f"{bare} of {n} parts {'has' if bare == 1 else 'have'} no material; drawn with glTF's default "
                   f"material ({what}, metallic 1, roughness 1)" if n > 1 else
                   f"the mesh has no material; drawn with glTF's default material ({what}, metallic 1, roughness 1)")
    lacking: dict[int, int] = {}
    for p in f.parts:
        m = mats[p.material] if p.material is not None else DEFAULT_MATERIAL
        for ref in m.textures():
            if ref is not None and ref.tex_coord not in p.texcoords:
                lacking[ref.tex_coord] = lacking.get(ref.tex_coord, 0) + 1
                break
    for s, k in sorted(lacking.items()):
        out.append(f"{k} of {n} parts have a texture but no texture coordinates TEXCOORD_{s}; drawn in the texture's mean colour")
    blend = sum(1 for p in f.parts if p.material is not None and mats[p.material].alpha_mode == "BLEND")
    if blend:
        out.append(f"{blend} of {n} parts are alpha-blended (alphaMode BLEND); drawn opaque")
    if f.skipped:
        out.append(f"{f.skipped} primitives are points or lines; not drawn")
    ignored = ignored_extensions(f.doc)
    if ignored:
        out.append(f"its materials use {', '.join(ignored)}, which {'is' if len(ignored) == 1 else 'are'} not drawn")
    return out
