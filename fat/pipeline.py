"""Settings -> plan of drops -> frames on disk.

A dataset is a list of drops. Each drop is a pure description (kind, location, object, index, first
frame) and makes ``frames_per_drop`` consecutive frames of one leaf folder. Its random choices come
from ``SeedSequence(seed, drop key)``, its physics from a reset world, so a drop's files depend only
on the settings and on which drop it is.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable


from . import __version__, catalog
from .annotate import SceneObject, annotate_view
from .assets import DEFAULT_TEXTURE_SIZE, ObjectAsset, check_ycb_folder, load_assets
from .catalog import SINGLE_SEGMENTATION_ID, ObjectInfo
from .errors import ConfigError, OutputError
from .fileio import write_text_atomic
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

    def close(self) -> None:
        self.physics.close()
        self.renderer.close()

    def run(self, drop: Drop, root: Path) -> int:
        """Simulate, render, annotate and write one drop; returns the number of frames written."""
        s, K = self.s, self.K
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
        folder = root / drop.folder
        start = self.physics.steps  # capture begins when the last object is released
        for f, cam in enumerate(cams):
            target = start + int(round(f * s.capture_interval / TIME_STEP))
            self.physics.step(target - self.physics.steps)
            poses = self.physics.poses()
            state = SceneState(loc, assets, poses)
            objs = [SceneObject(fatfmt.class_name(o, single), SINGLE_SEGMENTATION_ID if single else o.segmentation_id,
                                o.dimensions, a.parts, a.hull, T) for o, a, T in zip(infos, assets, poses)]
            eyes = (("left", cam.pose), ("right", right_eye_pose(cam.pose, s.baseline)))
            outs = [self.renderer.render(state, T_cam, K) for _, T_cam in eyes]  # both eyes before any file
            for (eye, T_cam), out in zip(eyes, outs):
                view, seg, inst = annotate_view(objs, T_cam, K, out.instance)
                fatfmt.write_view(folder, drop.first_frame + f, eye, view, out.rgb, out.depth, seg, inst, s.jpeg_quality)
        return drop.n_frames


def check_output(root: Path, overwrite: bool) -> bool:
    """Refuse a non-empty output folder unless ``overwrite`` and it holds a dataset of ours.
    Returns whether an old dataset is to be removed. Changes nothing."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()):
        if not overwrite:
            raise OutputError(f"{root}: folder is not empty (use --overwrite to replace a dataset made by fat)")
        if not (root / DATASET_FILE).is_file():
            raise OutputError(f"{root}: not a dataset made by fat (no {DATASET_FILE}); refusing to delete it")
        return True
    return False


def prepare_output(root: Path, overwrite: bool) -> None:
    """Create the output folder, removing an old dataset of ours when ``overwrite`` allows it."""
    root = Path(root)
    if check_output(root, overwrite):
        for name in ("mixed", "single"):
            shutil.rmtree(root / name, ignore_errors=True)
        for name in (DATASET_FILE, SPLIT_FILE):
            (root / name).unlink(missing_ok=True)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{root}: cannot create the output folder: {e.strerror}") from None


def write_folder_settings(root: Path, folders: list[Folder], s: Settings, K: Intrinsics | None = None) -> None:
    K = K or s.intrinsics
    for f in folders:
        path = root / f.path
        path.mkdir(parents=True, exist_ok=True)
        fatfmt.write_camera_settings(path, K)
        fatfmt.write_object_settings(path, [catalog.get(n) for n in f.objects], single=f.kind == "single")


def generate(s: Settings, out: Path, overwrite: bool = False,
             progress: Callable[[int], None] | None = None, notify: Callable[[str], None] | None = None) -> dict:
    """Make the dataset described by ``s`` under ``out``; returns a summary. ``notify`` gets notes
    such as the renderer ``auto`` chose (default: printed on standard error)."""
    s = validate(s)
    folders, drops = plan(s)
    check_output(out, overwrite)
    worker = Worker(s)  # loads assets and starts the renderer before any file is written
    if worker.note:
        (notify or (lambda m: print(f"fat: {m}", file=sys.stderr)))(worker.note)
    try:
        prepare_output(out, overwrite)
        out = Path(out)
        record = {"fat_version": __version__, "renderer": worker.renderer.name, "settings": s.to_json()}
        write_text_atomic(out / DATASET_FILE, json.dumps(record, indent=1) + "\n")
        write_text_atomic(out / SPLIT_FILE, json.dumps(split_of(s, folders), indent=1) + "\n")
        write_folder_settings(out, folders, s, worker.K)
        t0 = time.perf_counter()
        frames = 0
        for d in drops:
            frames += worker.run(d, out)
            if progress:
                progress(d.n_frames)
        dt = time.perf_counter() - t0
    finally:
        worker.close()
    return {"frames": frames, "folders": len(folders), "drops": len(drops), "seconds": dt, "out": str(out),
            "renderer": worker.renderer.name}


def total_frames(s: Settings) -> int:
    return sum(d.n_frames for d in plan(s)[1])
