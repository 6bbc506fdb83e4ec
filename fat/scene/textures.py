"""Procedural ground and prop textures (tiles, wood, grass, rock, sand, stone, ...), deterministic.

Each texture is a 512 x 512 RGB image drawn from a fixed seed, tiled over surfaces by UVs in metres.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import cv2
import numpy as np

from ..fileio import write_bytes_atomic

SIZE = 512
_SOURCE = Path(__file__).read_bytes()  # textures change when this code does


def _noise(rng: np.random.Generator, scale: int, size: int = SIZE) -> np.ndarray:
    """Smooth value noise in [0, 1], tileable, with features about size/scale pixels wide."""
    small = rng.random((scale, scale)).astype(np.float32)
    tiled = np.tile(small, (3, 3))
    big = cv2.resize(tiled, (size * 3, size * 3), interpolation=cv2.INTER_CUBIC)
    return np.clip(big[size : 2 * size, size : 2 * size], 0, 1)


def _fractal(rng, octaves=(4, 8, 16, 32), weights=(0.5, 0.25, 0.15, 0.1)) -> np.ndarray:
    return sum(w * _noise(rng, o) for o, w in zip(octaves, weights)) / sum(weights)


def _mix(a, b, t) -> np.ndarray:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a + (b - a) * t[..., None]


def tiles(rng, colors, n=8):
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = np.asarray(colors[-1], np.float32) * 0.55  # grout
    step = SIZE // n
    for i in range(n):
        for j in range(n):
            c = np.asarray(colors[(i + j) % len(colors)], np.float32) * rng.uniform(0.92, 1.05)
            img[i * step : (i + 1) * step, j * step : (j + 1) * step] = c
    img *= (0.95 + 0.1 * _noise(rng, 32))[..., None]
    grout = np.zeros((SIZE, SIZE), bool)
    for k in range(n):
        grout[k * step : k * step + 3] = True
        grout[:, k * step : k * step + 3] = True
    img[grout] = np.asarray(colors[-1], np.float32) * 0.55
    return img


def wood(rng, colors):
    y = np.linspace(0, 1, SIZE, dtype=np.float32)[:, None]
    warp = _fractal(rng) * 6
    rings = 0.5 + 0.5 * np.sin((y * 40 + warp) * np.pi)
    grain = _noise(rng, 64)
    t = np.clip(0.6 * rings + 0.4 * grain, 0, 1)
    img = _mix(colors[0], colors[1], t)
    planks = (np.arange(SIZE) // (SIZE // 4)) % 2
    img *= (0.93 + 0.07 * planks)[None, :, None]
    return img


def speckle(rng, colors, scale=(8, 32, 64, 128)):
    """Grass, sand, gravel, leaves: fine noise between two or three colours."""
    t = _fractal(rng, scale)
    img = _mix(colors[0], colors[1], t)
    if len(colors) > 2:
        spots = _noise(rng, 96) > 0.72
        img[spots] = _mix(img[spots], colors[2], np.full(spots.sum(), 0.7, np.float32))
    return img


def rock(rng, colors):
    t = _fractal(rng, (3, 6, 12, 48))
    cracks = np.abs(_noise(rng, 10) - 0.5) < 0.02
    img = _mix(colors[0], colors[1], t)
    img[cracks] *= 0.6
    return img


def stone(rng, colors, n=5):
    """Stone slabs: offset rows of blocks with mortar lines."""
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = np.asarray(colors[-1], np.float32)  # mortar wherever no slab lands
    h = SIZE // n
    for r in range(n):
        off = (r % 2) * (h // 1)
        for c in range(-1, n + 1):
            x0 = c * int(h * 1.6) + off
            col = np.asarray(colors[rng.integers(len(colors) - 1)], np.float32) * rng.uniform(0.85, 1.1)
            img[r * h : (r + 1) * h, max(x0, 0) : max(min(x0 + int(h * 1.6), SIZE), 0)] = col
            if 0 <= x0 < SIZE:
                img[r * h : (r + 1) * h, x0 : x0 + 3] = np.asarray(colors[-1], np.float32)
        img[r * h : r * h + 3] = np.asarray(colors[-1], np.float32)
    img *= (0.85 + 0.3 * _fractal(rng, (8, 16, 64, 128)))[..., None]
    return img


def bark(rng, colors):
    x = np.linspace(0, 1, SIZE, dtype=np.float32)[None, :]
    t = 0.5 + 0.5 * np.sin((x * 30 + _fractal(rng) * 4) * np.pi)
    return _mix(colors[0], colors[1], np.clip(t * 0.7 + 0.3 * _noise(rng, 64), 0, 1))


def plain(rng, colors):
    return _mix(colors[0], colors[0], np.zeros((SIZE, SIZE), np.float32)) * (0.96 + 0.08 * _noise(rng, 16))[..., None]


KINDS = {
    "tiles": tiles, "wood": wood, "grass": speckle, "sand": speckle, "gravel": speckle, "leaves": speckle,
    "rock": rock, "stone": stone, "marble": rock, "bark": bark, "plain": plain, "plaster": plain,
}


def make(kind: str, colors: list, seed: int = 0) -> np.ndarray:
    """(512, 512, 3) uint8 RGB texture."""
    if kind not in KINDS:
        raise ValueError(f"unknown texture kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    rng = np.random.default_rng([seed, int.from_bytes(kind.encode()[:8].ljust(8, b"\0"), "little")])
    img = KINDS[kind](rng, [np.asarray(c, np.float32) for c in colors])
    return np.clip(img, 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=256)
def texture_file(folder: str, kind: str, colors: tuple, seed: int = 0) -> Path:
    """Write (once) the texture as PNG under ``folder`` and return its path."""
    key = hashlib.sha256(repr((kind, colors, seed, SIZE)).encode() + _SOURCE).hexdigest()[:16]
    path = Path(folder) / f"{kind}-{key}.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, png = cv2.imencode(".png", cv2.cvtColor(make(kind, [list(c) for c in colors], seed), cv2.COLOR_RGB2BGR))
        if not ok:
            raise OSError(f"{path}: could not encode the texture")
        write_bytes_atomic(path, png.tobytes())
    return path
