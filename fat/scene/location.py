"""A location as plain data: its fixation point and heading, ground, props, light, drop cylinder, or
the glTF scene it stands in; the camera ranges about it. :mod:`fat.scene` loads them from the scene
files."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..geometry import make_pose
from .props import PROP_SHAPES

#: How close (metres) a sampled camera may come to a prop surface (more than the near plane).
CAMERA_MARGIN = 0.04



@dataclass(frozen=True)
class CameraRanges:
    """FAT's camera placement about the fixation point (degrees, metres)."""

    azimuth: tuple[float, float] = (-120.0, 120.0)
    elevation: tuple[float, float] = (5.0, 85.0)
    distance: tuple[float, float] = (0.5, 1.5)

    def __post_init__(self):
        for name, (lo, hi) in (("azimuth", self.azimuth), ("elevation", self.elevation), ("distance", self.distance)):
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise ConfigError(f"camera {name} range [{lo}, {hi}] is empty")
        if self.azimuth[1] - self.azimuth[0] > 360:
            raise ConfigError(f"camera azimuth range {list(self.azimuth)} spans more than 360 degrees")
        if not (-90 < self.elevation[0] and self.elevation[1] < 90):
            raise ConfigError(f"camera elevation range {list(self.elevation)} must lie inside (-90, 90) degrees")
        if self.distance[0] <= 0:
            raise ConfigError(f"camera distance range {list(self.distance)} must be positive")


@dataclass(frozen=True)
class Surface:
    texture: str  # a kind of fat.scene.textures
    colors: tuple  # RGB triples
    tile: float = 1.0  # metres covered by one texture repeat


@dataclass(frozen=True)
class Prop:
    """A static shape of :data:`fat.scene.props.PROP_SHAPES` (box, cylinder, rock...), in world coordinates."""

    name: str
    shape: str  # a key of PROP_SHAPES
    pose: np.ndarray  # 4x4 world pose of the shape's centre (cylinder axis = local z)
    size: np.ndarray  # the shape's (3,) size: box: full extents; cylinder: (radius, radius, height); rock: radii
    surface: Surface

    def contains(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Which world points lie inside the prop grown by ``margin``."""
        local = (np.asarray(points) - self.pose[:3, 3]) @ self.pose[:3, :3]
        return PROP_SHAPES[self.shape].contains(local, self.size, margin)


@dataclass(frozen=True)
class Light:
    direction: np.ndarray  # unit vector from the scene towards the sun (world)
    color: tuple[float, float, float]
    ambient: float
    diffuse: float
    specular: float
    shadows: bool
    label: str = ""


@dataclass(frozen=True)
class Location:
    scene: str
    index: int
    fixation: np.ndarray  # world, metres
    heading: float  # degrees: world azimuth of camera azimuth 0
    ground_z: float
    ground: Surface
    props: tuple[Prop, ...]
    light: Light
    drop_height: float  # bottom of the drop cylinder above the fixation point (metres)
    drop_radius: float = 0.05
    drop_span: float = 0.10
    description: str = ""
    environment: str = ""  # the environment map of scenes/environments/ lighting it ("": a uniform sky)
    #: horizontal distance from the fixation point to the nearest prop of its backdrop (walls, trees,
    #: columns around it), metres: the camera stays inside, so that none stands between it and the objects
    room: float = math.inf
    asset: str = ""  # a glTF scene's file (absolute path): its triangles are the scenery ("": ground and props)
    #: more lights besides ``light`` (a glTF scene's other punctual lights): (direction towards the
    #: light, linear colour times its irradiance relative to ``light``'s)
    lights: tuple = ()

    @property
    def name(self) -> str:
        return f"{self.scene}_{self.index}"

    @property
    def frame(self) -> np.ndarray:
        """4x4 world pose of the location frame (origin at the fixation point, x along the heading)."""
        h = math.radians(self.heading)
        R = np.array([[math.cos(h), -math.sin(h), 0], [math.sin(h), math.cos(h), 0], [0, 0, 1]])
        return make_pose(R, self.fixation)


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def _light(d: dict, frame: np.ndarray, label: str) -> Light:
    az, el = math.radians(d["azimuth_deg"]), math.radians(d["elevation_deg"])
    local = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    return Light(frame[:3, :3] @ local, tuple(d.get("color", (1, 1, 1))), float(d.get("ambient", 0.4)),
                 float(d.get("diffuse", 0.6)), float(d.get("specular", 0.05)), bool(d.get("shadows", True)), label)


