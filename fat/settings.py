"""The settings of a dataset: one schema, its checks, its bounds.

Each :class:`Settings` field carries a :class:`Spec` (:class:`fat.options.Field`, the schema every
option of fat uses) in its metadata: the config-file key, the command-line flag (or none: config
file only), the help text, how a value given on the command line or in a file becomes the field's
value (``parse``) and how it is checked (``check``). ``fat
generate``'s options and the config file's keys are made from it; renderer options come from the
renderer registry (:mod:`fat.render.registry`) and live in ``renderer_options``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None

from .scene import scenes as scenes
from . import objectsets, randomize
from .catalog import ALIGNMENTS, DEFAULT_TEXTURE_SIZE, parse_units, units_scale
from .errors import ConfigError, did_you_mean
from .options import Field, fields, option
from .geometry import BASELINE_M, Intrinsics
from .render import registry
from .formats.extras import parse_extras
from .scene.scenes import CameraRanges

#: single: one object; mixed: 2-10 objects; dr: mixed drops, domain-randomized (fat.randomize)
KINDS = ("single", "mixed", "dr")

#: The settings version written in fat_dataset.json. 2: random streams keyed by names (scene,
#: location index, object class), not by positions in lists. A folder of another version is not resumed.
SETTINGS_VERSION = 2
DATASET_FILE = "fat_dataset.json"

#: Largest image width or height, pixels (FAT: 960 x 540); every renderer and encoder handles it.
MAX_IMAGE_SIDE = 8192
#: Largest texture side kept for real YCB models, pixels.
MAX_TEXTURE_SIZE = 8192
#: Frames in one leaf folder at most: frame files are numbered with six digits (000000 to 999999).
MAX_FOLDER_FRAMES = 1_000_000
#: Drops in one plan at most (FAT's full plan: 3,075); the plan is held in memory, about 200 bytes a drop.
MAX_DROPS = 200_000
#: Objects in one mixed drop at most (FAT: 2 to 10); releasing them takes time that grows fast with their number.
MAX_MIXED_COUNT = 30
#: Largest seed: seeds are 0 .. 2**63 - 1 (a signed 64-bit integer, as every reader of the settings can hold).
MAX_SEED = 2**63 - 1


def n_locations() -> int:
    """Locations of the scene with the most (FAT's: 5): the command line's range of location indices.
    Each chosen scene must have every chosen location (:func:`check`)."""
    return max(scenes.n_locations(sc) for sc in scenes.scene_names())


class SettingError(ConfigError):
    """A bad value of one setting; ``setting`` is the name of the :class:`Settings` field (or, for
    a renderer option, its config key)."""

    def __init__(self, setting: str, message: str):
        self.setting = setting
        super().__init__(message)


# ----------------------------------------------------------------------------- value checks
def _integer(setting: str, label: str, v, lo: int, hi: int | None = None, why: str = "") -> int:
    """``v`` as an int within [lo, hi]; a whole float (4.0) is taken, 4.7 or a string is refused."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or \
            (not isinstance(v, numbers.Integral) and not (math.isfinite(v) and float(v).is_integer())):
        raise SettingError(setting, f"{label} must be an integer, got {v!r}")
    v = int(v)
    if v < lo:
        raise SettingError(setting, f"{label} must be an integer >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise SettingError(setting, f"{label} must be at most {hi:,}{why}, got {v}")
    return v


def _number(setting: str, label: str, v) -> float:
    """``v`` if it is a finite number (an int stays an int: the settings are recorded as given)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise SettingError(setting, f"{label} must be a finite number, got {v!r}")
    return v if type(v) in (int, float) else float(v)


def _pair(setting: str, label: str, v, item) -> tuple:
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)) or len(v) != 2:
        raise SettingError(setting, f"{label} must be two numbers [min, max], got {v!r}")
    return tuple(item(setting, label, x) for x in v)


def _names(setting: str, label: str, v) -> tuple[str, ...]:
    v = (v,) if isinstance(v, str) else v
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise SettingError(setting, f"{label} must be a name or a list of names, got {v!r}")
    return tuple(v)


def _text(setting: str, label: str, v) -> str | None:
    if v is None:
        return None
    if isinstance(v, os.PathLike):
        v = os.fspath(v)
    if not isinstance(v, str):
        raise SettingError(setting, f"{label} must be text, got {v!r}")
    return v


def _check_kinds(k, v):
    kinds = _names(k, "kind", v)
    if not kinds or any(x not in KINDS for x in kinds):
        raise SettingError(k, f"kind must be single, mixed, dr or both, got {list(kinds)}")
    return tuple(x for x in KINDS if x in kinds)


def _check_scenes(k, v):
    names = _names(k, "scene", v)
    if not names:
        raise SettingError(k, "no scene chosen")
    out = []
    for sc in names:
        try:
            name = scenes.scene_name(sc)
        except ConfigError as e:
            raise SettingError(k, str(e)) from None
        out.append(sc if name == sc else scenes._FILES[name])  # a scene file by its absolute path
    return tuple(dict.fromkeys(out))


def _check_locations(k, v):
    last = n_locations() - 1
    locations = (v,) if isinstance(v, numbers.Number) else v
    if not isinstance(locations, (list, tuple)):
        raise SettingError(k, f"location must be an index 0..{last} or a list of them, got {locations!r}")
    if not locations:
        raise SettingError(k, f"locations must be 0..{last}, got []")
    return tuple(sorted({_integer(k, "location", i, 0, last) for i in locations}))


def _absolute_path(k, label, v) -> str | None:
    """A path setting as an absolute path (recorded so, a dataset's files are found from any folder)."""
    v = _text(k, label, v)
    return None if v is None else os.path.abspath(os.path.expanduser(v))


def _check_object_source(k, v):
    """The object source as an absolute path; a name of a shipped set (``sample``) where no file or
    folder of that name exists: that set's folder (so recorded, it is found from any folder)."""
    v = _text(k, "objects", v)
    if v is None:
        return None
    return os.path.abspath(objectsets.resolve(v))


def _check_units(k, v):
    """``mm``, ``cm``, ``m`` or a positive number of metres per unit (a config file's number, or the
    command line's text of one: 0.1)."""
    v = parse_units(v)
    try:
        units_scale(v, "units")
    except ConfigError:
        raise SettingError(k, f"units must be mm, cm, m or a positive number of metres per unit "
                              f"(--units 0.1: a unit of 10 cm), got {v!r}") from None
    return v


def _check_objects(k, v):
    return _names(k, "object", v)  # fat.run.resolve looks them up in the object set; none: all of it


def _flag(k, label, v) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise SettingError(k, f"{label} must be true or false, got {v!r}")
    return bool(v)


def _choice(k, label, v, choices):
    if v not in choices:
        raise SettingError(k, f"{label} must be one of {', '.join(choices)}, got {v!r}")
    return v


def _frames(label):
    return lambda k, v: _integer(k, label, v, 1, MAX_FOLDER_FRAMES, " (frame files have six digits)")


def _check_interval(k, v):
    v = _number(k, "capture interval", v)
    if not 0 < v <= 10:
        raise SettingError(k, f"capture interval must be in (0, 10] seconds, got {v}")
    return v


def _check_mixed_count(k, v):
    lo, hi = _pair(k, "objects per mixed drop", v, lambda k, label, x: _integer(k, label, x, 1, MAX_MIXED_COUNT))
    if lo > hi:
        raise SettingError(k, f"objects per mixed drop must be a range 1 <= min <= max, got [{lo}, {hi}]")
    return lo, hi


def _check_renderer(k, v):
    v = _text(k, "renderer", v)
    if v not in registry.names():
        raise SettingError(k, f"unknown renderer {v!r}; choose from {', '.join(registry.names())}")
    return v


def _check_randomize(v):
    try:
        return randomize.check_table({} if v is None else v)
    except randomize.RandomizeError as e:
        raise SettingError("randomize", str(e)) from None


def _check_fov(k, v):
    v = _number(k, "field of view", v)
    if not 0 < v < 180:
        raise SettingError(k, f"field of view must be in (0, 180) degrees, got {v}")
    return v


def _check_baseline(k, v):
    v = _number(k, "stereo baseline", v)
    if v <= 0:
        raise SettingError(k, f"stereo baseline must be positive, got {v}")
    return v


def _check_size_scale(k, v):
    if v is None:
        return None
    v = _number(k, "size scale", v)
    if not 1 <= v <= 1000:
        raise SettingError(k, f"size scale must be in [1, 1000], got {v}")
    return v


def _camera(k, v):
    return _pair(k, f"camera {k}", v, _number)


# ----------------------------------------------------------------------------- how values arrive
def _kinds(v):
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)):
        return v  # check() names the wrong type
    out = []
    for k in v:
        out += ["single", "mixed"] if k == "both" else [k]
    return tuple(out)


def _listed(v):
    """A list of values as a tuple, one value as a 1-tuple; anything else as it is, for check()."""
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v,) if isinstance(v, str) else v


