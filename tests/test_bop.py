"""``fat export bop``: BOP's scenewise layout, read back, compared with the source frames and with what
bop_toolkit computes from the exported files."""

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from fat import catalog

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))


@pytest.fixture(scope="module")
def bop(small_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("bop") / "bop"
    r = _export_bop(small_dataset, out)
    assert r.stdout.strip() == f"{out}: 96 images in 40 scenes"
    return out


@pytest.mark.slow
def test_layout_and_models(bop):
    """models/ holds every object of the dataset's set (FAT's 21), not only the 4 its frames show,
    with class_names.json naming each id. Catches: models and models_info.json of the annotated
    objects only (ids that scene_gt_coco.json's categories list but no model backs), a missing or
    wrongly keyed class_names.json."""
    assert sorted(p.name for p in bop.iterdir()) == ["models", "scenes.json", "test_left", "test_right", "train_left",
                                                      "train_right"]
    info = json.loads((bop / "models/models_info.json").read_text())
    names = json.loads((bop / "models/class_names.json").read_text())
    fat21 = catalog.fat_objects().objects
    assert sorted(map(int, info)) == sorted(map(int, names)) == list(range(1, 22))  # the set, not the frames' 4
    assert {int(k): v for k, v in names.items()} == {o.index + 1: o.class_name for o in fat21}
    gt_ids = {g["obj_id"] for p in bop.glob("*_*/*/scene_gt.json") for im in json.loads(p.read_text()).values() for g in im}
    assert gt_ids == {catalog.fat_objects().get(n).index + 1 for n in ("banana", "mug", "mustard_bottle", "wood_block")}
    for o in fat21:
        i = info[str(o.index + 1)]
        assert np.allclose([i["size_x"], i["size_y"], i["size_z"]], o.dimensions * 1000, atol=0.01)
        assert i["diameter"] >= max(i["size_x"], i["size_y"], i["size_z"])
        assert (bop / f"models/obj_{o.index + 1:06d}.ply").read_text().startswith("ply\nformat ascii 1.0")


@pytest.mark.filterwarnings("ignore::fat.assets.meshes.MeshWarning")  # models of scans: a few zero-area triangles
@pytest.mark.slow
def test_the_exported_models_are_an_object_set_with_the_same_cuboids(bop):
    """Round trip: dataset -> BOP export -> ``--objects BOP/models`` gives the set's cuboids (within
    1 mm) and class names, each model already in its FAT-aligned frame (millimetres to metres, no
    turn, no shift). Catches: models in another frame or unit, names lost on the way (obj_000010
    instead of 011_banana_16k)."""
    from fat import objectsets

    models = objectsets.load(bop / "models")
    assert len(models) == 21
    for m in models:
        o = catalog.fat_objects().objects[int(m.name.split("_")[1]) - 1]
        assert m.class_name == o.class_name and models.get(o.class_name) is m
        assert np.abs(m.dimensions - o.dimensions).max() < 0.001, (o.name, m.dimensions, o.dimensions)
        assert np.allclose(m.model_transform[:3, :3], np.eye(3) / 1000) and np.abs(m.model_transform[:3, 3]).max() < 1e-4


@pytest.mark.slow
def test_scenes_read_back_against_the_source_frames(bop, small_dataset):
    scenes = json.loads((bop / "scenes.json").read_text())
    n = 0
    for rel, src in scenes.items():
        sdir = bop / rel
        cam = {int(k): v for k, v in json.loads((sdir / "scene_camera.json").read_text()).items()}
        gt = {int(k): v for k, v in json.loads((sdir / "scene_gt.json").read_text()).items()}
        info = {int(k): v for k, v in json.loads((sdir / "scene_gt_info.json").read_text()).items()}
        assert cam.keys() == gt.keys() == info.keys()
        folder = small_dataset / src["folder"]
        for im in gt:
            stem = folder / f"{im:06d}.{src['eye']}"
            frame = json.loads(Path(str(stem) + ".json").read_text())
            inst = cv2.imread(str(stem) + ".instance.png", cv2.IMREAD_UNCHANGED)
            fat_depth = cv2.imread(str(stem) + ".depth.png", cv2.IMREAD_UNCHANGED)
            bop_depth = cv2.imread(str(sdir / f"depth/{im:06d}.png"), cv2.IMREAD_UNCHANGED)
            # FAT's counts, and BOP's "no value" 0 where FAT has none (65535, or 0 in older datasets)
            assert bop_depth.dtype == np.uint16
            assert np.array_equal(bop_depth, np.where(fat_depth == 65535, 0, fat_depth))
            assert cam[im]["depth_scale"] == 0.1 and np.array(cam[im]["cam_K"]).reshape(3, 3)[0, 2] == 160
            assert len(gt[im]) == len(frame["objects"]) == len(info[im])
            for k, (g, o) in enumerate(zip(gt[im], frame["objects"])):
                assert g["obj_id"] == catalog.fat_objects().get(o["class"]).index + 1
                assert np.allclose(g["cam_t_m2c"], np.array(o["location"]) * 10)  # cm -> mm
                R = np.array(g["cam_R_m2c"]).reshape(3, 3)
                assert np.allclose(R @ R.T, np.eye(3), atol=1e-6)
                corner = R @ (np.array([1, -1, 1]) * catalog.fat_objects().get(o["class"]).dimensions * 500) + g["cam_t_m2c"]
                assert np.allclose(corner / 10, o["cuboid"][0], atol=0.002)  # FrontTopRight, cm
                visib = cv2.imread(str(sdir / f"mask_visib/{im:06d}_{k:06d}.png"), 0) > 0
                full = cv2.imread(str(sdir / f"mask/{im:06d}_{k:06d}.png"), 0) > 0
                assert not (visib & ~full).any()
                # The renderer's own visible pixels are visible by the depth test too, but for the
                # silhouette's edge, which the render at the annotated (rounded) pose may miss.
                seen = inst == k + 1
                assert (seen & ~visib).sum() <= 0.02 * seen.sum() + 2
                n += 1
    assert n > 100


@pytest.mark.slow
def test_bad_frames_fail_or_are_skipped(tmp_path, small_dataset):
    root = tmp_path / "bad"
    shutil.copytree(small_dataset, root)
    (root / "mixed/kitchen_4/000000.left.depth.png").write_bytes(b"x")
    r = subprocess.run([FAT, "export", "bop", str(root), str(tmp_path / "a"), "--renderer", "tiny", "--quiet"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 1 and "000000.left.depth.png: not a readable image" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "a").exists() and not list(tmp_path.glob(".a*"))
    r = subprocess.run([FAT, "export", "bop", str(root), str(tmp_path / "b"), "--renderer", "tiny", "--quiet", "--skip-bad"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0 and "skipped:" in r.stderr and "95 images" in r.stdout


# ---------------------------------------------------------------------------------------------------
# bop_toolkit's own quantities, recomputed here from its definitions (scripts/calc_gt_info.py,
# calc_gt_masks.py, calc_gt_coco.py; bop_toolkit_lib/misc.py calc_2d_bbox and depth_im_to_dist_im,
# visibility.py estimate_visib_mask_gt, pycoco_utils.py) and from the exported files only.

TOOLKIT_DELTA_MM = 15  # calc_gt_info.py / calc_gt_masks.py: "delta": 15 (5 only for ITODD)


def _toolkit_bbox(xs, ys):
    """misc.calc_2d_bbox(xs, ys, im_size) with its default clip=False."""
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())]


def _toolkit_dist(depth, K):
    """misc.depth_im_to_dist_im: pixel (x, y) at integer x, y."""
    xs, ys = np.meshgrid(np.arange(depth.shape[1]), np.arange(depth.shape[0]))
    X = (xs - K[0, 2]) * depth / K[0, 0]
    Y = (ys - K[1, 2]) * depth / K[1, 1]
    return np.sqrt(X ** 2 + Y ** 2 + depth.astype(np.float64) ** 2)


def _read_ply_vertices(path):
    lines = path.read_text().splitlines()
    n = int(next(ln for ln in lines if ln.startswith("element vertex")).split()[-1])
    start = lines.index("end_header") + 1
    return np.array([[float(x) for x in ln.split()[:3]] for ln in lines[start:start + n]])


def _recompute(bop, renderer="tiny"):
    """Per exported object: the files' values and calc_gt_info.py's quantities recomputed from the
    exported scene_camera, scene_gt, depth and models, the silhouette rendered (TinyRenderer, or
    ``renderer``) on the whole canvas 3 x the image size with the principal point moved by (W, H). The object is drawn alone (the
    ground dropped 1 km, beyond the far plane), where scene_camera's cam_R_w2c/cam_t_w2c put it in
    its location: a renderer's float rounding depends on where in the world it draws."""
    from dataclasses import replace

    from fat.assets.objects import load_assets
    from fat.geometry import Intrinsics, invert_pose, make_pose
    from fat.frame import Frame
    from fat.render import make_renderer
    from fat.scene.scenes import get_location

    assets = load_assets(list(catalog.fat_objects().objects))
    by_id = {o.index + 1: assets[o.name] for o in catalog.fat_objects().objects}
    scenes = json.loads((bop / "scenes.json").read_text())
    r = make_renderer(renderer)
    rows = []
    try:
        for sdir in sorted(p for p in bop.glob("*_*/*") if p.is_dir()):
            loc = get_location(scenes[f"{sdir.parent.name}/{sdir.name}"]["folder"].rsplit("/", 1)[-1])
            loc = replace(loc, props=(), ground_z=loc.ground_z - 1000.0)
            cams = json.loads((sdir / "scene_camera.json").read_text())
            gts = json.loads((sdir / "scene_gt.json").read_text())
            infos = json.loads((sdir / "scene_gt_info.json").read_text())
            for im, gt_list in gts.items():
                K = np.array(cams[im]["cam_K"]).reshape(3, 3)
                depth = cv2.imread(str(sdir / f"depth/{int(im):06d}.png"), cv2.IMREAD_UNCHANGED).astype(np.float32)
                depth *= cams[im]["depth_scale"]  # mm
                H, W = depth.shape
                big = Intrinsics(3 * W, 3 * H, K[0, 0], K[1, 1], K[0, 2] + W, K[1, 2] + H, K[0, 1])
                T_wc = invert_pose(make_pose(np.array(cams[im]["cam_R_w2c"]).reshape(3, 3),
                                             np.array(cams[im]["cam_t_w2c"]) / 1000.0))
                for k, (g, info) in enumerate(zip(gt_list, infos[im])):
                    T_co = make_pose(np.array(g["cam_R_m2c"]).reshape(3, 3), np.array(g["cam_t_m2c"]) / 1000.0)
                    out = r.render(Frame.view(loc, [(by_id[g["obj_id"]], T_wc @ T_co)], T_wc, big))
                    depth_gt_large = np.where(out.instance == 1, out.depth * 1000.0, 0.0)
                    depth_gt = depth_gt_large[H:2 * H, W:2 * W]
                    dist_gt, dist_im = _toolkit_dist(depth_gt, K), _toolkit_dist(depth, K)
                    diff = dist_gt.astype(np.float32) - dist_im.astype(np.float32)
                    visib = ((diff <= TOOLKIT_DELTA_MM) | (dist_im == 0)) & (dist_gt > 0)
                    rows.append({
                        "scene": sdir, "im": int(im), "k": k, "gt": g, "info": info, "K": K, "size": (W, H),
                        "large": depth_gt_large > 0, "mask_gt": dist_gt > 0, "visib_gt": visib, "diff": diff,
                        "mask": cv2.imread(str(sdir / f"mask/{int(im):06d}_{k:06d}.png"), 0) > 0,
                        "mask_visib": cv2.imread(str(sdir / f"mask_visib/{int(im):06d}_{k:06d}.png"), 0) > 0,
                        "valid": int((dist_im[dist_gt > 0] > 0).sum())})
    finally:
        r.close()
    return rows


@pytest.fixture(scope="module")
def recomputed(bop):
    rows = _recompute(bop)
    assert len(rows) > 100
    return rows


def _matches_calc_gt_info(row) -> bool:
    """Asserts that the exported row (its scene_gt_info entry and both masks) equals calc_gt_info.py's
    values recomputed on the 3x canvas; returns whether the object has visible pixels (boxes checked)."""
    info = row["info"]
    W, H = row["size"]
    assert info["px_count_all"] == row["large"].sum()
    assert np.array_equal(row["mask"], row["mask_gt"]) and np.array_equal(row["mask_visib"], row["visib_gt"])
    assert info["px_count_visib"] == row["visib_gt"].sum() and info["px_count_valid"] == row["valid"]
    assert info["visib_fract"] == (row["visib_gt"].sum() / row["large"].sum() if row["large"].any() else 0.0)
    if not row["visib_gt"].any():
        assert info["bbox_obj"] == info["bbox_visib"] == [-1, -1, -1, -1]
        return False
    ys, xs = np.nonzero(row["large"])
    assert info["bbox_obj"] == _toolkit_bbox(xs - W, ys - H)
    ys, xs = np.nonzero(row["visib_gt"])
    assert info["bbox_visib"] == _toolkit_bbox(xs, ys)
    return True


def _crossing(row):
    """Whether the recomputed silhouette reaches outside the image."""
    return row["large"].sum() > row["mask_gt"].sum()


@pytest.mark.slow
def test_bbox_obj_is_the_box_of_the_whole_silhouette_past_the_image_border(recomputed, bop):
    """bbox_obj is calc_gt_info.py's box of the silhouette on the 3x canvas, shifted back by (W, H) and
    not clipped. Catches: a box clipped to the image (no negative x/y, none past the border), a box of
    the in-image mask only, a shift by the wrong offset. Checked twice: against the 3x render, and,
    without any renderer, against the extent of the projected model vertices (within a pixel)."""
    models = {}
    crossing = 0
    for row in recomputed:
        info = row["info"]
        if not row["visib_gt"].any():
            assert info["bbox_obj"] == [-1, -1, -1, -1]  # calc_gt_info.py: no box without visible pixels
            continue
        ys, xs = np.nonzero(row["large"])
        W, H = row["size"]
        assert info["bbox_obj"] == _toolkit_bbox(xs - W, ys - H)
        g = row["gt"]
        if g["obj_id"] not in models:
            models[g["obj_id"]] = _read_ply_vertices(bop / f"models/obj_{g['obj_id']:06d}.ply")
        p = models[g["obj_id"]] @ np.array(g["cam_R_m2c"]).reshape(3, 3).T + g["cam_t_m2c"]
        uv = (p @ row["K"].T)[:, :2] / p[:, 2:]
        x, y, w, h = info["bbox_obj"]
        assert np.allclose([x, y, x + w, y + h], np.floor([*uv.min(0), *uv.max(0)]), atol=1.0)
        crossing += _crossing(row)
    assert crossing >= 5  # the dataset has objects cut by the image border


def test_px_count_all_is_the_silhouette_rendered_at_three_times_the_image_size(recomputed):
    """px_count_all counts the whole silhouette, including its part outside the image, as rendered by
    calc_gt_info.py on a canvas 3 x the image size; visib_fract = px_count_visib / px_count_all.
    Catches: counting only the in-image mask (visib_fract 1.0 for a half-cut object), a canvas of
    another size or offset, visib_fract from FAT's own visibility or against the in-image mask."""
    cut = 0
    for row in recomputed:
        info = row["info"]
        n_all = int(row["large"].sum())
        assert info["px_count_all"] == n_all
        assert info["visib_fract"] == (int(row["visib_gt"].sum()) / n_all if n_all else 0.0)
        assert np.array_equal(row["mask"], row["mask_gt"])  # mask: the silhouette's in-image part
        if _crossing(row):
            assert n_all > row["mask"].sum()
            cut += info["px_count_all"] - row["mask"].sum() > 0.1 * info["px_count_all"]
    assert cut >= 5  # objects with more than a tenth of their silhouette outside the image


def test_boxes_use_calc_2d_bbox_width_is_max_minus_min(recomputed):
    """Both boxes follow misc.calc_2d_bbox: [x_min, y_min, x_max - x_min, y_max - y_min], no + 1.
    Catches a box one pixel wider and taller than the toolkit's (COCO's + 1 convention), and
    x, y, w, h in another order. Read from the exported mask PNGs."""
    inside = 0
    for row in recomputed:
        info = row["info"]
        if not row["mask_visib"].any():
            assert info["bbox_visib"] == [-1, -1, -1, -1]
            continue
        ys, xs = np.nonzero(row["mask_visib"])
        assert info["bbox_visib"] == [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
        if not _crossing(row):  # whole object in the image: its box is the mask's
            ys, xs = np.nonzero(row["mask"])
            assert info["bbox_obj"] == [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
            inside += 1
    assert inside > 50


def test_visible_pixels_are_the_toolkits_depth_test_with_15_mm_tolerance(recomputed):
    """mask_visib, px_count_visib and px_count_valid are calc_gt_info.py's: a silhouette pixel is
    visible where the rendered distance is at most 15 mm behind the scene's distance (both from the
    exported depth, depth_im_to_dist_im) or the depth has no value (visib_mode bop19); valid where the
    depth has a value. Catches: FAT's instance map instead of the depth test, a tolerance in metres or
    of 0, z-depth compared instead of distance, px_count_valid over the whole image."""
    in_tolerance = occluded = 0
    for row in recomputed:
        info = row["info"]
        assert np.array_equal(row["mask_visib"], row["visib_gt"])
        assert info["px_count_visib"] == row["visib_gt"].sum()
        assert info["px_count_valid"] == row["valid"]
        sil = row["mask_gt"]
        in_tolerance += int((sil & (row["diff"] > 0.5) & (row["diff"] <= TOOLKIT_DELTA_MM)).sum())
        occluded += int((sil & (row["diff"] > TOOLKIT_DELTA_MM)).sum())
    assert in_tolerance > 20 and occluded > 1000  # both sides of the tolerance occur


@pytest.mark.slow
def test_scene_gt_coco_is_calc_gt_coco_layout_and_reads_in_pycocotools(recomputed, bop):
    """scene_gt_coco.json is calc_gt_coco.py's file (what eval_bop22_coco.py reads): images with id =
    image id and file_name relative to the scene; one annotation per object with visible pixels, ids
    from 1 in order, category_id = obj_id, segmentation as uncompressed RLE of mask_visib, area its
    pixels, bbox (+ 1 convention) of mask ("amodal") or of mask_visib (scene_gt_coco_modal.json), ignore
    when visib_fract < 0.1. Catches: RLE in row-major order or compressed, the wrong box convention,
    ids off by one, missing ignore flags, annotations for objects without visible pixels."""
    from pycocotools import mask as mask_api
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    by_scene = {}
    for row in recomputed:
        by_scene.setdefault(row["scene"], []).append(row)
    ignored = 0
    for sdir, rows in by_scene.items():
        for name, key in (("scene_gt_coco", "mask"), ("scene_gt_coco_modal", "mask_visib")):
            raw = json.loads((sdir / f"{name}.json").read_text())
            assert {c["id"] for c in raw["categories"]} == set(range(1, 22))
            assert all(c["name"] == str(c["id"]) for c in raw["categories"])
            coco = COCO(str(sdir / f"{name}.json"))
            assert sorted(coco.getImgIds()) == sorted({r["im"] for r in rows})
            for img in raw["images"]:
                assert (sdir / img["file_name"]).is_file() and img["file_name"] == f"rgb/{img['id']:06d}.jpg"
                assert (img["width"], img["height"]) == rows[0]["size"]
            expected = [r for r in rows if r["mask_visib"].any() and r["mask"].any()]
            assert [a["id"] for a in raw["annotations"]] == list(range(1, len(expected) + 1))
            for a, r in zip(raw["annotations"], expected):
                assert isinstance(a["segmentation"]["counts"], list)
                assert (a["image_id"], a["category_id"], a["iscrowd"]) == (r["im"], r["gt"]["obj_id"], 0)
                assert np.array_equal(coco.annToMask(coco.anns[a["id"]]), r["mask_visib"])
                assert a["area"] == r["mask_visib"].sum()
                ys, xs = np.nonzero(r[key])
                assert a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
                assert a["ignore"] is (r["info"]["visib_fract"] < 0.1)
                ignored += a["ignore"]
            if name == "scene_gt_coco" and raw["annotations"]:  # the ground truth scored against itself
                W, H = rows[0]["size"]
                dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "score": 1.0, "bbox": a["bbox"],
                         "segmentation": mask_api.frPyObjects(a["segmentation"], H, W)} for a in raw["annotations"]]
                ev = COCOeval(coco, coco.loadRes(dets), "segm")
                ev.evaluate()
                ev.accumulate()
                ev.summarize()
                assert ev.stats[0] == pytest.approx(1.0)
    assert ignored >= 1


CROP = (120, 30, 170, 150)  # x0, y0, x1, y1 of the window cut from the 320 x 180 images


@pytest.fixture(scope="module")
def cropped(small_dataset, tmp_path_factory):
    """mixed/kitchen_0 of the small dataset cut to the window CROP, principal point moved with it:
    the same views, now with objects cut by the left and right image borders; and its BOP export."""
    x0, y0, x1, y1 = CROP
    root = tmp_path_factory.mktemp("crop") / "ds"
    src, dst = small_dataset / "mixed/kitchen_0", root / "mixed/kitchen_0"
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.suffix in (".png", ".jpg"):
            cv2.imwrite(str(dst / f.name), cv2.imread(str(f), cv2.IMREAD_UNCHANGED)[y0:y1, x0:x1])
        else:
            shutil.copyfile(f, dst / f.name)
    cams = json.loads((dst / "_camera_settings.json").read_text())
    for c in cams["camera_settings"]:
        c["intrinsic_settings"]["cx"] -= x0
        c["intrinsic_settings"]["cy"] -= y0
        c["captured_image_size"] = {"width": x1 - x0, "height": y1 - y0}
    (dst / "_camera_settings.json").write_text(json.dumps(cams))
    out = tmp_path_factory.mktemp("bop_crop") / "bop"
    _export_bop(root, out)
    return out


@pytest.mark.slow
def test_objects_cut_by_the_left_and_right_borders_get_the_toolkits_numbers(cropped, recomputed, bop):
    """Views cut to a narrow window (the principal point moved with it), so objects cross the left and
    right borders: every scene_gt_info value and both masks equal calc_gt_info.py's, recomputed from
    the files; and the whole silhouette's count and box equal those of the uncut view's export
    (shifted by the window's corner; within a pixel of rasterisation). Catches clipping or counting
    that only shows on x (the small dataset's objects leave the image at the top only)."""
    rows = _recompute(cropped)
    x0, y0 = CROP[:2]
    full = {(r["scene"].relative_to(bop).as_posix(), r["im"], r["k"]): r for r in recomputed}
    crop_scenes = json.loads((cropped / "scenes.json").read_text())
    full_scenes = {(v["folder"], v["eye"]): k for k, v in json.loads((bop / "scenes.json").read_text()).items()}
    left = right = compared = 0
    for row in rows:
        if not _matches_calc_gt_info(row):
            continue
        info, (W, H) = row["info"], row["size"]
        x, y, w, h = info["bbox_obj"]
        left += x < 0
        right += x + w > W - 1
        src = crop_scenes[f"{row['scene'].parent.name}/{row['scene'].name}"]
        u = full[(full_scenes[(src["folder"], src["eye"])], row["im"], row["k"])]
        fx, fy, fw, fh = u["info"]["bbox_obj"]
        if fx >= x0 - W and fy >= y0 - H and fx + fw < x0 + 2 * W and fy + fh < y0 + 2 * H:  # on both canvases
            assert abs(info["px_count_all"] - u["info"]["px_count_all"]) <= 0.01 * u["info"]["px_count_all"] + 2
            assert np.allclose([x + x0, y + y0, x + w + x0, y + h + y0], [fx, fy, fx + fw, fy + fh], atol=1)
            compared += 1
    assert left >= 3 and right >= 3 and compared >= 5


# ---------------------------------------------------------------------------------------------------
# An own set of three objects, of which the dataset's frames show two (``objects`` picks block and can
# from ball, block, can): the export's models are the whole set, and views without objects.

@pytest.fixture(scope="module")
def own_set(tmp_path_factory):
    """A folder of three meshes (ball, block, can) and a dataset of single drops of two of them."""
    import trimesh

    from fat.run.driver import generate
    from fat.settings import Settings

    root = tmp_path_factory.mktemp("own_set")
    meshes = root / "meshes"
    meshes.mkdir()
    trimesh.creation.icosphere(2, 0.04).export(meshes / "ball.obj")
    trimesh.creation.box((0.08, 0.05, 0.03)).export(meshes / "block.obj")
    trimesh.creation.cylinder(0.03, 0.1, sections=24).export(meshes / "can.obj")
    ds = root / "ds"
    with warnings.catch_warnings():  # the meshes have no colours: drawn grey, with a warning
        warnings.simplefilter("ignore")
        generate(Settings(kinds=("single",), scenes=("kitchen",), locations=(0,), objects=("block", "can"),
                          object_source=str(meshes), single_frames=2, frames_per_drop=2, seed=3, width=160,
                          height=90, renderer="tiny"), ds)
    return meshes, ds


def _export_bop(ds, out, *extra, renderer="tiny"):
    """``fat export bop DS OUT`` with ``renderer``, which must succeed; the finished process."""
    r = subprocess.run([FAT, "export", "bop", str(ds), str(out), "--renderer", renderer, "--quiet", *extra],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.filterwarnings("ignore::fat.assets.meshes.MeshWarning")
@pytest.mark.slow
def test_models_hold_every_object_of_the_set_and_their_class_names_come_back(own_set, tmp_path):
    """The dataset's frames show block and can; its set (fat_dataset.json) is ball, block, can. The
    export's models/ and models_info.json hold all three at their set positions (ball 1, block 2,
    can 3), class_names.json names them, and ``fat.objectsets.load(EXPORT/models)`` gives back every
    object with its class and cuboid; ``--class-names FILE`` still wins over the file beside the
    models. Catches: models of the annotated objects only (the ball missing), ids renumbered over
    the objects present (can as 2), class names lost (obj_000003 instead of can)."""
    from fat import Dataset, objectsets

    meshes, ds = own_set
    assert {o.class_name for o in Dataset(ds, fields=()).objects} == {"block", "can"}  # what the folders name
    out = tmp_path / "bop"
    _export_bop(ds, out)
    info = json.loads((out / "models/models_info.json").read_text())
    assert sorted(info) == ["1", "2", "3"]
    names = json.loads((out / "models/class_names.json").read_text())
    assert names == {"1": "ball", "2": "block", "3": "can"}
    assert sorted(p.name for p in (out / "models").glob("*.ply")) == [f"obj_{i:06d}.ply" for i in (1, 2, 3)]
    gt_ids = {g["obj_id"] for p in out.glob("*_*/*/scene_gt.json") for im in json.loads(p.read_text()).values() for g in im}
    assert gt_ids == {2, 3}
    coco = json.loads(next(out.glob("*_*/*/scene_gt_coco.json")).read_text())
    assert [c["id"] for c in coco["categories"]] == [1, 2, 3]  # every category has its model
    source, back = objectsets.load(meshes), objectsets.load(out / "models")
    assert [o.class_name for o in back] == [o.class_name for o in source] == ["ball", "block", "can"]
    for o, s in zip(back, source):
        assert np.abs(o.dimensions - s.dimensions).max() < 0.001, (o.class_name, o.dimensions, s.dimensions)
    other = tmp_path / "names.json"
    other.write_text(json.dumps({"1": "sphere", "2": "brick", "3": "tin"}))
    given = objectsets.load(out / "models", objectsets.Options(class_names=str(other)))
    assert [o.class_name for o in given] == ["sphere", "brick", "tin"]


# bop_toolkit's loader of one image of a scenewise dataset, as bop_toolkit_lib/dataset/bop_scenewise.py
# (thodan/bop_toolkit at cea62d651c7e395b2e1962b9749e4e89693c6ac4) writes it: load_image_data,
# load_masks and instance_id_from_mask_filename, with inout.load_im, load_json, load_scene_camera and
# _gt_as_numpy of bop_toolkit_lib/inout.py. inout.load_im is imageio.v2.imread there; here cv2 reads
# the same arrays (RGB order, 8-bit masks, 16-bit depth).

def _tk_load_im(path):
    im = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if im is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(im, cv2.COLOR_BGR2RGB) if im.ndim == 3 else im


def _tk_load_json(path, keys_to_int=False):
    def convert_keys_to_int(x):
        return {int(k) if k.lstrip("-").isdigit() else k: v for k, v in x.items()}

    with open(path) as f:
        return json.load(f, object_hook=convert_keys_to_int) if keys_to_int else json.load(f)


def _tk_camera_as_numpy(camera):
    if "cam_K" in camera and "cam_model" in camera:
        raise ValueError("Only one of 'cam_K', 'cam_model' field should be present in a scene camera configuration")
    if "cam_K" in camera:
        camera["cam_K"] = np.array(camera["cam_K"], np.float64).reshape((3, 3))
    if "cam_R_w2c" in camera:
        camera["cam_R_w2c"] = np.array(camera["cam_R_w2c"], np.float64).reshape((3, 3))
    if "cam_t_w2c" in camera:
        camera["cam_t_w2c"] = np.array(camera["cam_t_w2c"], np.float64).reshape((3, 1))
    return camera


def _tk_load_scene_camera(path):
    scene_camera = _tk_load_json(path, keys_to_int=True)
    for im_id in scene_camera:
        scene_camera[im_id] = _tk_camera_as_numpy(scene_camera[im_id])
    return scene_camera


def _tk_gt_as_numpy(gt):
    if "cam_R_m2c" in gt:
        gt["cam_R_m2c"] = np.array(gt["cam_R_m2c"], np.float64).reshape((3, 3))
    if "cam_t_m2c" in gt:
        gt["cam_t_m2c"] = np.array(gt["cam_t_m2c"], np.float64).reshape((3, 1))
    return gt


def _tk_instance_id_from_mask_filename(fn):
    return int(re.findall(r"\d+", fn)[-1])


def _tk_load_masks(scene_dir, image_id, mask_type="mask", n_instances=None, instance_ids=None):
    if n_instances is not None and instance_ids is None:
        instance_ids = range(n_instances)
    if instance_ids is not None:
        mask_paths = (scene_dir / mask_type / f"{image_id:06d}_{instance_id:06d}.png" for instance_id in instance_ids)
    else:
        mask_paths = (scene_dir / mask_type).glob(f"{image_id:06d}_*.png")
        mask_paths = sorted(mask_paths, key=lambda p: _tk_instance_id_from_mask_filename(p.name))
    return np.stack([_tk_load_im(p) for p in mask_paths])


def _tk_load_image_data(scene_dir, image_id, load_rgb=True, load_gray=False, load_depth=True, load_mask_visib=True,
                        load_mask=False, load_gt=False, load_gt_info=False, rescale_depth=True, instance_ids=None):
    image_data = dict(camera=None, im_rgb=None, im_gray=None, mask=None, mask_visib=None, gt=None, gt_info=None)
    scene_dir = Path(scene_dir)
    if isinstance(image_id, str):
        image_id = int(image_id)
    scene_cameras = _tk_load_scene_camera(scene_dir / "scene_camera.json")
    camera = scene_cameras[image_id]
    n_instances = None
    image_data["camera"] = camera
    if load_rgb:
        rgb_path = scene_dir / "rgb" / f"{image_id:06d}.jpg"
        if not rgb_path.exists():
            rgb_path = rgb_path.with_suffix(".png")
        image_data["im_rgb"] = _tk_load_im(rgb_path).astype(np.uint8)
    if load_gray:
        image_data["im_gray"] = _tk_load_im(scene_dir / "gray" / f"{image_id:06d}.tiff").astype(np.uint8)
    if load_depth:
        im_depth = _tk_load_im(scene_dir / "depth" / f"{image_id:06d}.png").astype(np.float32)
        if rescale_depth:
            im_depth *= camera["depth_scale"]
        image_data["im_depth"] = im_depth
    if load_gt:
        gt = _tk_load_json(scene_dir / "scene_gt.json", keys_to_int=True)[image_id]
        if instance_ids is not None:
            gt = [gt_n for n, gt_n in enumerate(gt) if n in instance_ids]
        gt = [_tk_gt_as_numpy(gt_n) for gt_n in gt]
        n_instances = len(gt)
        image_data["gt"] = gt
    if load_gt_info:
        gt_info = _tk_load_json(scene_dir / "scene_gt_info.json", keys_to_int=True)[image_id]
        if instance_ids is not None:
            gt_info = [g for n, g in enumerate(gt_info) if n in instance_ids]
        gt_info = [_tk_gt_as_numpy(g) for g in gt_info]
        n_instances = len(gt_info)
        image_data["gt_info"] = gt_info
    if load_mask_visib:
        image_data["mask_visib"] = _tk_load_masks(scene_dir, image_id, mask_type="mask_visib", n_instances=n_instances,
                                                  instance_ids=instance_ids)
    if load_mask:
        image_data["mask"] = _tk_load_masks(scene_dir, image_id, mask_type="mask", n_instances=n_instances,
                                            instance_ids=instance_ids)
    return image_data


def _every_image(bop, load):
    """(scene folder, image id, load's result) for every image of every scene of the export."""
    out = []
    for sdir in sorted(p for p in bop.glob("*_*/*") if p.is_dir()):
        for im in json.loads((sdir / "scene_camera.json").read_text()):
            out.append((sdir, int(im), load(sdir, int(im))))
            out.append((sdir, int(im), load(sdir, int(im), load_mask=True, load_gt=True, load_gt_info=True)))
    return out


@pytest.fixture(scope="module")
def with_empty_views(own_set, tmp_path_factory):
    """The own set's dataset with frame 0 of the block's folder listing no object (both eyes) and
    every frame of the can's folder likewise, and its BOP export."""
    _, src = own_set
    ds = tmp_path_factory.mktemp("empty") / "ds"
    shutil.copytree(src, ds)
    emptied = [p for p in ds.glob("single/block/kitchen_0/000000.*.json")] + list(ds.glob("single/can/kitchen_0/0*.json"))
    assert len(emptied) == 6
    for p in emptied:
        doc = json.loads(p.read_text())
        doc["objects"] = []
        p.write_text(json.dumps(doc))
    out = tmp_path_factory.mktemp("bop_empty") / "bop"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = _export_bop(ds, out)
    return ds, out, r


def test_views_without_objects_are_left_out_and_bop_toolkits_loader_reads_every_image(with_empty_views):
    """A view whose frame lists no object (``"objects": []``) is left out: its image id is absent from
    its scene's files, a scene of such views only is not written, the others keep their FAT frame
    numbers, and the summary counts the views left out. bop_toolkit's own
    ``bop_scenewise.load_image_data`` (followed line by line above) then reads every image of the
    export, masks included. Catches: an image written with an empty scene_gt list and no mask file,
    on which the toolkit's ``np.stack([])`` raises "need at least one array to stack"."""
    ds, bop, r = with_empty_views
    loaded = _every_image(bop, _tk_load_image_data)
    assert len(loaded) == 4
    assert r.stdout.strip() == f"{bop}: 2 images in 2 scenes; 6 views without objects left out"
    scenes = json.loads((bop / "scenes.json").read_text())
    assert sorted(scenes.values(), key=lambda v: v["eye"]) == [
        {"folder": "single/block/kitchen_0", "eye": "left"}, {"folder": "single/block/kitchen_0", "eye": "right"}]
    for rel in scenes:
        sdir = bop / rel
        for name in ("scene_camera", "scene_gt", "scene_gt_info"):
            assert list(json.loads((sdir / f"{name}.json").read_text())) == ["1"], name
        coco = json.loads((sdir / "scene_gt_coco.json").read_text())
        assert [im["id"] for im in coco["images"]] == [1]
        assert sorted(p.name for p in (sdir / "rgb").iterdir()) == ["000001.jpg"]
    for sdir, im, data in loaded:
        assert data["mask_visib"].shape == (1, 90, 160) and data["im_rgb"].shape == (90, 160, 3)
        if data["gt"] is not None:
            assert data["mask"].shape == (1, 90, 160) and data["gt"][0]["obj_id"] == 2
            assert data["gt_info"][0]["px_count_visib"] == (data["mask_visib"][0] > 0).sum()


def test_the_toolkit_loader_here_fails_as_the_toolkit_does_on_an_image_without_masks(with_empty_views, tmp_path):
    """The loader followed above is the toolkit's in what matters here: given an image that lists no
    object and has no mask file (what the export wrote before leaving such views out), it raises
    numpy's "need at least one array to stack", as bop_toolkit does. Catches a loader in these tests
    that would pass such an image, so that the test above could not fail."""
    _, bop, _ = with_empty_views
    sdir = tmp_path / "scene"
    shutil.copytree(next(p for p in bop.glob("train_left/*") if p.is_dir()), sdir)
    for name, value in (("scene_camera", None), ("scene_gt", []), ("scene_gt_info", [])):
        doc = json.loads((sdir / f"{name}.json").read_text())
        doc["0"] = doc["1"] if value is None else value
        (sdir / f"{name}.json").write_text(json.dumps(doc))
    shutil.copyfile(sdir / "rgb/000001.jpg", sdir / "rgb/000000.jpg")
    shutil.copyfile(sdir / "depth/000001.png", sdir / "depth/000000.png")
    with pytest.raises(ValueError, match="need at least one array to stack"):
        _tk_load_image_data(sdir, 0)
    _tk_load_image_data(sdir, 1)


def test_bop_toolkits_installed_loader_reads_every_image(with_empty_views):
    """Where bop_toolkit_lib is installed (it is not on PyPI's usual index for every platform), its own
    ``bop_scenewise.load_image_data`` reads every image of the export with empty views. Catches
    what the re-implementation above could miss of the installed toolkit's behaviour."""
    scenewise = pytest.importorskip("bop_toolkit_lib.dataset.bop_scenewise", reason="bop_toolkit_lib is not installed")
    _, bop, _ = with_empty_views
    assert len(_every_image(bop, scenewise.load_image_data)) == 4


# ---------------------------------------------------------------------------------------------------
# The silhouette drawn only in its box of the 3x canvas (gl's render_region): the same pixels, and so
# the same numbers, as the whole canvas, at a cost that follows the object's size.

def _gl_or_skip():
    from conftest import gl_available

    why = gl_available()
    if why:
        pytest.skip(f"the gl renderer is not available here: {why}")


@pytest.mark.slow
def test_gl_render_region_is_the_whole_canvas_in_its_box(small_dataset):
    """Each object of some views drawn alone on the 3x canvas, once whole (``render``) and once in
    its box only (``render_region`` with the box of ``canvas_box``): inside the box RGB, depth and
    instance ids are bit for bit the whole canvas's, outside it the whole canvas has nothing of the
    object; a whole render after box renders is again the first one (no scissor left behind).
    Catches: a box made by shifting the principal point or the viewport (other float rounding, so
    other edge pixels), a bound that cuts the silhouette, rows counted from the wrong end."""
    _gl_or_skip()
    from fat import Dataset
    from fat.assets.objects import load_assets
    from fat.exports.bop import _alone, _hull, _large_intrinsics, canvas_box
    from fat.frame import Frame
    from fat.render import make_renderer

    ds = Dataset(small_dataset, eyes="both", fields=("annotations",))
    assets = load_assets(list(catalog.fat_objects().objects))
    r = make_renderer("gl")
    n = 0
    try:
        for item in ds:
            if n >= 24:
                break
            big = _large_intrinsics(item)
            loc = _alone(item["location"])
            for o in item["objects"]:
                asset = assets[catalog.fat_objects().get(o["class"]).name]
                frame = Frame.view(loc, [(asset, item["camera_pose"] @ o["pose"])], item["camera_pose"], big)
                whole = r.render(frame)
                box = canvas_box(_hull(asset), o["pose"], big)
                assert box is not None and box[2] > 0 and box[3] > 0
                x, y, w, h = box
                part = r.render_region(frame, box)
                for a, b in ((whole.rgb, part.rgb), (whole.depth, part.depth), (whole.instance, part.instance)):
                    assert b.shape[:2] == (h, w) and np.array_equal(a[y:y + h, x:x + w], b)
                outside = whole.instance.copy()
                outside[y:y + h, x:x + w] = 0
                assert whole.instance[y:y + h, x:x + w].any() and not outside.any()
                n += 1
        again = r.render(frame)
        assert np.array_equal(again.rgb, whole.rgb) and np.array_equal(again.depth, whole.depth)
        assert np.array_equal(again.instance, whole.instance)
        with pytest.raises(ValueError):
            r.render_region(frame, (big.width - 4, 0, 8, 8))  # past the canvas
    finally:
        r.close()
    assert n >= 24


def test_gt_info_in_a_box_is_the_whole_canvas_computation():
    """``gt_info_in_box`` on the box of a silhouette gives what ``gt_info_of`` gives on the whole
    3x canvas: both masks, every scene_gt_info value (boxes past the image border, counts, the
    fraction), for silhouettes inside the image, across each border, wholly outside it and empty,
    with boxes tight or loose. Catches: pixel coordinates of the box taken from the box's corner
    instead of the canvas's (distances of other rays), the image's part of the box off by one."""
    from fat.exports.bop_truth import dist_image, gt_info_in_box, gt_info_of

    rng = np.random.default_rng(5)
    W, H = 64, 48
    K = np.array([[70.0, 0, 32.5], [0, 70.0, 24.5], [0, 0, 1]])
    scene = rng.uniform(400, 900, (H, W)).astype(np.float32)
    scene[rng.random((H, W)) < 0.1] = 0  # no value
    dist_im = dist_image(scene, K)
    centres = [(96, 72), (66, 50), (130, 100), (40, 72), (96, 30), (10, 10), (180, 130)]
    for k, (cx, cy) in enumerate(centres * 3):
        large = np.zeros((3 * H, 3 * W))
        ys, xs = np.mgrid[:3 * H, :3 * W]
        blob = (xs - cx) ** 2 / rng.uniform(30, 600) + (ys - cy) ** 2 / rng.uniform(30, 600) < 1
        large[blob] = rng.uniform(380, 920, blob.sum())
        if k == 0:
            large[:] = 0
        full = gt_info_of(large, scene, K)
        ys, xs = np.nonzero(large)
        x0, y0 = (xs.min(), ys.min()) if len(xs) else (cx, cy)
        x1, y1 = (xs.max() + 1, ys.max() + 1) if len(xs) else (cx, cy)
        pad = int(rng.integers(0, 4))
        x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
        x1, y1 = min(3 * W, x1 + pad), min(3 * H, y1 + pad)
        part = gt_info_in_box(large[y0:y1, x0:x1], (x0, y0, x1 - x0, y1 - y0), dist_im, K)
        assert np.array_equal(part[0], full[0]) and np.array_equal(part[1], full[1])
        assert part[2] == full[2]


def test_a_box_that_cuts_the_silhouette_is_drawn_again_as_the_whole_canvas():
    """``_silhouette`` checks the box it drew: the silhouette on an edge of the box that is not the
    canvas's means the bound was wrong, and the whole canvas is drawn instead; on an edge that is the
    canvas's, the box stands; an empty box draws nothing. Catches a wrong bound passing silently."""
    from fat.exports.bop import _silhouette
    from fat.frame import Frame
    from fat.geometry import Intrinsics
    from fat.render import RenderOutput
    from fat.scene.scenes import get_location

    K = Intrinsics(30, 20, 20.0, 20.0, 15.0, 10.0)
    inst = np.zeros((20, 30), np.int32)
    inst[2:9, 0:12] = 1
    calls = []

    def region(frame, box):
        calls.append(box)
        x, y, w, h = box
        i = inst[y:y + h, x:x + w]
        return RenderOutput(np.zeros((h, w, 3), np.uint8), i.astype(np.float32), i.copy())

    frame = Frame.view(get_location("kitchen_0"), [], np.eye(4), K)
    out, box = _silhouette(region, frame, (0, 1, 13, 9))  # left edge on the canvas's
    assert box == (0, 1, 13, 9) and calls == [box] and out.instance.sum() == inst.sum()
    out, box = _silhouette(region, frame, (0, 1, 10, 9))  # cuts the silhouette on the right
    assert box == (0, 0, 30, 20) and calls[-2:] == [(0, 1, 10, 9), (0, 0, 30, 20)]
    assert np.array_equal(out.instance, inst)
    calls.clear()
    out, box = _silhouette(region, frame, (25, 3, 0, 4))
    assert calls == [] and out.depth.size == 0 and box == (0, 0, 0, 0)


def test_canvas_box_bounds_the_projected_model_and_gives_up_behind_the_camera():
    """The box of ``canvas_box`` holds every pixel centre the projected hull covers, rounded out and
    clipped to the canvas; it is empty off the canvas, and None (the whole canvas) once the hull
    reaches the camera plane. Catches: a box of the cuboid's centre, no clipping, a projection of
    points behind the camera (a box on the wrong side)."""
    from fat.exports.bop import BOX_PAD, canvas_box
    from fat.geometry import Intrinsics

    K = Intrinsics(300, 200, 150.0, 150.0, 150.0, 100.0)
    cube = np.array([[x, y, z] for x in (-0.05, 0.05) for y in (-0.05, 0.05) for z in (-0.05, 0.05)])
    T = np.eye(4)
    T[:3, 3] = (0.0, 0.0, 1.0)
    x, y, w, h = canvas_box(cube, T, K)
    uv = (cube + T[:3, 3]) @ np.array([[150.0, 0, 150], [0, 150, 100], [0, 0, 1]]).T
    u, v = uv[:, 0] / uv[:, 2], uv[:, 1] / uv[:, 2]
    assert x == np.floor(u.min()) - BOX_PAD and x + w == np.ceil(u.max()) + BOX_PAD
    assert y == np.floor(v.min()) - BOX_PAD and y + h == np.ceil(v.max()) + BOX_PAD
    T[:3, 3] = (-0.9, 0.0, 1.0)  # across the left border
    x, y, w, h = canvas_box(cube, T, K)
    assert x == 0 and w == 31  # ceil(150 * -0.85 / 1.05 + 150) + BOX_PAD
    T[:3, 3] = (-5.0, 0.0, 1.0)  # wholly left of the canvas
    assert canvas_box(cube, T, K)[2] == 0
    T[:3, 3] = (0.0, 0.0, 0.03)  # the cube reaches behind the camera
    assert canvas_box(cube, T, K) is None


@pytest.fixture(scope="module")
def bop_gl(small_dataset, tmp_path_factory):
    _gl_or_skip()
    out = tmp_path_factory.mktemp("bop_gl") / "bop"
    _export_bop(small_dataset, out, renderer="gl")
    return out


@pytest.mark.slow
def test_gl_export_gets_the_toolkits_numbers_on_the_whole_canvas(bop_gl):
    """The export with gl, which draws each object only in its box of the 3x canvas: every
    scene_gt_info value and both masks equal calc_gt_info.py's, recomputed from the exported files
    with gl drawing each object on the whole 3x canvas. Catches a box that loses pixels of the
    silhouette (px_count_all, bbox_obj), pixels of the image taken from the wrong place of the box."""
    rows = _recompute(bop_gl, "gl")
    crossing = 0
    for row in rows:
        if _matches_calc_gt_info(row):
            crossing += _crossing(row)
    assert len(rows) > 100 and crossing >= 5
