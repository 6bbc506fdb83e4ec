"""PBR texture sets for the scenery (ground and props): colour, normal, roughness, metalness maps.

A folder of sets in ambientCG's layout (the ``cc_textures`` BlenderProc downloads too):

```
DIR/<Name>/<Name>_<res>_Color.jpg       sRGB albedo (required)
DIR/<Name>/<Name>_<res>_NormalGL.jpg    tangent-space normal, OpenGL convention (green up)
DIR/<Name>/<Name>_<res>_Normal.jpg      ... the older name BlenderProc users have (taken as OpenGL)
DIR/<Name>/<Name>_<res>_Roughness.jpg   linear roughness
DIR/<Name>/<Name>_<res>_Metalness.jpg   linear metalness (metals only)
```

``<res>`` is any tag (``1K``, ``2K``, ``512``); PNG files are taken as well. The project ships six
small sets in ``scenes/textures/`` (CC0, see its SOURCE.md) that the locations' surfaces use by kind.

Every map is checked before a run starts (:func:`probe_image`: its header, its size, and that the
file is complete) and read at most :data:`MAX_TEXTURE_SIDE` texels a side, fewer in a folder of
many sets (:func:`map_side`; :func:`read_image`: a JPEG is decoded at 1/2, 1/4 or 1/8 scale by the
decoder itself, so a huge one takes no more memory than its reduced image).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..fileio import stat_input

#: The scenery kinds (fat.scene.textures) drawn with a shipped set, and the set.
SHIPPED = {"tiles": "Tiles107", "marble": "Marble006", "wood": "rosewood_veneer1", "stone": "Rock058",
           "rock": "Rock053", "gravel": "Ground054", "sand": "Ground054"}
_MAP = re.compile(r"^(?P<name>.+?)_(?P<res>[^_]+)_(?P<map>Color|NormalGL|Normal|Roughness|Metalness)\.(?:jpe?g|png)$", re.I)


@dataclass(frozen=True)
class TextureSet:
    name: str
    color: Path
    normal: Path | None = None
    roughness: Path | None = None
    metalness: Path | None = None


def read_set(folder: Path) -> TextureSet | None:
    """The set in ``folder`` (None when it holds no ``_Color`` map). Of several resolutions, the
    first by name is taken."""
    maps: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        m = _MAP.match(p.name)
        if m and p.is_file():
            kind = m.group("map").lower()
            kind = "normal" if kind in ("normalgl", "normal") and "normal" not in maps else kind
            maps.setdefault(kind, p)
    if "color" not in maps:
        return None
    return TextureSet(folder.name, maps["color"], maps.get("normal"), maps.get("roughness"), maps.get("metalness"))


@functools.lru_cache(maxsize=8)
def texture_sets(folder: str) -> tuple[TextureSet, ...]:
    """Every set of ``folder`` (its sub-folders), sorted by name; a ConfigError when there is none."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{root}: no such folder of texture sets")
    sets = tuple(s for s in (read_set(d) for d in sorted(root.iterdir()) if d.is_dir()) if s is not None)
    if not sets:
        raise ConfigError(f"{root}: no texture set (<Name>/<Name>_<res>_Color.jpg) in the folder")
    return sets


def check_texture_sets(folder: str) -> tuple[TextureSet, ...]:
    """:func:`texture_sets` of ``folder``, every map of every set checked (:func:`probe_image`), so
    that a bad one is refused before anything is written."""
    sets = texture_sets(folder)
    for s in sets:
        for path in (s.color, s.normal, s.roughness, s.metalness):
            if path is not None:
                probe_image(path)
    return sets