def _extras_value(v):
    """``--extras a,b`` or a config list, as given (checked by :func:`_check_extras`)."""
    return tuple(v) if isinstance(v, list) else v


def _check_extras(k, v):
    if not isinstance(v, (str, tuple, list)) or not all(isinstance(x, str) for x in (v if not isinstance(v, str) else [v])):
        raise SettingError(k, f"extras must be a comma-separated text or a list of names, got {v!r}")
    try:
        return parse_extras(v)
    except ValueError as e:
        raise SettingError(k, f"extras: {e}") from None


def _folder(v):
    return str(Path(v).expanduser()) if isinstance(v, (str, Path)) else v


#: One setting's schema (:class:`fat.options.Field`): config key, flag, help, command-line type,
#: parse, check, omit_default; ``help`` may hold "{last}", the last location index.
Spec = Field


def setting(default=dataclasses.MISSING, *, default_factory=dataclasses.MISSING, **spec):
    """A :class:`Settings` field with its schema (:func:`fat.options.option`); ``check`` is called
    with the field's name and the value, and raises :class:`SettingError`."""
    return option(default, default_factory=default_factory, **spec)


def _source_option(name: str, **changes) -> dict:
    """The schema of the object sources' option ``name`` (:class:`fat.objectsets.Options`: key, flag,
    metavar, help), with ``changes`` (how a setting parses and checks it)."""
    spec = dict(fields(objectsets.Options))[name]
    return {"key": spec.key, "flag": spec.flag, "metavar": spec.metavar, "help": spec.help, **changes}


