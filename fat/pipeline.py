"""Settings -> plan of drops -> frames on disk.

A dataset is a list of drops. Each drop is a pure description (kind, location, object, index, first
frame) and makes ``frames_per_drop`` consecutive frames of one leaf folder. Its random choices come
from ``SeedSequence(seed, drop key)``, its physics from a reset world, so a drop's files depend only
on the settings and on which drop it is.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable


from . import __version__, catalog, manifest
from .annotate import SceneObject, annotate_view
from .assets import DEFAULT_TEXTURE_SIZE, ObjectAsset, check_ycb_folder, load_assets
from .catalog import SINGLE_SEGMENTATION_ID, ObjectInfo
from .errors import ConfigError, OutputError
from .fileio import LOCK_FILE, TMP_SUFFIX, inside, locked_folder, make_folder, remove_temporaries, write_text_atomic
from .formats import fat as fatfmt
from .geometry import BASELINE_M, Intrinsics, right_eye_pose
from .physics import TIME_STEP, Physics
from .render import RENDERERS, SceneState, make_renderer
from .sampling import drop_rng, sample_camera, sample_objects, sample_start_poses
from .scene import SCENES, CameraRanges, check_camera_clearance, get_location

KINDS = ("single", "mixed")
DATASET_FILE = "fat_dataset.json"
SPLIT_FILE = "split.json"


@dataclass(frozen=True)
class Settings:
    kinds: tuple[str, ...] = ("mixed",)
    scenes: tuple[str, ...] = SCENES
    locations: tuple[int, ...] = (0,)
    objects: tuple[str, ...] = tuple(o.name for o in catalog.objects())
    ycb_dir: str | None = None
    mixed_frames: int = 20
    single_frames: int = 20
    frames_per_drop: int = 20
    capture_interval: float = 1.0 / 15.0  # seconds of simulated time between captured frames
    mixed_count: tuple[int, int] = (2, 10)
    seed: int = 0
    renderer: str = "auto"
    gl_device: str | None = None  # EGL device index for the gl renderer (else FAT_EGL_DEVICE, else the default)
    jpeg_quality: int = 95
    width: int = 960
    height: int = 540
    fov: float = 64.0
    baseline: float = BASELINE_M
    azimuth: tuple[float, float] = (-120.0, 120.0)
    elevation: tuple[float, float] = (5.0, 85.0)
    distance: tuple[float, float] = (0.5, 1.5)
    test_location: int = 4
    texture_size: int = DEFAULT_TEXTURE_SIZE
    unrealcv: str | None = None  # HOST:PORT of a game with the UnrealCV plugin (renderer unrealcv)
    unreal_config: str | None = None  # JSON file: actors per class, levels per location, depth kind

    @property
    def camera(self) -> CameraRanges:
        return CameraRanges(tuple(self.azimuth), tuple(self.elevation), tuple(self.distance))

    @property
    def intrinsics(self) -> Intrinsics:
        return Intrinsics.from_fov(self.width, self.height, self.fov)

    def object_infos(self) -> list[ObjectInfo]:
        return [catalog.get(n) for n in self.objects]

    def to_json(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


#: FAT's full plan: 21 objects x 15 locations x 100 single frames + 15 x 2000 mixed frames = 61,500.
FAT_PRESET = dict(kinds=KINDS, scenes=SCENES, locations=(0, 1, 2, 3, 4), mixed_frames=2000, single_frames=100)


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


class SettingError(ConfigError):
    """A bad value of one setting; ``setting`` is the name of the :class:`Settings` field."""

    def __init__(self, setting: str, message: str):
        self.setting = setting
        super().__init__(message)


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


@functools.lru_cache(maxsize=64)
def _check_clearance(location: str, ranges: CameraRanges) -> None:
    """check_camera_clearance, once per process for a location and ranges (it samples the whole
    camera region: seconds per location, and validate() runs again in generate())."""
    check_camera_clearance(get_location(location), ranges)


def count_drops(s: Settings) -> int:
    """How many drops :func:`plan` makes, without making them (``s`` validated or not)."""
    per_folder = {k: -(-n // s.frames_per_drop) for k, n in (("mixed", s.mixed_frames), ("single", s.single_frames))}
    return len(locations_of(s)) * sum(per_folder[k] * (1 if k == "mixed" else len(s.objects)) for k in s.kinds)


def validate(s: Settings) -> Settings:
    """Check every setting's type and value; raise :class:`SettingError` (a ConfigError naming the
    setting) for the first bad one, before anything is planned or written. Returns normalised settings."""
    kinds = _names("kinds", "kind", s.kinds)
    if not kinds or any(k not in KINDS for k in kinds):
        raise SettingError("kinds", f"kind must be single, mixed or both, got {list(kinds)}")
    scenes = _names("scenes", "scene", s.scenes)
    if not scenes:
        raise SettingError("scenes", "no scene chosen")
    for sc in scenes:
        if sc not in SCENES:
            raise SettingError("scenes", f"unknown scene {sc!r}; known: {', '.join(SCENES)}")
    locations = (s.locations,) if isinstance(s.locations, numbers.Number) else s.locations
    if not isinstance(locations, (list, tuple)):
        raise SettingError("locations", f"location must be an index 0..4 or a list of them, got {locations!r}")
    if not locations:
        raise SettingError("locations", "locations must be 0..4, got []")
    locations = tuple(_integer("locations", "location", i, 0, 4) for i in locations)
    objects = _names("objects", "object", s.objects)
    if not objects:
        raise SettingError("objects", "no object chosen")
    try:
        names = tuple(dict.fromkeys(catalog.get(n).name for n in objects))
    except ConfigError as e:
        raise SettingError("objects", str(e)) from None
    mixed_frames = _integer("mixed_frames", "mixed frames", s.mixed_frames, 1, MAX_FOLDER_FRAMES,
                            " (frame files have six digits)")
    single_frames = _integer("single_frames", "single frames", s.single_frames, 1, MAX_FOLDER_FRAMES,
                             " (frame files have six digits)")
    frames_per_drop = _integer("frames_per_drop", "frames per drop", s.frames_per_drop, 1)
    width = _integer("width", "width", s.width, 16, MAX_IMAGE_SIDE, " pixels")
    height = _integer("height", "height", s.height, 16, MAX_IMAGE_SIDE, " pixels")
    jpeg_quality = _integer("jpeg_quality", "JPEG quality", s.jpeg_quality, 1, 100)
    seed = _integer("seed", "seed", s.seed, 0, MAX_SEED)
    fov = _number("fov", "field of view", s.fov)
    if not 0 < fov < 180:
        raise SettingError("fov", f"field of view must be in (0, 180) degrees, got {fov}")
    capture_interval = _number("capture_interval", "capture interval", s.capture_interval)
    if not 0 < capture_interval <= 10:
        raise SettingError("capture_interval", f"capture interval must be in (0, 10] seconds, got {capture_interval}")
    lo, hi = _pair("mixed_count", "objects per mixed drop", s.mixed_count,
                   lambda k, label, x: _integer(k, label, x, 1, MAX_MIXED_COUNT))
    if lo > hi:
        raise SettingError("mixed_count", f"objects per mixed drop must be a range 1 <= min <= max, got [{lo}, {hi}]")
    renderer = _text("renderer", "renderer", s.renderer)
    if renderer not in RENDERERS:
        raise SettingError("renderer", f"unknown renderer {renderer!r}; choose from {', '.join(RENDERERS)}")
    gl_device = s.gl_device
    if isinstance(gl_device, numbers.Integral) and not isinstance(gl_device, bool):
        gl_device = str(int(gl_device))
    gl_device = _text("gl_device", "gl device", gl_device)
    if gl_device and not gl_device.isdigit():
        raise SettingError("gl_device", f"gl device must be an EGL device index (0, 1, ...), got {gl_device!r}")
    unrealcv = _text("unrealcv", "unrealcv", s.unrealcv)
    unreal_config = _text("unreal_config", "unreal config", s.unreal_config)
    ycb_dir = _text("ycb_dir", "objects folder", s.ycb_dir)
    if renderer == "unrealcv":
        from .render.unreal import UnrealConfig, parse_endpoint

        if not unrealcv:
            raise SettingError("unrealcv", "--renderer unrealcv needs --unrealcv HOST:PORT")
        parse_endpoint(unrealcv)
        UnrealConfig.load(unreal_config)
    elif unrealcv or unreal_config:
        raise SettingError("unrealcv" if unrealcv else "unreal_config",
                           "--unrealcv and --unreal-config go with --renderer unrealcv")
    test_location = _integer("test_location", "test location", s.test_location, 0, 4)
    texture_size = _integer("texture_size", "texture size", s.texture_size, 16, MAX_TEXTURE_SIZE, " pixels")
    baseline = _number("baseline", "stereo baseline", s.baseline)
    if baseline <= 0:
        raise SettingError("baseline", f"stereo baseline must be positive, got {baseline}")
    cam = {}
    for name in ("azimuth", "elevation", "distance"):
        cam[name] = _pair(name, f"camera {name}", getattr(s, name), _number)
    try:
        ranges = CameraRanges(cam["azimuth"], cam["elevation"], cam["distance"])  # raises on empty ranges
    except ConfigError as e:
        raise SettingError(next(n for n in cam if n in str(e)), str(e)) from None
    s = replace(s, kinds=tuple(k for k in KINDS if k in kinds), scenes=tuple(dict.fromkeys(scenes)),
                locations=tuple(sorted(set(locations))), objects=names, ycb_dir=ycb_dir, mixed_frames=mixed_frames,
                single_frames=single_frames, frames_per_drop=frames_per_drop, capture_interval=capture_interval,
                mixed_count=(lo, hi), seed=seed, renderer=renderer, gl_device=gl_device, jpeg_quality=jpeg_quality,
                width=width, height=height, fov=fov, baseline=baseline, test_location=test_location,
                texture_size=texture_size, unrealcv=unrealcv, unreal_config=unreal_config, **cam)
    drops = count_drops(s)
    if drops > MAX_DROPS:
        raise SettingError("frames_per_drop", f"the plan would hold {drops:,} drops, more than {MAX_DROPS:,}; "
                           "use more --frames-per-drop or fewer frames, locations or objects")
    for loc in locations_of(s):
        _check_clearance(loc, ranges)
    if s.ycb_dir is not None:
        check_ycb_folder(Path(s.ycb_dir), s.object_infos())
    return s


def locations_of(s: Settings) -> list[str]:
    return [f"{sc}_{i}" for sc in s.scenes for i in s.locations]


@dataclass(frozen=True)
class Drop:
    kind: str
    location: str
    object_name: str | None  # single drops: the object
    index: int  # drop number within its folder
    folder: str  # relative leaf folder, e.g. "mixed/kitchen_0"
    first_frame: int
    n_frames: int

    @property
    def key(self) -> tuple[int, ...]:
        scene, _, i = self.location.rpartition("_")
        obj = 255 if self.object_name is None else catalog.get(self.object_name).index
        return (KINDS.index(self.kind), SCENES.index(scene), int(i), obj, self.index)


@dataclass(frozen=True)
class Folder:
    path: str
    kind: str
    location: str
    objects: tuple[str, ...]  # settings entries: the one object (single) or the pool (mixed)
    n_frames: int


def plan(s: Settings) -> tuple[list[Folder], list[Drop]]:
    """Every folder and drop of the dataset, in memory: :func:`validate` refuses plans of more than
    :data:`MAX_DROPS` drops (count them first with :func:`count_drops`)."""
    folders, drops = [], []
    for kind in s.kinds:
        for loc in locations_of(s):
            groups = [(f"mixed/{loc}", None)] if kind == "mixed" else \
                [(f"single/{catalog.get(n).class_name}/{loc}", n) for n in s.objects]
            for path, obj in groups:
                n = s.mixed_frames if kind == "mixed" else s.single_frames
                folders.append(Folder(path, kind, loc, (obj,) if obj else s.objects, n))
                for d, first in enumerate(range(0, n, s.frames_per_drop)):
                    drops.append(Drop(kind, loc, obj, d, path, first, min(s.frames_per_drop, n - first)))
    return folders, drops


def split_of(s: Settings, folders: list[Folder]) -> dict:
    test = [f"{sc}_{s.test_location}" for sc in SCENES]
    return {
        "test_locations": test,
        "train": [f.path for f in folders if f.location not in test],
        "test": [f.path for f in folders if f.location in test],
    }


# ----------------------------------------------------------------------------- running drops
class Worker:
    """What a process keeps between drops: physics client, renderer, loaded assets."""

    def __init__(self, s: Settings):
        self.s = s
        self.assets: dict[str, ObjectAsset] = load_assets(s.object_infos(), s.ycb_dir, s.texture_size)
        self.physics = Physics()
        self.renderer = make_renderer(s.renderer, s.intrinsics, s.unrealcv, s.unreal_config, s.gl_device)
        self.note = getattr(self.renderer, "note", None)
        # a game may render another size or field of view than asked: write what it really renders
        self.K = getattr(self.renderer, "intrinsics", None) or s.intrinsics
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fat-writer")

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self.physics.close()
        self.renderer.close()

    def scenes(self, drop: Drop):
        """Simulate one drop and yield, frame by frame, (frame index in the folder, scene state,
        annotated objects, ((eye, camera pose), ...)). The physics advances as the caller asks for
        the next frame."""
        s = self.s
        rng = drop_rng(s.seed, drop.key)
        loc = get_location(drop.location)
        pool = [catalog.get(drop.object_name)] if drop.kind == "single" else s.object_infos()
        infos = sample_objects(rng, pool, drop.kind, s.mixed_count)
        starts = sample_start_poses(rng, loc, len(infos))
        cams = [sample_camera(rng, loc, s.camera) for _ in range(drop.n_frames)]
        assets = [self.assets[o.name] for o in infos]
        self.physics.reset(loc)
        self.physics.spawn(assets, starts)
        single = drop.kind == "single"
        start = self.physics.steps  # capture begins when the last object is released
        for f, cam in enumerate(cams):
            target = start + int(round(f * s.capture_interval / TIME_STEP))
            self.physics.step(target - self.physics.steps)
            poses = self.physics.poses()
            objs = [SceneObject(fatfmt.class_name(o, single), SINGLE_SEGMENTATION_ID if single else o.segmentation_id,
                                o.dimensions, a.parts, a.hull, T) for o, a, T in zip(infos, assets, poses)]
            eyes = (("left", cam.pose), ("right", right_eye_pose(cam.pose, s.baseline)))
            yield drop.first_frame + f, SceneState(loc, assets, poses), objs, eyes

    def run(self, drop: Drop, root: Path) -> tuple[int, dict[str, str]]:
        """Simulate, render, annotate and write one drop. Returns the number of frames and the sha256
        of every file written, by path relative to ``root``. Annotating, encoding and writing run on
        a second thread while the next frame is simulated and rendered."""
        folder = root / drop.folder
        hashes: dict[str, str] = {}
        pending = None
        try:
            for index, state, objs, eyes in self.scenes(drop):
                outs = [self.renderer.render(state, T_cam, self.K) for _, T_cam in eyes]  # both eyes before any file
                if pending is not None:
                    hashes.update(pending.result())
                pending = self._writer.submit(self._write_frame, folder, index, objs, eyes, outs, root)
            if pending is not None:
                hashes.update(pending.result())
                pending = None
        finally:
            if pending is not None:
                pending.result()
        return drop.n_frames, hashes

    def _write_frame(self, folder: Path, index: int, objs, eyes, outs, root: Path) -> dict[str, str]:
        K, written = self.K, {}
        for (eye, T_cam), out in zip(eyes, outs):
            view, seg, inst = annotate_view(objs, T_cam, K, out.instance)
            for p, h in fatfmt.write_view(folder, index, eye, view, out.rgb, out.depth, seg, inst, self.s.jpeg_quality).items():
                written[p.relative_to(root).as_posix()] = h
        return written


def _record(s: Settings, renderer: str) -> dict:
    return {"fat_version": __version__, "renderer": renderer, "settings": s.to_json()}


def check_output(root: Path, overwrite: bool, s: Settings) -> str:
    """What to do with ``root``: "new" (absent or empty), "resume" (a dataset of these settings) or
    "replace" (another dataset of ours, with ``overwrite``). Refuses anything else. Changes nothing."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: exists and is not a folder")
    if not root.is_dir() or not any(p.name != LOCK_FILE for p in root.iterdir()):
        return "new"
    record = root / DATASET_FILE
    if not record.is_file():
        if overwrite:
            raise OutputError(f"{root}: not a dataset made by fat (no {DATASET_FILE}); refusing to delete it")
        raise OutputError(f"{root}: folder is not empty and holds no dataset made by fat")
    if overwrite:
        return "replace"
    try:
        old = json.loads(record.read_text())["settings"]
    except (ValueError, KeyError, TypeError):
        raise OutputError(f"{record}: unreadable; use --overwrite to start over") from None
    new = s.to_json()
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        diff = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:3])
        raise OutputError(f"{root}: holds a dataset made with other settings ({diff}{', ...' if len(changed) > 3 else ''}); "
                          "use --overwrite to start over, or another folder")
    return "resume"


