"""Settings -> plan of drops -> frames on disk.

A dataset is a list of drops. Each drop is a pure description (kind, location, object, index, first
frame) and makes ``frames_per_drop`` consecutive frames of one leaf folder. Its random choices come
from ``SeedSequence(seed, drop key)``, its physics from a reset world, so a drop's files depend only
on the settings and on which drop it is.
"""

from __future__ import annotations

import json
import math
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
from .fileio import LOCK_FILE, TMP_SUFFIX, inside, locked, make_folder, remove_temporaries, write_text_atomic
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


def validate(s: Settings) -> Settings:
    """Check every setting; raise ConfigError naming the first bad one. Returns normalised settings."""
    if not s.kinds or any(k not in KINDS for k in s.kinds):
        raise ConfigError(f"kind must be single, mixed or both, got {list(s.kinds)}")
    if not s.scenes:
        raise ConfigError("no scene chosen")
    for sc in s.scenes:
        if sc not in SCENES:
            raise ConfigError(f"unknown scene {sc!r}; known: {', '.join(SCENES)}")
    if not s.locations or any(not (0 <= int(i) <= 4) for i in s.locations):
        raise ConfigError(f"locations must be 0..4, got {list(s.locations)}")
    if not s.objects:
        raise ConfigError("no object chosen")
    names = tuple(dict.fromkeys(catalog.get(n).name for n in s.objects))
    for name, v, lo in (("mixed frames", s.mixed_frames, 1), ("single frames", s.single_frames, 1),
                        ("frames per drop", s.frames_per_drop, 1), ("width", s.width, 16), ("height", s.height, 16)):
        if int(v) != v or v < lo:
            raise ConfigError(f"{name} must be an integer >= {lo}, got {v}")
    if not 1 <= s.jpeg_quality <= 100:
        raise ConfigError(f"JPEG quality must be 1..100, got {s.jpeg_quality}")
    if not 0 < s.fov < 180:
        raise ConfigError(f"field of view must be in (0, 180) degrees, got {s.fov}")
    if not 0 < s.capture_interval <= 10:
        raise ConfigError(f"capture interval must be in (0, 10] seconds, got {s.capture_interval}")
    lo, hi = s.mixed_count
    if not 1 <= lo <= hi:
        raise ConfigError(f"objects per mixed drop must be a range 1 <= min <= max, got [{lo}, {hi}]")
    if s.renderer not in RENDERERS:
        raise ConfigError(f"unknown renderer {s.renderer!r}; choose from {', '.join(RENDERERS)}")
    if s.renderer == "unrealcv":
        from .render.unreal import UnrealConfig, parse_endpoint

        if not s.unrealcv:
            raise ConfigError("--renderer unrealcv needs --unrealcv HOST:PORT")
        parse_endpoint(s.unrealcv)
        UnrealConfig.load(s.unreal_config)
    elif s.unrealcv or s.unreal_config:
        raise ConfigError("--unrealcv and --unreal-config go with --renderer unrealcv")
    if not 0 <= s.test_location <= 4:
        raise ConfigError(f"test location must be 0..4, got {s.test_location}")
    if s.texture_size < 16:
        raise ConfigError(f"texture size must be >= 16 pixels, got {s.texture_size}")
    if not math.isfinite(s.baseline) or s.baseline <= 0:
        raise ConfigError(f"stereo baseline must be positive, got {s.baseline}")
    ranges = s.camera  # raises on empty ranges
    s = replace(s, objects=names, locations=tuple(sorted({int(i) for i in s.locations})),
                scenes=tuple(dict.fromkeys(s.scenes)), kinds=tuple(k for k in KINDS if k in s.kinds))
    for loc in locations_of(s):
        check_camera_clearance(get_location(loc), ranges)
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
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create the output folder: {e.strerror}") from None
    try:
        with locked(out / LOCK_FILE, out):  # one run per folder; released even by kill -9
            return _generate(s, out, folders, drops, check_output(out, overwrite, s), progress, notify, workers, dask,
                             repair)
    except BaseException:
        if created:
            try:
                out.rmdir()  # only if still empty: nothing was written
            except OSError:
                pass
        raise


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
        if progress and len(todo) < len(drops):
            progress(sum(d.n_frames for d in drops if d not in todo))
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
    return {"frames": frames, "skipped": sum(d.n_frames for d in drops) - sum(d.n_frames for d in todo),
            "folders": len(folders), "drops": len(todo), "seconds": dt, "out": str(out), "renderer": executor.renderer}


def total_frames(s: Settings) -> int:
    return sum(d.n_frames for d in plan(s)[1])
