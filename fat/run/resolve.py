"""Settings -> settings ready to plan: what checking needs more than the values themselves.

:func:`fat.settings.check` checks each value alone (types, ranges, names). :func:`resolve` then
loads the object set and looks the chosen objects up in it, scales the drop and the camera for
large objects, has the renderer check its own options and say what it can draw, bounds the plan's
size, and checks that every location leaves the camera room (sampled once per process for a
location and its camera ranges). The result is what :func:`fat.run.plan.plan` and the workers take
and what ``fat_dataset.json`` records.
"""

from __future__ import annotations

import functools
import os
from dataclasses import replace
from pathlib import Path

from .. import objectsets
from ..assets.objects import check_ycb_folder
from ..catalog import ObjectInfo, ObjectSet, YcbModels
from ..drop.sampling import bounding_radius, camera_distance, size_scale as needed_size_scale
from ..errors import ConfigError
from ..render import registry
from ..render.base import DRAWN_EXTRAS, OptionError
from ..scene import scenes
from ..scene.scenes import CameraRanges, check_camera_clearance, get_location
from ..settings import MAX_DROPS, Settings, SettingError, check
from .plan import Plan, count_drops, locations_of, plan


def object_set(s: Settings) -> ObjectSet:
    """The object set the dataset draws from (:mod:`fat.objectsets`): FAT's 21 objects without
    ``object_source``; loaded once per process while its file or folder is unchanged."""
    try:
        mtime = Path(s.object_source).expanduser().stat().st_mtime_ns if s.object_source else 0
    except OSError:
        mtime = -1
    return _object_set(s.object_source, s.units, s.align, s.class_names, mtime)


@functools.lru_cache(maxsize=16)
def _object_set(source, units, align, class_names, mtime) -> ObjectSet:
    return objectsets.load(source, objectsets.Options(units, align, class_names))


def object_infos(s: Settings) -> tuple[ObjectInfo, ...]:
    """The chosen objects, as the object set describes them (none chosen: all of the set)."""
    objects = object_set(s)
    return objects.subset(s.objects) if s.objects else objects.objects


@functools.lru_cache(maxsize=64)
def _check_clearance(location: str, ranges: CameraRanges) -> None:
    """check_camera_clearance, once per process for a location and ranges (it samples the whole
    camera region: seconds per location, and resolve() runs again in generate())."""
    check_camera_clearance(get_location(location), ranges)


def _describe(o: ObjectInfo) -> str:
    return f"{o.name} ({2 * bounding_radius(o):.2f} m across its cuboid's diagonal)"


def _too_large(o: ObjectInfo, ranges: CameraRanges, location: str, e: ConfigError) -> str:
    """Why the largest object cannot be dropped at ``location``, and what to do."""
    room = []
    for loc in (loc for sc in scenes.FAT_SCENES for loc in scenes.load_scene(sc)):
        try:
            _check_clearance(loc.name, ranges)
            room.append(loc.name)
        except ConfigError:
            pass
    where = f"locations with room: {', '.join(room)}" if room else "no location has room"
    d0, d1 = ranges.distance
    return (f"{_describe(o)} needs the camera {d0:g}-{d1:g} m from the drop point to stay whole in front of it, "
            f"but at {e}; leave the object out "
            f"(--object for the others), scale its mesh down (--units, or units in an object-set file) or choose "
            f"other locations ({where})")


def _objects(s: Settings, given: Settings) -> ObjectSet:
    """The object set, its errors named by the setting as the user gave it."""
    try:
        return object_set(s)
    except ConfigError as e:  # named as given: the recorded absolute path only where it was given so
        message = str(e)
        for k in ("object_source", "class_names"):
            value, checked = getattr(given, k), getattr(s, k)
            if isinstance(value, (str, os.PathLike)) and checked and not os.path.isabs(os.fspath(value)):
                message = message.replace(checked, os.fspath(value))
        raise SettingError("object_source", message) from None


