"""The light of a location for the physically based renderer: its environment map (image-based
light and background), the sun that casts the shadows, and the exposure.

A map with a sun (:func:`fat.scene.environment.find_sun`) is turned about the vertical so that its sun
lies in the azimuth the location was designed for; that sun, at the map's elevation and with the
map's irradiance, is the light that casts the shadows, and the image-based light comes from the rest
of the map (the sun is not counted twice). A map without a sun (an interior, an overcast sky)
keeps the location's designed sun direction and colour, as strong against the sky's irradiance on a
horizontal surface (``E_sky``) as the location's ``diffuse / ambient`` (its designed contrast: harsh
noon about 9, a dim evening about 2). The exposure maps a white horizontal surface in full light to
a bright grey, made darker or brighter by the location's overall level (``ambient + diffuse``: dim
locations come out about one stop darker).
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..scene.environment import LUMINANCE, Environment, load_environment, probe_environment, uniform_environment
from ..errors import ConfigError
from ..scene.scenes import Location, scenes_folder

#: Where the shipped environment maps are: ``scenes/environments/<name>.hdr``.
ENVIRONMENTS = "environments"
#: A white horizontal surface in full light is exposed to this linear value before the tone curve.
WHITE_TARGET = 0.8
#: The location level (ambient + diffuse) exposed at WHITE_TARGET; others by log2 of their ratio.
REFERENCE_LEVEL = 1.05
#: A map's sun lower than this (degrees) lights from this elevation (grazing light makes no picture).
MIN_SUN_ELEVATION = 5.0


@dataclass(frozen=True)
class Lighting:
    environment: Environment
    env_rot: np.ndarray  # (3, 3) world -> the map's frame (a turn about z)
    sun_direction: np.ndarray  # (3,) towards the sun, world
    sun: np.ndarray  # (3,) the sun's irradiance on a surface facing it
    exposure: float
    shadows: bool


#: Environment map files ``--hdri`` takes.
ENV_SUFFIXES = (".hdr", ".exr")
#: The radiance of the sky of a location without an environment map (a uniform, slightly blue sky).
UNIFORM_SKY = (0.85, 0.9, 1.0)


def environment_files(path: str | Path) -> list[Path]:
    """``path`` itself, or the environment maps of the folder ``path`` (sorted by name)."""
    p = Path(path).expanduser()
    if p.is_file():
        if p.suffix.lower() not in ENV_SUFFIXES:
            raise ConfigError(f"{p}: not an environment map ({', '.join(ENV_SUFFIXES)})")
        return [p]
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in ENV_SUFFIXES)
        if not files:
            raise ConfigError(f"{p}: no environment map ({', '.join(ENV_SUFFIXES)}) in the folder")
        return files
    raise ConfigError(f"{p}: no such file or folder")


def check_environments(path: str | Path) -> list[Path]:
    """:func:`environment_files` of ``path``, each map checked (:func:`fat.scene.environment.probe_environment`:
    header, size, data to the end) so that a bad one is refused before anything is written."""
    files = environment_files(path)
    for f in files:
        probe_environment(f)
    return files


@functools.lru_cache(maxsize=32)
def _load(path: str) -> Environment:
    return load_environment(path)


def location_environment(loc: Location, hdri: str | None = None) -> Environment:
    """The environment map lighting ``loc``: from ``hdri`` (a file, or a folder: one map per
    location, chosen by the sha256 of the location's name), else the location's own, else a uniform sky."""
    if hdri:
        files = environment_files(hdri)
        pick = int.from_bytes(hashlib.sha256(loc.name.encode()).digest()[:8], "big") % len(files)
        return _load(str(files[pick]))
    if loc.environment:
        return _load(str(environment_path(loc.environment)))
    return uniform_environment(UNIFORM_SKY)


def environment_path(name: str) -> Path:
    path = Path(str(scenes_folder().joinpath(ENVIRONMENTS, f"{name}.hdr")))
    if not path.is_file():
        raise ConfigError(f"no environment map {name!r} in scenes/{ENVIRONMENTS}/")
    return path


def _rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def location_lighting(loc: Location, env: Environment) -> Lighting:
    light = loc.light
    sun_dir = np.asarray(light.direction, dtype=np.float64)
    rot = np.eye(3)
    sky = float(np.maximum(env.irradiance(np.array([0.0, 0.0, 1.0])), 0) @ LUMINANCE)
    sky = max(sky, 1e-6)
    if env.sun_direction is not None:
        # the map's own sun: turned about the vertical into the location's sun azimuth, at the map's
        # elevation (at least MIN_SUN_ELEVATION), with the map's irradiance
        m = np.asarray(env.sun_direction, dtype=np.float64)
        rot = _rot_z(math.atan2(m[1], m[0]) - math.atan2(sun_dir[1], sun_dir[0]))
        sun_dir = rot.T @ m
        lowest = math.sin(math.radians(MIN_SUN_ELEVATION))
        if sun_dir[2] < lowest:
            horizontal = sun_dir[:2] / max(np.linalg.norm(sun_dir[:2]), 1e-9)
            sun_dir = np.array([*(horizontal * math.sqrt(1 - lowest ** 2)), lowest])
        sun = np.asarray(env.sun_radiance, dtype=np.float64)
    else:  # the location's sun, as strong against the sky as the location was designed
        colour = np.asarray(light.color, dtype=np.float64)
        sun = colour / max(colour @ LUMINANCE, 1e-6) * sky * light.diffuse / max(light.ambient, 0.05)
    white = (sky + float(sun @ LUMINANCE) * max(sun_dir[2], 0.0)) / math.pi
    level = (light.ambient + light.diffuse) / REFERENCE_LEVEL
    exposure = WHITE_TARGET / white * level
    return Lighting(env, rot, sun_dir, sun, float(exposure), light.shadows)
