"""``fat stats``: counts and distributions of a dataset, as ``stats.json``, PNG figures and a report.

Reads only the frame JSON unless ``images=True`` (then also the depth PNGs); reads a dataset folder
or an HDF5 export of one alike (through :class:`fat.Dataset`). Object statistics count
the left view of each stereo frame, so each frame counts once. The camera's azimuth, elevation and
distance are recovered from the annotations alone: per folder, the fixation point is the point
nearest to all the left cameras' optical axes (every camera looks at it), elevation is measured from
the horizontal of the world (Z up), and azimuth from the middle of the directions the cameras cover
(opposite the largest gap between them).
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from ..catalog import ObjectSet
from ..dataset import Dataset
from ..errors import OutputError
from ..fileio import inside, why, write_bytes_atomic
from ..geometry import orbit_angles

VIS_BINS = np.linspace(0, 1, 21)


def _class_name(objects: ObjectSet, name: str) -> str:
    """The set's class name of ``name`` (real FAT spells one class two ways); other names as they are."""
    o = objects.find(name)
    return o.class_name if o else name


def fixation_point(centres: np.ndarray, axes: np.ndarray) -> np.ndarray | None:
    """Least-squares point nearest to the lines centre + t * axis; None if they are (nearly) parallel."""
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for c, d in zip(centres, axes):
        P = np.eye(3) - np.outer(d, d)
        A += P
        b += P @ c
    if len(centres) < 2 or np.linalg.cond(A) > 1e8:
        return None
    return np.linalg.solve(A, b)


def _heading(azimuths_deg: np.ndarray) -> float:
    """The middle of the azimuths the cameras cover: opposite the middle of the largest gap between
    them (FAT's cameras never enter the 120 degree sector behind the objects)."""
    a = np.sort(np.asarray(azimuths_deg) % 360)
    gaps = np.diff(np.r_[a, a[0] + 360])
    k = int(np.argmax(gaps))
    return float((a[k] + gaps[k] / 2 + 180) % 360)


def _hist(values, bins) -> dict:
    values = np.asarray(values, dtype=np.float64)
    counts, edges = np.histogram(values, bins=bins)
    out = {"bins": [round(float(e), 6) for e in edges], "counts": counts.tolist()}
    if len(values):
        out.update(min=float(values.min()), max=float(values.max()), mean=float(values.mean()))
    return out


def compute(root: Path, images: bool = False, progress: Callable[[int], None] | None = None, **filters) -> dict:
    # the left view of each frame, through the loader: a dataset folder or an HDF5 export alike
    ds = Dataset(root, eyes="left", fields=("annotations", "depth") if images else ("annotations",), **filters)
    frames = Counter()
    by = {k: Counter() for k in ("kind", "scene", "location", "split")}
    classes: dict[str, Counter] = defaultdict(Counter)
    per_frame = Counter()
    vis, widths, heights, depths = [], [], [], []
    cams: dict[str, list] = defaultdict(list)
    for i in range(len(ds)):
        item = ds[i]
        frames["total"] += 1
        for k in by:
            by[k][item[k]] += 1
        per_frame[len(item["objects"])] += 1
        for o in item["objects"]:
            c = classes[_class_name(ds.objects, o["class"])]
            c["appearances"] += 1
            c["visibility_gt_25"] += o["visibility"] > 0.25
            c["visibility_gt_75"] += o["visibility"] > 0.75
            vis.append(o["visibility"])
            widths.append(o["bbox"][2] - o["bbox"][0])
            heights.append(o["bbox"][3] - o["bbox"][1])
        T = item["camera_pose"]
        cams[item["folder"]].append((T[:3, 3], T[:3, 2]))
        if images:
            d = item["depth"]
            valid = d[d > 0]
            if valid.size:
                depths.append((float(valid.min()), float(np.median(valid)), float(valid.max())))
        if progress:
            progress(1)
    az, el, dist = [], [], []
    for rel, poses in cams.items():
        c = np.array([p for p, _ in poses])
        fix = fixation_point(c, np.array([d for _, d in poses]))
        if fix is None:
            continue
        angles = np.array([orbit_angles(fix, p) for p in c])
        heading = _heading(angles[:, 0])
        az += (((angles[:, 0] - heading) + 180) % 360 - 180).tolist()
        el += angles[:, 1].tolist()
        dist += angles[:, 2].tolist()
    order = [o.class_name for o in ds.objects]
    names = sorted(classes, key=lambda n: (order.index(n) if n in order else len(order), n))
    out = {
        "dataset": str(getattr(ds, "base", root)),
        "frames": {"total": frames["total"], **{f"by_{k}": dict(sorted(v.items())) for k, v in by.items()}},
        "objects": {"appearances": int(sum(per_frame[n] * n for n in per_frame)),
                    "per_frame": {str(n): per_frame[n] for n in sorted(per_frame)}},
        "classes": {n: {k: int(classes[n][k]) for k in ("appearances", "visibility_gt_25", "visibility_gt_75")} for n in names},
        "visibility": _hist(vis, VIS_BINS),
        "camera": {"azimuth_deg": _hist(az, np.arange(-180, 181, 10)),
                   "elevation_deg": _hist(el, np.arange(-90, 91, 5)),
                   "distance_m": _hist(dist, np.arange(0, max(dist + [2.0]) + 0.1, 0.1))},
        "boxes": {"width_px": _hist(widths, 24), "height_px": _hist(heights, 24)},
    }
    if images:
        d = np.array(depths) if depths else np.zeros((0, 3))
        out["depth_m"] = {"min": _hist(d[:, 0], 20), "median": _hist(d[:, 1], 20), "max": _hist(d[:, 2], 20)}
    return out