def _chosen(s: Settings, objects: ObjectSet) -> tuple[ObjectInfo, ...]:
    try:
        return objects.subset(s.objects) if s.objects else objects.objects
    except ConfigError as e:
        raise SettingError("objects", str(e)) from None


def _scaled(s: Settings, chosen: tuple[ObjectInfo, ...]) -> Settings:
    """The drop's size scale and the camera distance grown for the largest chosen object."""
    need = needed_size_scale(chosen)
    size_scale = s.size_scale
    if size_scale is None:
        size_scale = need if need > 1 else None
    elif size_scale < need:
        raise SettingError("size_scale", f"size scale {size_scale} is below {need}, what "
                           f"{_describe(max(chosen, key=bounding_radius))} needs")
    return replace(s, size_scale=size_scale, distance=camera_distance(s.distance, chosen))


def _renderer_checks(s: Settings, objects: ObjectSet) -> Settings:
    """The renderer's own check of its options, and what it can draw against what is asked."""
    try:
        options = registry.check_options(s.renderer, s.renderer_options, objects)
    except OptionError as e:
        raise SettingError(e.key, str(e)) from None
    caps = registry.renderer_class(s.renderer).capabilities
    for e in s.extras:
        if e in DRAWN_EXTRAS and e not in caps.extras:
            raise SettingError("extras", f"renderer {s.renderer} cannot draw {e} (--extras {e}); use gl")
    if s.randomizes and not caps.randomization:
        raise SettingError("kinds" if "dr" in s.kinds else "randomize",
                           f"renderer {s.renderer} cannot draw domain-randomized frames (distractors); use gl or tiny")
    return replace(s, renderer_options=options)


def _check_room(s: Settings, given_distance: tuple, chosen: tuple[ObjectInfo, ...]) -> None:
    """Every location leaves the camera room, with the settings' ranges and a randomized camera's wider ones."""
    ranges = s.camera
    for loc in locations_of(s):
        try:
            _check_clearance(loc, ranges)
        except ConfigError as e:
            if s.distance == tuple(given_distance):
                raise
            raise SettingError("objects", _too_large(max(chosen, key=bounding_radius), ranges, loc, e)) from None
    camera = s.randomize.get("camera", {}) if s.randomizes else {}
    if any(camera.get(k) for k in ("azimuth", "elevation", "distance")):
        wider = CameraRanges(*(tuple(camera.get(k) or getattr(ranges, k)) for k in ("azimuth", "elevation", "distance")))
        for loc in locations_of(s):
            try:
                _check_clearance(loc, wider)
            except ConfigError as e:
                raise SettingError("randomize", f"randomize.camera: {e}") from None


def resolve(s: Settings) -> Settings:
    """Check ``s`` (:func:`fat.settings.check`), then everything that needs the object set, the
    renderer and the scenes; raise :class:`fat.settings.SettingError` naming the setting for the
    first problem, before anything is planned or written. Returns the settings a run records: the
    chosen objects by name, the size scale and camera distance they need, the renderer's options
    as it checked them."""
    given = s
    s = check(s)
    objects = _objects(s, given)
    chosen = _chosen(s, objects)
    s = replace(s, objects=tuple(dict.fromkeys(o.name for o in chosen)))
    given_distance = s.distance
    s = _scaled(s, chosen)
    s = _renderer_checks(s, objects)
    drops = count_drops(s)
    if drops > MAX_DROPS:
        raise SettingError("frames_per_drop", f"the plan would hold {drops:,} drops, more than {MAX_DROPS:,}; "
                           "use more --frames-per-drop or fewer frames, locations or objects")
    _check_room(s, given_distance, chosen)
    if isinstance(objects.meshes, YcbModels):  # every chosen object in the folder
        check_ycb_folder(Path(objects.meshes.folder), object_infos(s))
    return s


def plan_of(s: Settings) -> Plan:
    """The plan of ``s``, resolved first (:func:`resolve`, :func:`fat.run.plan.plan`)."""
    s = resolve(s)
    return plan(s, object_set(s))
