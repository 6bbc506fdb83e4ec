"""Camera effects on rendered RGB images (``--camera-effects``): exposure variation, slight
defocus, motion blur along the teleport and sensor noise, applied in linear light between the
renderer and the encoder. Depth, segmentation, instance maps and annotations never see them.

Per frame (both eyes alike), drawn by :func:`draw_frame`:

* exposure: a gain of 2**EV in linear light, EV uniform in [-0.5, 0.5];
* defocus: a Gaussian blur with the variance of a disc of radius r (sigma = r / 2), r uniform in
  [0.2, 1.5] pixels at 960 pixels of width (scaled with the width);
* motion blur: a linear blur of length uniform in [0, 3] pixels at 960 pixels of width, along the
  direction in which the image centre moved since the drop's previous frame (:func:`image_motion`);
  none on a drop's first frame;
* sensor noise level: shot noise of variance ``shot * x`` (x the linear value in [0, 1]), ``shot``
  log-uniform in [2e-4, 2e-3], plus read noise of standard deviation uniform in [5e-4, 2e-3].

Per eye: the sensor noise itself, Gaussian of variance ``shot * x + read**2``.

Randomness comes from streams of their own, ``SeedSequence(seed, (*drop key, frame index, TAG,
part))`` (part 0: the frame's draws, 1 and 2: the left and right eye's noise), never from the
drop's generator: switching the effects on or off changes no other draw, and the bytes depend only
on the seed and the frame, not on the number of workers.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Tells these streams from any other keyed by a drop (``b"camf"`` as an integer).
TAG = 0x63616D66
#: Image width at which the pixel ranges below hold; they scale with the width.
REFERENCE_WIDTH = 960
EXPOSURE_EV = (-0.5, 0.5)
DEFOCUS_RADIUS_PX = (0.2, 1.5)
MOTION_LENGTH_PX = (0.0, 3.0)
SHOT_NOISE = (2e-4, 2e-3)  # log-uniform: noise variance per unit of linear signal
READ_NOISE = (5e-4, 2e-3)  # standard deviation, linear units
_EYE_PART = {"left": 1, "right": 2}


@dataclass(frozen=True)
class FrameEffects:
    """The draws of one frame, shared by its two eyes."""

    gain: float  # linear-light exposure gain, 2**EV
    defocus_sigma: float  # Gaussian sigma, pixels
    motion_length: float  # pixels; 0: no motion blur
    motion_direction: tuple[float, float] | None  # unit (dx, dy) in the image (x right, y down)
    shot: float  # shot-noise variance per unit of linear signal
    read: float  # read-noise standard deviation, linear


def stream(seed: int, key: tuple[int, ...], frame_index: int, part: int) -> np.random.Generator:
    """The generator of one frame's effects (``part`` 0) or of one eye's noise (1: left, 2: right)."""
    spawn = tuple(int(k) for k in key) + (int(frame_index), TAG, int(part))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=spawn))


def eye_stream(seed: int, key: tuple[int, ...], frame_index: int, eye: str) -> np.random.Generator:
    return stream(seed, key, frame_index, _EYE_PART[eye])


def image_motion(previous_pose: np.ndarray | None, pose: np.ndarray, fx: float = 1.0,
                 fy: float = 1.0) -> tuple[float, float] | None:
    """The unit image direction in which the image centre moved between two camera poses (4x4
    world poses, OpenCV axes): where the scene point seen at the previous image centre, taken far
    away, appears now, seen from the current centre. Every camera of a drop looks at the fixation
    point, which stays at the centre; the rest of the scene sweeps along this direction. None
    without a previous pose or when the view direction did not change."""
    if previous_pose is None:
        return None
    R = np.asarray(pose, dtype=np.float64)[:3, :3]
    v = R.T @ np.asarray(previous_pose, dtype=np.float64)[:3, 2]  # previous optical axis, current camera
    d = np.array([fx * v[0], fy * v[1]]) * (1.0 if v[2] >= 0 else -1.0)
    n = float(np.hypot(*d))
    if n < 1e-9:
        return None
    return float(d[0] / n), float(d[1] / n)


def draw_frame(rng: np.random.Generator, width: int, motion_direction: tuple[float, float] | None) -> FrameEffects:
    """The frame's exposure, defocus, motion blur and noise level (see the module's ranges)."""
    scale = width / REFERENCE_WIDTH
    ev = rng.uniform(*EXPOSURE_EV)
    radius = rng.uniform(*DEFOCUS_RADIUS_PX) * scale
    length = rng.uniform(*MOTION_LENGTH_PX) * scale
    shot = math.exp(rng.uniform(math.log(SHOT_NOISE[0]), math.log(SHOT_NOISE[1])))
    read = rng.uniform(*READ_NOISE)
    if motion_direction is None:
        length = 0.0
    return FrameEffects(float(2.0 ** ev), float(radius / 2), float(length), motion_direction, float(shot), float(read))


# ----------------------------------------------------------------------------- sRGB <-> linear
def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


_DECODE = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)  # 8-bit sRGB -> linear
_ENCODE_STEPS = 65535  # linear quantised to 16 bits before the 8-bit sRGB table (step: 0.05 of a level at black)
_ENCODE = np.round(linear_to_srgb(np.arange(_ENCODE_STEPS + 1) / _ENCODE_STEPS) * 255).astype(np.uint8)


def decode(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB -> float32 linear in [0, 1]."""
    return _DECODE[rgb]


