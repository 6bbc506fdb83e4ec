"""Texture atlases of scanned meshes: colour the space between the charts.

A YCB scan's texture is an atlas: islands of texels ("charts") that the mesh's UVs cover, on a black
background. Any filtering that reads past a chart's edge mixes that black in: downscaling the 4096 px
atlas, bilinear lookups at the edge texels and the coarser mipmap levels all draw thin dark cracks
along the UV seams of the rendered object. Filling the background with the colours of the nearest
charts (push-pull: average the known texels down an image pyramid, then fill every unknown texel
from the next coarser level) leaves the charts as they are and removes the cracks.
"""

from __future__ import annotations

import cv2
import numpy as np


def chart_mask(shape: tuple[int, int], uvs: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of the texels that the UV triangles cover (OBJ convention: v = 0 at the
    image's bottom row), edges included."""
    h, w = shape
    px = np.column_stack([uvs[:, 0] * w - 0.5, (1.0 - uvs[:, 1]) * h - 0.5])
    tris = np.round(px[faces] * 16).astype(np.int32)  # 4 fractional bits
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, list(tris), 1, lineType=cv2.LINE_8, shift=4)
    cv2.polylines(mask, list(tris), True, 1, lineType=cv2.LINE_8, shift=4)  # thin slivers too
    return mask.astype(bool)


def fill_background(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``image`` with every texel outside ``known`` replaced by a smooth extension of the known ones;
    known texels are returned unchanged. An image with no known texel comes back as it is."""
    if known.all() or not known.any():
        return image.copy()
    levels = [(image.astype(np.float32) * known[..., None], known.astype(np.float32))]
    while min(levels[-1][1].shape) > 1:
        colour, weight = levels[-1]
        h, w = (weight.shape[0] + 1) // 2, (weight.shape[1] + 1) // 2
        colour = cv2.resize(_pad_even(colour), (w, h), interpolation=cv2.INTER_AREA)
        weight = cv2.resize(_pad_even(weight), (w, h), interpolation=cv2.INTER_AREA)
        levels.append((colour.reshape(h, w, -1), weight))
    colour, weight = levels[-1]
    filled = _mean(colour, weight)
    for colour, weight in reversed(levels[:-1]):
        h, w = weight.shape
        up = cv2.resize(filled, (filled.shape[1] * 2, filled.shape[0] * 2), interpolation=cv2.INTER_LINEAR)
        up = up.reshape(up.shape[0], up.shape[1], -1)[:h, :w]
        mean = _mean(colour, weight)
        a = np.clip(weight, 0, 1)[..., None]  # partly known texels blend their mean with the coarser fill
        filled = a * mean + (1 - a) * up
    out = np.clip(np.rint(filled), 0, 255).astype(image.dtype).reshape(image.shape)
    out[known] = image[known]
    return out


def _mean(colour: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Colour per unit weight (colours are stored multiplied by their weight); 0 where none."""
    return colour / np.maximum(weight, 1e-12)[..., None]


def _pad_even(a: np.ndarray) -> np.ndarray:
    """Repeat the last row / column so that both sides are even (each 2x2 block averages cleanly)."""
    h, w = a.shape[:2]
    return cv2.copyMakeBorder(a, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)


def prepare_atlas(image: np.ndarray, uvs: np.ndarray, faces: np.ndarray, max_size: int) -> np.ndarray:
    """A scan's atlas shrunk to at most ``max_size`` pixels a side, averaging chart texels only (the
    background does not darken the charts' edges), then with the background filled."""
    return prepare_maps([image], chart_mask(image.shape[:2], uvs, faces), max_size)[0]


def prepare_maps(images: list[np.ndarray], known: np.ndarray, max_size: int) -> list[np.ndarray]:
    """Images of one atlas layout (a colour texture and the maps beside it), each shrunk to at most
    ``max_size`` pixels a side averaging the ``known`` texels only, then with the rest filled."""
    h, w = known.shape
    out = []
    for image in images:
        k = known
        if max(h, w) > max_size:
            f = max_size / max(h, w)
            size = (max(1, round(w * f)), max(1, round(h * f)))
            colour = cv2.resize(image.astype(np.float32) * known.reshape(h, w, *([1] * (image.ndim - 2))), size,
                                interpolation=cv2.INTER_AREA)
            weight = cv2.resize(known.astype(np.float32), size, interpolation=cv2.INTER_AREA)
            mean = _mean(colour.reshape(size[1], size[0], -1), weight)
            image = np.clip(np.rint(mean), 0, 255).astype(np.uint8).reshape(size[1], size[0], *image.shape[2:])
            k = weight > 1e-6
        out.append(fill_background(image, k))
    return out


def pack(sizes: list[tuple[int, int]], gutter: int = 2) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Places for rectangles of ``sizes`` (height, width) in one image, in shelves (tallest first),
    ``gutter`` texels apart: their top-left corners (row, column) and the image's (height, width)."""
    if not sizes:
        return [], (0, 0)
    area = sum((h + gutter) * (w + gutter) for h, w in sizes)
    width = max(max(w for _, w in sizes), int(np.ceil(np.sqrt(area))))
    places: list[tuple[int, int]] = [(0, 0)] * len(sizes)
    x = y = shelf = 0
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i][0]):
        h, w = sizes[i]
        if x and x + w > width:
            x, y, shelf = 0, y + shelf + gutter, 0
        places[i] = (y, x)
        x += w + gutter
        shelf = max(shelf, h)
    return places, (y + shelf, width)


def texel_triangles(shape: tuple[int, int], px: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which triangle each texel of an image of ``shape`` lies in, and where: ``px`` are the vertices
    in texel units (x right, y down, texel (i, j) spans [j, j + 1] x [i, i + 1]). Returns the triangle
    (H, W) (-1: none) and the barycentric weights (H, W, 3) of the texel's centre (edge texels a
    triangle only touches get weights clipped into it). Where triangles overlap, the later one."""
    h, w = shape
    tri = np.full((h, w), -1, np.int32)
    fixed = np.round((px - 0.5) * 16).astype(np.int32)  # texel centres at integers, 4 fractional bits
    for k, f in enumerate(faces):
        poly = fixed[f]
        cv2.fillConvexPoly(tri, poly, int(k), lineType=cv2.LINE_8, shift=4)
        cv2.polylines(tri, [poly], True, int(k), lineType=cv2.LINE_8, shift=4)
    rows, cols = np.nonzero(tri >= 0)
    bary = np.zeros((h, w, 3), np.float32)
    if len(rows):
        t = tri[rows, cols]
        a, b, c = (px[faces[t, k]] for k in range(3))
        p = np.column_stack([cols + 0.5, rows + 0.5])
        v0, v1, v2 = b - a, c - a, p - a
        d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
        d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
        den = d00 * d11 - d01 * d01
        den = np.where(np.abs(den) < 1e-20, 1.0, den)
        wb, wc = (d11 * d20 - d01 * d21) / den, (d00 * d21 - d01 * d20) / den
        wgt = np.clip(np.column_stack([1 - wb - wc, wb, wc]), 0, None)
        wgt /= np.maximum(wgt.sum(1, keepdims=True), 1e-12)
        bary[rows, cols] = wgt
    return tri, bary
