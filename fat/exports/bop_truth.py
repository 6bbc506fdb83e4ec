"""bop_toolkit's definitions of ground truth, pixel for pixel: boxes (``misc.calc_2d_bbox``, the COCO
box), uncompressed run lengths (``pycoco_utils.binary_mask_to_rle``), the distance image
(``misc.depth_im_to_dist_im_fast``) and each object's masks and ``scene_gt_info`` entry as
``calc_gt_info.py`` and ``calc_gt_masks.py`` compute them. :mod:`fat.exports.bop` writes them.
"""

from __future__ import annotations

import numpy as np

#: Visibility tolerance (mm) of bop_toolkit's calc_gt_info.py and calc_gt_masks.py (5 only for ITODD).
DELTA_MM = 15.0


def calc_2d_bbox(xs: np.ndarray, ys: np.ndarray) -> list[int]:
    """bop_toolkit's ``misc.calc_2d_bbox``, unclipped: [x_min, y_min, x_max - x_min, y_max - y_min] (a
    one-pixel object has width 0)."""
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())]


def mask_bbox(m: np.ndarray) -> list[int]:
    """bop_toolkit's ``pycoco_utils.bbox_from_binary_mask`` (the COCO box): [x, y, w, h] with
    w = x_max - x_min + 1."""
    ys, xs = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))  # the rows and columns it holds
    return [int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)]


def rle_uncompressed(m: np.ndarray) -> dict:
    """bop_toolkit's ``pycoco_utils.binary_mask_to_rle``: run lengths over the column-major pixels,
    starting with a run of zeros (0 when the first pixel is set)."""
    flat = m.ravel(order="F").astype(bool)
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    return {"counts": ([0] if flat[0] else []) + counts, "size": list(m.shape)}


def dist_image(depth: np.ndarray, K: np.ndarray, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """bop_toolkit's ``misc.depth_im_to_dist_im_fast``: distance from the camera centre of the point
    each pixel sees (pixel (x, y) taken at x, y), 0 where the depth is 0. ``origin``: the image
    pixel of ``depth``'s first one (a part of the image). The toolkit's arithmetic, pixel for
    pixel; a row of x and a column of y stand for its grids of coordinates (the same numbers)."""
    h, w = depth.shape
    xs, ys = np.arange(origin[0], origin[0] + w), np.arange(origin[1], origin[1] + h)[:, None]
    px = (xs - K[0, 2]) / np.float64(K[0, 0])
    py = (ys - K[1, 2]) / np.float64(K[1, 1])
    return np.sqrt((px * depth) ** 2 + (py * depth) ** 2 + depth.astype(np.float64) ** 2)


def gt_info_of(depth_gt_large: np.ndarray, depth_mm: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """(mask, mask_visib, scene_gt_info entry) of one object as calc_gt_info.py and calc_gt_masks.py
    compute them: ``depth_gt_large`` the object's depth (mm) rendered alone on a canvas three times
    the image size, principal point moved by the image size; ``depth_mm`` the scene's depth."""
    h, w = depth_mm.shape
    return gt_info_in_box(depth_gt_large, (0, 0, 3 * w, 3 * h), dist_image(depth_mm, K), K)


def gt_info_in_box(depth_gt_box: np.ndarray, box: tuple[int, int, int, int], dist_im: np.ndarray,
                   K: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`gt_info_of` from the part ``box`` (x, y, width, height on the 3x canvas) of the
    object's depth on the canvas, all of it where the canvas has any, and the scene's distance image
    ``dist_im`` (:func:`dist_image` of its depth in mm). The same numbers, pixel for pixel: the
    toolkit's arithmetic on the box's pixels, whose coordinates keep their place on the canvas."""
    h, w = dist_im.shape
    bx, by = box[:2]
    bh, bw = depth_gt_box.shape
    large = depth_gt_box > 0
    n_all = int(large.sum())
    mask, visib = np.zeros((h, w), bool), np.zeros((h, w), bool)
    x0, x1 = max(bx, w), min(bx + bw, 2 * w)  # the image's part of the box, canvas coordinates
    y0, y1 = max(by, h), min(by + bh, 2 * h)
    n_visib, n_valid, bbox_obj, bbox_visib = 0, 0, [-1, -1, -1, -1], [-1, -1, -1, -1]
    if n_all and x0 < x1 and y0 < y1:
        depth_gt = depth_gt_box[y0 - by:y1 - by, x0 - bx:x1 - bx]
        sub = np.s_[y0 - h:y1 - h, x0 - w:x1 - w]  # the same pixels in the image
        dist_gt = dist_image(depth_gt, K, (x0 - w, y0 - h))
        im = dist_im[sub]
        diff = dist_gt.astype(np.float32) - im.astype(np.float32)
        m = dist_gt > 0
        v = ((diff <= DELTA_MM) | (im == 0)) & m  # visibility "bop19"
        mask[sub], visib[sub] = m, v
        n_visib, n_valid = int(v.sum()), int((im[m] > 0).sum())
        if n_visib:  # as calc_gt_info.py: both boxes only for an object with visible pixels
            ys, xs = np.nonzero(large)
            bbox_obj = calc_2d_bbox(xs + (bx - w), ys + (by - h))
            ys, xs = np.nonzero(v)
            bbox_visib = calc_2d_bbox(xs + (x0 - w), ys + (y0 - h))
    info = {"px_count_all": n_all, "px_count_valid": n_valid, "px_count_visib": n_visib,
            "visib_fract": n_visib / float(n_all) if n_all else 0.0, "bbox_obj": bbox_obj, "bbox_visib": bbox_visib}
    return mask, visib, info