def encode(linear: np.ndarray) -> np.ndarray:
    """Float linear (clipped to [0, 1]) -> 8-bit sRGB, rounded."""
    x = np.clip(linear, 0.0, 1.0)
    x *= _ENCODE_STEPS
    x += 0.5
    return _ENCODE[x.astype(np.uint16)]


# ----------------------------------------------------------------------------- the effects, in linear light
def defocus(linear: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``sigma`` pixels (the variance of a disc of radius 2 sigma)."""
    if sigma < 0.05:
        return linear
    return cv2.GaussianBlur(linear, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def motion_kernel(length: float, direction: tuple[float, float]) -> np.ndarray:
    """A normalised line of ``length`` pixels through the kernel's centre along ``direction``,
    antialiased (points along the segment splatted bilinearly). Odd square size."""
    half = int(math.ceil(length / 2)) + 1
    size = 2 * half + 1
    k = np.zeros((size, size), np.float64)
    n = max(2, int(math.ceil(length * 8)) + 1)
    t = np.linspace(-length / 2, length / 2, n)
    x = half + t * direction[0]
    y = half + t * direction[1]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(k, (y0 + dy, x0 + dx), w)
    return (k / k.sum()).astype(np.float32)


def motion_blur(linear: np.ndarray, length: float, direction: tuple[float, float] | None) -> np.ndarray:
    if direction is None or length < 0.1:
        return linear
    return cv2.filter2D(linear, -1, motion_kernel(length, direction), borderType=cv2.BORDER_REFLECT)


@functools.lru_cache(maxsize=1)
def _normal_table() -> np.ndarray:
    """The standard normal's quantiles at the centres of 65,536 equal steps of probability, scaled
    to unit variance: indexed by uniform 16-bit integers, Gaussian samples (cut at 4.3 sigma) about
    four times as fast as ``Generator.standard_normal``."""
    from scipy.special import ndtri

    q = ndtri((np.arange(65536) + 0.5) / 65536)
    return (q / np.sqrt(np.mean(q * q))).astype(np.float32)


def standard_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """Float32 samples of the standard normal (see :func:`_normal_table`)."""
    return _normal_table()[rng.integers(0, 65536, size=shape, dtype=np.uint16)]


def sensor_noise(linear: np.ndarray, rng: np.random.Generator, shot: float, read: float) -> np.ndarray:
    """Gaussian noise of variance ``shot * x + read**2`` added to ``linear`` (float32, changed in
    place; x clipped at 0 for the variance)."""
    sd = np.maximum(linear, 0.0)
    sd *= np.float32(shot)
    sd += np.float32(read * read)
    np.sqrt(sd, out=sd)
    sd *= standard_normal(rng, linear.shape)
    linear += sd
    return linear


def apply(rgb: np.ndarray, fx: FrameEffects, noise_rng: np.random.Generator) -> np.ndarray:
    """One eye's image with the frame's effects: exposure, defocus, motion blur, then noise; in
    linear light, back to 8-bit sRGB."""
    x = decode(rgb)
    x *= np.float32(fx.gain)
    x = defocus(x, fx.defocus_sigma)
    x = motion_blur(x, fx.motion_length, fx.motion_direction)
    x = sensor_noise(x, noise_rng, fx.shot, fx.read)
    return encode(x)


class CameraEffects:
    """The effects of the frames of one dataset: ``frame`` draws a frame's, ``apply`` applies them
    to one eye's image."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def frame(self, key: tuple[int, ...], frame_index: int, previous_pose, pose, K) -> FrameEffects:
        """The draws of one frame; ``previous_pose``: the drop's previous frame's left eye (None on
        its first frame), ``pose`` this frame's, ``K`` the :class:`fat.geometry.Intrinsics`."""
        motion = image_motion(previous_pose, pose, float(K.fx), float(K.fy))
        return draw_frame(stream(self.seed, key, frame_index, 0), int(K.width), motion)

    def apply(self, rgb: np.ndarray, effects: FrameEffects, key: tuple[int, ...], frame_index: int, eye: str) -> np.ndarray:
        return apply(rgb, effects, eye_stream(self.seed, key, frame_index, eye))
