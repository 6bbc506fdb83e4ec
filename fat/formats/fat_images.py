"""FAT's images (``shared/spec/FAT_FORMAT.md``): JPEG RGB, 16-bit depth in 0.1 mm, 8-bit class
segmentation and the 16-bit instance map; encoded for the writer, decoded and checked for the
reader (a missing, cut-short or corrupt file, or one of another size or depth, is a FormatError
naming the file). :mod:`fat.formats.fat` re-exports these names.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import FormatError

DEPTH_UNITS_PER_M = 10000.0  # 0.1 mm per count
DEPTH_MAX_M = 65535 / DEPTH_UNITS_PER_M  # 6.5535 m
DEPTH_NO_VALUE = 65535  # written where there is no surface or the depth is DEPTH_MAX_M or more
CAMERA_SETTINGS = "_camera_settings.json"  # where a folder's image size is given


def encode_depth(depth_m: np.ndarray) -> np.ndarray:
    """z-depth in metres -> uint16 counts of 0.1 mm, rounded to nearest.

    65535 (:data:`DEPTH_NO_VALUE`, saturated, as a 16-bit depth sensor clamps) where there is no
    surface (not finite or <= 0, as renderers mark it) and where the depth is 6.5535 m or more; a
    surface nearer than 0.05 mm counts 1. No pixel is 0, so ``fx * baseline / depth`` (torchvision,
    RAFT-Stereo) is finite everywhere."""
    d = np.asarray(depth_m, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        raw = np.floor(d * DEPTH_UNITS_PER_M + 0.5)
        none = ~(d > 0) | ~np.isfinite(raw) | (raw >= DEPTH_NO_VALUE)
    raw[none] = DEPTH_NO_VALUE
    return np.maximum(raw, 1).astype(np.uint16)


def depth_valid(raw: np.ndarray) -> np.ndarray:
    """Where uint16 depth counts hold a depth: neither 0 (no value in real FAT's loaders and in
    datasets written before 65535 was used) nor 65535 (no surface, or 6.5535 m and beyond)."""
    return (raw != 0) & (raw != DEPTH_NO_VALUE)


def decode_depth(raw: np.ndarray) -> np.ndarray:
    """uint16 counts -> float32 metres; 0 where there is no value (raw 0 or 65535)."""
    d = np.divide(raw, np.float32(DEPTH_UNITS_PER_M), dtype=np.float32)
    d[raw == DEPTH_NO_VALUE] = 0
    return d


def encode_image(ext: str, image: np.ndarray, params: list[int] = ()) -> bytes:
    """The bytes of ``image`` encoded as ``ext`` (``.png``, ``.jpg``) with OpenCV's ``params``."""
    ok, buf = cv2.imencode(ext, image, list(params))
    if not ok:
        raise ValueError(f"OpenCV could not encode a {ext} image of shape {image.shape}")
    return buf.tobytes()


def encode_images(
    rgb: np.ndarray, depth_m: np.ndarray, seg: np.ndarray, instance: np.ndarray, jpeg_quality: int = 95
) -> dict[str, bytes]:
    """File bytes of one view's images, keyed by kind (rgb, depth, seg, instance)."""
    h, w = depth_m.shape
    for name, img, shape in (("rgb", rgb, (h, w, 3)), ("seg", seg, (h, w)), ("instance", instance, (h, w))):
        if img.shape != shape:
            raise ValueError(f"{name} image has shape {img.shape}, expected {shape}")
    if rgb.dtype != np.uint8 or seg.dtype != np.uint8:
        raise ValueError("rgb and seg images must be uint8")
    if not 1 <= int(jpeg_quality) <= 100:
        raise ValueError(f"JPEG quality must be 1..100, got {jpeg_quality}")
    return {
        "rgb": encode_image(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]),
        "depth": encode_image(".png", encode_depth(depth_m), []),
        "seg": encode_image(".png", seg, []),
        "instance": encode_image(".png", np.asarray(instance).astype(np.uint16), []),
    }


