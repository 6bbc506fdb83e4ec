"""BOP export (the scenewise layout of the BOP toolkit, thodan/bop_toolkit).

```
OUT/models/obj_000001.ply ...       every object of the dataset's set: its render mesh in FAT's object frame, mm
OUT/models/models_info.json         per object: diameter, min_x/y/z, size_x/y/z (mm), symmetries if known
OUT/models/class_names.json         per object id: its class (what ``--objects OUT/models`` names it)
OUT/<split>_<eye>/<scene>/          split train or test, eye left or right: BOP's camera types
    rgb/000000.jpg  depth/000000.png      FAT's RGB file; FAT's depth counts (depth_scale 0.1), 0 = no value
    mask/000000_000000.png                the object's silhouette in the image, rendered alone (the
                                          frame's amodal mask where it has one: fat generate --extras amodal)
    mask_visib/000000_000000.png          its visible pixels: bop_toolkit's depth test
    scene_camera.json  scene_gt.json  scene_gt_info.json  scene_gt_coco.json  scene_gt_coco_modal.json
OUT/scenes.json                     which leaf folder each scene comes from
```

Object ids are the set's order (FAT's: 1 = 002_master_chef_can ... 21 = 061_foam_brick); the
models are the meshes of the set the dataset was made with (:func:`dataset_models`). Poses: ``cam_R_m2c``
row-major, ``cam_t_m2c`` in millimetres, object frame = FAT's. A view whose frame lists no object is
left out (no image id of its scene): bop_toolkit's ``bop_scenewise.load_image_data`` stacks the
image's masks and fails on an image without any.

``scene_gt_info.json``, the masks and ``scene_gt_coco.json`` hold what bop_toolkit's
``scripts/calc_gt_info.py``, ``calc_gt_masks.py`` and ``calc_gt_coco.py`` compute from the same
files: the object rendered alone on a canvas three times the image size with the principal point
moved by the image size (so the part outside the image is counted), the visible pixels those of the
silhouette whose rendered distance is at most :data:`DELTA_MM` behind the scene's depth (or where
the depth has no value), boxes as ``misc.calc_2d_bbox`` (width = x_max - x_min).

Only the object's box of that canvas is drawn where the renderer can draw a part of its image alone
(``gl``: :meth:`fat.render.gl.renderer.GLRenderer.render_region`, a scissor rectangle in the whole canvas's
projection and viewport, so the pixels are the whole canvas's, bit for bit). The box is the
projection of the model's convex hull at the object's pose, rounded out (:func:`canvas_box`): no
pixel of the silhouette lies outside it, and one on its edge has the whole canvas drawn instead
(:func:`_silhouette`). The counts and boxes are then taken from the box's pixels at their places
on the canvas (:func:`gt_info_in_box`). Other renderers draw the whole canvas.

A frame with amodal masks (``XXXXXX.<eye>.amodal.png``, :mod:`fat.formats.extras`: each object's full
silhouette as the dataset's renderer drew it) gives ``mask/`` those masks instead of the rendered
silhouette's part in the image, and ``px_count_all`` and ``px_count_valid`` count them
(:func:`with_amodal`); ``mask_visib`` and the boxes stay those of the render.
"""

from __future__ import annotations

import errno
import json
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ..catalog import ObjectInfo, ObjectSet, YcbModels
from ..assets.objects import load_assets
from ..errors import ConfigError
from ..formats.fat import DEPTH_UNITS_PER_M, frame_file
from ..geometry import Intrinsics
from ..assets.meshes import load_mesh
from ..objectsets.bop import MAPPING_FILE as CLASS_NAMES_FILE
from ..frame import Frame
from ..render import RenderOutput, make_renderer, registry
from ..scene.scenes import get_location
from . import Export, Result, option
from .bop_truth import dist_image, gt_info_in_box, mask_bbox, rle_uncompressed
from .common import Progress, folder_output, open_dataset, skipped, views_with_masks

#: calc_gt_coco.py flags ground truth less visible than this ``ignore``.
IGNORE_BELOW = 0.1
#: ``depth_scale`` of the exported depth: FAT counts 0.1 mm.
DEPTH_SCALE = 0.1


