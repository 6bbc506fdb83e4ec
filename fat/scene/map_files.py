"""Environment map files: checking (:func:`probe_environment`: the header, the size, once per file
and recorded in the cache folder) and reading (:func:`read_map`: Radiance ``.hdr`` and OpenEXR
``.exr``, decoded in strips and averaged down, so memory stays bounded whatever the map's size).
:mod:`fat.scene.environment` turns what is read into lighting.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..assets.cache import cache_dir
from ..errors import ConfigError, FatError
from ..fileio import stat_input, why, write_bytes_atomic

MAX_MAP_WIDTH = 32768
"""Environment maps wider than this (32768 x 16384 pixels) are refused. Any map up to it is read in
strips with the same memory; the time grows with its pixels (a 16384 x 8192 map: about 3 s)."""
MIN_MAP_WIDTH = 8
"""Environment maps narrower than this (8 x 4 pixels) are refused: too coarse to light a scene."""
STRIP_BYTES = 32 << 20
"""A map is decoded this many bytes of float radiance (rows of the full-size map) at a time."""
BLOCK_BYTES = 8 << 20  # bytes read from a file at a time
_HEADER_LIMIT = 64 << 10  # a Radiance header longer than this is not one
_HDR_SIGNATURES = (b"#?RADIANCE", b"#?RGBE")
_EXR_MAGIC = b"\x76\x2f\x31\x01"
#: Scanlines per chunk of each OpenEXR compression (NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB).
_EXR_LINES = (1, 1, 1, 16, 32, 16, 32, 32, 32, 256)
_PROBE_VERSION = 1


class _Malformed(Exception):
    """Why a map's data cannot be what its header says (the message's tail)."""


@dataclass(frozen=True)
class MapInfo:
    """What :func:`probe_environment` found in a map's header."""

    path: Path
    format: str  # "hdr" or "exr"
    width: int
    height: int
    offset: int = 0  # .hdr: where the pixel data starts