# ----------------------------------------------------------------------------- image files
#: The renderer keeps a texture set's map at most this many texels a side (larger ones are averaged
#: down: at 960 x 540 pixels a ground tile of 1.2 m seen from 1 m is about 900 pixels across) ...
MAX_TEXTURE_SIDE = 1024
#: ... and fewer in a folder of many sets: (most sets, side). A renderer keeps every set the surfaces
#: of the locations it draws use (410 surfaces over the 15 locations), 13 MB a set at 1024 texels
#: (measured with Mesa), a quarter of it at 512: about 1 GB at most however many sets there are.
SIDES_BY_SETS = ((64, 1024), (256, 512))
#: The side of a map in a folder of more sets than :data:`SIDES_BY_SETS` names.
MANY_SETS_SIDE = 256
#: The most pixels of a JPEG file read at reduced scale (OpenCV's own limit: 32768 x 32768).
MAX_JPEG_PIXELS = 1 << 30
#: The most pixels of a PNG or progressive JPEG file, which are decoded whole (8192 x 8192: 200 MB).
MAX_WHOLE_PIXELS = 8192 * 8192
_PNG = b"\x89PNG\r\n\x1a\n"
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
#: JPEG markers that start a frame (SOF0-SOF15 less DHT, JPG and DAC), and the progressive ones.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`probe_image` found in an image file's header."""

    path: Path
    format: str  # "jpeg" or "png"
    width: int
    height: int
    progressive: bool = False  # a progressive JPEG (decoded whole)


def probe_image(path: str | Path, what: str = "texture") -> ImageInfo:
    """Check a JPEG or PNG file without decoding it: its header (format, size within the limits:
    :data:`MAX_JPEG_PIXELS` for a JPEG, :data:`MAX_WHOLE_PIXELS` for a PNG or progressive JPEG) and
    that it is complete (a JPEG ends with its end-of-image marker, a PNG with its IEND chunk), as
    the dataset readers check frames. A file that fails is a one-line ConfigError naming it (and
    ``what`` it is). Kept by path, size and modification time in this process."""
    path = Path(path)
    st = stat_input(path, what)
    return _probe_image(str(path), st.st_size, st.st_mtime_ns, what)


@functools.lru_cache(maxsize=4096)
def _probe_image(path: str, size: int, mtime_ns: int, what: str) -> ImageInfo:
    p = Path(path)
    try:
        with open(p, "rb") as f:
            info = _probe_open(p, f, size, what)
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the {what}: {e.strerror or e}") from None
    if info is None:
        raise ConfigError(f"{p}: not a JPEG or PNG image; cannot use it as a {what}")
    return info


def probe_image_bytes(data: bytes, where: str, what: str = "texture") -> ImageInfo | None:
    """:func:`probe_image` of an image held in memory (a glTF file's), named ``where``; None when
    it is neither JPEG nor PNG."""
    import io

    return _probe_open(Path(where), io.BytesIO(data), len(data), what)


def _probe_open(p: Path, f, size: int, what: str) -> ImageInfo | None:
    head = f.read(8)
    if head.startswith(b"\xff\xd8\xff"):
        info = _jpeg_header(p, f, what)
        _jpeg_end(p, f, size, what)
    elif head == _PNG:
        info = _png_header(p, f, what)
        f.seek(max(0, size - len(_IEND)))
        if f.read() != _IEND:
            raise ConfigError(f"{p}: truncated PNG (no IEND chunk at its end): the file was cut short")
    else:
        return None
    if info.width < 1 or info.height < 1:
        raise ConfigError(f"{p}: the {what}'s header gives it {info.width}x{info.height} pixels")
    pixels = info.width * info.height
    whole = info.format == "png" or info.progressive
    limit = MAX_WHOLE_PIXELS if whole else MAX_JPEG_PIXELS
    if pixels > limit:
        kind = "a PNG" if info.format == "png" else "a progressive JPEG" if info.progressive else "a JPEG"
        side = math.isqrt(limit)
        raise ConfigError(f"{p}: {info.width}x{info.height} pixels is more than {kind} {what} may have "
                          f"({side}x{side}); downsize it (at most {MAX_TEXTURE_SIDE} texels a side are used)")
    return info


