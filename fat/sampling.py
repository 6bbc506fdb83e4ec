"""Random choices of one drop: which objects, where they start, where the camera goes.

Each drop draws from its own ``numpy.random.Generator`` made from ``SeedSequence(seed, drop key)``,
so a drop's content depends only on the seed and on which drop it is, never on what ran before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .catalog import ObjectInfo
from .geometry import look_at, make_pose, orbit_position, quat_to_matrix
from .scene import CameraRanges, Location


def drop_rng(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key)))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation uniformly distributed over SO(3) (normalised Gaussian quaternion)."""
    q = rng.normal(size=4)
    return quat_to_matrix(q / np.linalg.norm(q))


@dataclass
class CameraSample:
    azimuth: float  # degrees, relative to the location heading
    elevation: float  # degrees
    distance: float  # metres
    pose: np.ndarray  # 4x4 world pose of the left eye (OpenCV axes)


def sample_camera(rng: np.random.Generator, loc: Location, ranges: CameraRanges) -> CameraSample:
    az = rng.uniform(*ranges.azimuth)
    el = rng.uniform(*ranges.elevation)
    dist = rng.uniform(*ranges.distance)
    eye = orbit_position(loc.fixation, az + loc.heading, el, dist)
    return CameraSample(az, el, dist, look_at(eye, loc.fixation))


def sample_objects(rng: np.random.Generator, pool: list[ObjectInfo], kind: str, n_range=(2, 10)) -> list[ObjectInfo]:
    """One object for a single drop; for a mixed drop a count uniform in ``n_range`` (inclusive),
    each object drawn uniformly from ``pool`` with replacement."""
    if kind == "single":
        return [pool[0]]
    n = int(rng.integers(n_range[0], n_range[1] + 1))
    return [pool[int(i)] for i in rng.integers(0, len(pool), size=n)]


def sample_start_poses(rng: np.random.Generator, loc: Location, n: int) -> list[np.ndarray]:
    """Start poses inside the drop cylinder (radius, height) above the fixation point, random
    orientation. Overlaps are resolved later by lifting (see fat.physics)."""
    out = []
    for _ in range(n):
        r = loc.drop_radius * math.sqrt(rng.uniform())
        a = rng.uniform(0, 2 * math.pi)
        h = loc.drop_height + rng.uniform(0, loc.drop_span)
        p = loc.fixation + np.array([r * math.cos(a), r * math.sin(a), h])
        out.append(make_pose(random_rotation(rng), p))
    return out
