"""Procedural two-colour patterns for domain randomization: grey images (0..1) that a renderer draws
as ``colour_a + (colour_b - colour_a) * grey``. They tile (each wraps around at its edges)."""

from __future__ import annotations

import functools

import numpy as np

from ..looks import PATTERNS

SIZE = 256


@functools.lru_cache(maxsize=len(PATTERNS))
def pattern(name: str, size: int = SIZE) -> np.ndarray:
    """The pattern ``name`` (one of :data:`fat.looks.PATTERNS`) as a (size, size) float32 image in 0..1."""
    t = (np.arange(size) + 0.5) / size
    x, y = np.meshgrid(t, t)
    if name == "checker":
        g = ((np.floor(x * 8) + np.floor(y * 8)) % 2)
    elif name == "stripes":
        g = (np.floor((x + y) * 8) % 2)
    elif name == "dots":
        fx, fy = (x * 6) % 1 - 0.5, (y * 6) % 1 - 0.5
        g = (fx * fx + fy * fy < 0.09).astype(float)
    elif name == "grid":
        g = (((x * 8) % 1 < 0.15) | ((y * 8) % 1 < 0.15)).astype(float)
    elif name == "waves":
        g = 0.5 + 0.5 * np.sin(2 * np.pi * (4 * x + np.sin(2 * np.pi * y)))
    elif name == "noise":  # smooth value noise on a wrapping 8 x 8 lattice, fixed seed
        lattice = np.random.default_rng(0).uniform(size=(8, 8))
        u, v = x * 8, y * 8
        i, j = np.floor(u).astype(int), np.floor(v).astype(int)
        fu, fv = u - i, v - j
        fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)

        def at(a, b):
            return lattice[b % 8, a % 8]

        g = (at(i, j) * (1 - fu) + at(i + 1, j) * fu) * (1 - fv) + (at(i, j + 1) * (1 - fu) + at(i + 1, j + 1) * fu) * fv
        g = (g - g.min()) / max(g.max() - g.min(), 1e-9)
    else:
        raise ValueError(f"unknown pattern {name!r}; known: {', '.join(PATTERNS)}")
    return g.astype(np.float32)
