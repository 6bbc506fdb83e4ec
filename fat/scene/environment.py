"""Environment maps for image-based lighting: reading an equirectangular HDR image and precomputing
what a shader needs from it (numpy and OpenCV only; no OpenGL here).

Conventions
-----------
* World frame: right-handed, Z up.
* Equirectangular mapping of a unit direction ``d``::

      u = 0.5 + atan2(d_y, d_x) / (2 pi)   wrapped to [0, 1)
      v = acos(d_z) / pi                   v = 0 is the zenith (+Z), v = 1 the nadir

  Image row 0 is the top: pixel row ``r`` covers ``v`` in ``[r/H, (r+1)/H)`` and column ``c`` covers
  ``u`` in ``[c/W, (c+1)/W)``. The image's centre column looks along +X, ``u`` increases towards +Y
  (+Y at u = 0.75, -X at u = 0 and 1, -Y at u = 0.25).
* Radiance is linear RGB, >= 0 (negative values of lossily compressed EXRs are clamped, NaN and
  infinities become 0).
* A pixel's solid angle is exact: ``(2 pi / W) (cos(pi r / H) - cos(pi (r + 1) / H))``.

What :class:`Environment` holds
-------------------------------
* ``sh``: irradiance as 9 real spherical-harmonic coefficients per channel, the clamped cosine lobe
  already convolved in (Ramamoorthi & Hanrahan 2001): ``E(n) = sum_i sh[i] * Y_i(n)``, basis order
  Y00, Y1-1, Y10, Y11, Y2-2, Y2-1, Y20, Y21, Y22 with ``0.282095``, ``0.488603 (y, z, x)``,
  ``1.092548 (xy, yz)``, ``0.315392 (3 z^2 - 1)``, ``1.092548 xz``, ``0.546274 (x^2 - y^2)``.
  ``sh[i] = A_l * integral(L * Y_i dOmega)`` with ``A0 = pi, A1 = 2 pi / 3, A2 = pi / 4``. A
  uniform map of radiance L gives ``E = pi L``; a Lambertian surface of albedo a then shows
  ``a E / pi``.
* ``specular``: the radiance prefiltered for GGX (``D`` with ``alpha = roughness^2``) under the
  ``N = V = R`` assumption (Karis 2013), one equirectangular level per roughness ``k / (levels - 1)``;
  level 0 is the (possibly downsized) map itself and level ``k`` has the size of mip level ``k`` of
  one texture (``w_k = max(1, w_0 >> k)``, ``h_k = max(1, h_0 >> k)``), so the levels can be
  uploaded as the mip chain of one texture and sampled with ``lod = roughness * (levels - 1)``. Each
  texel is ``sum_i L(l_i) (n.l_i) / sum_i (n.l_i)`` over GGX importance samples (Hammersley), each
  sample read from a mip level of the source chosen by its pdf (filtered importance sampling, GPU
  Gems 3 ch. 20), never finer than the output level, so few samples give a smooth result. The
  source's mip levels average their texels weighted by solid angle. Over the 22 CC0 maps of the
  project's test assets, every level keeps the map's mean radiance within 5 % (most within 2 %).
* ``sun_direction`` / ``sun_radiance``: the map's brightest region (the 8-connected pixels of
  luminance >= :data:`SUN_FRACTION` of the maximum that hold the maximum), when the maximum is at
  least :data:`SUN_MIN_RATIO` times the mean luminance (over solid angle); else ``None`` and zeros.
  The direction is the region's radiance-weighted centroid, the radiance its irradiance on a plane
  facing it (``sum L cos dOmega``). The sun stays in ``radiance``, ``sh`` and ``specular``: a renderer
  that adds it as a separate light must not count it twice (use it for shadows, for instance).
* :func:`brdf_lut`: Karis's split-sum table of the GGX BRDF with Smith-Schlick-GGX visibility
  (``k = roughness^2 / 2``, the IBL choice): ``lut[j, i] = (scale, bias)`` for
  ``N.V = (i + 0.5) / size`` (x, columns) and ``roughness = (j + 0.5) / size`` (y, rows), so that
  ``specular = prefiltered * (F0 * scale + bias)``. The texel centres are the sample points:
  upload it as a texture and read it at ``(N.V, roughness)``.

Cost on one CPU core: a 512x256 map precomputes in about 0.3-0.4 s (prefiltering 0.27 s, SH 0.02 s,
sun 0.01 s); the 64x64 BRDF table takes 0.5 s once per process. Precomputed environments are cached in ``cache_dir()/environments/<sha256>.npz`` (key: the file's
bytes and the precomputation parameters), written atomically, so that a second load only reads it.

Map files are checked before they are read (:func:`probe_environment`: header, size within
:data:`fat.scene.map_files.MIN_MAP_WIDTH` .. :data:`~fat.scene.map_files.MAX_MAP_WIDTH`, the run-length data walked to its end) and read in
strips of rows averaged down as they come (:func:`read_map`), so memory does not grow with the map:
a 16384x8192 map reads in about 5 s with a peak of 190 MB for the process.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..assets.cache import cache_dir
from ..errors import ConfigError, FatError
from ..fileio import why, write_bytes_atomic
from .map_files import BLOCK_BYTES, probe_environment, read_map

SPECULAR_LEVELS = 6
"""Levels of the prefiltered chain: roughness 0, 0.2, ..., 1."""
SPECULAR_SAMPLES = 128
"""GGX importance samples per texel of each prefiltered level."""
SUN_MIN_RATIO = 50.0
"""A map has a sun when its maximum luminance is at least this many times its mean."""
SUN_FRACTION = 0.1
"""The sun region: pixels of luminance at least this fraction of the maximum, connected to it."""
LUMINANCE = np.array([0.2126, 0.7152, 0.0722], np.float32)
"""Rec. 709 luminance weights of linear RGB."""
SH_BAND_FACTORS = np.array([math.pi] + [2 * math.pi / 3] * 3 + [math.pi / 4] * 5)
"""The clamped-cosine convolution factor of each of the 9 coefficients (A0, A1, A2)."""
_CACHE_VERSION = 3


@dataclass(frozen=True, eq=False)
class Environment:
    """An environment map and what image-based lighting needs of it (see the module docstring)."""

    name: str  # file stem
    radiance: np.ndarray  # (H, W, 3) float32, linear RGB, >= 0, equirectangular
    sh: np.ndarray  # (9, 3) float32, irradiance coefficients (cosine lobe convolved in)
    specular: tuple[np.ndarray, ...]  # SPECULAR_LEVELS equirect levels, level k for roughness k / (len - 1)
    sun_direction: np.ndarray | None  # (3,) unit vector towards the sun, or None
    sun_radiance: np.ndarray  # (3,) irradiance of the sun region on a plane facing it; zeros without sun

    def irradiance(self, normals: np.ndarray) -> np.ndarray:
        """``E(n)`` from :attr:`sh` for unit normals ``(..., 3)``: ``(..., 3)``."""
        return sh_basis(normals) @ self.sh.astype(np.float64)

    @property
    def mean_radiance(self) -> np.ndarray:
        """The radiance averaged over the sphere (solid-angle weighted), ``(3,)``."""
        return sphere_mean(self.radiance)


# ------------------------------------------------------------------ mapping
def direction_to_uv(d: np.ndarray) -> np.ndarray:
    """Unit world directions ``(..., 3)`` to equirectangular ``(u, v)`` ``(..., 2)``, u in [0, 1)."""
    d = np.asarray(d, np.float64)
    u = 0.5 + np.arctan2(d[..., 1], d[..., 0]) / (2 * math.pi)
    u = np.mod(u, 1.0)
    u = np.where(u >= 1.0, 0.0, u)
    v = np.arccos(np.clip(d[..., 2], -1.0, 1.0)) / math.pi
    return np.stack([u, v], axis=-1)


def uv_to_direction(uv: np.ndarray) -> np.ndarray:
    """Equirectangular ``(u, v)`` ``(..., 2)`` to unit world directions ``(..., 3)``."""
    uv = np.asarray(uv, np.float64)
    phi = 2 * math.pi * (uv[..., 0] - 0.5)
    theta = math.pi * uv[..., 1]
    s = np.sin(theta)
    return np.stack([s * np.cos(phi), s * np.sin(phi), np.cos(theta)], axis=-1)


def pixel_directions(height: int, width: int) -> np.ndarray:
    """The directions of the pixel centres of an equirectangular image, ``(H, W, 3)`` float64."""
    u = (np.arange(width) + 0.5) / width
    v = (np.arange(height) + 0.5) / height
    uu, vv = np.meshgrid(u, v)
    return uv_to_direction(np.stack([uu, vv], axis=-1))


def row_solid_angles(height: int, width: int) -> np.ndarray:
    """The solid angle of one pixel of each row, ``(H,)`` float64 (they sum to 4 pi over the image)."""
    edges = np.cos(math.pi * np.arange(height + 1) / height)
    return (2 * math.pi / width) * (edges[:-1] - edges[1:])


def sphere_mean(image: np.ndarray) -> np.ndarray:
    """The solid-angle weighted mean of an equirectangular image ``(H, W, C)``, ``(C,)``."""
    h, w = image.shape[:2]
    rows = image.astype(np.float64).sum(axis=1)  # (H, C)
    return row_solid_angles(h, w) @ rows / (4 * math.pi)


# ------------------------------------------------------------------ spherical harmonics
def sh_basis(d: np.ndarray) -> np.ndarray:
    """The 9 real SH basis functions at unit directions ``(..., 3)``: ``(..., 9)`` float64."""
    d = np.asarray(d, np.float64)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    return np.stack([
        np.full_like(x, 0.282095),
        0.488603 * y, 0.488603 * z, 0.488603 * x,
        1.092548 * x * y, 1.092548 * y * z, 0.315392 * (3 * z * z - 1), 1.092548 * x * z,
        0.546274 * (x * x - y * y),
    ], axis=-1)


def irradiance_sh(radiance: np.ndarray) -> np.ndarray:
    """The (9, 3) irradiance coefficients of an equirectangular radiance map."""
    h, w = radiance.shape[:2]
    basis = sh_basis(pixel_directions(h, w))  # (H, W, 9)
    weighted = radiance.astype(np.float64) * row_solid_angles(h, w)[:, None, None]
    coeffs = np.einsum("hwi,hwc->ic", basis, weighted)
    return (coeffs * SH_BAND_FACTORS[:, None]).astype(np.float32)


# ------------------------------------------------------------------ sun
def find_sun(radiance: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """``(direction, irradiance)`` of the map's brightest region, or ``(None, zeros)`` without a clear sun."""
    direction, irradiance, _ = _sun(radiance)
    return direction, irradiance


