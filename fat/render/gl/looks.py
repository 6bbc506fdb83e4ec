"""Resolving a frame's looks into what is drawn: the location's light or a randomized frame's
lights and background, each surface's own material or the randomized look replacing it, and the
order the surfaces are drawn in. Plain functions over plain data, and :class:`FrameLooks`, the
renderer's part that applies them to a frame (uploading what a look needs through its resources)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ...frame import Frame
from ...scene.environment import LUMINANCE
from ...scene.scenes import Location
from ...scene.texture_sets import read_image
from .. import tonemap
from ..lighting import Lighting, location_environment, location_lighting
from ..materials import Material
from .shaders import ROUGH
from .surfaces import Surface


def designed(colors) -> tuple[float, float, float]:
    """The surface's designed mean colour, linear. A texture set's colour map is drawn as this colour
    times the map's own variation about its mean (at most 1.6 times): the set's detail in the scene's
    palette (a light marble floor from a dark marble set)."""
    return tuple(float(x) for x in tonemap.srgb_decode(np.asarray(colors, dtype=np.float64).reshape(-1, 3).mean(axis=0) / 255.0))


def reflective(material: Material) -> bool:
    """Whether a surface's reflections are looked up in the prefiltered map (see ROUGH)."""
    return material.roughness < ROUGH or material.metallic > 0


def _nearest_first(items: list, boxes: list, eye: np.ndarray, direction: np.ndarray | None = None) -> list:
    """``items`` ordered by the distance from ``eye`` to the nearest point of each one's box (``boxes``:
    (low corner, high corner)); with ``direction`` (a parallel light towards ``eye``), by the boxes'
    nearest point along it instead."""
    if not items:
        return []
    lo, hi = np.array([b[0] for b in boxes]), np.array([b[1] for b in boxes])
    if direction is None:
        key = np.linalg.norm(np.clip(eye, lo, hi) - eye, axis=1)
    else:  # the corner furthest along the direction towards the light
        key = -np.where(direction > 0, hi, lo) @ direction
    return [items[i] for i in np.argsort(key, kind="stable")]


def nearest_draws(surfaces: list, boxes: list, eye: np.ndarray, direction: np.ndarray | None = None) -> list:
    """Scenery draws (surface, model matrix, instance 0) of ``surfaces``, nearest ``eye`` first (see
    :func:`_nearest_first`): a fragment behind one already drawn fails the depth test before it is shaded."""
    return [(m, np.eye(4), 0) for m in _nearest_first(surfaces, boxes, eye, direction)]


def _in_view(box: tuple, view_proj: np.ndarray) -> bool:
    """Whether a world box (low corner, high corner) may be seen: not all its corners outside one
    plane of the view's frustum (clip space)."""
    lo, hi = box
    corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    c = corners @ view_proj.T
    w = c[:, 3]
    return not any(np.all(c[:, i] > w) or np.all(c[:, i] < -w) for i in range(3))


def visible(surfaces: list, boxes: list, view_proj: np.ndarray) -> tuple[list, list]:
    """The ``surfaces`` whose box may be seen through ``view_proj``, and their boxes."""
    inside = [_in_view(box, view_proj) for box in boxes]
    return [x for x, i in zip(surfaces, inside) if i], [b for b, i in zip(boxes, inside) if i]


def more_lights(loc: Location, lighting: Lighting) -> list:
    """A glTF scene's lights besides its sun: (direction, irradiance), relative to the sun's."""
    if not loc.lights:
        return []
    unit = float(lighting.sun @ LUMINANCE) / max(float(np.asarray(loc.light.color, dtype=np.float64) @ LUMINANCE), 1e-6)
    return [(np.asarray(d, dtype=np.float64), np.asarray(c, dtype=np.float64) * unit) for d, c in loc.lights[:3]]


def randomized_lights(lighting: Lighting, lights) -> tuple[Lighting, list]:
    """A randomized frame's ``lights`` (fat.looks.LightSource) in ``lighting``: its sun replaced by the
    first (intensity 1: as bright as the location's sun, or its sky where that is brighter), shadows on;
    and the next three as (direction, irradiance)."""
    sky = float(np.maximum(lighting.environment.irradiance(np.array([0.0, 0.0, 1.0])), 0) @ LUMINANCE)
    unit = max(float(lighting.sun @ LUMINANCE), sky, 1e-6)  # intensity 1: the location's sun

    def irradiance(light):
        c = np.asarray(light.color, dtype=np.float64)
        return c / max(float(c @ LUMINANCE), 1e-6) * unit * light.intensity

    first = lights[0]
    lighting = replace(lighting, sun_direction=np.asarray(first.direction, dtype=np.float64), sun=irradiance(first),
                       shadows=True)
    extra = [(np.asarray(x.direction, dtype=np.float64), irradiance(x)) for x in lights[1:4]]
    return lighting, extra