def _location_bounds():
    return 0, n_locations() - 1


@dataclass(frozen=True)
class Settings:
    kinds: tuple[str, ...] = setting(("mixed",), key="kind", flag="--kind", type="choice",
                                     choices=lambda: ("single", "mixed", "dr", "both"), multiple=True, parse=_kinds,
                                     check=_check_kinds,
                                     help="Repeatable: drops of one object (single/), of 2-10 (mixed/), of 2-10 "
                                          "domain-randomized (dr/); both: single and mixed. [mixed]")
    scenes: tuple[str, ...] = setting(scenes.FAT_SCENES, key="scene", flag="--scene", metavar="NAME|FILE",
                                      multiple=True, parse=_listed, check=_check_scenes,
                                      help="Repeatable: a scene of scenes/ (FAT's: kitchen, kitedemo, temple; "
                                           "patio: a glTF scene), or a glTF file (.glb, .gltf) or scene file "
                                           "(.json) of your own. [FAT's three]")
    locations: tuple[int, ...] = setting((0,), key="location", flag="--location", type="range", bounds=_location_bounds,
                                         multiple=True, parse=_listed, check=_check_locations,
                                         help="Repeatable, 0..{last}. [0]")
    objects: tuple[str, ...] = setting((), key="object", flag="--object",
                                       multiple=True, metavar="NAME", parse=_listed, check=_check_objects,
                                       help="Repeatable: an object of the set by class, name, short name or "
                                            "number (banana, 011). [all of the set]")
    object_source: str | None = setting(None, key="objects", flag="--objects", type="path", parse=_folder,
                                        check=_check_object_source,
                                        help="The object set: a folder of YCB models, a folder of meshes (OBJ, PLY, "
                                             "glTF/GLB, STL), a BOP models/ folder, an object-set file (TOML, "
                                             "JSON), or sample: the shipped sample set (where no file or folder "
                                             "of that name exists). [FAT's 21 objects as procedural stand-ins]")
    # the object sources' options (fat.objectsets.Options), as settings: the same key, flag and help
    units: str | float = setting("m", **_source_option("units", parse=parse_units, check=_check_units))
    align: str = setting("aabb", **_source_option("align", type="choice", choices=lambda: ALIGNMENTS,
                                                  check=lambda k, v: _choice(k, "align", v, ALIGNMENTS)))
    class_names: str | None = setting(None, **_source_option("class_names", type="path", parse=_folder,
                                                             check=lambda k, v: _absolute_path(k, "class names file", v)))
    mixed_frames: int = setting(20, key="mixed_frames", flag="--mixed-frames", type="int", check=_frames("mixed frames"),
                                help="Frames per mixed folder (overrides --frames).")
    single_frames: int = setting(20, key="single_frames", flag="--single-frames", type="int",
                                 check=_frames("single frames"),
                                 help="Frames per single-object folder (overrides --frames).")
    dr_frames: int = setting(20, key="dr_frames", flag="--dr-frames", type="int", check=_frames("dr frames"),
                             omit_default=True, help="Frames per dr folder (overrides --frames).")
    frames_per_drop: int = setting(20, key="frames_per_drop", flag="--frames-per-drop", type="int",
                                   check=lambda k, v: _integer(k, "frames per drop", v, 1),
                                   help="Frames captured during one drop. [20]")
    capture_interval: float = setting(1.0 / 15.0, key="capture_interval", check=_check_interval,
                                      help="Seconds of simulated time between captured frames.")
    mixed_count: tuple[int, int] = setting((2, 10), key="mixed_count", check=_check_mixed_count,
                                           help="Objects per mixed drop, [min, max].")
    seed: int = setting(0, key="seed", flag="--seed", type="int", check=lambda k, v: _integer(k, "seed", v, 0, MAX_SEED),
                        help="Random seed; the same seed and settings give the same bytes. [0]")
    renderer: str = setting("auto", key="renderer", flag="--renderer", type="choice", choices=registry.names,
                            check=_check_renderer, help="")  # the help comes from the registry
    #: the renderer's options by config key (gl_device, unrealcv, unreal_config...), checked by the renderer
    renderer_options: dict = dataclasses.field(default_factory=dict)
    jpeg_quality: int = setting(95, key="jpeg_quality", flag="--jpeg-quality", type="range", bounds=lambda: (1, 100),
                                check=lambda k, v: _integer(k, "JPEG quality", v, 1, 100),
                                help="JPEG quality of the RGB images. [95]")
    camera_effects: bool = setting(False, key="camera_effects", flag="--camera-effects", type="flag",
                                   check=lambda k, v: _flag(k, "camera effects", v), omit_default=True,
                                   help="Sensor noise, slight defocus, motion blur along the teleport and exposure "
                                        "variation on the RGB images (annotations unchanged). [off]")
    extras: tuple[str, ...] = setting((), key="extras", flag="--extras", metavar="LIST", parse=_extras_value,
                                      check=_check_extras, omit_default=True,
                                      help="Extra images beside FAT's, any of normals, flow, coordinates, amodal, "
                                           "comma-separated (docs/extras.md). [none]")
    #: the ``randomize`` table (fat.randomize): ``all`` (randomize every kind's frames, ``--randomize``)
    #: and each randomizer's options given (``--randomizer NAME.OPTION=VALUE``)
    randomize: dict = setting(default_factory=dict, key="randomize", check=lambda k, v: _check_randomize(v),
                              omit_default=True, parse=lambda v: v,
                              help="Domain randomization: all = true randomizes every frame; a table per randomizer "
                                   "(background, surfaces, lights, distractors, camera, targets) sets its options.")
    width: int = setting(960, key="width", flag="--width", type="int",
                         check=lambda k, v: _integer(k, "width", v, 16, MAX_IMAGE_SIDE, " pixels"),
                         help="Image width in pixels. [960]")
    height: int = setting(540, key="height", flag="--height", type="int",
                          check=lambda k, v: _integer(k, "height", v, 16, MAX_IMAGE_SIDE, " pixels"),
                          help="Image height in pixels. [540]")
    fov: float = setting(64.0, key="fov", flag="--fov", type="float", check=_check_fov,
                         help="Horizontal field of view in degrees. [64]")
    baseline: float = setting(BASELINE_M, key="baseline", check=_check_baseline, help="Stereo baseline, metres.")
    azimuth: tuple[float, float] = setting((-120.0, 120.0), key="azimuth", check=_camera,
                                           help="Camera azimuth range, degrees.")
    elevation: tuple[float, float] = setting((5.0, 85.0), key="elevation", check=_camera,
                                             help="Camera elevation range, degrees.")
    distance: tuple[float, float] = setting((0.5, 1.5), key="distance", check=_camera,
                                            help="Camera distance range, metres.")
    #: grows the drop cylinder, start heights and lift for objects larger than FAT's (fat.run.resolve sets it
    #: from the largest object; None: 1, FAT's)
    size_scale: float | None = setting(None, key="size_scale", check=_check_size_scale, omit_default=True,
                                       help="Scale of the drop cylinder and start heights, at least what the largest "
                                            "object needs (its bounding radius / 0.2 m). [from the objects: 1 for "
                                            "objects up to 0.4 m across]")
    test_location: int = setting(4, key="test_location", flag="--test-location", type="range", bounds=_location_bounds,
                                 check=lambda k, v: _integer(k, "test location", v, 0, n_locations() - 1),
                                 help="Location index held out as test in every scene. [4]")
    texture_size: int = setting(DEFAULT_TEXTURE_SIZE, key="texture_size",
                                check=lambda k, v: _integer(k, "texture size", v, 16, MAX_TEXTURE_SIZE, " pixels"),
                                help="Largest texture side kept for real YCB models, pixels.")

    @property
    def randomizes(self) -> bool:
        """Whether any frame of the dataset is domain-randomized."""
        return "dr" in self.kinds or bool(self.randomize.get(randomize.ALL))

    def randomized(self, kind: str) -> bool:
        """Whether the frames of ``kind`` are domain-randomized (dr always; the others with ``all``)."""
        return kind == "dr" or bool(self.randomize.get(randomize.ALL))

    @property
    def camera(self) -> CameraRanges:
        return CameraRanges(tuple(self.azimuth), tuple(self.elevation), tuple(self.distance))

    @property
    def intrinsics(self) -> Intrinsics:
        return Intrinsics.from_fov(self.width, self.height, self.fov)

    def to_json(self) -> dict:
        """The settings record (``fat_dataset.json``): every field, less those of ``omit_default``
        at their defaults."""
        def default(f):
            return f.default_factory() if f.default is dataclasses.MISSING else f.default

        omitted = {f.name for f in dataclasses.fields(self) if "fat" in f.metadata and f.metadata["fat"].omit_default
                   and getattr(self, f.name) == default(f)}
        return {k: (list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, dict) else v)
                for k, v in asdict(self).items() if k not in omitted}

    @classmethod
    def from_json(cls, d: dict) -> "Settings":
        """Settings from :meth:`to_json`'s form (lists back to tuples); the renderer options of
        version 1 (``gl_device``, ``unrealcv``, ``unreal_config`` as fields) and the objects folder
        of earlier releases (``ycb_dir``) are taken too; fields not recorded take their defaults."""
        d = dict(d)
        if "ycb_dir" in d:  # before object sets, the objects folder was a folder of YCB models
            d["object_source"] = d.pop("ycb_dir")
        options = dict(d.pop("renderer_options", None) or {})
        for key in ("gl_device", "unrealcv", "unreal_config"):
            if key in d:
                v = d.pop(key)
                if v is not None:
                    options[key] = v
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}, renderer_options=options)


