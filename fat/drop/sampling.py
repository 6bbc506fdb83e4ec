"""Random choices of one drop: which objects, where they start, where the camera goes.

Each drop draws from its own ``numpy.random.Generator`` made from ``SeedSequence(seed, drop key)``,
so a drop's content depends only on the seed and on which drop it is, never on what ran before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..annotate.views import MIN_Z, in_frustum
from ..catalog import ObjectInfo
from ..errors import FatError
from ..geometry import (BASELINE_M, cuboid_corners, invert_pose, look_at, make_pose, orbit_position, quat_to_matrix,
                       right_eye_pose, transform_points)
from ..scene.scenes import CameraRanges, Location

#: The bounding radius (half the cuboid's diagonal) up to which FAT's drop cylinder and start heights
#: hold unchanged, metres: the largest of FAT's 21 objects, the pitcher base, has 0.167.
REFERENCE_RADIUS = 0.2
#: How much farther than twice the largest object's bounding radius the nearest camera stays from
#: the fixation point, metres. FAT's objects need 0.43 m: FAT's 0.5 m stands.
CAMERA_CLEARANCE = 0.1
#: Cameras drawn again for one frame at most, before the drop is given up (see :func:`clear_camera`).
MAX_REDRAWS = 100
#: The name of the stream cameras are drawn again from (a drop key's ninth number): "clea".
_REDRAW_STREAM = 0x636C6561


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


def bounding_radius(info: ObjectInfo) -> float:
    """Half the diagonal of the object's cuboid: no point of the object is farther from its centre."""
    return 0.5 * float(np.linalg.norm(info.dimensions))


def _round_up(x: float, step: float = 0.01) -> float:
    return math.ceil(round(x / step, 6)) * step


def size_scale(infos) -> float:
    """How much the drop cylinder, the start heights and the lift of a blocked start grow for these
    objects: 1 up to :data:`REFERENCE_RADIUS`, then in proportion to the largest bounding radius
    (rounded up to a hundredth, as it is recorded)."""
    r = max((bounding_radius(o) for o in infos), default=0.0)
    return 1.0 if r <= REFERENCE_RADIUS else round(_round_up(r / REFERENCE_RADIUS), 2)


def camera_distance(distance: tuple[float, float], infos) -> tuple[float, float]:
    """The camera distance range for these objects: ``distance`` unless its near end is closer than
    twice the largest bounding radius plus :data:`CAMERA_CLEARANCE`; then moved out to that (rounded
    up to a centimetre), its width kept. So an object lying at the fixation point, or a radius away
    from it, is whole in front of every camera."""
    need = 2 * max((bounding_radius(o) for o in infos), default=0.0) + CAMERA_CLEARANCE
    lo, hi = distance
    if need <= lo:
        return distance
    near = round(_round_up(need), 2)
    return near, round(near + (hi - lo), 6)


def scaled_location(loc: Location, scale: float | None) -> Location:
    """The location with its drop cylinder (radius, height, bottom) grown by ``scale``."""
    if not scale or scale == 1:
        return loc
    return replace(loc, drop_height=loc.drop_height * scale, drop_radius=loc.drop_radius * scale,
                   drop_span=loc.drop_span * scale)


#: Cameras drawn at most for one frame at a glTF scene's location before giving up.
MAX_VIEW_DRAWS = 200


def sample_camera(rng: np.random.Generator, loc: Location, ranges: CameraRanges) -> CameraSample:
    """A camera uniform in ``ranges`` about the location, looking at its fixation point. At a glTF
    scene's location, drawn again until both eyes see the fixation point
    (:func:`fat.scene.sightlines.views_clear`)."""
    for _ in range(MAX_VIEW_DRAWS if loc.asset else 1):
        az = rng.uniform(*ranges.azimuth)
        el = rng.uniform(*ranges.elevation)
        dist = rng.uniform(*ranges.distance)
        eye = orbit_position(loc.fixation, az + loc.heading, el, dist)
        cam = CameraSample(az, el, dist, look_at(eye, loc.fixation))
        if not loc.asset or _sees(loc, cam.pose):
            return cam
    raise FatError(f"{loc.name}: no camera of {MAX_VIEW_DRAWS} drawn in the ranges (azimuth {list(ranges.azimuth)}, "
                   f"elevation {list(ranges.elevation)}, distance {list(ranges.distance)} m) sees the drop point past "
                   "the scene's geometry")


