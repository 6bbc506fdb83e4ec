"""The extra per-eye images of ``fat generate --extras`` (docs/extras.md): their file names and
encodings, beside FAT's files. Off by default: a dataset made without them has FAT's files only.

``XXXXXX.<eye>.normals.png``
    16-bit RGB PNG (R, G, B = x, y, z): the camera-frame unit normal of the visible surface
    (OpenCV axes: x right, y down, z forward; a surface facing the camera has z < 0), scenery
    included; each component stored as ``round((n + 1) / 2 * 65534) + 1``, so 1..65535; (0, 0, 0)
    where nothing was drawn (the background).
``XXXXXX.<eye>.flow.png`` and ``XXXXXX.<eye>.flow_back.png``
    KITTI's optical flow encoding: 16-bit RGB PNG, R = u * 64 + 2^15, G = v * 64 + 2^15 (pixels,
    rounded), B = 1 where the flow is valid, 0 where not (the point hidden or outside the image in
    the other frame, the background, or no other frame). ``flow``: from this frame to the next
    frame of the same drop, same eye; ``flow_back``: to the previous one.
``XXXXXX.<eye>.coordinates.png``
    16-bit RGB PNG: each object pixel's point in its object's frame (the cuboid-aligned frame of
    ``_object_settings.json``, origin at the cuboid's centre) divided by the cuboid's extents and
    shifted by one half (NOCS: 0..1 across the cuboid), stored as ``round(c * 65534) + 1``; (0, 0,
    0) where the pixel shows no annotated object.
``XXXXXX.<eye>.amodal.png``
    Every listed object's full silhouette, occluders ignored, as bits: the object with instance id
    ``i`` (1 + its index in the view JSON's ``objects``) is bit ``(i - 1) % 16`` of channel
    ``(i - 1) // 16``. A 16-bit grey PNG when the view lists at most 16 objects; else a 16-bit
    RGBA PNG (channels R, G, B, A = 0, 1, 2, 3). Each object's mask pixel count is the key
    ``amodal_pixel_count`` of its entry in the view JSON.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..fileio import write_files
from .fat_images import encode_image

#: The extras, in the order ``--extras`` lists them.
EXTRAS = ("normals", "flow", "coordinates", "amodal")
#: File kind -> suffix after ``XXXXXX.<eye>.``
SUFFIXES = {"normals": "normals.png", "flow": "flow.png", "flow_back": "flow_back.png",
            "coordinates": "coordinates.png", "amodal": "amodal.png"}
#: The files each extra writes.
FILES = {"normals": ("normals",), "flow": ("flow", "flow_back"), "coordinates": ("coordinates",), "amodal": ("amodal",)}
#: The JSON key of each object's amodal pixel count (after FAT's keys).
AMODAL_KEY = "amodal_pixel_count"
FLOW_SCALE, FLOW_ZERO = 64.0, 32768.0
#: Flow that 16 bits can hold (pixels, either way); larger is written invalid.
FLOW_MAX = (65535 - FLOW_ZERO) / FLOW_SCALE
MAX_AMODAL_OBJECTS = 64


def extra_file(folder: str | Path, index: int, eye: str, kind: str) -> Path:
    """``folder/XXXXXX.<eye>.<suffix>`` of an extra file kind (a key of :data:`SUFFIXES`)."""
    return Path(folder) / f"{index:06d}.{eye}.{SUFFIXES[kind]}"


def parse_extras(value) -> tuple[str, ...]:
    """The extras named by ``value`` (a comma-separated string or a list), in :data:`EXTRAS` order;
    ValueError naming an unknown one."""
    names = value.split(",") if isinstance(value, str) else list(value)
    out = set()
    for n in names:
        n = str(n).strip()
        if not n:
            continue
        if n not in EXTRAS:
            raise ValueError(f"unknown extra {n!r}; extras are {', '.join(EXTRAS)}")
        out.add(n)
    return tuple(e for e in EXTRAS if e in out)


def _unit16(x: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> 1..65535 (x * 65534 rounded, plus one)."""
    y = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    y *= np.float32(65534.0)
    y += np.float32(1.5)
    return y.astype(np.uint16)  # truncation of x + 0.5: rounding