def specs() -> list[tuple[str, Spec]]:
    """(field, spec) of every setting with a schema, in field order (:func:`fat.options.fields`)."""
    return fields(Settings, implicit=False)


#: config-file keys that are not one field: ``frames`` sets mixed and single frames, ``preset`` a plan
EXTRA_KEYS = {"frames": "Frames per leaf folder (FAT: 2000 mixed, 100 single). [20]",
              "preset": "fat: FAT's full plan, 61,500 stereo frames."}


def config_keys() -> dict[str, str | None]:
    """Config-file key -> the Settings field it sets (a renderer option: its own key; None: see
    :data:`EXTRA_KEYS`)."""
    keys = {spec.key: name for name, spec in specs()}
    keys.update({spec.key: spec.key for _, _, spec in registry.option_table()})
    keys.update(dict.fromkeys(EXTRA_KEYS))
    return keys


#: FAT's full plan: 21 objects x 15 locations x 100 single frames + 15 x 2000 mixed frames = 61,500.
#: With ``--kind dr`` too, the preset makes 2,000 domain-randomized frames per location beside them.
FAT_PRESET = dict(kinds=("single", "mixed"), scenes=("kitchen", "kitedemo", "temple"), locations=(0, 1, 2, 3, 4),
                  mixed_frames=2000, single_frames=100, dr_frames=2000)


