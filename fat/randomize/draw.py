"""Draws the randomizers share: colours, colour temperatures, materials (looks), log-uniform numbers."""

from __future__ import annotations

import math

import numpy as np

from ..looks import PATTERNS, Look
from ..render.tonemap import srgb_decode

#: CIE 1931 2-degree colour matching functions, the multi-lobe Gaussian fit of Wyman, Sloan and
#: Shirley (JCGT 2013): (amplitude, centre nm, width below, width above) per lobe.
_CMF = {
    "x": ((1.056, 599.8, 37.9, 31.0), (0.362, 442.0, 16.0, 26.7), (-0.065, 501.1, 20.4, 26.2)),
    "y": ((0.821, 568.8, 46.9, 40.5), (0.286, 530.9, 16.3, 31.1)),
    "z": ((1.217, 437.0, 11.8, 36.0), (0.681, 459.0, 26.0, 13.8)),
}
#: CIE XYZ -> linear sRGB (D65).
_XYZ_TO_RGB = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])


def _lobes(wl: np.ndarray, lobes) -> np.ndarray:
    out = np.zeros_like(wl)
    for a, mu, lo, hi in lobes:
        t = (wl - mu) / np.where(wl < mu, lo, hi)
        out += a * np.exp(-0.5 * t * t)
    return out


def temperature_rgb(kelvin: float) -> tuple[float, float, float]:
    """The linear sRGB colour of a black body at ``kelvin`` (Planck's law through the CIE 1931
    observer), scaled so that its largest channel is 1. 6500 K is about white; lower is redder."""
    wl = np.arange(380.0, 781.0, 5.0)
    m = wl * 1e-9
    planck = 1.0 / (m ** 5 * (np.exp(1.4388e-2 / (m * kelvin)) - 1.0))
    xyz = np.array([np.sum(planck * _lobes(wl, _CMF[c])) for c in "xyz"])
    rgb = np.maximum(_XYZ_TO_RGB @ xyz, 0.0)
    return tuple(float(x) for x in rgb / rgb.max())


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A number between ``lo`` and ``hi`` (both > 0) whose logarithm is uniform: as many dim draws as bright."""
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def color(rng: np.random.Generator) -> tuple[float, float, float]:
    """A colour uniform in sRGB, as linear RGB."""
    return tuple(float(x) for x in srgb_decode(rng.uniform(0.0, 1.0, 3)))


def choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """A name of ``weights`` drawn in proportion to its weight (those of weight 0 never)."""
    names = [n for n in weights if weights[n] > 0]
    w = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def look(rng: np.random.Generator, kinds: dict[str, float], texture_sets, roughness, metal: float) -> Look:
    """A random material: a flat colour, a two-colour pattern or one of ``texture_sets`` (a texture
    set's folder), by the ``kinds`` weights (texture only when there are sets); roughness uniform in
    ``roughness``, metallic with chance ``metal``. Every draw is made whatever is chosen, so the number
    of draws (and the stream after it) does not depend on the choice."""
    kind = choice(rng, {k: w for k, w in kinds.items() if k != "texture" or texture_sets})
    colors = (color(rng), color(rng))
    pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
    texture = str(texture_sets[int(rng.integers(len(texture_sets)))]) if texture_sets else None
    rough = float(rng.uniform(*roughness))
    metallic = 1.0 if rng.uniform() < metal else 0.0
    if kind == "color":
        return Look("color", colors[:1], roughness=rough, metallic=metallic)
    if kind == "pattern":
        return Look("pattern", colors, pattern=pattern, roughness=rough, metallic=metallic)
    return Look("texture", texture=texture, roughness=rough, metallic=metallic)
