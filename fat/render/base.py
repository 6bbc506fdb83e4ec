"""The renderer interface: a frame record and one eye in, RGB, z-depth and instance ids out.

A renderer is a subclass of :class:`Renderer` (the model is bop_toolkit's ``rendering/renderer.py``)
that declares its ``name``, its :class:`Capabilities` and an ``Options`` dataclass, and is registered
under the entry point group ``fat.renderers`` (see :mod:`fat.render.registry` and docs/renderers.md).
It sees a :class:`fat.frame.Frame` (location, objects, camera rig) and knows nothing of physics or of
file formats.

Options are fields of a frozen dataclass made with :func:`option` (:mod:`fat.options`, the schema of
every option): each names its config-file key, its command-line flag and its help, so ``fat
generate`` offers them without any list kept by hand. A renderer checks its own options: a ``check``
on a field, or a ``check(self, objects)`` method of the Options dataclass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .. import options
from ..errors import ConfigError
from ..options import Field, NoOptions, OptionError  # noqa: F401 (the renderer interface's names)

if TYPE_CHECKING:  # pragma: no cover
    from ..catalog import ObjectSet
    from ..frame import Frame
    from ..geometry import Intrinsics


#: The extras a renderer must draw itself (flow comes from depth, instance ids and poses; object
#: coordinates too, where a renderer does not draw them).
DRAWN_EXTRAS = ("normals", "amodal")
#: What a renderer may draw besides: the extras it can also leave to depth and poses.
OPTIONAL_EXTRAS = ("coordinates",)


@dataclass(frozen=True)
class Capabilities:
    """What a renderer can do and needs (declared, so callers need not probe)."""

    instance_ids: bool = True  # writes the instance map (the annotator's visibility needs it)
    shadows: bool = False  # casts the sun's shadows
    materials: bool = False  # physically based materials beyond a texture and a Phong term
    environment_lighting: bool = False  # lighting from an environment map or a game's level
    randomization: bool = False  # draws a domain-randomized frame's distractors (and what it can of its looks)
    needs_gpu: bool = False  # cannot run on a CPU alone
    needs_game: bool = False  # renders in a running game (an external program)
    #: the extra images (docs/extras.md) it draws itself: "normals", "amodal", "coordinates"; flow,
    #: and object coordinates where it does not draw them, come from its depth and instance ids
    extras: tuple[str, ...] = ()


#: A renderer's option: one :class:`fat.options.Field` (config key, flag, help, metavar, checks).
OptionSpec = Field


def option(key: str, flag: str | None = None, help: str = "", metavar: str | None = None, file: bool = False,
           default: Any = None, **schema):
    """A field of a renderer's Options dataclass (:func:`fat.options.option`): ``key`` in the config
    file, ``flag`` on the command line (default ``--`` + key with dashes); ``file``: the command line
    takes a file, not a folder; ``schema``: more of :class:`fat.options.Field` (``check``, ``kind``...)."""
    schema.setdefault("type", "file" if file else "text")
    return options.option(default, key=key, flag=flag or "--" + key.replace("_", "-"), help=help, metavar=metavar,
                          **schema)


def option_specs(options_type: type) -> list[tuple[str, Field]]:
    """(field name, spec) of each option of an Options dataclass (:func:`fat.options.fields`)."""
    return options.fields(options_type)


@dataclass
class RenderOutput:
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 z-depth in metres, 0 where there is no surface
    instance: np.ndarray  # (H, W) int32: k + 1 where frame.objects[k] is seen, 0 elsewhere
    #: with ``--extras normals``: (H, W, 3) uint16 camera-frame unit normals (OpenCV axes) as their
    #: file stores them (:func:`fat.formats.extras.decode_normals` makes them floats), 0 where no surface
    normals: np.ndarray | None = None
    #: with ``--extras amodal``: (H, W) uint32, bit k set where frame.objects[k]'s full silhouette is
    amodal: np.ndarray | None = None
    #: with ``--extras coordinates``, from a renderer that draws them: (H, W, 3) uint16 object
    #: coordinates of frame.objects' pixels as their file stores them, 0 elsewhere (others: from depth)
    coordinates: np.ndarray | None = None


class Renderer(ABC):
    """Base of every renderer.

    * ``name``: the name it is registered under (``--renderer NAME``).
    * ``capabilities``: a :class:`Capabilities`.
    * ``Options``: a frozen dataclass of :func:`option` fields (:class:`NoOptions` by default); its
      fields' ``check`` and its own ``check(self, objects)`` method refuse bad values with an
      :class:`OptionError` (:func:`fat.options.build`).
    * :meth:`create`: the factory the registry calls with the checked options and the intrinsics
      asked for.
    * ``intrinsics``: the camera it really renders with (a game may not take the size asked for);
      the dataset records these.
    * ``note``: None, or one line for the user (``auto`` says what it chose and why).
    * :meth:`render` and :meth:`close`.
    """

    name: ClassVar[str] = "?"
    capabilities: ClassVar[Capabilities] = Capabilities()
    Options: ClassVar[type] = NoOptions
    intrinsics: "Intrinsics | None" = None
    note: str | None = None

    @classmethod
    def check_options(cls, options: Any, objects: "ObjectSet") -> Any:
        """Further checks of options already checked by their fields and their ``check`` method
        (:func:`fat.options.build`); kept for renderers written before those: the options checked
        and normalised, or :class:`OptionError` naming the option's key. ``objects``: the dataset's
        object set. Must not start anything (it runs before the output is touched)."""
        return options

    @classmethod
    def create(cls, options: Any, intrinsics: "Intrinsics", objects: "ObjectSet") -> "Renderer":
        """A started renderer for ``options`` (checked), the intrinsics asked for and the dataset's
        object set."""
        return cls()

    @abstractmethod
    def render(self, frame: "Frame", eye: str = "left") -> RenderOutput:
        """RGB, z-depth and instance ids of ``frame`` seen by ``eye`` of its camera rig, with the
        rig's intrinsics (or, for a renderer that cannot take them, its own ``intrinsics``)."""

    def render_eyes(self, frame: "Frame") -> list[RenderOutput]:
        """Both eyes of ``frame``'s rig, left then right: what a stereo frame needs. A renderer may
        submit both before reading either back (``gl`` does); by default, :meth:`render` twice."""
        return [self.render(frame, eye) for eye, _ in frame.rig.eyes()]

    #: the drawn extras asked for (:meth:`draw_extras`); each output then carries them
    extras: tuple[str, ...] = ()

    def draw_extras(self, extras) -> None:
        """Draw these extras (names of :data:`fat.formats.extras.EXTRAS`) with every view from now on:
        those of :data:`DRAWN_EXTRAS` need the renderer; ConfigError in one line for one it cannot draw."""
        missing = [e for e in extras if e in DRAWN_EXTRAS and e not in self.capabilities.extras]
        if missing:
            able = "gl" if self.name != "gl" else "another renderer"
            raise ConfigError(f"--extras {missing[0]}: renderer {self.name} cannot draw {missing[0]}; use {able}")
        self.extras = tuple(e for e in extras if e in DRAWN_EXTRAS + OPTIONAL_EXTRAS and e in self.capabilities.extras)

    @abstractmethod
    def close(self) -> None:
        """Free what the renderer holds (contexts, connections); safe to call twice."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