def unknown_setting(key) -> str:
    """The message for a config key that is none: the nearest known key, then all of them."""
    hint = did_you_mean(repr(str(key).replace("-", "_")), [repr(k) for k in config_keys()])
    return f"unknown setting {key!r}; {hint}known: {', '.join(sorted(config_keys()))}"


def from_values(values: dict) -> Settings:
    """Settings from config-file keys and values (a config file merged with command-line values,
    None for not given). Values are passed on as given: :func:`check` checks them."""
    fields, options = {}, {}
    if values.get("preset") == "fat":
        fields.update(FAT_PRESET)
    elif values.get("preset") is not None:
        raise ConfigError(f"unknown preset {values['preset']!r}; known: fat")
    if values.get("frames") is not None:
        fields["mixed_frames"] = fields["single_frames"] = fields["dr_frames"] = values["frames"]
    schema = {spec.key: (name, spec) for name, spec in specs()}
    option_keys = {spec.key for _, _, spec in registry.option_table()}
    for key, v in values.items():
        if v is None or key in EXTRA_KEYS:
            continue
        if key in schema:
            name, spec = schema[key]
            fields[name] = spec.parse(v) if spec.parse else v
        elif key in option_keys:
            options[key] = v
        else:
            raise ConfigError(unknown_setting(key))
    return Settings(**fields, renderer_options=options)