class Environment:
    """A randomized background's environment: its lighting and its texture, kept and released together."""

    def __init__(self, lighting: Lighting, upload):
        self.lighting = lighting
        self.texture, self.levels = upload(lighting.environment)


class FrameLooks:
    """The renderer's part that resolves a frame's looks: its light and environment texture, the
    objects' and the scenery's surfaces with a randomized frame's looks, the background. A mixin of
    :class:`~fat.render.gl.renderer.GLRenderer`: it reads the renderer's location and caches."""

    def lighting(self, loc: Location):
        """The location's :class:`~fat.render.lighting.Lighting` (its environment map, sun, exposure)."""
        if loc.name not in self._lighting:
            self._lighting[loc.name] = location_lighting(loc, location_environment(loc, self.hdri))
        return self._lighting[loc.name]

    def frame_lighting(self, frame: Frame) -> tuple[Lighting, tuple, list, float]:
        """The frame's light: the location's (or the randomized background's map's), its sun replaced by
        a randomized frame's first light; its environment texture and number of levels; the other
        lights (direction, irradiance); the scale of the image-based light."""
        loc, looks = frame.location, frame.looks
        lighting = self.lighting(loc)
        if looks is not None and looks.background is not None and looks.background.kind == "environment":
            item = self._random.get(f"environment:{loc.name}|{looks.background.path}", lambda: Environment(
                location_lighting(loc, location_environment(loc, looks.background.path)), self._upload_environment))
            lighting, texture = item.lighting, (item.texture, item.levels)
        else:
            texture = self._environment(lighting.environment)
        if looks is None:
            return lighting, texture, more_lights(loc, lighting), 1.0
        extra = []
        if looks.lights:
            lighting, extra = randomized_lights(lighting, looks.lights)
        return lighting, texture, extra, float(looks.ambient)

    def _looks_of(self, frame: Frame):
        """The drawn objects' and the scenery's surfaces, with a randomized frame's looks applied."""
        looks = frame.looks
        n = len(frame.objects)
        objects = [self._asset(o.asset, distractor=k >= n) for k, o in enumerate(frame.drawn)]
        scenery = list(self._scenery)
        if looks is not None:
            own = (looks.targets or (None,) * len(frame.objects)) + (looks.distractors or (None,) * len(frame.distractors))
            objects = [s if look is None else self._look(s, look) for s, look in zip(objects, own)]
            if looks.surfaces:
                scenery = [s if k >= len(looks.surfaces) or looks.surfaces[k] is None else self._look(s, looks.surfaces[k])
                           for s, k in zip(scenery, self._slots)]
        return objects, scenery

    def _look(self, surface: "Surface", look) -> "Surface":
        """``surface``'s geometry with a randomized look (fat.looks.Look) instead of its own material;
        on an object (``box``), texture coordinates come from its model-space position."""
        material = Material(look.roughness, look.metallic)
        # the look replaces the object's own material maps; its alpha mask (its shape) stays
        if look.kind == "texture":
            s = self._look_set(look.texture)
            return replace(s, geometry=surface.geometry, material=Material(look.roughness, max(s.material.metallic, look.metallic)),
                           box=surface.is_object, mask=surface.mask)
        own = dict(pbr=None, emission=None, emission_scale=0.0, normal=None, occlusion=0.0)
        if look.kind == "pattern":
            a, b = (np.asarray(c, dtype=float) for c in look.colors)
            return replace(surface, tex=self._pattern(look.pattern), material=material, maps=None, metal=False,
                           scale=tuple(float(x) for x in b - a), offset=tuple(float(x) for x in a), box=surface.is_object, look=True,
                           reflective=surface.is_object and reflective(material), **own)
        return replace(surface, tex=self.white, material=material, maps=None, metal=False, box=surface.is_object, look=True,
                       scale=tuple(float(x) for x in look.colors[0]), reflective=surface.is_object and reflective(material),
                       **own)

    def _background(self, frame: Frame) -> tuple[int, object, tuple]:
        """(mode, image texture, colour) of the background shader: 0 the environment map, 1 an image, 2 a colour."""
        bg = frame.looks.background if frame.looks is not None else None
        if bg is None or bg.kind == "environment":
            return 0, self.white, (0.0, 0.0, 0.0)
        if bg.kind == "color":
            return 2, self.white, tuple(float(x) for x in bg.color)

        def make():
            img = read_image(bg.path, 1024, "background image")  # a background needs no more
            img = np.ascontiguousarray(np.flipud(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
            t = self.ctx.texture((img.shape[1], img.shape[0]), 3, img.tobytes())
            t.repeat_x = t.repeat_y = False
            return t

        return 1, self._random.get(f"image:{bg.path}", make), (0.0, 0.0, 0.0)
