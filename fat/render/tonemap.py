"""From linear HDR radiance to 8-bit sRGB: exposure, a filmic curve, the sRGB transfer function.

The curve is Narkowicz's fit of ACES's reference rendering transform (2015):
``f(x) = x (a x + b) / (x (c x + d) + e)`` with a = 2.51, b = 0.03, c = 2.43, d = 0.59, e = 0.14,
clamped to [0, 1]. The OpenGL renderer runs the GLSL below; the numpy functions are the same
formulas, and their inverses let tests read radiance back from a rendered image.
"""

from __future__ import annotations

import numpy as np

A, B, C, D, E = 2.51, 0.03, 2.43, 0.59, 0.14

GLSL = f"""
vec3 aces(vec3 x) {{
    return clamp(x * ({A} * x + {B}) / (x * ({C} * x + {D}) + {E}), 0.0, 1.0);
}}
vec3 srgb_encode(vec3 c) {{
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}}
vec3 srgb_decode(vec3 c) {{
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c));
}}
"""


def aces(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.clip(x * (A * x + B) / (x * (C * x + D) + E), 0.0, 1.0)


def aces_inverse(y: np.ndarray) -> np.ndarray:
    """The x >= 0 with ``aces(x) = y`` (y in [0, 1); 1 maps to infinity): the positive root of
    (A - C y) x^2 + (B - D y) x - E y = 0."""
    y = np.asarray(y, dtype=np.float64)
    a, b, c = A - C * y, B - D * y, -E * y
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(a) > 1e-12, (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a), -c / b)


def srgb_encode(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c < 0.0031308, c * 12.92, 1.055 * np.power(np.maximum(c, 0), 1 / 2.4) - 0.055)


def srgb_decode(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c < 0.04045, c / 12.92, np.power((c + 0.055) / 1.055, 2.4))


def to_srgb8(radiance: np.ndarray, exposure: float) -> np.ndarray:
    """8-bit sRGB of linear ``radiance`` at ``exposure``, as the renderer writes it."""
    return np.clip(np.rint(srgb_encode(aces(radiance * exposure)) * 255), 0, 255).astype(np.uint8)


def from_srgb8(image: np.ndarray, exposure: float) -> np.ndarray:
    """The radiance an 8-bit sRGB value stands for (the middle of its code's interval)."""
    return aces_inverse(srgb_decode(np.asarray(image, dtype=np.float64) / 255.0)) / exposure