def _jpeg_header(path: Path, f, what: str) -> ImageInfo:
    """A JPEG's size from its frame header (SOFn), walking the marker segments before it."""
    f.seek(2)
    while True:
        b = f.read(1)
        if b and b != b"\xff":
            raise ConfigError(f"{path}: not a readable JPEG {what} (no marker where one is due; a damaged file?)")
        while b == b"\xff":
            b = f.read(1)
        if not b:
            break
        marker = b[0]
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before them
            break
        raw = f.read(2)
        if len(raw) < 2:
            break
        length = int.from_bytes(raw, "big")
        if length < 2:
            raise ConfigError(f"{path}: not a readable JPEG {what} (a marker segment of length {length})")
        if marker in _SOF:
            body = f.read(5)
            if len(body) < 5:
                break
            height, width = int.from_bytes(body[1:3], "big"), int.from_bytes(body[3:5], "big")
            return ImageInfo(path, "jpeg", width, height, marker in _PROGRESSIVE)
        f.seek(length - 2, os.SEEK_CUR)
    raise ConfigError(f"{path}: not a readable JPEG {what} (no frame header; is the file cut short?)")


def _jpeg_end(path: Path, f, size: int, what: str) -> None:
    """Refuse a JPEG cut short: OpenCV decodes one, greying the missing rows, with a warning on the
    terminal only. A complete JPEG ends with the end-of-image marker FF D9 (zeros after it allowed)."""
    f.seek(max(0, size - 65536))
    tail = f.read().rstrip(b"\0")
    if not tail.endswith(b"\xff\xd9"):
        raise ConfigError(f"{path}: truncated JPEG (no end-of-image marker): the file was cut short")


def _png_header(path: Path, f, what: str) -> ImageInfo:
    ihdr = f.read(25)
    if len(ihdr) < 25 or ihdr[4:8] != b"IHDR":
        raise ConfigError(f"{path}: not a readable PNG {what} (no IHDR chunk; is the file cut short?)")
    return ImageInfo(path, "png", int.from_bytes(ihdr[8:12], "big"), int.from_bytes(ihdr[12:16], "big"))


def map_side(path: str | Path) -> int:
    """The most texels a side the renderer keeps of the texture-set map ``path``, by the number of
    sets in its folder (:data:`SIDES_BY_SETS`)."""
    try:
        n = len(texture_sets(str(Path(path).parent.parent)))
    except (ConfigError, OSError):
        n = 1
    return next((side for most, side in SIDES_BY_SETS if n <= most), MANY_SETS_SIDE)


def read_image(path: str | Path, max_side: int | None = None, what: str = "texture"):
    """A JPEG or PNG file as 8-bit BGR, at most ``max_side`` (default: :func:`map_side`) pixels a
    side (area-averaged down), checked first (:func:`probe_image`). A JPEG is decoded at the
    smallest of 1/1, 1/2, 1/4 and 1/8 scale that keeps ``max_side``, so memory stays about that of
    the result whatever the file's size."""
    import cv2

    info = probe_image(path, what)
    max_side = map_side(path) if max_side is None else max_side
    longest = max(info.width, info.height)
    flag = cv2.IMREAD_COLOR
    if info.format == "jpeg":
        for factor, reduced in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                                (2, cv2.IMREAD_REDUCED_COLOR_2)):
            if -(-longest // factor) >= max_side:
                flag = reduced
                break
    img = cv2.imread(str(path), flag)
    if img is None or img.ndim != 3:
        raise ConfigError(f"{path}: cannot decode the {what} (corrupt image data)")
    if max(img.shape[:2]) > max_side:
        scale = max_side / max(img.shape[:2])
        size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return img


def shipped_folder() -> Path:
    from importlib import resources

    return Path(str(resources.files("fat.scenes").joinpath("textures")))  # fat.scene.scenes.scenes_folder()


def surface_set(location: str, surface_name: str, kind: str, user: str | None = None) -> TextureSet | None:
    """The set a scenery surface is drawn with: with ``user`` sets, one of them chosen by the sha256
    of the location and surface names (every surface gets one); else the shipped set of its kind, or
    None (its procedural texture)."""
    if user:
        sets = texture_sets(user)
        key = hashlib.sha256(f"{location}/{surface_name}".encode()).digest()
        return sets[int.from_bytes(key[:8], "big") % len(sets)]
    name = SHIPPED.get(kind)
    if name is None:
        return None
    return read_set(shipped_folder() / name)
