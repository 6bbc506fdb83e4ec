"""The locations of a glTF scene: where objects drop, which way the camera side faces, the light.

A scene file with ``"asset": "file.glb"`` lists its locations; each is one of

* ``{"node": "name"}``: a named node of the file: its origin is the fixation point, its x axis on the
  ground the heading;
* ``{"fixation": [x, y, z]}``: a point of the world (Z up, metres: Blender's coordinates);
* ``{}``: found: the largest free horizontal surface near the scene's centre
  (:func:`fat.scene.sightlines.find_drop_points`), the next ones for the next such entries.

with optional ``heading_deg`` (else the node's, else the side from which most cameras see the
point: :func:`fat.scene.sightlines.open_heading`), ``drop_height``, ``description``, ``environment`` and
``light``. A glTF file given as the scene itself has one location per node whose name begins with
``drop`` (sorted by name), or else one found.

Light: the file's punctual lights (``KHR_lights_punctual``) seen from the fixation point; the one
that lights it most is the sun (it casts the shadows), up to three more are drawn as distant lights
with their irradiance relative to it. Without lights, the scene file's ``light`` (azimuth,
elevation), or a sun at 50 degrees.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .gltf_scene import GltfScene, load_gltf_scene
from .location import CameraRanges, Light, Location, Surface, _light, _rot
from ..geometry import make_pose

#: The environment map of a glTF scene given without a scene file.
DEFAULT_ENVIRONMENT = "park"
#: The sun of a scene without lights: azimuth and elevation (degrees, about the location's heading).
DEFAULT_LIGHT = {"azimuth_deg": 30.0, "elevation_deg": 50.0, "ambient": 0.4, "diffuse": 0.6}
#: Lights besides the sun drawn at most (the renderer's), and the least share of the sun's irradiance drawn.
MORE_LIGHTS, LEAST_SHARE = 3, 0.01
#: Ground of the location record (a glTF scene draws none; the physics keeps a plane at its lowest point).
NO_GROUND = Surface("plain", ((128, 128, 128),))
DROP_NODE_PREFIX = "drop"
#: A surface found is a location only where at least this share of the cameras all around see it.
MIN_OPEN = 0.25


def _heading_of(frame: np.ndarray) -> float:
    x = frame[:3, 0]
    return math.degrees(math.atan2(x[1], x[0])) if np.hypot(x[0], x[1]) > 1e-6 else 0.0


def _lights(g: GltfScene, fix: np.ndarray, heading: float, given: dict | None, where: str) -> tuple[Light, tuple]:
    spec = {**DEFAULT_LIGHT, **(given or {})}
    frame = make_pose(_rot("z", heading), fix)
    seen = [(e, d, light) for light in g.lights for e, d in [light.irradiance_at(fix)] if e > 0]
    if not seen:
        try:
            return _light(spec, frame, spec.get("label", "")), ()
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{where}.light: expected azimuth_deg and elevation_deg numbers") from None
    seen.sort(key=lambda t: -t[0] * float(np.mean(t[2].color)))
    e0, d0, first = seen[0]
    sun = Light(d0, tuple(first.color), float(spec["ambient"]), float(spec["diffuse"]), float(spec.get("specular", 0.05)),
                True, first.name)
    more = tuple((d, tuple(float(c) * e / e0 for c in light.color)) for e, d, light in seen[1:1 + MORE_LIGHTS]
                 if e >= LEAST_SHARE * e0)
    return sun, more


def _place(scene: str, index: int, g: GltfScene, d: dict, doc: dict, found: list, where: str) -> Location:
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected an object")
    heading = d.get("heading_deg")
    drop_height = float(d.get("drop_height", doc.get("drop_height", 0.15)))
    if "node" in d:
        frame = g.nodes.get(d["node"])
        if frame is None:
            named = ", ".join(sorted(g.nodes)[:12]) or "none"
            raise ConfigError(f"{where}: node {d['node']!r} is not in {g.path.name} (named nodes: {named})")
        fix = frame[:3, 3].copy()
        heading = _heading_of(frame) if heading is None else heading
    elif "fixation" in d:
        try:
            fix = np.array(d["fixation"], dtype=np.float64).reshape(3)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.fixation: expected three numbers, got {d['fixation']!r}") from None
        if not np.isfinite(fix).all():
            raise ConfigError(f"{where}.fixation: expected finite numbers, got {d['fixation']!r}")
    else:
        if not found:
            raise ConfigError(f"{where}: {g.path.name} has no free horizontal surface left for this location "
                              "(name a node or give a fixation point)")
        fix = found.pop(0)
    if heading is None:
        from .sightlines import open_heading
        heading = open_heading(g, fix, 0.05)
    try:
        heading = float(heading)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.heading_deg: expected a number, got {heading!r}") from None
    light, more = _lights(g, fix, heading, d.get("light", doc.get("light")), where)
    return Location(scene, index, fix, heading, float(g.lo[2]), NO_GROUND, (), light, drop_height,
                    description=str(d.get("description", "")),
                    environment=str(d.get("environment", doc.get("environment", DEFAULT_ENVIRONMENT))),
                    asset=str(g.path), lights=more)


def _found(g: GltfScene) -> list:
    """Free surfaces that at least :data:`MIN_OPEN` of the cameras all around see, best first."""
    from .sightlines import check_views, find_drop_points

    out = []
    for p in find_drop_points(g):
        try:
            if check_views(g, "", p, 0.0, 0.05, CameraRanges((-180.0, 180.0))) >= MIN_OPEN:
                out.append(p)
        except ConfigError:
            continue
    return out


def scene_locations(scene: str, doc: dict, folder: Path, where: str) -> tuple[Location, ...]:
    """The locations of a scene file naming a glTF ``asset`` (a path relative to the file's folder)."""
    asset = doc["asset"]
    if not isinstance(asset, str):
        raise ConfigError(f"{where}: asset must be a file name, got {asset!r}")
    g = load_gltf_scene(folder / asset)
    entries = doc.get("locations") or [{}]
    found = _found(g) if any(isinstance(d, dict) and "node" not in d and "fixation" not in d for d in entries) else []
    return tuple(_place(scene, i, g, d, doc, found, f"{where}: locations[{i}]") for i, d in enumerate(entries))


def file_locations(scene: str, path: Path) -> tuple[Location, ...]:
    """The locations of a glTF file given as a scene: its ``drop*`` nodes, or one found."""
    g = load_gltf_scene(path)
    nodes = sorted(n for n in g.nodes if n.lower().startswith(DROP_NODE_PREFIX))
    entries = [{"node": n} for n in nodes] or [{}]
    return scene_locations(scene, {"asset": path.name, "locations": entries}, path.parent, str(path))
