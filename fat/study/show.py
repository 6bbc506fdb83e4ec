"""``fat show``: pictures of frames, one row of panels per frame: the left and right images with the
objects drawn on them (:mod:`fat.study.overlay`), depth in colour on a fixed scale in metres with a colour
bar, class segmentation and object masks, and the extra images of ``fat generate --extras`` where
the dataset has them (normals, optical flow, object coordinates, amodal masks); which panels, in
which order, is the caller's choice."""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np

from ..dataset import EXTRA_KEYS, Dataset, is_hdf5
from ..errors import ConfigError, did_you_mean
from ..fileio import write_bytes_atomic
from ..formats.extras import SUFFIXES
from ..formats.fat import frame_file, read_instance
from .overlay import TextStyle, annotate_image, colours, mask_colours, object_ids, outline, resize, text_height
from ..storage.folder import FolderStorage

MAX_WIDTH = 16384  # pixels: the picture is at most this wide (its height follows the frames)
DEPTH_RANGE = (0.0, 3.0)  # metres: the depth colour scale, the same for every frame
MAX_DEPTH_M = 1000.0
DEFAULT_PANELS = ("left", "right", "depth")
_FRAME_RE = re.compile(r"^(?P<folder>.+?)/(?P<index>\d+)(\.(left|right))?(\.json)?$")

# panel name: (eye, what, caption)
PANELS = {
    "left": ("left", "image", "left"),
    "right": ("right", "image", "right"),
    "depth": ("left", "depth", "left depth (m)"),
    "seg": ("left", "seg", "left segmentation"),
    "masks": ("left", "masks", "left masks"),
    "right-depth": ("right", "depth", "right depth (m)"),
    "right-seg": ("right", "seg", "right segmentation"),
    "right-masks": ("right", "masks", "right masks"),
    "normals": ("left", "normals", "left normals"),
    "flow": ("left", "flow", "left flow to next"),
    "flow_back": ("left", "flow_back", "left flow to previous"),
    "coordinates": ("left", "coordinates", "left object coordinates"),
    "amodal": ("left", "amodal", "left amodal masks"),
    "right-normals": ("right", "normals", "right normals"),
    "right-flow": ("right", "flow", "right flow to next"),
    "right-flow_back": ("right", "flow_back", "right flow to previous"),
    "right-coordinates": ("right", "coordinates", "right object coordinates"),
    "right-amodal": ("right", "amodal", "right amodal masks"),
}
#: The panels drawn from an extra file: what -> the ``--extras`` name (and Dataset field) that writes it.
EXTRA_PANELS = {"normals": "normals", "flow": "flow", "flow_back": "flow", "coordinates": "coordinates",
                "amodal": "amodal"}