def _from_unit16(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.float32) - 1.0) / 65534.0


def _rgb(raw_rgb: np.ndarray) -> bytes:
    return encode_image(".png", cv2.cvtColor(raw_rgb, cv2.COLOR_RGB2BGR))  # OpenCV writes BGR


def _read_rgb16(path: str | Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.dtype != np.uint16 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"{path}: not a 16-bit RGB PNG")
    return img[..., ::-1]


def normals_raw(normals: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(H, W, 3) camera-frame unit normals, (H, W) bool where a surface was drawn -> the file's uint16 values."""
    raw = _unit16((np.asarray(normals, np.float64) + 1.0) / 2.0)
    raw[~valid] = 0
    return raw


def encode_normals(raw_rgb: np.ndarray, valid: np.ndarray | None = None) -> bytes:
    """The file's uint16 values ((H, W, 3), R, G, B order: a renderer's ``normals``) -> PNG bytes;
    or, with ``valid``, float unit normals and where they are (:func:`normals_raw`)."""
    if valid is not None:
        raw_rgb = normals_raw(raw_rgb, valid)
    if raw_rgb.dtype != np.uint16 or raw_rgb.ndim != 3 or raw_rgb.shape[2] != 3:
        raise ValueError(f"normals must be (H, W, 3) uint16, got {raw_rgb.dtype} {raw_rgb.shape}")
    return _rgb(raw_rgb)


def decode_normals(raw_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """16-bit RGB (R, G, B order) -> ((H, W, 3) float32 normals, (H, W) bool valid)."""
    valid = raw_rgb.any(axis=2)
    n = _from_unit16(raw_rgb) * 2.0 - 1.0
    n[~valid] = 0
    return n, valid


def encode_flow(flow: np.ndarray, valid: np.ndarray) -> bytes:
    """(H, W, 2) flow in pixels (u right, v down), (H, W) bool valid -> KITTI PNG bytes. Flow that
    16 bits cannot hold is written invalid."""
    f = np.asarray(flow, np.float32) * np.float32(FLOW_SCALE)
    f += np.float32(FLOW_ZERO + 0.5)
    u, v = f[..., 0], f[..., 1]
    ok = valid & (u >= 0.5) & (u < 65535.5) & (v >= 0.5) & (v < 65535.5)  # NaN fails them
    np.clip(f, 0.0, 65535.0, out=f)
    bgr = np.empty(f.shape[:2] + (3,), np.uint16)  # OpenCV writes B, G, R: valid, v, u
    bgr[..., 2] = u  # truncation of x + 0.5: rounding
    bgr[..., 1] = v
    bgr[..., 0] = ok
    bgr[..., 1:][~ok] = int(FLOW_ZERO)
    return encode_image(".png", bgr)


def decode_flow(raw_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KITTI 16-bit RGB (R, G, B order) -> ((H, W, 2) float32 flow in pixels, (H, W) bool valid)."""
    flow = (raw_rgb[..., :2].astype(np.float32) - np.float32(FLOW_ZERO)) / np.float32(FLOW_SCALE)
    valid = raw_rgb[..., 2] > 0
    flow[~valid] = 0
    return flow, valid


def encode_coordinates(nocs: np.ndarray, valid: np.ndarray | None = None) -> bytes:
    """(H, W, 3) NOCS coordinates (0..1 across the cuboid) and (H, W) bool object pixels -> PNG bytes;
    or, without ``valid``, the file's uint16 values (a renderer's ``coordinates``)."""
    if valid is None:
        if nocs.dtype != np.uint16 or nocs.ndim != 3 or nocs.shape[2] != 3:
            raise ValueError(f"coordinates must be (H, W, 3) uint16, got {nocs.dtype} {nocs.shape}")
        return _rgb(nocs)
    raw = np.zeros(valid.shape + (3,), np.uint16)
    raw[valid] = _unit16(nocs[valid])
    return _rgb(raw)


def decode_coordinates(raw_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """16-bit RGB (R, G, B order) -> ((H, W, 3) float32 NOCS coordinates, (H, W) bool valid)."""
    valid = raw_rgb.any(axis=2)
    c = _from_unit16(raw_rgb)
    c[~valid] = 0
    return c, valid


def encode_amodal(masks: np.ndarray) -> bytes:
    """(N, H, W) bool full silhouettes of the view's N listed objects, in the JSON's order -> PNG bytes."""
    masks = np.asarray(masks, dtype=bool)
    n, h, w = masks.shape
    if n > MAX_AMODAL_OBJECTS:
        raise ValueError(f"{n} objects: an amodal PNG holds at most {MAX_AMODAL_OBJECTS}")
    channels = 1 if n <= 16 else 4
    raw = np.zeros((h, w, channels), np.uint16)
    on = masks.any(axis=0)
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    if len(rows):  # only the box the masks cover
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        part = raw[box]
        for i in range(n):
            part[..., i // 16] |= masks[i][box].astype(np.uint16) << np.uint16(i % 16)
    if channels == 1:
        return encode_image(".png", raw[..., 0])
    return encode_image(".png", raw[..., [2, 1, 0, 3]])  # OpenCV writes BGRA


def check_planes(raw: np.ndarray, n: int) -> None:
    """ValueError when the amodal bit planes ``raw`` ((H, W, C)) hold fewer than ``n`` objects."""
    if n > 16 * raw.shape[2]:
        raise ValueError(f"the amodal image holds {16 * raw.shape[2]} objects, the view lists {n}")


def decode_amodal(raw: np.ndarray, n: int) -> np.ndarray:
    """A decoded amodal PNG ((H, W) or (H, W, C) uint16, channels in R, G, B, A order) -> (n, H, W) bool."""
    raw = raw[..., None] if raw.ndim == 2 else raw
    check_planes(raw, n)
    if n == 0:
        return np.zeros((0,) + raw.shape[:2], bool)
    return np.stack([(raw[..., i // 16] >> np.uint16(i % 16)) & 1 for i in range(n)]).astype(bool)


#: The decoder of each extra file kind but amodal: the file's values (R, G, B order) -> (values, valid).
DECODERS = {"normals": decode_normals, "flow": decode_flow, "flow_back": decode_flow, "coordinates": decode_coordinates}


def read_raw(path: str | Path, kind: str) -> np.ndarray:
    """The values of one extra file as stored: (H, W, 3) uint16 in R, G, B order, or for amodal the
    (H, W, C) uint16 bit planes (C = 1, or 4 in R, G, B, A order). ValueError naming the file when it
    is not what ``kind`` writes."""
    if kind != "amodal" and kind not in DECODERS:
        raise ValueError(f"unknown extra file kind {kind!r}")
    if kind != "amodal":
        return _read_rgb16(path)
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.dtype != np.uint16 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 4)):
        raise ValueError(f"{path}: not a 16-bit grey or RGBA PNG")
    return img[..., None] if img.ndim == 2 else img[..., [2, 1, 0, 3]]


def read_extra(path: str | Path, kind: str, n_objects: int = 0):
    """Read one extra file: normals/coordinates -> (values, valid); flow/flow_back -> (flow, valid);
    amodal -> (n_objects, H, W) bool. ValueError naming the file when it is not what ``kind`` writes."""
    raw = read_raw(path, kind)
    return decode_amodal(raw, n_objects) if kind == "amodal" else DECODERS[kind](raw)


def write_extras(folder: str | Path, index: int, eye: str, files: dict[str, bytes], root: str | Path) -> dict[Path, str]:
    """Write extra files of one eye (kind -> bytes) below ``root`` without following a symbolic
    link (as :func:`fat.formats.fat.write_view`), each atomically; returns their sha256 by path."""
    return write_files(folder, {extra_file(folder, index, eye, kind): data for kind, data in files.items()}, root)


def no_flow(shape: tuple[int, int]) -> bytes:
    """A flow file of ``shape`` (H, W) valid nowhere: the flow of a drop's last frame to a next one,
    or of its first to a previous one."""
    return encode_flow(np.zeros(shape + (2,)), np.zeros(shape, bool))