def _sees(loc: Location, pose: np.ndarray) -> bool:
    from ..scene.gltf_scene import load_gltf_scene
    from ..scene.sightlines import views_clear

    eyes = np.stack([pose[:3, 3], pose[:3, 3] + pose[:3, 0] * BASELINE_M])
    return bool(views_clear(load_gltf_scene(loc.asset), loc.fixation, loc.drop_radius, eyes).all())


def sample_objects(rng: np.random.Generator, pool: list[ObjectInfo], kind: str, n_range=(2, 10)) -> list[ObjectInfo]:
    """One object for a single drop; for a mixed drop a count uniform in ``n_range`` (inclusive),
    each object drawn uniformly from ``pool`` with replacement."""
    if kind == "single":
        return [pool[0]]
    n = int(rng.integers(n_range[0], n_range[1] + 1))
    return [pool[int(i)] for i in rng.integers(0, len(pool), size=n)]


def sample_start_poses(rng: np.random.Generator, loc: Location, n: int) -> list[np.ndarray]:
    """Start poses inside the drop cylinder (radius, height) above the fixation point, random
    orientation. Overlaps are resolved later by lifting (see fat.drop.physics)."""
    out = []
    for _ in range(n):
        r = loc.drop_radius * math.sqrt(rng.uniform())
        a = rng.uniform(0, 2 * math.pi)
        h = loc.drop_height + rng.uniform(0, loc.drop_span)
        p = loc.fixation + np.array([r * math.cos(a), r * math.sin(a), h])
        out.append(make_pose(random_rotation(rng), p))
    return out


def straddles(T_world_cam: np.ndarray, dimensions: np.ndarray, T_world_obj: np.ndarray, K) -> bool:
    """Whether the object's cuboid reaches from in front of the camera (in its view) to behind it:
    such an object can be drawn while its projection is undefined."""
    corners = transform_points(invert_pose(T_world_cam) @ T_world_obj, cuboid_corners(dimensions))
    return bool(np.any(corners[:, 2] <= MIN_Z) and in_frustum(corners, K))


def clear_camera(seed: int, key: tuple[int, ...], frame: int, cam: CameraSample, loc: Location,
                 ranges: CameraRanges, targets: list[tuple[np.ndarray, np.ndarray]], K, baseline: float) -> CameraSample:
    """``cam``, or when a target's cuboid reaches behind one of the stereo pair's eyes, a camera
    drawn again from ``ranges`` (from a stream of the drop's own, keyed by the frame) that keeps
    every target (``(dimensions, world pose)`` pairs) whole in front of both eyes or out of their
    view. So every target the renderer draws can be annotated. Raises :class:`FatError` when
    :data:`MAX_REDRAWS` draws find none."""
    def clear(c: CameraSample) -> bool:
        eyes = (c.pose, right_eye_pose(c.pose, baseline))
        return not any(straddles(T, dims, pose, K) for T in eyes for dims, pose in targets)

    if clear(cam):
        return cam
    rng = drop_rng(seed, (*key, _REDRAW_STREAM, frame))
    for _ in range(MAX_REDRAWS):
        cam = sample_camera(rng, loc, ranges)
        if clear(cam):
            return cam
    raise FatError(f"{loc.name}: no camera in the ranges (distance {list(ranges.distance)} m) keeps every object of "
                   f"frame {frame} in front of it; give larger camera distances")
