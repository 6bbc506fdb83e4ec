"""``fat show``: pictures of frames: left and right images with masks, projected cuboids (vertex
numbers in FAT's order, front face drawn thicker), 2D boxes, and depth as colour."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from .dataset import Dataset, is_hdf5
from .storage.folder import FolderStorage
from .errors import ConfigError
from .fileio import write_bytes_atomic
from .formats.fat import frame_file, read_instance
from .geometry import CUBOID_EDGES

FRONT = {(0, 1), (1, 2), (2, 3), (3, 0)}
MAX_WIDTH = 16384  # pixels: the picture is at most this wide (its height follows the frames)
_FRAME_RE = re.compile(r"^(?P<folder>.+?)/(?P<index>\d+)(\.(left|right))?(\.json)?$")


def _colour(k: int) -> tuple[int, int, int]:
    hue = (k * 47) % 180
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[2]), int(bgr[1]), int(bgr[0])  # RGB


def annotate_image(item: dict) -> np.ndarray:
    """RGB image with mask tint, 2D boxes, projected cuboids and class names drawn on it."""
    img = item["rgb"].copy()
    objs = item.get("objects", [])
    masks = item.get("instance")
    if masks is None and "seg" in item:  # class masks when there is no instance map: each class's first object
        first = np.zeros(256, np.int32)
        for k, o in reversed(list(enumerate(objs))):
            first[o["segmentation_id"]] = k + 1
        first[0] = 0
        masks = first[item["seg"]]
    if masks is not None:  # one colour table lookup, whatever the number of objects
        lut = np.array([(0, 0, 0)] + [_colour(k) for k in range(len(objs))], np.uint8)
        ids = np.asarray(masks).astype(np.int64)
        ids[ids > len(objs)] = 0
        tint = np.where((ids > 0)[..., None], lut[ids], img)
        img = cv2.addWeighted(img, 0.55, tint, 0.45, 0)
    scale = 16
    for k, o in enumerate(objs):
        c = _colour(k)
        x0, y0, x1, y1 = np.clip(np.asarray(o["bbox"], np.float64), -(1 << 24), 1 << 24)
        cv2.rectangle(img, (int(round(x0)), int(round(y0))), (int(round(x1)), int(round(y1))), c, 1, cv2.LINE_AA)
        pts = np.round((np.asarray(o["projected_cuboid"]) - 0.5) * scale).astype(np.int64)
        pts = np.clip(pts, -(1 << 24), 1 << 24)
        for a, b in CUBOID_EDGES:
            thick = 2 if (a, b) in FRONT else 1
            cv2.line(img, tuple(map(int, pts[a])), tuple(map(int, pts[b])), c, thick, cv2.LINE_AA, shift=4)
        for v, p in enumerate(np.asarray(o["projected_cuboid"])):
            if 0 <= p[0] < img.shape[1] and 0 <= p[1] < img.shape[0]:
                cv2.putText(img, str(v), (int(p[0]) + 2, int(p[1]) - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 2, cv2.LINE_AA)
                cv2.putText(img, str(v), (int(p[0]) + 2, int(p[1]) - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35, c, 1, cv2.LINE_AA)
        label = f"{o['class'].replace('_16k', '').replace('_16K', '')} {o['visibility']:.2f}"
        org = (int(np.clip(x0, 0, img.shape[1] - 80)), int(np.clip(y0 - 4, 10, img.shape[0] - 2)))
        cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, c, 1, cv2.LINE_AA)
    return img


def depth_image(depth: np.ndarray) -> np.ndarray:
    """Depth as colour (near warm, far cool); black where there is no value."""
    valid = depth > 0
    if not valid.any():
        return np.zeros(depth.shape + (3,), np.uint8)
    lo, hi = np.percentile(depth[valid], [1, 99])
    t = np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1)
    img = cv2.applyColorMap((255 * (1 - t)).astype(np.uint8), cv2.COLORMAP_TURBO)[:, :, ::-1].copy()
    img[~valid] = 0
    return img


def frame_panel(ds: Dataset, i: int) -> np.ndarray:
    item = ds[i]
    left, right = item["left"], item["right"]
    for view in (left, right):  # the instance map is this project's addition: use it where it exists
        if "instance" in view or not isinstance(ds.storage, FolderStorage):  # an HDF5 export: read with the item, if it has them
            continue
        path = frame_file(ds.base / view["folder"], view["index"], view["eye"], "instance")
        if path.exists():
            view["instance"] = read_instance(path, (view["width"], view["height"]))
    row = [annotate_image(left), annotate_image(right), depth_image(left["depth"])]
    title = f"{item['folder']}/{item['index']:06d}   left | right | left depth"
    panel = np.hstack(row)
    bar = np.full((24, panel.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, panel])


def resolve_frames(ds: Dataset, specs: list[str]) -> list[int]:
    """Dataset positions of frames named ``mixed/kitchen_0/12`` (or ``.../000012.left.json``) or by number."""
    pos = {ref: k for k, ref in enumerate(ds.frames())}
    out = []
    for s in specs:
        m = _FRAME_RE.match(s.strip().strip("/"))
        if s.isdigit():
            k = int(s)
            if not 0 <= k < len(ds):
                raise ConfigError(f"frame {k} out of range: the dataset has {len(ds)} frames")
        elif m and (m.group("folder"), int(m.group("index"))) in pos:
            k = pos[(m.group("folder"), int(m.group("index")))]
        else:
            raise ConfigError(f"no frame {s!r} (give FOLDER/INDEX such as mixed/kitchen_0/12, or a number below {len(ds)})")
        out.append(k)
    return out


def show(root: Path, frames: list[str], out: Path, random: int = 0, seed: int = 0, width: int = 1440) -> int:
    """Write a PNG of the given frames (or ``random`` random ones); returns the number of frames.
    ``root`` is a dataset folder or an HDF5 export of one."""
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
        raise ConfigError(f"--width must be a number of pixels from 1 to {MAX_WIDTH}, got {width}")
    fields = ("rgb", "depth", "seg", "annotations")
    if is_hdf5(root):
        from .storage.hdf5 import has_instance

        fields += ("instance",) if has_instance(root) else ()
    ds = Dataset(root, eyes="stereo", fields=fields)
    if len(ds) == 0:
        raise ConfigError(f"{root}: the dataset has no frames")
    if frames:
        idx = resolve_frames(ds, frames)
    else:
        n = max(1, random)
        idx = sorted(np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False).tolist())
    panels = [frame_panel(ds, i) for i in idx]
    scaled = [cv2.resize(p, (width, max(1, round(p.shape[0] * width / p.shape[1]))), interpolation=cv2.INTER_AREA)
              for p in panels]
    sheet = np.vstack(scaled)
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: must be a .png file")
    out.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    write_bytes_atomic(out, buf.tobytes())
    return len(idx)