def _read_bytes(path: Path) -> np.ndarray:
    """The bytes of an image file, refused when missing, unreadable or a JPEG cut short."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise FormatError(path, "file is missing") from None
    except OSError as e:
        raise FormatError(path, f"cannot read: {e}") from None
    check_complete(path, data)
    return data


def decode_file(path: Path, flags: int) -> np.ndarray:
    """An image file decoded with OpenCV's ``flags``; FormatError naming it when it cannot be."""
    data = _read_bytes(path)
    img = cv2.imdecode(data, flags) if data.size else None
    if img is None:
        raise FormatError(path, "not a readable image (truncated or corrupt)")
    return img


def check_complete(path: str | Path, data: np.ndarray) -> None:
    """Refuse a JPEG cut short: OpenCV decodes one, greying the missing rows, without an error. A
    complete JPEG ends with the end-of-image marker FF D9 (padding zeros after it are allowed)."""
    if data.size >= 2 and data[0] == 0xFF and data[1] == 0xD8:
        end = np.flatnonzero(data)
        last = int(end[-1]) if end.size else -1
        if last < 1 or data[last - 1] != 0xFF or data[last] != 0xD9:
            raise FormatError(path, "truncated JPEG (no end-of-image marker): the file was cut short")


def check_rgb(path: str | Path, size: tuple[int, int] | None = None) -> None:
    """Check that an RGB file is complete and decodes to an image of ``size`` (a JPEG is decoded at
    1/8 scale: every byte of its data is still read, in a fraction of the time)."""
    path = Path(path)
    data = _read_bytes(path)
    jpeg = data.size >= 2 and data[0] == 0xFF and data[1] == 0xD8
    img = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_8 if jpeg else cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None or img.dtype != np.uint8 or img.ndim != 3:
        raise FormatError(path, "not a readable colour image (truncated or corrupt)")
    if size is not None:
        expect = (-(-size[0] // 8), -(-size[1] // 8)) if jpeg else tuple(size)
        if (img.shape[1], img.shape[0]) != expect:
            got = "" if jpeg else f" ({img.shape[1]}x{img.shape[0]})"
            raise FormatError(path, f"image is not {size[0]}x{size[1]}{got} as {CAMERA_SETTINGS} says")


def check_size(path: Path, img: np.ndarray, size: tuple[int, int] | None) -> None:
    """Refuse an image that is not ``size`` (width, height) pixels, as the folder's camera settings say."""
    if size is not None and (img.shape[1], img.shape[0]) != tuple(size):
        raise FormatError(path, f"image is {img.shape[1]}x{img.shape[0]}, expected {size[0]}x{size[1]} ({CAMERA_SETTINGS})")


def read_rgb(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB."""
    path = Path(path)
    img = decode_file(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
        raise FormatError(path, f"expected an 8-bit colour image, found {_describe(img)}")
    check_size(path, img, size)
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def _read_gray(path: str | Path, dtype, what: str, size) -> np.ndarray:
    path = Path(path)
    img = decode_file(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != dtype or img.ndim != 2:
        raise FormatError(path, f"expected a {what} single-channel PNG, found {_describe(img)}")
    check_size(path, img, size)
    return img


def _describe(img: np.ndarray) -> str:
    bits = img.dtype.itemsize * 8
    channels = 1 if img.ndim == 2 else img.shape[2]
    return f"{bits}-bit with {channels} channel{'s' if channels > 1 else ''}"


def read_depth_raw(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint16 depth counts (0.1 mm; 0 and 65535 = no value, see :func:`depth_valid`)."""
    return _read_gray(path, np.uint16, "16-bit", size)


def read_depth(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """float32 z-depth in metres; 0 where there is no value (raw 0 or 65535)."""
    return decode_depth(read_depth_raw(path, size))


def read_seg(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 class segmentation (0 = background)."""
    return _read_gray(path, np.uint8, "8-bit", size)


def read_instance(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint16 instance map: 1 + index into the view's ``objects`` (0 = background)."""
    return _read_gray(path, np.uint16, "16-bit", size)
