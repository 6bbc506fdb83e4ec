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
    known = chart_mask(image.shape[:2], uvs, faces)
    h, w = image.shape[:2]
    if max(h, w) > max_size:
        f = max_size / max(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        colour = cv2.resize(image.astype(np.float32) * known[..., None], size, interpolation=cv2.INTER_AREA)
        weight = cv2.resize(known.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        mean = _mean(colour.reshape(size[1], size[0], -1), weight)
        image = np.clip(np.rint(mean), 0, 255).astype(np.uint8).reshape(size[1], size[0], *image.shape[2:])
        known = weight > 1e-6
    return fill_background(image, known)