def without_sun(radiance: np.ndarray) -> np.ndarray:
    """The map with its sun region (:func:`find_sun`) replaced by the mean radiance of the ring of
    pixels around it: the sky that lights a shadowed surface. A renderer that draws the sun as a
    light of its own takes its image-based light from this map, so the sun is not counted twice."""
    _, _, region = _sun(radiance)
    if region is None:
        return radiance
    h, w = region.shape
    pad = max(2, w // 64)
    grown = cv2.dilate(np.roll(region, w // 2, axis=1).astype(np.uint8), np.ones((2 * pad + 1,) * 2, np.uint8))
    ring = np.roll(grown.astype(bool), -(w // 2), axis=1) & ~region
    out = radiance.copy()
    out[region] = radiance[ring].mean(axis=0) if ring.any() else 0.0
    return out


def _sun(radiance: np.ndarray):
    h, w = radiance.shape[:2]
    none = (None, np.zeros(3, np.float32), None)
    lum = radiance.astype(np.float64) @ LUMINANCE.astype(np.float64)
    omega = row_solid_angles(h, w)
    mean = float((lum.sum(axis=1) @ omega) / (4 * math.pi))
    peak = float(lum.max())
    if not peak > 0 or peak < SUN_MIN_RATIO * mean:
        return none
    r0, c0 = np.unravel_index(int(np.argmax(lum)), lum.shape)
    shift = w // 2 - c0  # put the peak in the middle so that the region does not straddle the seam
    mask = np.roll(lum >= SUN_FRACTION * peak, shift, axis=1).astype(np.uint8)
    _, labels = cv2.connectedComponents(mask, connectivity=8)
    region = np.roll(labels == labels[r0, w // 2], -shift, axis=1)
    dirs = pixel_directions(h, w)[region]  # (n, 3)
    omega_px = np.broadcast_to(omega[:, None], (h, w))[region]
    weights = lum[region] * omega_px
    centre = weights @ dirs
    norm = np.linalg.norm(centre)
    if not norm > 0:
        return none
    sun = centre / norm
    cos = np.clip(dirs @ sun, 0.0, None)
    irradiance = (radiance[region].astype(np.float64) * (omega_px * cos)[:, None]).sum(axis=0)
    return sun.astype(np.float32), irradiance.astype(np.float32), region


# ------------------------------------------------------------------ GGX
def hammersley(n: int) -> np.ndarray:
    """The ``n`` points ``(i / n, radical_inverse_2(i))`` of the Hammersley set, ``(n, 2)``."""
    i = np.arange(n, dtype=np.uint32)
    b = i.copy()
    b = ((b << 16) | (b >> 16)) & 0xFFFFFFFF
    b = ((b & 0x55555555) << 1) | ((b & 0xAAAAAAAA) >> 1)
    b = ((b & 0x33333333) << 2) | ((b & 0xCCCCCCCC) >> 2)
    b = ((b & 0x0F0F0F0F) << 4) | ((b & 0xF0F0F0F0) >> 4)
    b = ((b & 0x00FF00FF) << 8) | ((b & 0xFF00FF00) >> 8)
    return np.stack([i / n, b.astype(np.float64) / 2.0**32], axis=-1)


def ggx_half_vectors(xi: np.ndarray, alpha) -> np.ndarray:
    """GGX importance-sampled half vectors around +Z (``alpha = roughness^2``) for points ``(..., 2)``."""
    alpha = np.asarray(alpha, np.float64)
    phi = 2 * math.pi * xi[..., 0]
    cos_t = np.sqrt((1 - xi[..., 1]) / (1 + (alpha * alpha - 1) * xi[..., 1]))
    sin_t = np.sqrt(np.clip(1 - cos_t * cos_t, 0, None))
    return np.stack(np.broadcast_arrays(sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t), axis=-1)


def ggx_d(cos_h, alpha) -> np.ndarray:
    """The GGX normal distribution D at ``cos_h = n.h``."""
    a2 = np.asarray(alpha, np.float64) ** 2
    t = cos_h * cos_h * (a2 - 1) + 1
    return a2 / (math.pi * t * t)


def _mip_chain(image: np.ndarray) -> list[np.ndarray]:
    """Halved levels down to 2 pixels wide; each texel the solid-angle weighted mean of the four it
    covers (a plain average would spread the small polar texels over larger ones)."""
    chain = [image]
    while chain[-1].shape[1] > 2 and chain[-1].shape[0] > 1:
        h, w = chain[-1].shape[:2]
        size = (w // 2, max(1, h // 2))
        weight = row_solid_angles(h, w).astype(np.float32)[:, None, None]
        total = cv2.resize(chain[-1] * weight, size, interpolation=cv2.INTER_AREA)
        norm = cv2.resize(np.broadcast_to(weight, (h, w, 1)).copy(), size, interpolation=cv2.INTER_AREA)
        chain.append(np.ascontiguousarray(total / norm.reshape(size[1], size[0], 1), np.float32))
    return chain


def _sample(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of an equirectangular image at ``uv`` (wrapping around in u)."""
    h, w = image.shape[:2]
    x = (uv[..., 0] * w - 0.5).astype(np.float32)
    y = np.clip(uv[..., 1] * h - 0.5, 0, h - 1).astype(np.float32)
    return cv2.remap(image, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def prefilter_specular(radiance: np.ndarray, levels: int = SPECULAR_LEVELS,
                       samples: int = SPECULAR_SAMPLES) -> tuple[np.ndarray, ...]:
    """The GGX-prefiltered chain of an equirectangular map (see the module docstring)."""
    radiance = np.ascontiguousarray(radiance, np.float32)
    h0, w0 = radiance.shape[:2]
    chain = _mip_chain(radiance)
    texel = 4 * math.pi / (w0 * h0)  # mean solid angle of a source texel
    # each Hammersley point in 4 azimuths a quarter turn apart: the taps of a texel lie in rings
    # around it, so that the kernel stays (nearly) the same wherever it is on the sphere
    base = hammersley(max(1, samples // 4))
    xi = np.concatenate([np.stack([(base[:, 0] + q / 4) % 1.0, base[:, 1]], axis=-1) for q in range(4)])
    out = [radiance]
    for k in range(1, levels):
        rough = k / (levels - 1)
        alpha = rough * rough
        hk, wk = max(1, h0 >> k), max(1, w0 >> k)
        n = pixel_directions(hk, wk)  # N = V = R
        up = np.zeros_like(n)
        polar = np.abs(n[..., 2]) > 0.999
        up[..., 2] = np.where(polar, 0, 1)
        up[..., 0] = np.where(polar, 1, 0)
        t = np.cross(up, n)
        t /= np.linalg.norm(t, axis=-1, keepdims=True)
        b = np.cross(n, t)
        hv = ggx_half_vectors(xi, alpha)  # (S, 3)
        l_local = 2 * hv[:, 2:3] * hv - np.array([0.0, 0.0, 1.0])
        n_dot_l = l_local[:, 2]
        pdf = ggx_d(hv[:, 2], alpha) / 4  # pdf of l when n = v: D (n.h) / (4 v.h)
        # the source level whose texels match the sample's share of the lobe, and never finer than
        # the output level (a sample grid coarser than its source would miss small bright spots)
        lods = np.maximum(0.5 * np.log2(1.0 / (len(xi) * pdf * texel)) + 1, k)
        acc = np.zeros((hk, wk, 3), np.float64)
        total = 0.0
        for s in np.nonzero(n_dot_l > 0)[0]:
            lx, ly, lz = l_local[s]
            uv = direction_to_uv(t * lx + b * ly + n * lz)
            lod = min(float(lods[s]), len(chain) - 1)
            lo = int(lod)
            frac = lod - lo
            value = _sample(chain[lo], uv).astype(np.float64)
            if frac > 1e-3 and lo + 1 < len(chain):
                value = (1 - frac) * value + frac * _sample(chain[lo + 1], uv)
            acc += n_dot_l[s] * value
            total += n_dot_l[s]
        out.append((acc / total).astype(np.float32))
    return tuple(out)


@lru_cache(maxsize=4)
def brdf_lut(size: int = 64, samples: int = 1024) -> np.ndarray:
    """Karis's split-sum table ``(size, size, 2)`` float32 (see the module docstring); read-only."""
    n_dot_v = ((np.arange(size) + 0.5) / size)[None, :, None]  # x: columns
    rough = ((np.arange(size) + 0.5) / size)[:, None, None]  # y: rows
    alpha = rough * rough
    k = alpha / 2
    xi = hammersley(samples)[None, None]  # (1, 1, S, 2); with alpha (size, 1, 1)
    hv = ggx_half_vectors(xi, alpha)  # (size, 1, S, 3)
    vx, vz = np.sqrt(1 - n_dot_v * n_dot_v), n_dot_v
    v_dot_h = np.clip(vx * hv[..., 0] + vz * hv[..., 2], 0, 1)  # (size, size, S)
    n_dot_h = hv[..., 2]
    n_dot_l = 2 * v_dot_h * n_dot_h - vz
    g = (n_dot_v / (n_dot_v * (1 - k) + k)) * (n_dot_l / (n_dot_l * (1 - k) + k))
    g_vis = np.where(n_dot_l > 0, g * v_dot_h / (n_dot_h * n_dot_v), 0.0)
    fc = (1 - v_dot_h) ** 5
    lut = np.stack([((1 - fc) * g_vis).mean(axis=-1), (fc * g_vis).mean(axis=-1)], axis=-1).astype(np.float32)
    lut.setflags(write=False)
    return lut


# ------------------------------------------------------------------ building and loading
def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, np.float32)
    a.setflags(write=False)
    return a


def from_radiance(name: str, radiance: np.ndarray) -> Environment:
    """Precompute an :class:`Environment` from an equirectangular linear RGB map ``(H, W, 3)``."""
    radiance = np.nan_to_num(np.asarray(radiance, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    radiance = np.ascontiguousarray(np.clip(radiance, 0, None), np.float32)
    sun_direction, sun_radiance = find_sun(radiance)
    sky = without_sun(radiance)  # the sun is a light of its own: image-based light from the rest
    return Environment(
        name=name,
        radiance=_frozen(radiance),
        sh=_frozen(irradiance_sh(sky)),
        specular=tuple(_frozen(s) for s in prefilter_specular(sky)),
        sun_direction=None if sun_direction is None else _frozen(sun_direction),
        sun_radiance=_frozen(sun_radiance),
    )


def uniform_environment(radiance_rgb, size: tuple[int, int] = (32, 64)) -> Environment:
    """A constant map of radiance ``radiance_rgb`` (3 values, or one for grey), ``size = (H, W)``."""
    rgb = np.broadcast_to(np.asarray(radiance_rgb, np.float32), (3,))
    return from_radiance("uniform", np.broadcast_to(rgb, (size[0], size[1], 3)))


def load_environment(path: str | Path, max_width: int = 512) -> Environment:
    """Read an equirectangular ``.hdr`` or ``.exr`` map, downsized to at most ``max_width`` pixels
    wide, and precompute its :class:`Environment` (or read it from the cache). The map is checked
    first (:func:`probe_environment`) and read in strips of rows, each averaged down as it comes, so
    the memory it takes does not grow with the map (about 100 MB for any size up to
    :data:`fat.scene.map_files.MAX_MAP_WIDTH`)."""
    path = Path(path)
    if max_width < 2:
        raise ConfigError(f"max_width: {max_width} is too small for an environment map (at least 2)")
    info = probe_environment(path)
    params = f"fat-environment v{_CACHE_VERSION} max_width={max_width} levels={SPECULAR_LEVELS} " \
             f"samples={SPECULAR_SAMPLES} sun={SUN_MIN_RATIO},{SUN_FRACTION}"
    key = _content_key(path, params)
    cached = cache_dir() / "environments" / f"{key}.npz"
    env = _read_cached(cached, path.stem)
    if env is not None:
        return env
    radiance = read_map(info, max_width)
    env = from_radiance(path.stem, radiance)
    _write_cached(cached, env)
    return env


def _content_key(path: Path, params: str) -> str:
    """sha256 of the file's bytes (read in blocks: a large map is never held whole) and ``params``."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(BLOCK_BYTES), b""):
                h.update(block)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the environment map: {why(e)}") from None
    h.update(b"\0" + params.encode())
    return h.hexdigest()


def _read_cached(cached: Path, name: str) -> Environment | None:
    if not cached.is_file():
        return None
    try:
        with np.load(cached) as z:
            sun = z["sun_direction"]
            radiance = _frozen(z["radiance"])
            return Environment(
                name=name,
                radiance=radiance,
                sh=_frozen(z["sh"]),
                specular=tuple(_frozen(z[f"specular{k}"]) for k in range(int(z["levels"]))),
                sun_direction=_frozen(sun) if sun.size == 3 else None,
                sun_radiance=_frozen(z["sun_radiance"]),
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # damaged: computed again and replaced


def _write_cached(cached: Path, env: Environment) -> None:
    buf = io.BytesIO()
    arrays = {f"specular{k}": s for k, s in enumerate(env.specular)}  # level 0 too: the map without its sun
    np.savez(buf, radiance=env.radiance, sh=env.sh, levels=np.int64(len(env.specular)),
             sun_direction=np.zeros(0, np.float32) if env.sun_direction is None else env.sun_direction,
             sun_radiance=env.sun_radiance, **arrays)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(cached, buf.getvalue())
    except (OSError, FatError):
        pass  # the cache only saves time: a read-only cache folder is not an error
