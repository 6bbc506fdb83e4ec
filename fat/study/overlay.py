"""What ``fat show`` draws on a view: object masks as a translucent tint with an outline, 2D boxes,
projected cuboids with their vertex numbers (FAT's order, front face thicker) and one label per object
(class and visibility) in a filled box placed where it overlaps no earlier label.

Everything is drawn at the size the picture is shown at (``size``), never drawn small and scaled down,
so text keeps the pixel height :func:`text_height` gives it whatever the frames' resolution."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import CUBOID_EDGES

FRONT = {(0, 1), (1, 2), (2, 3), (3, 0)}
FONT = cv2.FONT_HERSHEY_SIMPLEX
TINT = 0.3  # opacity of the mask tint: the object's own look stays visible under it
_BIG = 1 << 24  # coordinates are clipped to this before they reach OpenCV (a projected point can be huge)


def colours(n: int) -> np.ndarray:
    """``n`` distinct bright RGB colours (uint8, shape n x 3); object k is drawn in colour k."""
    hue = ((np.arange(n, dtype=np.int64) * 47) % 180).astype(np.uint8)
    hsv = np.stack([hue, np.full(n, 220, np.uint8), np.full(n, 255, np.uint8)], -1)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0] if n else np.zeros((0, 3), np.uint8)


def text_height(width: int, height: int) -> int:
    """Pixel height of label text on a picture of this size: about 4.5% of its smaller side, and never
    under 10 pixels (the smallest size that stays readable) nor over 40."""
    return int(np.clip(round(0.045 * min(width, height)), 10, 40))


@dataclass(frozen=True)
class TextStyle:
    """Hershey text of a given pixel height (the height of a digit)."""

    height: int
    padding: int | None = None  # pixels around the text in its box; a quarter of its height by default

    @property
    def scale(self) -> float:
        return self.height / cv2.getTextSize("0", FONT, 1.0, 1)[0][1]

    @property
    def thickness(self) -> int:
        return max(1, round(self.height / 12))

    @property
    def pad(self) -> int:
        return max(2, self.height // 4) if self.padding is None else self.padding

    def size(self, text: str) -> tuple[int, int]:
        """(width, height) of ``text`` in its filled box, padding included."""
        (w, h), base = cv2.getTextSize(text, FONT, self.scale, self.thickness)
        return w + 2 * self.pad, h + base + 2 * self.pad

    def boxed(self, img: np.ndarray, text: str, x: int, y: int, fill, ink=(0, 0, 0)) -> None:
        """``text`` in a filled box whose top-left corner is (x, y), with a dark border."""
        w, h = self.size(text)
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), tuple(int(c) for c in fill), -1)
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (20, 20, 20), 1)
        base = cv2.getTextSize(text, FONT, self.scale, self.thickness)[1]
        cv2.putText(img, text, (x + self.pad, y + h - self.pad - base), FONT, self.scale, tuple(int(c) for c in ink),
                    self.thickness, cv2.LINE_AA)


def object_label(o: dict) -> str:
    return f"{o['class'].replace('_16k', '').replace('_16K', '')} {o['visibility']:.2f}"


def place_labels(boxes, sizes, shape) -> list[tuple[int, int, int, int] | None]:
    """Where each label goes: ``(x0, y0, x1, y1)`` (x1, y1 exclusive) inside an image of ``shape``
    (height, width), overlapping no earlier label, or None where no place is free.

    ``boxes`` are the objects' 2D boxes (x0, y0, x1, y1) in pixels of that image, ``sizes`` the labels'
    (width, height). Tried in turn: above the box, below it, inside it at the top and at the bottom,
    then further away above and below by one to three label heights; each of them also shifted sideways
    by half and by one label width. Places are moved sideways into the image as needed, up or down
    only when no place fits in the image as it is. A box wholly outside the image gets no label."""
    H, W = shape[:2]
    taken = np.zeros((H, W), bool)
    out: list[tuple[int, int, int, int] | None] = []
    failed = set()  # (box, size) with no free place: the taken area only grows, so it never gets one
    for box, (w, h) in zip(boxes, sizes):
        x0, y0, x1, y1 = (float(v) for v in np.clip(np.nan_to_num(np.asarray(box, np.float64)), -_BIG, _BIG))
        bx0, by0, bx1, by1 = round(x0), round(y0), round(x1), round(y1)
        if w > W or h > H or x1 < 0 or y1 < 0 or x0 >= W or y0 >= H or (bx0, by0, bx1, by1, w, h) in failed:
            out.append(None)
            continue
        ys = [by0 - h, by1 + 1, by0, by1 - h]
        ys += [by0 - h - k * h for k in (1, 2, 3)] + [by1 + 1 + k * h for k in (1, 2, 3)]
        xs = [bx0] + [bx0 + s * k * max(1, w // 2) for k in (1, 2) for s in (1, -1)]
        spot = None
        seen = set()
        # sideways a place is always moved into the image; up or down only once no place fits as it is
        cands = ((x, y, move) for move in (False, True) for y in ys for x in xs)
        for x, y, move in cands:
            if not move and not 0 <= y <= H - h:
                continue
            cx, cy = min(max(x, 0), W - w), min(max(y, 0), H - h)
            if (cx, cy) in seen:
                continue
            seen.add((cx, cy))
            if not taken[cy:cy + h, cx:cx + w].any():
                spot = (cx, cy, cx + w, cy + h)
                break
        if spot:
            taken[spot[1]:spot[3], spot[0]:spot[2]] = True
        else:
            failed.add((bx0, by0, bx1, by1, w, h))
        out.append(spot)
    return out


def object_ids(view: dict) -> np.ndarray | None:
    """Per pixel the number (1-based) of the listed object it shows, 0 for none: the instance map, or
    where there is none the class segmentation (each class's first listed object)."""
    objs = view.get("objects", [])
    ids = view.get("instance")
    if ids is None and "seg" in view:
        first = np.zeros(256, np.int32)
        for k, o in reversed(list(enumerate(objs))):
            if 0 <= int(o["segmentation_id"]) < 256:
                first[int(o["segmentation_id"])] = k + 1
        first[0] = 0
        ids = first[view["seg"]]
    if ids is None:
        return None
    ids = np.asarray(ids).astype(np.int32)
    ids[(ids < 0) | (ids > len(objs))] = 0
    return ids


def outline(ids: np.ndarray) -> np.ndarray:
    """Pixels of an object that touch a pixel of another object or of none (4-neighbourhood)."""
    edge = np.zeros(ids.shape, bool)
    edge[1:] |= ids[1:] != ids[:-1]
    edge[:-1] |= ids[:-1] != ids[1:]
    edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    edge[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    return edge & (ids > 0)


def resize(img: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """``img`` at ``size`` (width, height); the array itself when it already has that size."""
    if (img.shape[1], img.shape[0]) == tuple(size):
        return img
    if nearest:  # each output pixel takes the input pixel under its centre: ids and metres are never mixed
        ys = np.minimum(((np.arange(size[1]) + 0.5) * img.shape[0] / size[1]).astype(np.int64), img.shape[0] - 1)
        xs = np.minimum(((np.arange(size[0]) + 0.5) * img.shape[1] / size[0]).astype(np.int64), img.shape[1] - 1)
        return img[ys][:, xs]
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if size[0] < img.shape[1] else cv2.INTER_LINEAR)


def mask_colours(ids: np.ndarray, n: int) -> np.ndarray:
    """Objects in their colours on black."""
    lut = np.vstack([np.zeros((1, 3), np.uint8), colours(n)])
    return lut[ids]


def annotate_image(view: dict, size: tuple[int, int] | None = None, overlay: bool = True) -> np.ndarray:
    """The RGB image of a view at ``size`` (width, height; its own by default) with its objects' masks
    tinted and outlined, 2D boxes, projected cuboids with vertex numbers and one label per object;
    ``overlay=False``: the image alone."""
    rgb = view["rgb"]
    h0, w0 = rgb.shape[:2]
    W, H = size or (w0, h0)
    img = resize(rgb, (W, H)).copy()
    if not overlay:
        return img
    objs = view.get("objects", [])
    sx, sy = W / w0, H / h0
    lut = colours(len(objs))
    ids = object_ids(view)
    if ids is not None:
        ids = resize(ids, (W, H), nearest=True)
        on = ids > 0
        if on.any():
            tinted = lut[np.maximum(ids, 1) - 1]
            blend = (img.astype(np.float32) * (1 - TINT) + tinted.astype(np.float32) * TINT).round().astype(np.uint8)
            img[on] = blend[on]
            edge = outline(ids)
            img[edge] = lut[ids[edge] - 1]
        del on, ids
    line = max(1, round(min(W, H) / 300))
    numbers = TextStyle(max(8, text_height(W, H) - 2), padding=1)
    scale = 16  # OpenCV's fixed point: 4 fractional bits
    for k, o in enumerate(objs):
        c = tuple(int(v) for v in lut[k])
        x0, y0, x1, y1 = np.clip(np.nan_to_num(np.asarray(o["bbox"], np.float64)) * [sx, sy, sx, sy], -_BIG, _BIG)
        cv2.rectangle(img, (int(round(x0)), int(round(y0))), (int(round(x1)), int(round(y1))), c, line, cv2.LINE_AA)
        p = np.nan_to_num(np.asarray(o["projected_cuboid"], np.float64)) * [sx, sy]
        pts = np.clip(np.round((p - 0.5) * scale), -_BIG, _BIG).astype(np.int64)
        for a, b in CUBOID_EDGES:
            cv2.line(img, tuple(map(int, pts[a])), tuple(map(int, pts[b])), c, 2 * line if (a, b) in FRONT else line,
                     cv2.LINE_AA, shift=4)
        for v, (px, py) in enumerate(p):
            if 0 <= px < W and 0 <= py < H:  # a small filled box beside the vertex, kept inside the image
                tw, th = numbers.size(str(v))
                x = int(min(max(px + 2, 0), max(W - tw, 0)))
                y = int(min(max(py - 2 - th, 0), max(H - th, 0)))
                numbers.boxed(img, str(v), x, y, c)
    labels = TextStyle(text_height(W, H))
    texts = [object_label(o) for o in objs]
    boxes = [np.asarray(o["bbox"], np.float64) * [sx, sy, sx, sy] for o in objs]
    for k, spot in enumerate(place_labels(boxes, [labels.size(t) for t in texts], img.shape)):
        if spot:
            labels.boxed(img, texts[k], spot[0], spot[1], lut[k])
    return img
