"""How a frame looks when it is not the location's own look: the record domain randomization fills
(:mod:`fat.randomize`) and renderers read.

A :class:`Looks` says, for one frame (both eyes), what replaces the location's design: the
background, the material of each ground and prop surface, the lights, the material of each target
and of each distractor. ``None`` anywhere means "as designed". Colours are linear RGB in 0..1.
Nothing here knows a renderer, the physics or a file format.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[float, float, float]

#: Surface kinds of a :class:`Look`.
LOOK_KINDS = ("color", "pattern", "texture")
#: Procedural two-colour patterns a :class:`Look` may name (see :mod:`fat.scene.patterns`).
PATTERNS = ("checker", "stripes", "dots", "grid", "noise", "waves")
BACKGROUND_KINDS = ("environment", "image", "color")


@dataclass(frozen=True)
class Look:
    """A material replacing a surface's own: a flat ``color``; a ``pattern`` drawn in two
    ``colors``; or a PBR ``texture`` set (a folder in the ambientCG layout, its own colours)."""

    kind: str
    colors: tuple[RGB, ...] = ()
    pattern: str | None = None
    texture: str | None = None
    roughness: float = 0.5
    metallic: float = 0.0


@dataclass(frozen=True)
class LightSource:
    """A distant light: ``direction`` (world, unit, towards the light), ``color`` (linear RGB, its
    largest channel 1) and ``intensity`` (the irradiance on a surface facing it, relative to the
    location's sun: 1 is as bright as the designed sun)."""

    direction: tuple[float, float, float]
    color: RGB
    intensity: float


@dataclass(frozen=True)
class Background:
    """What is seen where no surface is: an ``environment`` map (``path``; it lights the scene
    too), an ``image`` (``path``, stretched over the view) or a flat ``color``."""

    kind: str
    path: str | None = None
    color: RGB | None = None


@dataclass(frozen=True)
class Looks:
    background: Background | None = None
    surfaces: tuple[Look | None, ...] | None = None  # one per ground and prop surface, in the scenery's order
    lights: tuple[LightSource, ...] | None = None  # the first casts the shadows; None: the location's sun
    ambient: float = 1.0  # scale of the image-based (environment) light
    targets: tuple[Look | None, ...] | None = None  # one per object of the frame
    distractors: tuple[Look | None, ...] | None = None  # one per distractor of the frame