def parse_panels(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """Panel names from ``left,right,depth`` (or a list); an unknown name is a ConfigError with a hint."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    if not names or any(not n for n in names):
        raise ConfigError(f"--panels {text!r}: give panel names separated by commas, from {', '.join(PANELS)}")
    for n in names:
        if n not in PANELS:
            raise ConfigError(f"--panels: no panel {n!r}; {did_you_mean(n, PANELS)}the panels are {', '.join(PANELS)}")
    return names


def parse_depth_range(text: str | tuple[float, float]) -> tuple[float, float]:
    """``(min, max)`` in metres from ``"0,3"``: 0 <= min < max <= 1000."""
    try:
        lo, hi = (float(v) for v in (text.split(",") if isinstance(text, str) else text))
    except (TypeError, ValueError):
        raise ConfigError(f"--depth-range {text!r}: give MIN,MAX in metres, such as 0,3") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi <= MAX_DEPTH_M):
        raise ConfigError(f"--depth-range {text!r}: needs 0 <= MIN < MAX <= {MAX_DEPTH_M:g} metres")
    return lo, hi


def depth_colours(metres: np.ndarray, depth_range: tuple[float, float] = DEPTH_RANGE) -> np.ndarray:
    """RGB colours of depths in metres on the fixed scale ``depth_range`` (near warm, far cool; depths
    outside it take the colour of its nearer end); black where there is no value (0)."""
    lo, hi = depth_range
    d = np.asarray(metres, np.float64)
    t = np.clip((d - lo) / (hi - lo), 0, 1)
    index = np.round(255 * (1 - t)).astype(np.uint8).reshape(-1, 1)
    img = cv2.applyColorMap(index, cv2.COLORMAP_TURBO)[:, 0, ::-1].reshape(d.shape + (3,)).copy()
    img[~(d > 0)] = 0
    return img


def _ticks(lo: float, hi: float, room: int) -> list[float]:
    """The two ends and round values between them, about ``room`` values in all (at least the ends);
    a round value nearer an end than 0.7 steps is left out (its label would run into the end's)."""
    span = hi - lo
    for step in (m * 10.0 ** e for e in range(-3, 5) for m in (1, 2, 2.5, 5)):
        if span / step + 1 <= max(room, 2):
            break
    first = math.ceil(lo / step - 1e-9)
    inner = [round(k * step, 6) for k in range(first, int(math.floor(hi / step + 1e-9)) + 1)]
    return [lo] + [t for t in inner if t - lo >= 0.7 * step and hi - t >= 0.7 * step] + [hi]


def colour_bar(width: int, depth_range: tuple[float, float], style: TextStyle) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A white strip ``width`` wide with the depth scale as a bar, its ticks labelled in metres; and
    the bar's place in the strip (x0, y0, x1, y1, exclusive ends)."""
    lo, hi = depth_range
    pad = style.pad
    label_w, label_h = style.size(f"{hi:g} m")
    bar_h = max(6, style.height)
    strip = np.full((pad + bar_h + 3 + label_h + pad, width, 3), 255, np.uint8)
    x0, x1 = min(pad + label_w // 2, width // 4), max(width - pad - label_w // 2, 3 * width // 4)
    x1 = max(x1, x0 + 1)
    bar_w = x1 - x0
    metres = lo + (np.arange(bar_w) + 0.5) / bar_w * (hi - lo)
    strip[pad:pad + bar_h, x0:x1] = depth_colours(metres, depth_range)[None]
    for t in _ticks(lo, hi, bar_w // max(1, int(1.5 * label_w))):
        x = int(round(x0 + (t - lo) / (hi - lo) * (bar_w - 1)))
        cv2.line(strip, (x, pad + bar_h), (x, pad + bar_h + 2), (0, 0, 0), 1)
        text = f"{t:.6g} m" if t == hi else f"{t:.6g}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, style.scale, style.thickness)
        tx = int(min(max(x - tw // 2, 0), width - tw))
        cv2.putText(strip, text, (tx, pad + bar_h + 3 + th + style.pad // 2), cv2.FONT_HERSHEY_SIMPLEX, style.scale,
                    (0, 0, 0), style.thickness, cv2.LINE_AA)
    return strip, (x0, pad, x1, pad + bar_h)


def _wheel() -> np.ndarray:
    """The Middlebury optical flow colour wheel (Baker et al. 2011, as flow_vis draws it): (55, 3)
    RGB from red through yellow, green, cyan, blue and magenta back to red, in 15, 6, 4, 11, 13, 6 steps."""
    rows = []
    for steps, start, ramp in ((15, (255, 0, 0), (0, 1, 0)), (6, (255, 255, 0), (-1, 0, 0)), (4, (0, 255, 0), (0, 0, 1)),
                               (11, (0, 255, 255), (0, -1, 0)), (13, (0, 0, 255), (1, 0, 0)), (6, (255, 0, 255), (0, 0, -1))):
        t = np.floor(255 * np.arange(steps) / steps)[:, None]
        rows.append(np.array(start, np.float64) + t * np.array(ramp, np.float64))
    return np.vstack(rows)


def flow_colours(flow: np.ndarray, valid: np.ndarray, scale: float | None = None) -> np.ndarray:
    """RGB colours of (H, W, 2) flow in pixels (u right, v down) on the Middlebury colour wheel, as
    flow_vis draws them: hue the direction (rightwards red), saturation the length over ``scale``
    (by default the longest valid flow: white for none), lengths beyond it darkened; black where
    not ``valid``."""
    f = np.where(valid[..., None], np.asarray(flow, np.float64), 0.0)
    rad = np.hypot(f[..., 0], f[..., 1])
    scale = float(rad.max(initial=0.0)) if scale is None else scale
    rad = rad / (scale + 1e-5)
    wheel = _wheel()
    n = len(wheel)
    pos = (np.arctan2(-f[..., 1], -f[..., 0]) / np.pi + 1) / 2 * (n - 1)
    k0 = np.floor(pos).astype(np.int64)
    frac = (pos - k0)[..., None]
    col = ((1 - frac) * wheel[k0] + frac * wheel[(k0 + 1) % n]) / 255.0
    inside = (rad <= 1)[..., None]
    col = np.where(inside, 1 - rad[..., None] * (1 - col), col * 0.75)
    img = np.floor(255 * col).astype(np.uint8)
    img[~valid] = 0
    return img


def unit_colours(values: np.ndarray, valid: np.ndarray, signed: bool) -> np.ndarray:
    """RGB of (H, W, 3) values: unit normals as (n + 1) / 2 (``signed``), object coordinates (0..1)
    as they are; black where not ``valid``."""
    v = (np.asarray(values, np.float64) + 1) / 2 if signed else np.asarray(values, np.float64)
    img = np.rint(np.clip(v, 0, 1) * 255).astype(np.uint8)
    img[~valid] = 0
    return img


def amodal_colours(masks: np.ndarray, ids: np.ndarray | None) -> np.ndarray:
    """Each object's full silhouette (``masks``, (N, H, W)) filled dark in its colour and outlined
    in it, its visible pixels (``ids``, the objects' numbers 1..N per pixel) in full colour."""
    n = len(masks)
    lut = colours(n)
    img = np.zeros(masks.shape[1:] + (3,), np.uint8)
    for k in reversed(range(n)):  # the first listed on top
        img[masks[k]] = lut[k] // 3
    if ids is not None:
        seen = (ids > 0) & (ids <= n)
        img[seen] = lut[ids[seen] - 1]
    for k in reversed(range(n)):
        img[outline(masks[k].astype(np.int32))] = lut[k]
    return img


def missing_extra(name: str, view: dict) -> str | None:
    """The one-line error of panel ``name`` on a view without its extra file (None when it has it)."""
    what = PANELS[name][1]
    if what not in EXTRA_PANELS or EXTRA_KEYS[what][0] in view:
        return None
    frame = f"{view['folder']}/{view['index']:06d}.{view['eye']}"
    return (f"--panels {name}: {frame} has no {SUFFIXES[what]} file (datasets made with `fat generate --extras "
            f"{EXTRA_PANELS[what]}` have them)")


def _flow_scale(view: dict, what: str) -> float:
    """The longest valid flow of the view (pixels): the flow panel's full saturation."""
    rad = np.hypot(view[what][..., 0], view[what][..., 1])
    return float(rad[view[what + "_valid"]].max(initial=0.0))


def _panel(view: dict, what: str, size: tuple[int, int], overlay: bool, depth_range) -> np.ndarray:
    if what == "image":
        return annotate_image(view, size, overlay)
    if what in ("normals", "coordinates"):
        return unit_colours(resize(view[what], size, nearest=True), resize(view[what + "_valid"], size, nearest=True),
                            what == "normals")
    if what in ("flow", "flow_back"):
        return flow_colours(resize(view[what], size, nearest=True), resize(view[what + "_valid"], size, nearest=True),
                            _flow_scale(view, what))
    if what == "amodal":
        masks = np.moveaxis(resize(np.moveaxis(view["amodal_masks"], 0, -1), size, nearest=True), -1, 0)
        ids = object_ids(view)
        return amodal_colours(masks, None if ids is None else resize(ids, size, nearest=True))
    if what == "depth":
        return depth_colours(resize(view["depth"], size, nearest=True), depth_range)
    if what == "seg":
        seg = resize(view["seg"], size, nearest=True)
        img = colours(256)[seg]
        img[seg == 0] = 0
        return img
    ids = object_ids(view)
    if ids is None:
        return np.zeros((size[1], size[0], 3), np.uint8)
    ids = resize(ids, size, nearest=True)
    img = mask_colours(ids, len(view.get("objects", [])))
    img[outline(ids)] = 255
    return img


def frame_picture(ds: Dataset, i: int, panels=DEFAULT_PANELS, width: int = 1440, overlay: bool = True,
                  depth_range: tuple[float, float] = DEPTH_RANGE) -> tuple[np.ndarray, dict]:
    """One frame as a row of ``panels`` ``width`` pixels wide in all, under a title bar naming the frame
    and each panel, above a colour bar for each depth panel. Returns the RGB picture and where its parts
    are: ``{"panels": [(name, x0, y0, x1, y1)], "bars": [(x0, y0, x1, y1)]}`` (exclusive ends)."""
    item = ds[i]
    views = {"left": item["left"], "right": item["right"]}
    for view in views.values():  # the instance map is this project's addition: use it where it exists
        if "instance" in view or not isinstance(ds.storage, FolderStorage):  # an HDF5 export: read with the item, if it has them
            continue
        path = frame_file(ds.base / view["folder"], view["index"], view["eye"], "instance")
        if path.exists():
            view["instance"] = read_instance(path, (view["width"], view["height"]))
    for name in panels:
        problem = missing_extra(name, views[PANELS[name][0]])
        if problem:
            raise ConfigError(problem)
    n = len(panels)
    widths = [width // n + (k < width % n) for k in range(n)]
    w0, h0 = int(item["left"]["width"]), int(item["left"]["height"])
    height = max(1, round(h0 * width / (n * w0)))
    style = TextStyle(text_height(width // n, height))
    title_h = style.size("Ag")[1] + 2
    row, layout, x = [], {"panels": [], "bars": []}, 0
    for name, w in zip(panels, widths):
        eye, what, _ = PANELS[name]
        row.append(_panel(views[eye], what, (w, height), overlay, depth_range))
        layout["panels"].append((name, x, title_h, x + w, title_h + height))
        x += w
    pic = np.vstack([np.full((title_h, width, 3), 255, np.uint8), np.hstack(row)])
    frame = f"{item['folder']}/{item['index']:06d}"
    captions = [PANELS[p][2] + (f" (max {_flow_scale(views[PANELS[p][0]], PANELS[p][1]):.3g} px)"
                                if PANELS[p][1] in ("flow", "flow_back") else "") for p in panels]
    texts = [(x0 + style.pad, (frame + "   " if k == 0 else "") + c) for k, ((_, x0, *_), c) in enumerate(zip(layout["panels"], captions))]
    fits = all(tx + style.size(t)[0] <= (layout["panels"][k + 1][1] if k + 1 < n else width)
               for k, (tx, t) in enumerate(texts))
    if not fits:
        texts = [(style.pad, f"{frame}   " + " | ".join(captions))]
    base = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, style.scale, style.thickness)[1]
    for tx, t in texts:
        cv2.putText(pic, t, (tx, title_h - style.pad - base), cv2.FONT_HERSHEY_SIMPLEX, style.scale, (0, 0, 0),
                    style.thickness, cv2.LINE_AA)
    depth_cols = [(x0, x1) for name, x0, _, x1, _ in layout["panels"] if PANELS[name][1] == "depth"]
    if depth_cols:
        strips = []
        for x0, x1 in depth_cols:
            strip, (bx0, by0, bx1, by1) = colour_bar(x1 - x0, depth_range, style)
            strips.append((x0, strip))
            layout["bars"].append((x0 + bx0, pic.shape[0] + by0, x0 + bx1, pic.shape[0] + by1))
        under = np.full((strips[0][1].shape[0], width, 3), 255, np.uint8)
        for x0, strip in strips:
            under[:, x0:x0 + strip.shape[1]] = strip
        pic = np.vstack([pic, under])
    return pic, layout


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


def show(root: Path, frames: list[str], out: Path, random: int = 0, seed: int = 0, width: int = 1440,
         panels=DEFAULT_PANELS, overlay: bool = True, depth_range=DEPTH_RANGE) -> int:
    """Write a PNG of the given frames (or ``random`` random ones), a row of ``panels`` each; returns
    the number of frames. ``root`` is a dataset folder or an HDF5 export of one."""
    panels = parse_panels(panels)
    depth_range = parse_depth_range(depth_range)
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
        raise ConfigError(f"--width must be a number of pixels from 1 to {MAX_WIDTH}, got {width}")
    if width < len(panels):
        raise ConfigError(f"--width {width}: too narrow for {len(panels)} panels (at least one pixel each)")
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: must be a .png file")
    whats = {PANELS[p][1] for p in panels}
    fields = ("seg", "annotations") + (("rgb",) if "image" in whats else ()) + (("depth",) if "depth" in whats else ())
    fields += tuple(sorted({EXTRA_PANELS[w] for w in whats if w in EXTRA_PANELS}))
    if is_hdf5(root):
        from ..storage.hdf5 import has_instance

        fields += ("instance",) if has_instance(root) else ()
    ds = Dataset(root, eyes="stereo", fields=fields)
    if len(ds) == 0:
        raise ConfigError(f"{root}: the dataset has no frames")
    if frames:
        idx = resolve_frames(ds, frames)
    else:
        n = max(1, random)
        idx = sorted(np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False).tolist())
    sheet = np.vstack([frame_picture(ds, i, panels, width, overlay, depth_range)[0] for i in idx])
    out.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    write_bytes_atomic(out, buf.tobytes())
    return len(idx)