def read_config(path: str | Path) -> dict:
    """The values of a JSON or TOML config file (keys as the long options: ``jpeg_quality``,
    ``scene``...), by config key; ConfigError in one line naming the file for one that cannot be read
    or holds an unknown key."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})") from None
    try:
        if path.suffix == ".toml":
            if tomllib is None:
                raise ConfigError(f"{path}: TOML needs Python 3.11; use a .json config")
            doc = tomllib.loads(text)
        else:
            doc = json.loads(text)
    except (ValueError, getattr(tomllib, "TOMLDecodeError", ValueError)) as e:
        raise ConfigError(f"{path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: "
                          f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a table of settings")
    known = config_keys()
    for k in doc:
        if k.replace("-", "_") not in known:
            raise ConfigError(f"{path}: {unknown_setting(k)}")
    return {k.replace("-", "_"): v for k, v in doc.items()}


def load_config(path: str | Path) -> Settings:
    """The settings of a config file, as ``fat generate --config FILE`` reads them, checked
    (:func:`check`; a run checks the rest, :func:`fat.run.resolve.resolve`); a bad value's error names
    the file and its key."""
    values = read_config(path)
    try:
        return check(from_values(values))
    except SettingError as e:
        key = config_key(e.setting, values, set(values))
        raise ConfigError(f"{path}: {key}: {e}" if key else f"{path}: {e}") from None


def config_key(setting: str, values: dict, from_file: set[str]) -> str | None:
    """The config-file key that gave the value of ``setting`` (a Settings field), if it came from the
    file (``from_file``: the keys whose values did); ``values``: every key's value, None for not given."""
    if setting in ("mixed_frames", "single_frames") and values.get(setting) is None:
        keys = ["frames"]
    else:
        keys = [k for k, name in config_keys().items() if name == setting]
    for k in keys:
        if values.get(k) is not None:
            return k if k in from_file else None
    return None


# ----------------------------------------------------------------------------- check
def check(s: Settings) -> Settings:
    """Check every setting's type and value alone and against the others (camera ranges, each
    chosen scene's locations); raise :class:`SettingError` naming the setting for the first bad
    one. Returns normalised settings. What needs the object set, the renderer or the scenes'
    room for the camera is checked by :func:`fat.run.resolve.resolve`, before a run plans."""
    checked = {name: spec.check(name, getattr(s, name)) for name, spec in specs()}
    if not isinstance(s.renderer_options, dict):
        raise SettingError("renderer_options", f"renderer options must be a table, got {s.renderer_options!r}")
    try:
        CameraRanges(checked["azimuth"], checked["elevation"], checked["distance"])  # raises on empty ranges
    except ConfigError as e:
        raise SettingError(next(n for n in ("azimuth", "elevation", "distance") if n in str(e)), str(e)) from None
    for sc in checked["scenes"]:  # each scene has its own number of locations
        n = scenes.n_locations(sc)
        bad = [i for i in checked["locations"] if i >= n]
        if bad:
            raise SettingError("locations", f"scene {sc} has locations 0..{n - 1}, got location {bad[0]}")
    return replace(s, **checked)