# ---------------------------------------------------------------------- figures and report
def _integer_counts(ax, x: bool = False) -> None:
    """Ticks at whole numbers only on the count axis (and on x where it counts too)."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _bar_hist(ax, h: dict, xlabel: str, ylabel: str = "count") -> None:
    edges = np.array(h["bins"])
    ax.bar(edges[:-1], h["counts"], width=np.diff(edges), align="edge", edgecolor="black", linewidth=0.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _integer_counts(ax)


def make_figures(stats: dict) -> dict:
    """The report's figures, by file name: matplotlib Figures (not tied to pyplot), each titled, with
    whole-number ticks on every axis that counts."""
    from matplotlib.figure import Figure

    figs = {}
    total = stats["frames"]["total"]
    cls = stats["classes"]
    if cls:
        names = list(cls)
        x = np.arange(len(names))
        fig = Figure(figsize=(11, 4.5))
        ax = fig.subplots()
        ax.bar(x - 0.27, [cls[n]["appearances"] for n in names], 0.27, label="all")
        ax.bar(x, [cls[n]["visibility_gt_25"] for n in names], 0.27, label="visibility > 25%")
        ax.bar(x + 0.27, [cls[n]["visibility_gt_75"] for n in names], 0.27, label="visibility > 75%")
        ax.set_xticks(x, [n.replace("_16k", "").replace("_16K", "") for n in names], rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("appearances")
        ax.set_title("Total appearances of each object class")
        ax.legend()
        _integer_counts(ax)
        figs["classes.png"] = fig
    per = stats["objects"]["per_frame"]
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    ax.bar([int(k) for k in per], list(per.values()), edgecolor="black", linewidth=0.3)
    ax.set_xlabel("objects listed in the frame")
    ax.set_ylabel("frames")
    ax.set_title(f"Objects per frame ({total} frames)")
    _integer_counts(ax, x=True)
    figs["objects_per_frame.png"] = fig
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    _bar_hist(ax, stats["visibility"], "visibility (fraction of the object seen)", "object appearances")
    ax.set_title("Visibility of the object appearances")
    figs["visibility.png"] = fig
    fig = Figure(figsize=(12, 3.5))
    axes = fig.subplots(1, 3)
    for ax, (key, label) in zip(axes, (("azimuth_deg", "azimuth (deg)"),
                                        ("elevation_deg", "elevation (deg)"), ("distance_m", "distance (m)"))):
        _bar_hist(ax, stats["camera"][key], label, "frames")
    fig.suptitle("Camera placement around the fixation point")
    figs["camera.png"] = fig
    fig = Figure(figsize=(9, 3.5))
    axes = fig.subplots(1, 2)
    _bar_hist(axes[0], stats["boxes"]["width_px"], "2D box width (px)", "object appearances")
    _bar_hist(axes[1], stats["boxes"]["height_px"], "2D box height (px)", "object appearances")
    fig.suptitle("2D box sizes")
    figs["boxes.png"] = fig
    if "depth_m" in stats:
        fig = Figure(figsize=(12, 3.5))
        axes = fig.subplots(1, 3)
        for ax, k in zip(axes, ("min", "median", "max")):
            _bar_hist(ax, stats["depth_m"][k], f"{k} depth of a frame (m)", "frames")
        fig.suptitle("Depth of the frames")
        figs["depth.png"] = fig
    return figs


def figures(stats: dict, out: Path) -> list[str]:
    """Write the figures of :func:`make_figures` as PNG files in ``out``; returns their names."""
    made = []
    for name, fig in make_figures(stats).items():
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        write_bytes_atomic(inside(out, name), buf.getvalue())
        made.append(name)
    return made


def report(stats: dict, pngs: list[str]) -> str:
    f = stats["frames"]
    lines = ["# Dataset statistics", "", f"Dataset: `{stats['dataset']}`", "",
             f"{f['total']} stereo frames, {stats['objects']['appearances']} object appearances (left views).", ""]
    for key in ("by_kind", "by_split", "by_scene", "by_location"):
        lines += [f"| {key[3:]} | frames |", "|---|---|"] + [f"| {k} | {v} |" for k, v in f[key].items()] + [""]
    lines += ["## Classes", "", "| class | appearances | visibility > 25% | visibility > 75% |", "|---|---|---|---|"]
    lines += [f"| {n} | {c['appearances']} | {c['visibility_gt_25']} | {c['visibility_gt_75']} |" for n, c in stats["classes"].items()]
    lines += [""]
    cam = stats["camera"]
    if cam["distance_m"].get("counts") and sum(cam["distance_m"]["counts"]):
        lines += ["## Camera", "", "| | min | mean | max |", "|---|---|---|---|"]
        for k in ("azimuth_deg", "elevation_deg", "distance_m"):
            lines.append(f"| {k} | {cam[k]['min']:.2f} | {cam[k]['mean']:.2f} | {cam[k]['max']:.2f} |")
        lines += [""]
    lines += ["## Figures", ""] + [f"![{p[:-4]}]({p})" for p in pngs] + [""]
    return "\n".join(lines)


def write_report(root: Path, out: Path, images: bool = False, progress=None, **filters) -> dict:
    """Write stats.json, report.md and the figures in ``out``, each atomically; a symbolic link in
    place of one of them is replaced, never written through."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create the folder: {why(e)}") from None
    stats = compute(root, images, progress, **filters)
    pngs = figures(stats, out)
    write_bytes_atomic(inside(out, "stats.json"), (json.dumps(stats, indent=1) + "\n").encode("utf-8"))
    write_bytes_atomic(inside(out, "report.md"), report(stats, pngs).encode("utf-8"))
    return stats