def prepare_output(root: Path, mode: str) -> None:
    """Create the output folder; for "replace", delete the old dataset's files first (see
    :func:`remove_dataset`)."""
    root = Path(root)
    if mode == "replace":
        remove_dataset(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{root}: cannot create the output folder: {e.strerror}") from None


#: what ``fat generate`` writes in a leaf folder: the settings files and the frames' files
_OUR_LEAF_FILE = re.compile(r"^(_camera_settings\.json|_object_settings\.json|\d{6}\.(left|right)\."
                            r"(jpg|json|depth\.png|seg\.png|instance\.png))$")


def remove_dataset(root: Path) -> int:
    """Delete the dataset made by fat in ``root``: the files its manifest lists, the settings and
    frame files of its leaf folders (those of the manifest, and those under ``mixed/`` and
    ``single/`` that hold a ``_camera_settings.json``), temporaries and its top-level files; then
    the folders left empty. Any other file stays. Nothing outside ``root`` is touched. Returns the
    number of files deleted."""
    root = Path(root)
    done = manifest.load(root)
    files, leaves = set(), set()
    for e in done.values():
        if isinstance(e.get("drop"), str):
            leaves.add(e["drop"].rpartition("#")[0])
        if isinstance(e.get("files"), dict):
            files.update(f for f in e["files"] if isinstance(f, str))
    for top in ("mixed", "single"):
        if (root / top).is_dir() and not (root / top).is_symlink():
            pattern = "*/_camera_settings.json" if top == "mixed" else "*/*/_camera_settings.json"
            leaves.update(p.parent.relative_to(root).as_posix() for p in (root / top).glob(pattern))
    for leaf in leaves:
        folder = root / leaf
        if _is_inside(root, folder / "x") and folder.is_dir():
            files.update(f"{leaf}/{p.name}" for p in folder.iterdir()
                         if _OUR_LEAF_FILE.match(p.name) or (p.name.startswith(".") and p.name.endswith(TMP_SUFFIX)))
    files.update((DATASET_FILE, SPLIT_FILE, manifest.MANIFEST, ".fat_index.json"))
    n = 0
    for rel in sorted(files):
        path = root / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts or not _is_inside(root, path):
            continue  # a manifest naming a file outside the dataset: not ours to delete
        try:
            if path.is_file() or path.is_symlink():
                path.unlink()
                n += 1
        except OSError as e:
            raise OutputError(f"{path}: cannot delete: {e.strerror}") from None
    for leaf in sorted(leaves, reverse=True):  # then the folders left empty, up to the top
        p = root / leaf
        while p != root and root in p.parents and _is_inside(root, p / "x"):
            try:
                p.rmdir()
            except OSError:
                break
            p = p.parent
    return n


def _is_inside(root: Path, path: Path) -> bool:
    try:
        inside(root, path)
        return True
    except OutputError:
        return False


def write_folder_settings(root: Path, folders: list[Folder], s: Settings, K: Intrinsics | None = None) -> None:
    K = K or s.intrinsics
    for f in folders:
        path = make_folder(root, f.path)  # refuses a symbolic link out of the dataset
        fatfmt.write_camera_settings(path, K)
        fatfmt.write_object_settings(path, [catalog.get(n) for n in f.objects], single=f.kind == "single")


def finished_drops(out: Path, drops: list[Drop], repair: bool = False,
                   notify: Callable[[str], None] | None = None) -> dict[str, dict]:
    """The manifest's entries of the planned drops that stay finished: all their files are present
    (one directory listing per folder) and, with ``repair``, have the sha256 the manifest recorded.
    The others (files deleted, or changed) are left out, so they are made again."""
    try:
        done = manifest.load(out)
    except RecursionError:
        raise OutputError(f"{out / manifest.MANIFEST}: unreadable (nested too deep); use --overwrite to start over") from None
    planned = {manifest.drop_id(d.folder, d.index) for d in drops}
    done = {k: v for k, v in done.items() if k in planned}
    bad = manifest.damaged(out, done, full=repair)
    if bad:
        names = ", ".join(sorted(bad)[:4]) + (", ..." if len(bad) > 4 else "")
        what = "missing or changed" if repair else "missing"
        (notify or (lambda m: print(f"fat: {m}", file=sys.stderr)))(
            f"{len(bad)} finished drop{'s' if len(bad) > 1 else ''} with {what} files, made again: {names}")
    return {k: v for k, v in done.items() if k not in bad}


def generate(s: Settings, out: Path, overwrite: bool = False, progress: Callable[[int], None] | None = None,
             notify: Callable[[str], None] | None = None, workers: int = 1, dask: str | None = None,
             repair: bool = False) -> dict:
    """Make (or finish) the dataset described by ``s`` under ``out``; returns a summary.

    Drops already in the manifest are kept if their files are all there (``repair``: and unchanged,
    by sha256); the others are made, in this process (``workers`` 1), in ``workers`` local processes,
    or on the Dask scheduler at ``dask``. ``notify`` gets notes such as the renderer ``auto`` chose
    (default: printed on standard error). A lock file in ``out`` (``.fat.lock``) refuses a second run
    into the same folder while this one runs."""
    s = validate(s)
    out = Path(out)
    folders, drops = plan(s)
    check_output(out, overwrite, s)  # refuse early, before any renderer starts
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    with locked_folder(out):
        return _generate(s, out, folders, drops, check_output(out, overwrite, s), progress, notify, workers, dask,
                         repair)


def _generate(s, out, folders, drops, mode, progress, notify, workers, dask, repair) -> dict:
    from . import executors

    executor = executors.make(s, workers, dask)  # starts renderers before any file is written
    try:
        if executor.note:
            (notify or (lambda m: print(f"fat: {m}", file=sys.stderr)))(executor.note)
        if mode == "resume":
            old = json.loads((out / DATASET_FILE).read_text()).get("renderer")
            if old and old != executor.renderer:
                raise OutputError(f"{out}: was made with renderer {old}, this run would use {executor.renderer}; "
                                  "use --overwrite to start over")
        prepare_output(out, mode)
        remove_temporaries(out)
        write_text_atomic(out / DATASET_FILE, json.dumps(_record(s, executor.renderer), indent=1) + "\n")
        write_text_atomic(out / SPLIT_FILE, json.dumps(split_of(s, folders), indent=1) + "\n")
        write_folder_settings(out, folders, s, executor.K)
        done = finished_drops(out, drops, repair, notify)
        todo = [d for d in drops if manifest.drop_id(d.folder, d.index) not in done]
        skipped = sum(d.n_frames for d in drops) - sum(d.n_frames for d in todo)
        if progress and skipped:
            progress(skipped)
        t0 = time.perf_counter()
        frames = 0
        record = manifest.Writer(out)
        try:
            for d, n, files in executor.run(todo, out):
                record.add(manifest.drop_id(d.folder, d.index), n, files)
                frames += n
                if progress:
                    progress(n)
        finally:
            record.close()
        dt = time.perf_counter() - t0
    finally:
        executor.close()
    return {"frames": frames, "skipped": skipped,
            "folders": len(folders), "drops": len(todo), "seconds": dt, "out": str(out), "renderer": executor.renderer}


def total_frames(s: Settings) -> int:
    """Frames :func:`plan` makes, counted without making the plan."""
    return len(locations_of(s)) * sum(s.mixed_frames if k == "mixed" else s.single_frames * len(s.objects)
                                      for k in s.kinds)