def probe_environment(path: str | Path) -> MapInfo:
    """Check an environment map without decoding its pixels: the suffix, the header (format, a size
    of 2:1 between :data:`MIN_MAP_WIDTH` and :data:`MAX_MAP_WIDTH` pixels wide), and that the data
    holds what the header promises (a ``.hdr``: every scanline's run-length data, walked to the end;
    an ``.exr``: its chunk table points inside the file). A map that fails is a one-line ConfigError
    naming it. Results are kept by path, size and modification time, in this process and (those
    that pass) in ``cache_dir()/environments/probed/``, so a map is walked once."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".hdr", ".exr"):
        raise ConfigError(f"{path}: not an environment map (expected a .hdr or .exr file)")
    st = stat_input(path, "environment map")
    return _probe_cached(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=256)
def _probe_cached(path: str, size: int, mtime_ns: int) -> MapInfo:
    p = Path(path)
    key = hashlib.sha256(f"{_PROBE_VERSION}|{p.resolve()}|{size}|{mtime_ns}".encode()).hexdigest()
    marker = cache_dir() / "environments" / "probed" / f"{key}.json"
    try:
        known = json.loads(marker.read_text())
        return MapInfo(p, known["format"], int(known["width"]), int(known["height"]), int(known["offset"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    info = _probe(p)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(marker, json.dumps({"format": info.format, "width": info.width, "height": info.height,
                                               "offset": info.offset}).encode())
    except (OSError, FatError):
        pass  # the cache only saves time
    return info


def _probe(path: Path) -> MapInfo:
    try:
        with open(path, "rb") as f:
            if path.suffix.lower() == ".hdr":
                info = _hdr_header(path, f)
                for _ in _hdr_strips(path, f, info, rows=max(1, STRIP_BYTES // (12 * info.width))):
                    pass
            else:
                info = _exr_header(path, f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the environment map: {why(e)}") from None
    return info


def _kind_of(head: bytes) -> str:
    """What a file that is not the map it is named as starts like."""
    kinds = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (_EXR_MAGIC, "an OpenEXR image"),
             (b"GIF8", "a GIF image"), (b"II*\0", "a TIFF image"), (b"MM\0*", "a TIFF image"), (b"%PDF", "a PDF file"),
             (b"PK\x03\x04", "a ZIP archive"))
    for magic, kind in kinds:
        if head.startswith(magic):
            return f"it is {kind}"
    if not head:
        return "the file is empty"
    return "it does not begin with #?RADIANCE"


def _check_size(path: Path, width: int, height: int) -> None:
    if width != 2 * height:
        raise ConfigError(f"{path}: {width}x{height} pixels is not an equirectangular map (the width must be twice "
                          "the height)")
    if width < MIN_MAP_WIDTH:
        raise ConfigError(f"{path}: {width}x{height} pixels is too small for an environment map (at least "
                          f"{MIN_MAP_WIDTH}x{MIN_MAP_WIDTH // 2})")
    if width > MAX_MAP_WIDTH:
        raise ConfigError(f"{path}: {width}x{height} pixels is larger than the {MAX_MAP_WIDTH}x{MAX_MAP_WIDTH // 2} "
                          "an environment map may have; downsize it (the renderer uses 512 pixels across)")


def _hdr_header(path: Path, f) -> MapInfo:
    """The header of a Radiance file (``#?RADIANCE``, ``KEY=value`` lines, a blank line, ``-Y H +X W``)."""
    head = f.read(_HEADER_LIMIT)
    bad = f"{path}: not a readable Radiance .hdr image"
    if not head.startswith(_HDR_SIGNATURES):
        raise ConfigError(f"{bad} ({_kind_of(head)})")
    end = head.find(b"\n\n")
    if end < 0:
        raise ConfigError(f"{bad} (no end of its header in its first {_HEADER_LIMIT // 1024} KB)")
    for line in head[:end].split(b"\n")[1:]:
        if line.startswith(b"FORMAT=") and line.strip() != b"FORMAT=32-bit_rle_rgbe":
            raise ConfigError(f"{bad} (pixel format {line[7:].strip().decode('latin-1')!r}; only 32-bit_rle_rgbe is read)")
    nl = head.find(b"\n", end + 2)
    m = re.fullmatch(rb"-Y (\d{1,9}) \+X (\d{1,9})", head[end + 2:nl].strip()) if nl > 0 else None
    if m is None:
        line = head[end + 2:nl if nl > 0 else end + 42].decode("latin-1")
        raise ConfigError(f"{bad} (resolution line {line!r}; the standard '-Y height +X width' is read)")
    height, width = int(m.group(1)), int(m.group(2))
    _check_size(path, width, height)
    return MapInfo(path, "hdr", width, height, nl + 1)


def _rle_line(buf: bytes, pos: int, width: int) -> int:
    """Walk one run-length encoded scanline (4 planes of ``width`` bytes) from ``pos``; its end."""
    if buf[pos] != 2 or buf[pos + 1] != 2 or (buf[pos + 2] << 8 | buf[pos + 3]) != width:
        raise _Malformed("it does not start as run-length encoded scanlines do")
    pos += 4
    for _ in range(4):
        n = 0
        while n < width:
            c = buf[pos]
            if c > 128:
                n += c - 128
                pos += 2
            elif c:
                n += c
                pos += c + 1
            else:
                raise _Malformed("it holds a run of length 0")
        if n != width:
            raise _Malformed("a run passes the end of the scanline")
    return pos


def _hdr_strips(path: Path, f, info: MapInfo, rows: int):
    """The pixel data of ``rows`` scanlines at a time, ``(first row, bytes, rows)``, each strip's
    scanlines checked (run-length encoded ones walked to their ends); a ConfigError when the data
    is cut short or malformed. Reads the file in blocks: memory stays about one strip."""
    width, height = info.width, info.height
    f.seek(info.offset)
    buf, pos, eof = b"", 0, False
    line_max = 4 + 8 * width  # a run-length encoded line at its longest (runs of one)
    flat = not 8 <= width <= 0x7FFF  # Radiance writes such widths without run-length encoding
    row = 0
    while row < height:
        n = min(rows, height - row)
        start = pos
        for k in range(n):
            need = 4 * width if flat else line_max
            if len(buf) - pos < need and not eof:
                want = max(BLOCK_BYTES, (n - k) * need)
                more = f.read(want)
                eof = len(more) < want
                buf = buf[start:] + more
                pos -= start
                start = 0
            if row + k == 0 and not flat:
                flat = not (len(buf) >= 4 and buf[0] == 2 and buf[1] == 2 and not buf[2] & 0x80)
            try:
                pos = pos + 4 * width if flat else _rle_line(buf, pos, width)
            except IndexError:
                pos = len(buf) + 1
            except _Malformed as e:
                raise ConfigError(f"{path}: not a readable Radiance .hdr image (scanline {row + k + 1} of {height}: "
                                  f"{e})") from None
            if pos > len(buf):
                raise ConfigError(f"{path}: not a readable Radiance .hdr image (the data ends in scanline "
                                  f"{row + k + 1} of {height}; is the file cut short?)")
        yield row, buf[start:pos], n
        row += n


def _exr_header(path: Path, f) -> MapInfo:
    """An OpenEXR file's size from its header (read here: the OpenEXR package is only asked to decode)."""
    try:
        import Imath  # noqa: F401
        import OpenEXR  # noqa: F401
    except ImportError:
        raise ConfigError(f"{path}: cannot read OpenEXR files here (the OpenEXR Python package is not installed); "
                          "convert it to .hdr or install OpenEXR") from None
    bad = f"{path}: not a readable OpenEXR image"
    head = f.read(8)
    if not head.startswith(_EXR_MAGIC):
        raise ConfigError(f"{bad} ({_kind_of(head).replace('does not begin with #?RADIANCE', 'does not begin as OpenEXR files do')})")
    flags = int.from_bytes(head[4:8], "little") >> 8
    if flags & 0x18:
        raise ConfigError(f"{bad} (a multi-part or deep file; save it as one part of plain scanlines or tiles)")
    attrs = {}
    while True:
        name = _exr_text(f, bad)
        if not name:
            break
        kind = _exr_text(f, bad)
        size = int.from_bytes(f.read(4), "little", signed=True)
        if not 0 <= size <= _HEADER_LIMIT:
            raise ConfigError(f"{bad} (header attribute {name!r} of {size} bytes)")
        value = f.read(size)
        if len(value) < size:
            raise ConfigError(f"{bad} (the file ends in its header; is it cut short?)")
        attrs[name] = (kind, value)
    if attrs.get("dataWindow", ("",))[0] != "box2i" or len(attrs["dataWindow"][1]) != 16:
        raise ConfigError(f"{bad} (no dataWindow in its header)")
    x0, y0, x1, y1 = np.frombuffer(attrs["dataWindow"][1], "<i4").tolist()
    width, height = x1 - x0 + 1, y1 - y0 + 1
    if width < 1 or height < 1:
        raise ConfigError(f"{bad} (its data window is empty)")
    _check_size(path, width, height)
    compression = attrs.get("compression", ("", b"\0"))[1][:1]
    if not flags & 0x2 and compression and compression[0] < len(_EXR_LINES):  # scanlines: check the chunk table
        chunks = -(-height // _EXR_LINES[compression[0]])
        table = f.read(8 * chunks)
        end = f.tell()
        total = f.seek(0, 2)
        if len(table) < 8 * chunks:
            raise ConfigError(f"{bad} (the file ends in its chunk table; is it cut short?)")
        offsets = np.frombuffer(table, "<u8")
        last = int(offsets.max())
        if int(offsets.min()) < end or last + 8 > total:
            raise ConfigError(f"{bad} (a chunk lies outside the file; is it cut short?)")
        f.seek(last + 4)
        size = int.from_bytes(f.read(4), "little", signed=True)
        if size < 0 or last + 8 + size > total:
            raise ConfigError(f"{bad} (its last chunk runs past the file's end; is it cut short?)")
    return MapInfo(path, "exr", width, height)


def _exr_text(f, bad: str) -> str:
    raw = b""
    while True:
        c = f.read(1)
        if not c:
            raise ConfigError(f"{bad} (the file ends in its header; is it cut short?)")
        if c == b"\0":
            return raw.decode("latin-1")
        raw += c
        if len(raw) > 255:
            raise ConfigError(f"{bad} (a header name longer than 255 bytes)")


class _Shrink:
    """Rows of a map coming in order, averaged down to ``max_width`` pixels wide (area averaging,
    what cv2.INTER_AREA does to the whole map) as they come; kept as they are when narrow enough."""

    def __init__(self, width: int, height: int, max_width: int):
        self.width, self.height = width, height
        self.resize = width > max_width
        self.out_w, self.out_h = (max_width // 2 * 2, max_width // 2) if self.resize else (width, height)
        self.acc = np.zeros((self.out_h, self.out_w, 3), np.float64 if self.resize else np.float32)

    def add(self, y0: int, rows: np.ndarray, clean: bool = False) -> None:
        """Rows ``y0 ..`` of the map, ``(n, width, 3)`` float32 linear RGB; ``clean``: NaN, infinities
        and negative values (an EXR's) become 0 (a Radiance file's RGBE pixels hold none)."""
        if clean:
            rows = np.nan_to_num(np.array(rows, np.float32), copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            np.maximum(rows, 0, out=rows)
        n = len(rows)
        if not self.resize:
            self.acc[y0:y0 + n] = rows
            return
        small = cv2.resize(rows, (self.out_w, n), interpolation=cv2.INTER_AREA) if self.out_w != self.width else rows
        # source row i covers output rows [i oh / h, (i + 1) oh / h): at most two of them; exact in integers
        h, oh = self.height, self.out_h
        i = np.arange(y0, y0 + n, dtype=np.int64)
        top, bottom = i * oh, (i + 1) * oh
        j = top // h
        first = np.minimum(bottom, (j + 1) * h) - top
        j0 = int(j[0])
        span = int(min(j[-1] + 2, oh)) - j0
        weights = np.zeros((span, n))
        weights[j - j0, np.arange(n)] = first / h
        spill = (bottom - top - first) > 0
        weights[j[spill] + 1 - j0, np.arange(n)[spill]] = (bottom - top - first)[spill] / h
        self.acc[j0:j0 + span] += (weights @ small.reshape(n, -1).astype(np.float64)).reshape(span, self.out_w, 3)

    def result(self) -> np.ndarray:
        return np.ascontiguousarray(self.acc, np.float32)


def read_map(info: MapInfo, max_width: int = 512) -> np.ndarray:
    """The radiance of a probed map (:func:`probe_environment`), ``(H, W, 3)`` float32 linear RGB
    >= 0, averaged down to at most ``max_width`` pixels wide, read in strips of about
    :data:`STRIP_BYTES`."""
    path = info.path
    shrink = _Shrink(info.width, info.height, max_width)
    rows = max(1, STRIP_BYTES // (12 * info.width))
    try:
        if info.format == "hdr":
            with open(path, "rb") as f:
                for y0, data, n in _hdr_strips(path, f, info, rows):
                    head = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (n, info.width)
                    img = cv2.imdecode(np.frombuffer(head + data, np.uint8), cv2.IMREAD_UNCHANGED)
                    if img is None or img.dtype != np.float32 or img.shape[:2] != (n, info.width):
                        raise ConfigError(f"{path}: not a readable Radiance .hdr image (rows {y0 + 1}-{y0 + n} "
                                          "do not decode)")
                    img = img.reshape(n, info.width, -1)
                    shrink.add(y0, img[..., 2::-1] if img.shape[2] >= 3 else np.repeat(img[..., :1], 3, axis=2))
        else:
            _read_exr(path, info, rows, shrink)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the environment map: {why(e)}") from None
    except cv2.error as e:
        raise ConfigError(f"{path}: not a readable image ({str(e).strip().splitlines()[-1]})") from None
    return shrink.result()


def _read_exr(path: Path, info: MapInfo, rows: int, shrink: _Shrink) -> None:
    import Imath
    import OpenEXR

    try:
        f = OpenEXR.InputFile(str(path))
        try:
            header = f.header()
            box = header["dataWindow"]
            names = list(header["channels"])
            pick = [c for c in ("R", "G", "B") if c in names] or names[:1]
            pt = Imath.PixelType(Imath.PixelType.FLOAT)
            for y in range(0, info.height, rows):
                n = min(rows, info.height - y)
                lo, hi = box.min.y + y, box.min.y + y + n - 1
                planes = [np.frombuffer(f.channel(c, pt, lo, hi), np.float32).reshape(n, info.width) for c in pick]
                shrink.add(y, np.stack(planes * 3 if len(planes) == 1 else planes, axis=-1), clean=True)
        finally:
            f.close()
    except Exception as e:  # the package raises OSError, TypeError or its own errors
        raise ConfigError(f"{path}: not a readable OpenEXR image ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
