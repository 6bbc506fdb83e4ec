"""The camera: FAT's ranges by default; wider ranges, and a random field of view per folder, by option.

The field of view is drawn once per leaf folder (from the folder's name), so the folder's
``_camera_settings.json`` holds the intrinsics of every frame in it."""

from __future__ import annotations

from dataclasses import dataclass

from ..geometry import Intrinsics, look_at, orbit_position
from ..drop.sampling import CameraSample
from . import Draft, Options, RandomizeError, Randomizer, param


@dataclass(frozen=True)
class CameraOptions(Options):
    azimuth: tuple | None = param(None, "range", "Azimuth range, degrees. [the settings' (FAT: -120, 120)]",
                                  low=-360.0, high=360.0)
    elevation: tuple | None = param(None, "range", "Elevation range, degrees. [the settings' (FAT: 5, 85)]",
                                    low=0.0, high=89.0)
    distance: tuple | None = param(None, "range", "Distance range, metres. [the settings' (FAT: 0.5, 1.5)]",
                                   low=0.05, high=100.0)
    fov: tuple | None = param(None, "range", "Horizontal field of view range, degrees, drawn per folder. [--fov]",
                              low=1.0, high=179.0)


class Camera(Randomizer):
    """Per frame, with its probability: a camera from the ranges given (none given: nothing drawn,
    the drop's own FAT camera stands)."""

    name = "camera"
    Options = CameraOptions

    @classmethod
    def check(cls, options) -> None:
        if options.distance is not None and options.distance[0] <= 0:
            raise RandomizeError("randomize.camera.distance", f"must be above 0, got {list(options.distance)}")

    def apply(self, rng, draft: Draft) -> None:
        o = self.options
        if o.azimuth is None and o.elevation is None and o.distance is None:
            return
        loc = draft.location
        out = []
        for cam in draft.cameras:
            on = rng.uniform() < o.probability
            az = rng.uniform(*o.azimuth) if o.azimuth else cam.azimuth
            el = rng.uniform(*o.elevation) if o.elevation else cam.elevation
            dist = rng.uniform(*o.distance) if o.distance else cam.distance
            if on:
                eye = orbit_position(loc.fixation, az + loc.heading, el, dist)
                cam = CameraSample(az, el, dist, look_at(eye, loc.fixation))
            out.append(cam)
        draft.cameras[:] = out

    def folder_intrinsics(self, rng, K: Intrinsics) -> Intrinsics:
        if self.options.fov is None:
            return K
        return Intrinsics.from_fov(K.width, K.height, float(rng.uniform(*self.options.fov)))
