"""One record of a frame: what the physics filled, what renderers, the annotator and the writer read.

A :class:`Frame` holds the location (ground, props, light), the objects (asset, class name as the
dataset writes it, segmentation id, cuboid dimensions, world pose) and the stereo camera rig (both
eyes' world poses and the intrinsics they render with). A domain-randomized frame has distractors too
(objects that fall and occlude but are never annotated) and its :class:`fat.looks.Looks`. Object ``k``
of ``drawn`` (the objects, then the distractors) is instance ``k + 1`` of every renderer's instance
map. Nothing here knows PyBullet or a file format. The values compare by identity (they hold arrays).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .assets.objects import ObjectAsset
from .geometry import EYES, Intrinsics
from .looks import Looks
from .scene.scenes import Light, Location



@dataclass(frozen=True, eq=False)
class FrameObject:
    asset: ObjectAsset  # meshes and the catalog entry
    class_name: str  # as written in the JSON (mixed folders: FAT's spelling)
    segmentation_id: int  # as written in the segmentation image (255 in single folders)
    dimensions: np.ndarray  # cuboid extents, metres (x, y, z of the FAT-aligned frame)
    pose: np.ndarray  # 4x4 world pose of the FAT-aligned object frame

    @classmethod
    def of(cls, asset: ObjectAsset, pose: np.ndarray) -> "FrameObject":
        """An object named and numbered as its catalog entry says (a mixed folder's class name is
        the writer's business: see :func:`fat.formats.fat.class_name`)."""
        return cls(asset, asset.info.class_name, asset.info.segmentation_id, asset.info.dimensions, pose)

    @property
    def parts(self) -> tuple[np.ndarray, ...]:
        """Convex collision parts, object frame (the silhouette the annotator draws)."""
        return self.asset.parts

    @property
    def hull(self) -> np.ndarray:
        """Vertices of the render mesh's convex hull, object frame (the 2D box)."""
        return self.asset.hull

    @functools.cached_property
    def part_points(self) -> np.ndarray:
        """All parts' vertices in one array: one transform and one projection per view."""
        return np.concatenate(self.parts) if len(self.parts) else np.zeros((0, 3))

    @functools.cached_property
    def part_ends(self) -> np.ndarray:
        return np.cumsum([len(p) for p in self.parts])


@dataclass(frozen=True, eq=False)
class CameraRig:
    """The stereo pair of one frame: world poses (OpenCV axes) and the intrinsics of both eyes."""

    left: np.ndarray
    right: np.ndarray
    intrinsics: Intrinsics

    @classmethod
    def mono(cls, pose: np.ndarray, intrinsics: Intrinsics) -> "CameraRig":
        """One camera, seen as both eyes (a single view)."""
        return cls(pose, pose, intrinsics)

    def pose(self, eye: str) -> np.ndarray:
        if eye == "left":
            return self.left
        if eye == "right":
            return self.right
        raise ValueError(f"unknown eye {eye!r}; eyes are {', '.join(EYES)}")

    def eyes(self) -> tuple[tuple[str, np.ndarray], ...]:
        return (("left", self.left), ("right", self.right))


@dataclass(frozen=True, eq=False)
class Frame:
    location: Location
    objects: tuple[FrameObject, ...]  # spawn order; the same asset may appear more than once
    rig: CameraRig
    index: int = 0  # frame number in its folder
    distractors: tuple[FrameObject, ...] = ()  # drawn after the objects, never annotated
    looks: Looks | None = None  # None: the location's own look

    @property
    def drawn(self) -> tuple[FrameObject, ...]:
        """What a renderer draws: the objects, then the distractors (instance ``k + 1`` is ``drawn[k]``)."""
        return self.objects + self.distractors

    @property
    def light(self) -> Light:
        """The location's sun: direction, colour, ambient/diffuse/specular, shadows."""
        return self.location.light

    @property
    def assets(self) -> list[ObjectAsset]:
        return [o.asset for o in self.objects]

    @property
    def poses(self) -> list[np.ndarray]:
        return [o.pose for o in self.objects]

    @classmethod
    def view(cls, location: Location, objects, pose: np.ndarray, intrinsics: Intrinsics) -> "Frame":
        """A frame of one camera; ``objects`` are FrameObjects or (asset, pose) pairs."""
        objs = tuple(o if isinstance(o, FrameObject) else FrameObject.of(*o) for o in objects)
        return cls(location, objs, CameraRig.mono(pose, intrinsics))
