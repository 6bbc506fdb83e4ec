"""BOP export (the scenewise layout of the BOP toolkit, thodan/bop_toolkit).

```
OUT/models/obj_000001.ply ...       the used objects' render meshes in FAT's object frame, millimetres
OUT/models/models_info.json         per object: diameter, min_x/y/z, size_x/y/z (mm)
OUT/<split>_<eye>/<scene>/          split train or test, eye left or right: BOP's camera types
    rgb/000000.jpg  depth/000000.png      the FAT files (depth_scale 0.1: FAT counts 0.1 mm)
    mask/000000_000000.png                the whole object, rendered alone
    mask_visib/000000_000000.png          its visible pixels (the instance map, or the class mask)
    scene_camera.json  scene_gt.json  scene_gt_info.json
OUT/scenes.json                     which leaf folder each scene comes from
```

Object ids are FAT's order (1 = 002_master_chef_can ... 21 = 061_foam_brick). Poses: ``cam_R_m2c``
row-major, ``cam_t_m2c`` in millimetres, object frame = FAT's.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .. import catalog
from ..assets import load_assets
from ..dataset import Dataset
from ..errors import ConfigError, OutputError
from ..fileio import LOCK_FILE, TMP_SUFFIX, discard, locked, temp_path, why, within
from ..meshes import load_mesh
from ..render import SceneState, make_renderer
from ..scene import get_location
from .coco import views_with_masks
from .fat import frame_file


def _write_ply(path: Path, vertices_mm: np.ndarray, faces: np.ndarray) -> None:
    head = (f"ply\nformat ascii 1.0\nelement vertex {len(vertices_mm)}\nproperty float x\nproperty float y\n"
            f"property float z\nelement face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n")
    body = "\n".join(f"{x:.4f} {y:.4f} {z:.4f}" for x, y, z in vertices_mm)
    tris = "\n".join(f"3 {a} {b} {c}" for a, b, c in faces)
    path.write_text(head + body + "\n" + tris + "\n")


def _models_info(v: np.ndarray) -> dict:
    from scipy.spatial import ConvexHull
    from scipy.spatial.distance import pdist

    hull = v[ConvexHull(v).vertices]
    lo, hi = v.min(0), v.max(0)
    return {"diameter": float(pdist(hull).max()), "min_x": float(lo[0]), "min_y": float(lo[1]), "min_z": float(lo[2]),
            "size_x": float(hi[0] - lo[0]), "size_y": float(hi[1] - lo[1]), "size_z": float(hi[2] - lo[2])}


_OURS = re.compile(r"^(models|scenes\.json|(train|test)_(left|right))$")  # what an export writes in OUT


def export(root: Path, out: Path, objects_dir: Path | None = None, renderer: str = "auto", skip_bad: bool = False,
           progress: Callable[[int], None] | None = None, overwrite: bool = False) -> dict:
    """Write the BOP folder ``out`` (absent or empty; with ``overwrite``, one holding an earlier BOP
    export, whose entries are replaced). The export is built in a hidden temporary folder inside
    ``out`` and moved in place when complete, so a failed export leaves nothing behind."""
    out = Path(os.path.abspath(out))  # "." has no name of its own
    if within(out, root):
        raise OutputError(f"{out}: inside the dataset {root} being read; choose an output outside it")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    stale = f".bop.*{TMP_SUFFIX}"  # the temporary folders of killed exports
    old = [p for p in out.iterdir() if p.name != LOCK_FILE and not p.match(stale)] if out.is_dir() else []
    if old and not overwrite:
        raise OutputError(f"{out}: exists and is not empty; use --overwrite to replace the BOP export in it")
    if old and not (out / "scenes.json").is_file():
        raise OutputError(f"{out}: not a BOP export made by fat (no scenes.json); refusing to delete it")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create the folder: {why(e)}") from None
    try:
        with locked(out / LOCK_FILE, out):
            for p in out.glob(stale):
                discard(p)
            tmp = temp_path(out / "bop")
            try:
                tmp.mkdir()
                result = _export(root, tmp, objects_dir, renderer, skip_bad, progress)
                for p in out.iterdir():  # the earlier export (overwrite): only what an export writes
                    if _OURS.match(p.name):
                        discard(p)
                for p in sorted(tmp.iterdir(), key=lambda p: p.name == "scenes.json"):  # scenes.json last
                    os.replace(p, out / p.name)
                tmp.rmdir()
            except OSError as e:
                raise OutputError(f"{out}: cannot write: {why(e)}") from None
            finally:
                discard(tmp)
    except BaseException:
        if created:
            try:
                out.rmdir()  # only if empty: nothing of this export stays
            except OSError:
                pass
        raise
    return result


def _imwrite(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(errno.EIO, f"could not write {path.name}")


def _export(root, out, objects_dir, renderer, skip_bad, progress) -> dict:
    ds = Dataset(root, eyes="both", fields=("seg", "depth", "annotations"))
    record = ds.base / "fat_dataset.json"
    if objects_dir is None and record.is_file():
        objects_dir = json.loads(record.read_text())["settings"].get("ycb_dir")
    infos = list(catalog.objects())
    assets = load_assets(infos, objects_dir)
    r = make_renderer(renderer)
    scenes, skipped, counters, used = {}, [], {}, set()
    per_scene: dict = {}
    try:
        for item, visib in views_with_masks(ds, skip_bad, skipped):
            key = (item["folder"], item["eye"])
            if key not in scenes:
                sid = counters.get((item["split"], item["eye"]), 0) + 1
                counters[(item["split"], item["eye"])] = sid
                scenes[key] = (f"{item['split']}_{item['eye']}", sid)
            split_dir, sid = scenes[key]
            sdir = out / split_dir / f"{sid:06d}"
            for sub in ("rgb", "depth", "mask", "mask_visib"):
                (sdir / sub).mkdir(parents=True, exist_ok=True)
            im = item["index"]
            src = ds.base / item["folder"]
            shutil.copyfile(frame_file(src, im, item["eye"], "rgb"), sdir / "rgb" / f"{im:06d}.jpg")
            shutil.copyfile(frame_file(src, im, item["eye"], "depth"), sdir / "depth" / f"{im:06d}.png")
            K = item["K"]
            T_cw = np.linalg.inv(item["camera_pose"])
            cam = {"cam_K": K.reshape(-1).tolist(), "depth_scale": 0.1,
                   "cam_R_w2c": T_cw[:3, :3].reshape(-1).tolist(), "cam_t_w2c": (T_cw[:3, 3] * 1000).tolist()}
            gts, gt_info = [], []
            loc = replace(_stage(item["location"]), props=())  # the object alone: no props in front
            for k, (o, vis) in enumerate(zip(item["objects"], visib)):
                obj = catalog.get(o["class"])
                used.add(obj.index)
                gts.append({"cam_R_m2c": o["pose"][:3, :3].reshape(-1).tolist(), "cam_t_m2c": (o["location"] * 1000).tolist(),
                            "obj_id": obj.index + 1})
                state = SceneState(loc, [assets[obj.name]], [item["camera_pose"] @ o["pose"]])
                full = r.render(state, item["camera_pose"], _intrinsics(item)).instance == 1
                full |= vis  # rasterisation at the annotated (4-decimal) pose may miss an edge pixel
                _imwrite(sdir / "mask" / f"{im:06d}_{k:06d}.png", full.astype(np.uint8) * 255)
                _imwrite(sdir / "mask_visib" / f"{im:06d}_{k:06d}.png", vis.astype(np.uint8) * 255)
                gt_info.append({"bbox_obj": _bbox(full), "bbox_visib": _bbox(vis), "px_count_all": int(full.sum()),
                                "px_count_valid": int((full & (item["depth"] > 0)).sum()), "px_count_visib": int(vis.sum()),
                                "visib_fract": float(vis.sum() / full.sum()) if full.any() else 0.0})
            d = per_scene.setdefault(sdir, ({}, {}, {}))
            d[0][str(im)], d[1][str(im)], d[2][str(im)] = cam, gts, gt_info
            if progress:
                progress(1)
    finally:
        r.close()
    (out / "models").mkdir(parents=True, exist_ok=True)
    info = {}
    for o in (infos[i] for i in sorted(used)):  # the models of the objects used
        m = load_mesh(assets[o.name].visual)
        v = m.vertices * 1000.0
        _write_ply(out / "models" / f"obj_{o.index + 1:06d}.ply", v, m.faces)
        info[str(o.index + 1)] = _models_info(v)
    (out / "models" / "models_info.json").write_text(json.dumps(info, indent=1))
    for sdir, (cam, gt, gti) in per_scene.items():
        for name, doc in (("scene_camera", cam), ("scene_gt", gt), ("scene_gt_info", gti)):
            (sdir / f"{name}.json").write_text(json.dumps(doc, indent=1))
    (out / "scenes.json").write_text(json.dumps({f"{s}/{n:06d}": {"folder": f, "eye": e} for (f, e), (s, n) in scenes.items()},
                                                indent=1))
    return {"images": sum(len(v[0]) for v in per_scene.values()), "scenes": len(scenes), "skipped": skipped}


def _bbox(m: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(m)
    if not len(xs):
        return [-1, -1, -1, -1]
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def _intrinsics(item):
    from ..geometry import Intrinsics

    K = item["K"]
    return Intrinsics(item["width"], item["height"], K[0, 0], K[1, 1], K[0, 2], K[1, 2], K[0, 1])


def _stage(name: str):
    try:
        return get_location(name)
    except ConfigError:  # a folder named unlike ours: any location serves, only the object is drawn
        return get_location("kitchen_0")