def _write_ply(path: Path, vertices_mm: np.ndarray, faces: np.ndarray, rgb: np.ndarray) -> None:
    """An ASCII PLY with vertex colours (``red``, ``green``, ``blue``: what bop_toolkit's ``inout.load_ply`` reads)."""
    head = (f"ply\nformat ascii 1.0\nelement vertex {len(vertices_mm)}\nproperty float x\nproperty float y\n"
            "property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
            f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n")
    body = "\n".join(f"{x:.4f} {y:.4f} {z:.4f} {r} {g} {b}" for (x, y, z), (r, g, b) in zip(vertices_mm, rgb))
    tris = "\n".join(f"3 {a} {b} {c}" for a, b, c in faces)
    path.write_text(head + body + "\n" + tris + "\n")


def _vertex_colours(mesh, folder: Path) -> np.ndarray:
    """(N, 3) uint8 RGB of each vertex: the asset's texture at the vertex's UV (nearest texel)."""
    tex = cv2.imread(str(folder / "texture.png"), cv2.IMREAD_COLOR)
    if tex is None or mesh.uvs is None:
        return np.full((len(mesh.vertices), 3), 180, np.uint8)
    h, w = tex.shape[:2]
    x = np.clip(np.rint(np.mod(mesh.uvs[:, 0], 1.0) * w - 0.5), 0, w - 1).astype(int)
    y = np.clip(np.rint((1.0 - np.mod(mesh.uvs[:, 1], 1.0)) * h - 0.5), 0, h - 1).astype(int)
    return tex[y, x, ::-1]


def _bop_depth(depth_m: np.ndarray) -> np.ndarray:
    """BOP's depth image: FAT's counts of 0.1 mm (``depth_scale`` 0.1), with 0, BOP's "no value",
    where the FAT file has none (0 or 65535)."""
    return np.rint(depth_m.astype(np.float64) * DEPTH_UNITS_PER_M).astype(np.uint16)


def _models_info(v: np.ndarray) -> dict:
    from scipy.spatial import ConvexHull
    from scipy.spatial.distance import pdist

    hull = v[ConvexHull(v).vertices]
    lo, hi = v.min(0), v.max(0)
    return {"diameter": float(pdist(hull).max()), "min_x": float(lo[0]), "min_y": float(lo[1]), "min_z": float(lo[2]),
            "size_x": float(hi[0] - lo[0]), "size_y": float(hi[1] - lo[1]), "size_z": float(hi[2] - lo[2])}


_OURS = re.compile(r"^(models|scenes\.json|(train|test)_(left|right))$")  # what an export writes in OUT


def export(root: Path, out: Path, objects_dir: Path | None = None, renderer: str = "auto", skip_bad: bool = False,
           progress: Progress | None = None, overwrite: bool = False) -> dict:
    """Write the BOP folder ``out`` (absent or empty; with ``overwrite``, one holding an earlier BOP
    export, whose entries are replaced). The export is built in a hidden temporary folder inside
    ``out`` and moved in place when complete, so a failed export leaves nothing behind."""
    check_renderer(renderer)
    ds = open_dataset(root, "the BOP export copies the dataset's image files, which an export does not keep",
                      skip_bad, fields=("seg", "depth", "annotations", "amodal"))
    with folder_output(out, root, overwrite, "BOP", _OURS, "scenes.json") as tmp:
        return _export(ds, tmp, objects_dir, renderer, progress)


def _draws_alone(name: str) -> bool:
    """Whether renderer ``name`` can draw one object alone at any image size, with instance ids (a game cannot)."""
    caps = registry.renderer_class(name).capabilities
    return caps.instance_ids and not caps.needs_game


def check_renderer(name: str) -> None:
    """Refuse a renderer the BOP export cannot use, naming those it can."""
    if not _draws_alone(name):
        usable = []
        for n in registry.names():
            try:
                usable += [n] if _draws_alone(n) else []
            except ConfigError:  # a plugin that does not load
                pass
        raise ConfigError(f"--renderer {name}: the BOP export renders each object alone on a canvas three times "
                          f"the image size, with instance ids; use {', '.join(usable)}")


def _imwrite(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(errno.EIO, f"could not write {path.name}")


class _Writer:
    """PNG files encoded and written on a second thread while the next objects are drawn (OpenCV
    lets go of Python's lock while it encodes). At most ``limit`` images wait; the first failure is
    raised in the caller (by :meth:`write` or :meth:`flush`)."""

    def __init__(self, limit: int = 64):
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        self.pool, self.pending, self.limit = ThreadPoolExecutor(1), deque(), limit

    def write(self, path: Path, image: np.ndarray) -> None:
        self.pending.append(self.pool.submit(_imwrite, path, image))
        while self.pending and (len(self.pending) > self.limit or self.pending[0].done()):
            self.pending.popleft().result()

    def flush(self) -> None:
        """Wait for every file (raising the first failure)."""
        while self.pending:
            self.pending.popleft().result()

    def close(self) -> None:
        """Stop: the files not started are dropped, the one being written is waited for."""
        self.pending.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)


#: Largest cuboid difference (metres) between the dataset's object and a mesh taken for its model.
MODEL_TOLERANCE = 0.001


@dataclass(frozen=True)
class Model:
    """One object of ``models/``: its BOP ``obj_id`` (its position in the dataset's set, plus 1), its
    class as the dataset spells it, its asset (the mesh it is drawn with) and its object of the
    source set (symmetries)."""

    obj_id: int
    class_name: str
    asset: object
    source: ObjectInfo


def _recorded_classes(ds) -> list[str]:
    """The classes of the object set the dataset's ``fat_dataset.json`` lists, in its order ([] when
    it lists none: FAT's 21 objects, real FAT)."""
    record = (ds.storage.record() or {}).get("object_set")
    listed = record.get("objects") if isinstance(record, dict) else None
    return [o["class"] for o in listed if isinstance(o, dict) and isinstance(o.get("class"), str)] \
        if isinstance(listed, list) else []


def _find_class(objects: ObjectSet, cls: str) -> ObjectInfo | None:
    """The object of class ``cls`` (any case), else any object the name finds."""
    return next((o for o in objects if o.class_name.lower() == cls.lower()), None) or objects.find(cls)


def dataset_models(ds, objects_dir: Path | None) -> list[Model]:
    """The models of ``models/``, by ``obj_id``: every object of the dataset's set, those no frame
    shows included. That is every object of ``ds.objects`` and every object the dataset's
    ``fat_dataset.json`` lists for its set that no folder names (a dataset made with ``--object``
    picking some of the set's objects). The meshes are those the dataset was made with, read from
    ``objects_dir`` or the source its ``fat_dataset.json`` records (real FAT and datasets of
    stand-ins: the stand-ins). An object without a mesh of its class, or whose mesh's cuboid is not
    the dataset's (within :data:`MODEL_TOLERANCE`), is a one-line error."""
    from ..objectsets import Options, load
    from ..settings import Settings

    record = ds.storage.record() or {}
    try:
        s = Settings.from_json(record["settings"])
        options, source = Options(s.units, s.align, s.class_names), s.object_source
    except (KeyError, TypeError, ValueError, AttributeError):
        options, source = Options(), None
    if objects_dir is not None:
        source = objects_dir
    source_set = load(source, options)
    where = source if source is not None else "the built-in stand-ins"
    chosen: dict[int, tuple[str, ObjectInfo]] = {}  # obj_id -> (class, source object)
    for o in ds.objects:
        src = _find_class(source_set, o.class_name)
        if src is None:
            raise ConfigError(f"--objects {where}: no object of class {o.class_name}, which the dataset has")
        off = float(np.abs(src.dimensions - o.dimensions).max())
        if off > MODEL_TOLERANCE:
            raise ConfigError(f"--objects {where}: the cuboid of {o.class_name} is off the dataset's by {off * 1000:.1f} mm; "
                              "are these the meshes the dataset was made with?")
        chosen[o.index + 1] = (o.class_name, src)
    known = {k.lower() for o in ds.objects for k in (o.class_name, o.mixed_class_name())}
    for i, cls in enumerate(_recorded_classes(ds)):  # the set's objects no folder of the dataset names
        if cls.lower() in known or i + 1 in chosen:
            continue
        src = _find_class(source_set, cls)
        if src is None:
            raise ConfigError(f"--objects {where}: no object of class {cls}, which the dataset's object set lists "
                              "(fat_dataset.json)")
        chosen[i + 1] = (cls, src)
    if isinstance(source_set.meshes, YcbModels):  # a YCB folder may hold only the objects a dataset uses
        from ..assets.objects import find_ycb

        for i in [i for i, (_, src) in chosen.items() if find_ycb(Path(source_set.meshes.folder), src) is None]:
            del chosen[i]  # no mesh: left out of models/ (an image that shows it is refused in _export)
    assets = load_assets([src for _, src in chosen.values()], source_set.meshes)
    return [Model(i, cls, assets[src.name], src) for i, (cls, src) in sorted(chosen.items())]


def _export(ds, out, objects_dir, renderer, progress) -> dict:
    models = dataset_models(ds, objects_dir)
    by_id = {m.obj_id: m for m in models}
    r = make_renderer(renderer)
    writer = _Writer()
    region = getattr(r, "render_region", None)  # draws a box of the canvas alone (gl): see _silhouette
    hulls: dict[int, np.ndarray] = {}  # obj_id -> the vertices of its model's convex hull (metres)
    scenes, counters, alone = {}, {}, {}
    per_scene: dict = {}
    n_images, n_empty, last = 0, 0, None
    try:
        for item, _ in views_with_masks(ds, masks=False, progress=progress):  # BOP masks come from the depth test
            if per_scene and item["folder"] != last:  # views come folder by folder: the scenes before are complete
                n_images += _write_scenes(per_scene, models)
            last = item["folder"]
            if not item["objects"]:  # no mask to write: bop_toolkit cannot load such an image (module docstring)
                n_empty += 1
                continue
            sdir = _scene_folder(out, item, scenes, counters)
            im = item["index"]
            src = ds.base / item["folder"]
            shutil.copyfile(frame_file(src, im, item["eye"], "rgb"), sdir / "rgb" / f"{im:06d}.jpg")
            depth_bop = _bop_depth(item["depth"])
            writer.write(sdir / "depth" / f"{im:06d}.png", depth_bop)
            K = item["K"]
            T_cw = np.linalg.inv(item["camera_pose"])
            cam = {"cam_K": K.reshape(-1).tolist(), "depth_scale": DEPTH_SCALE,
                   "cam_R_w2c": T_cw[:3, :3].reshape(-1).tolist(), "cam_t_w2c": (T_cw[:3, 3] * 1000).tolist()}
            depth_mm = depth_bop.astype(np.float32) * DEPTH_SCALE  # 0 where there is no value, as BOP reads it
            dist_im = dist_image(depth_mm, K)
            big = _large_intrinsics(item)
            if item["location"] not in alone:  # one object per location, so a renderer keeps its upload
                alone[item["location"]] = _alone(item["location"], shadows=region is None)
            loc = alone[item["location"]]
            gts, gt_info = [], []
            coco_im = {"id": im, "file_name": f"rgb/{im:06d}.jpg", "width": item["width"], "height": item["height"],
                       "date_captured": "", "license": 1, "coco_url": "", "flickr_url": ""}
            anns_amodal, anns_modal = [], []
            for k, o in enumerate(item["objects"]):
                view = (item, k, o, src, im, sdir, loc, big, dist_im, depth_mm)
                gt, info_k, anns = _object_truth(ds, view, by_id, r, region, hulls, writer)
                gts.append(gt)
                gt_info.append(info_k)
                if anns:
                    anns_amodal.append(anns[0])
                    anns_modal.append(anns[1])
            d = per_scene.setdefault(sdir, ({}, {}, {}, [], [], []))
            d[0][str(im)], d[1][str(im)], d[2][str(im)] = cam, gts, gt_info
            d[3].append(coco_im)
            d[4].extend(anns_amodal)
            d[5].extend(anns_modal)
        writer.flush()
    finally:
        writer.close()  # before the temporary folder may be removed: no file written into it after
        r.close()
    _write_models(out / "models", models)
    n_images += _write_scenes(per_scene, models)
    (out / "scenes.json").write_text(json.dumps({f"{s}/{n:06d}": {"folder": f, "eye": e} for (f, e), (s, n) in scenes.items()},
                                                indent=1))
    return {"images": n_images, "scenes": len(scenes), "empty": n_empty, "skipped": skipped(ds),
            "without_mesh": sum(1 for o in ds.objects if o.index + 1 not in by_id)}


def _scene_folder(out: Path, item, scenes: dict, counters: dict) -> Path:
    """The scene folder of ``item``'s leaf folder and eye (numbered per split and eye as they come),
    with its image folders."""
    key = (item["folder"], item["eye"])
    if key not in scenes:
        sid = counters.get((item["split"], item["eye"]), 0) + 1
        counters[(item["split"], item["eye"])] = sid
        scenes[key] = (f"{item['split']}_{item['eye']}", sid)
    split_dir, sid = scenes[key]
    sdir = out / split_dir / f"{sid:06d}"
    for sub in ("rgb", "depth", "mask", "mask_visib"):
        (sdir / sub).mkdir(parents=True, exist_ok=True)
    return sdir


def _object_truth(ds, view, by_id: dict, r, region, hulls: dict, writer) -> tuple[dict, dict, tuple | None]:
    """(scene_gt entry, scene_gt_info entry, (amodal, modal) COCO annotations or None) of object
    ``k`` of a view, its masks written; the object rendered alone on the 3x canvas."""
    item, k, o, src, im, sdir, loc, big, dist_im, depth_mm = view
    K = item["K"]
    obj = ds.objects.get(o["class"])
    if obj.index + 1 not in by_id:
        raise ConfigError(f"{src / frame_file(src, im, item['eye'], 'annotation').name}: shows "
                          f"{o['class']}, whose mesh the object folder lacks")
    gt = {"cam_R_m2c": o["pose"][:3, :3].reshape(-1).tolist(), "cam_t_m2c": (o["location"] * 1000).tolist(),
          "obj_id": obj.index + 1}
    model = by_id[obj.index + 1]
    frame = Frame.view(loc, [(model.asset, item["camera_pose"] @ o["pose"])], item["camera_pose"], big)
    if region is None:  # the whole canvas
        out_, box = r.render(frame), (0, 0, big.width, big.height)
    else:
        if model.obj_id not in hulls:
            hulls[model.obj_id] = _hull(model.asset)
        out_, box = _silhouette(region, frame, canvas_box(hulls[model.obj_id], o["pose"], big))
    depth_gt_box = np.where(out_.instance == 1, out_.depth.astype(np.float64) * 1000.0, 0.0)
    full, vis, info_k = gt_info_in_box(depth_gt_box, box, dist_im, K)
    if "amodal_masks" in item:  # the frame's own full silhouettes
        full, info_k = with_amodal(item["amodal_masks"][k], full, info_k, depth_mm)
    writer.write(sdir / "mask" / f"{im:06d}_{k:06d}.png", full.astype(np.uint8) * 255)
    writer.write(sdir / "mask_visib" / f"{im:06d}_{k:06d}.png", vis.astype(np.uint8) * 255)
    if vis.any() and full.any():  # calc_gt_coco.py: no annotation without visible pixels
        ann = {"image_id": im, "category_id": obj.index + 1, "iscrowd": 0, "area": int(vis.sum()),
               "segmentation": rle_uncompressed(vis), "width": item["width"], "height": item["height"],
               "ignore": info_k["visib_fract"] < IGNORE_BELOW}
        return gt, info_k, ({**ann, "bbox": mask_bbox(full)}, {**ann, "bbox": mask_bbox(vis)})
    return gt, info_k, None


def _write_models(folder: Path, models: list[Model]) -> None:
    """``obj_XXXXXX.ply``, ``models_info.json`` and :data:`CLASS_NAMES_FILE` (obj_id -> class) of every model."""
    folder.mkdir(parents=True, exist_ok=True)
    info, names = {}, {}
    for mo in models:
        m = load_mesh(mo.asset.visual)
        v = m.vertices * 1000.0
        _write_ply(folder / f"obj_{mo.obj_id:06d}.ply", v, m.faces, _vertex_colours(m, mo.asset.folder))
        info[str(mo.obj_id)] = {**_models_info(v), **(mo.source.symmetry or {})}
        names[str(mo.obj_id)] = mo.class_name
    (folder / "models_info.json").write_text(json.dumps(info, indent=1))
    (folder / CLASS_NAMES_FILE).write_text(json.dumps(names, indent=1))


def _write_scenes(per_scene: dict, models: list[Model]) -> int:
    """Write the JSON files of the scenes in ``per_scene`` and empty it; returns their number of images.
    ``scene_gt_coco.json`` is calc_gt_coco.py's file (boxes of the whole silhouette in the image),
    ``scene_gt_coco_modal.json`` its ``--bbox_type modal`` variant (boxes of the visible pixels)."""
    categories = [{"id": m.obj_id, "name": str(m.obj_id), "supercategory": "fat"} for m in models]
    n = 0
    for sdir, (cam, gt, gti, images, amodal, modal) in per_scene.items():
        docs = {"scene_camera": cam, "scene_gt": gt, "scene_gt_info": gti}
        for name, anns in (("scene_gt_coco", amodal), ("scene_gt_coco_modal", modal)):
            docs[name] = {"info": {"description": f"{sdir.parent.name}/{sdir.name}", "url": "", "version": "0.1.0",
                                   "contributor": "", "date_created": ""},
                          "licenses": [], "categories": categories, "images": images,
                          "annotations": [{"id": i + 1, **a} for i, a in enumerate(anns)]}
        for name, doc in docs.items():  # the COCO files without indent: their run lengths would take a line each
            (sdir / f"{name}.json").write_text(json.dumps(doc, indent=None if "coco" in name else 1))
        n += len(cam)
    per_scene.clear()
    return n


def with_amodal(amodal: np.ndarray, rendered: np.ndarray, info: dict, depth_mm: np.ndarray) -> tuple[np.ndarray, dict]:
    """(mask, scene_gt_info entry) of an object whose frame has its amodal mask ``amodal`` (its whole
    silhouette in the image), from those of the render (``rendered`` its part in the image, ``info``
    from :func:`gt_info_in_box`). bop_toolkit's ``px_count_all`` counts the whole silhouette, its part
    beyond the image border included, which the amodal mask does not reach: it becomes the rendered
    silhouette's pixels outside the image plus the amodal mask's; ``px_count_valid`` the amodal
    mask's pixels where the depth has a value; ``visib_fract`` follows. ``px_count_visib`` and the
    boxes are the render's."""
    n_all = info["px_count_all"] - int(rendered.sum()) + int(amodal.sum())
    n_visib = info["px_count_visib"]
    return amodal, {**info, "px_count_all": n_all, "px_count_valid": int((amodal & (depth_mm > 0)).sum()),
                    "visib_fract": n_visib / float(n_all) if n_all else 0.0}


#: Pixels added around the projected hull of an object for its box on the canvas (float rounding).
BOX_PAD = 2
#: Nearest camera-frame z (metres) of a model's hull for which its projection bounds its silhouette.
BOX_MIN_Z = 1e-3


def _hull(asset) -> np.ndarray:
    """The vertices of the convex hull of the mesh ``asset`` is drawn with (metres, object frame)."""
    from scipy.spatial import ConvexHull

    v = np.asarray(load_mesh(asset.visual).vertices, dtype=np.float64)
    try:
        return v[ConvexHull(v).vertices]
    except Exception:  # a flat or degenerate mesh: all its vertices bound it too
        return v


def canvas_box(points: np.ndarray, T_co: np.ndarray, K: Intrinsics) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) on the image of ``K`` (the 3x canvas) that holds every pixel the object
    can cover: the projection of ``points`` (its convex hull, object frame) at the pose ``T_co``,
    rounded out by :data:`BOX_PAD` pixels and clipped to the image (width or height 0: nothing of it
    there). None when part of the hull is at or behind the camera plane, where a projection bounds
    nothing: the whole image then."""
    p = points @ T_co[:3, :3].T + T_co[:3, 3]
    z = p[:, 2]
    if not len(p) or not np.all(np.isfinite(p)) or z.min() < BOX_MIN_Z:
        return None
    u = (K.fx * p[:, 0] + K.s * p[:, 1]) / z + K.cx
    v = K.fy * p[:, 1] / z + K.cy
    x0, x1 = max(0, int(np.floor(u.min())) - BOX_PAD), min(K.width, int(np.ceil(u.max())) + BOX_PAD)
    y0, y1 = max(0, int(np.floor(v.min())) - BOX_PAD), min(K.height, int(np.ceil(v.max())) + BOX_PAD)
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def _silhouette(render_region, frame: Frame, box) -> tuple:
    """(render output of ``box``, ``box``) of the object of ``frame`` alone: ``render_region`` (the
    renderer's, :meth:`fat.render.gl.renderer.GLRenderer.render_region`) draws only the box of the canvas,
    with the canvas's own projection, so its pixels are the canvas's. A box with the silhouette on
    an edge that is not the canvas's (which the bound of :func:`canvas_box` rules out) is drawn
    again as the whole canvas."""
    K = frame.rig.intrinsics
    whole = (0, 0, K.width, K.height)
    box = whole if box is None else box
    x, y, w, h = box
    if w == 0 or h == 0:  # nothing of the object on the canvas
        empty = np.zeros((0, 0), np.float32)
        return RenderOutput(np.zeros((0, 0, 3), np.uint8), empty, empty.astype(np.int32)), (0, 0, 0, 0)
    out = render_region(frame, box)
    seen = out.instance != 0
    if ((x > 0 and seen[:, 0].any()) or (y > 0 and seen[0].any()) or (x + w < K.width and seen[:, -1].any())
            or (y + h < K.height and seen[-1].any())):
        return render_region(frame, whole), whole
    return out, box


def _large_intrinsics(item) -> Intrinsics:
    """The camera of calc_gt_info.py's canvas: three times the image size, the image in its middle."""
    K, W, H = item["K"], item["width"], item["height"]
    return Intrinsics(3 * W, 3 * H, K[0, 0], K[1, 1], K[0, 2] + W, K[1, 2] + H, K[0, 1])


def _alone(name: str, shadows: bool = True):
    """The location with nothing but the object: no props, the ground moved beyond the far plane;
    a glTF scene left out; without ``shadows``, no sun's shadow either (it changes colours only, never depth or ids)."""
    loc = _stage(name)
    loc = replace(loc, props=(), asset="", lights=(), ground_z=loc.ground_z - 1000.0)
    return loc if shadows else replace(loc, light=replace(loc.light, shadows=False))


def _stage(name: str):
    try:
        return get_location(name)
    except ConfigError:  # a folder named unlike ours: any location serves, only the object is drawn
        return get_location("kitchen_0")


@dataclass(frozen=True)
class BopOptions:
    """``fat export bop``'s own options (keyword arguments of :meth:`Bop.run`)."""

    objects_dir: Path | None = option(None, flag="--objects", type="path",
                                      help="The object set the dataset was made with.  [default: the one its "
                                           "fat_dataset.json names, else the stand-ins]")
    renderer: str = option("auto", flag="--renderer", type="choice", choices=registry.names, show_default=True,
                           check=lambda key, name: check_renderer(name) or name,
                           help="Renders each object alone for BOP's masks and scene_gt_info (bop_toolkit's 3x "
                                "canvas).")


class Bop(Export):
    """``fat export bop``."""

    name = "bop"
    help = "BOP's scenewise layout: models, ground truth, masks and COCO files as bop_toolkit makes them."
    description = ("DATASET in BOP's scenewise layout in OUT: models, scene_camera/scene_gt/scene_gt_info, "
                   "scene_gt_coco, rgb, depth, mask and mask_visib as bop_toolkit computes them, one BOP camera "
                   "type per eye.")
    output = "folder"
    unit = "image"
    options = BopOptions

    def run(self, dataset: Path, out: Path, *, overwrite: bool = False, skip_bad: bool = False,
            progress: Progress | None = None, objects_dir: Path | None = None, renderer: str = "auto") -> Result:
        r = export(dataset, out, objects_dir, renderer, skip_bad, progress, overwrite)
        line = f"{out}: {r['images']} images in {r['scenes']} scenes"
        if r["empty"]:
            line += f"; {r['empty']} views without objects left out"
        if r["without_mesh"] > 0:
            line += f"; {r['without_mesh']} objects of the set that no view shows left out of models/ (no mesh)"
        return Result([line], r["skipped"])
