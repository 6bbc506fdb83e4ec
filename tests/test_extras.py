"""The extra images of ``fat generate --extras`` (docs/extras.md), checked by their geometry: normals
against analytic ones, flow against the reprojection of a known plane and against the next frame's
instances, object coordinates back through the pose and K onto the depth, amodal masks against the
visible ones and against each object drawn alone; off by default, FAT's bytes unchanged."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fat.annotate import extras as extra
from fat.formats import fat as fatfmt
from fat.formats.extras import (EXTRAS, SUFFIXES, decode_flow, encode_flow, extra_file, read_extra)
from fat.frame import Frame
from fat.geometry import Intrinsics, look_at, make_pose
from fat.scene.scenes import get_location

from .conftest import renderer_or_skip

SIZE = dict(width=320, height=180)


def _generate(out: Path, renderer: str, extras=(), **kw) -> Path:
    from fat.run.driver import generate
    from fat.settings import Settings

    generate(Settings(kinds=("mixed",), scenes=("kitchen", "temple"), locations=(0,), mixed_frames=6,
                      frames_per_drop=3, seed=5, renderer=renderer, extras=tuple(extras), **SIZE, **kw), out,
             notify=lambda m: None)
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Datasets of the same settings: gl without extras and with all of them, tiny with flow and coordinates."""
    renderer_or_skip("gl").close()
    root = tmp_path_factory.mktemp("extras")
    return {"plain": _generate(root / "plain", "gl"), "gl": _generate(root / "gl", "gl", EXTRAS),
            "tiny": _generate(root / "tiny", "tiny", ("flow", "coordinates"))}


def _views(root: Path):
    """(folder, index, eye) of every view, in order."""
    for folder in sorted(p.parent for p in root.rglob("_camera_settings.json")):
        for j in sorted(folder.glob("*.json")):
            if not j.name.startswith("_"):
                i, eye, _ = j.name.split(".")
                yield folder, int(i), eye


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_extras_change_none_of_fats_bytes_and_are_off_by_default(made):
    """Catches: an extra render target or pass changing the pictures, depth or masks; extra files or
    JSON keys written when no extra was asked for; the JSON changed beyond the amodal count and the
    visibility it gives."""
    plain, full = made["plain"], made["gl"]
    names = sorted(p.relative_to(plain) for p in plain.rglob("*") if p.is_file() and "manifest" not in p.name)
    assert not [n for n in names if any(n.name.endswith("." + s) for s in SUFFIXES.values())]
    views = [n for n in names if fatfmt.FRAME_RE.match(n.name)]
    assert all("amodal_pixel_count" not in o for n in views for o in json.loads((plain / n).read_text())["objects"])
    extra_names = {p.relative_to(full) for p in full.rglob("*.png") if any(p.name.endswith("." + s) for s in SUFFIXES.values())}
    assert len(extra_names) == len(views) * 5  # normals, flow, flow_back, coordinates, amodal
    for n in names:
        if n.suffix in (".jpg", ".png") or n.name.startswith("_"):
            assert _sha(plain / n) == _sha(full / n), n
        elif n in views:
            a, b = json.loads((plain / n).read_text()), json.loads((full / n).read_text())
            assert a["camera_data"] == b["camera_data"]
            for x, y in zip(a["objects"], b["objects"], strict=True):
                assert list(y)[:-1] == list(x) and list(y)[-1] == "amodal_pixel_count"  # a new key after FAT's
                assert {k: v for k, v in x.items() if k != "visibility"} == {k: v for k, v in y.items() if k not in ("visibility", "amodal_pixel_count")}


def _sphere_asset(tmp: Path):
    import trimesh

    from fat.assets.objects import load_assets
    from fat.objectsets import load as load_set

    folder = tmp / "sphere"
    folder.mkdir()
    trimesh.creation.uv_sphere(radius=0.05, count=[64, 64]).export(folder / "sphere.obj")
    s = load_set(str(folder))
    return load_assets([s.objects[0]], s.meshes)[s.objects[0].name]


def test_normals_of_a_plane_and_a_sphere_are_their_analytic_normals(tmp_path):
    """Catches: normals in the world frame instead of the camera's, the wrong sign or axes, normal
    maps leaking in, the 16-bit encoding off: the floor and a sphere of known pose within 1 degree."""
    from fat.formats.extras import decode_normals

    r = renderer_or_skip("gl")
    try:
        r.draw_extras(("normals",))
        K = Intrinsics.from_fov(320, 180, 64.0)
        loc = replace(get_location("kitchen_1"), props=())
        centre = loc.fixation + np.array([0.0, 0.0, 0.3])
        cam = look_at(loc.fixation + np.array([0.3, -0.45, 0.6]), centre)
        sphere = _sphere_asset(tmp_path)
        out = r.render(Frame.view(loc, [(sphere, make_pose(np.eye(3), centre))], cam, K))
        raw = np.asarray(out.normals)
        n, valid = decode_normals(raw)
        assert np.array_equal(valid, out.depth > 0)
        R = cam[:3, :3].T  # world -> camera
        floor, ball = (out.instance == 0) & valid, out.instance == 1
        assert floor.sum() > 5000 and ball.sum() > 800
        up = R @ np.array([0.0, 0.0, 1.0])
        assert np.degrees(np.arccos(np.clip(n[floor] @ up, -1, 1))).max() < 1.0
        xn, yn = K.pixel_rays()
        P = np.stack([xn, yn, np.ones_like(xn)], -1) * out.depth[..., None]  # surface points, camera frame
        radial = P[ball] - R @ (centre - cam[:3, 3])
        radial /= np.linalg.norm(radial, axis=1, keepdims=True)
        assert np.percentile(np.degrees(np.arccos(np.clip((n[ball] * radial).sum(1), -1, 1))), 99) < 1.0
    finally:
        r.close()


@pytest.mark.parametrize("kind", ["gl", "tiny"])
def test_flow_of_the_floor_is_its_reprojection_through_the_camera_motion(kind):
    """Catches: flow from the wrong pixel centre, the camera motion inverted, rows and columns
    swapped, the KITTI encoding off: the floor (a plane of known height) seen from two cameras, the
    flow of each valid pixel against the analytic point's projection, within 0.05 pixels."""
    r = renderer_or_skip(kind)
    try:
        K = Intrinsics.from_fov(320, 180, 64.0)
        loc = replace(get_location("kitchen_1"), props=())
        a = look_at(loc.fixation + np.array([0.6, -0.6, 0.7]), loc.fixation)
        b = look_at(loc.fixation + np.array([0.2, -0.9, 0.5]), loc.fixation + np.array([0.05, 0.0, 0.0]))
        oa, ob = (r.render(Frame.view(loc, [], T, K)) for T in (a, b))
        f, valid = decode_flow(read_png(encode_flow(*extra.flow(K, (a, [], oa.depth, oa.instance), (b, [], ob.depth, ob.instance)))))
        assert valid.mean() > 0.3
        xn, yn = K.pixel_rays()
        rays = np.stack([xn, yn, np.ones_like(xn)], -1) @ a[:3, :3].T
        t = (loc.ground_z - a[2, 3]) / rays[..., 2]
        X = a[:3, 3] + rays * t[..., None]  # the floor under each pixel centre of a
        Pb = (X - b[:3, 3]) @ b[:3, :3]
        uv = K.project(Pb.reshape(-1, 3)).reshape(Pb.shape[:2] + (2,))
        cols, rows = np.meshgrid(np.arange(K.width) + 0.5, np.arange(K.height) + 0.5)
        expected = uv - np.stack([cols, rows], -1)
        err = np.abs(f - expected)[valid]
        assert err.max() < 0.05, err.max()
        assert np.percentile(err, 99) < 0.02
    finally:
        r.close()


def test_flow_follows_a_moving_object():
    """Catches: the objects' own motion left out of the flow (only the camera's), or applied the
    wrong way: an object moved 6 cm between two views of one camera keeps its pixels valid, each
    flowing by about its centre's displacement in the image."""
    from fat import catalog
    from fat.assets.objects import standin_assets

    r = renderer_or_skip("gl")
    try:
        K = Intrinsics.from_fov(320, 180, 64.0)
        loc = replace(get_location("kitchen_1"), props=())
        info = catalog.fat_objects().get("003_cracker_box")
        asset = standin_assets([info])[info.name]
        cam = look_at(loc.fixation + np.array([0.4, -0.5, 0.5]), loc.fixation)
        p0 = make_pose(np.eye(3), loc.fixation + [0.0, 0.0, 0.15])
        p1 = make_pose(np.eye(3), loc.fixation + [0.06, 0.02, 0.12])
        o0, o1 = (r.render(Frame.view(loc, [(asset, T)], cam, K)) for T in (p0, p1))
        f, valid = extra.flow(K, (cam, [p0], o0.depth, o0.instance), (cam, [p1], o1.depth, o1.instance))
        box = o0.instance == 1
        assert box.sum() > 1000 and valid[box].mean() > 0.9
        moved = K.project(np.array([p1[:3, 3], p0[:3, 3]]) @ cam[:3, :3] - cam[:3, 3] @ cam[:3, :3])
        assert np.allclose(np.median(f[box & valid], axis=0), moved[0] - moved[1], rtol=0.15, atol=1.0)  # nearer faces move more
        floor = (o0.instance == 0) & valid
        assert floor.sum() > 10000 and np.abs(f[floor]).max() < 1e-3  # the camera did not move
    finally:
        r.close()


def read_png(data: bytes) -> np.ndarray:
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return img[..., ::-1] if img.ndim == 3 else img


def _bilinear(field: np.ndarray, ok: np.ndarray, x: np.ndarray, y: np.ndarray):
    """``field`` at continuous pixel coordinates (centres at +0.5), and whether all four neighbours are valid."""
    x0, y0 = np.floor(x - 0.5).astype(int), np.floor(y - 0.5).astype(int)
    H, W = ok.shape
    inside = (x0 >= 0) & (y0 >= 0) & (x0 + 1 < W) & (y0 + 1 < H)
    x0, y0 = np.clip(x0, 0, W - 2), np.clip(y0, 0, H - 2)
    fx, fy = (x - 0.5 - x0)[:, None], (y - 0.5 - y0)[:, None]
    v = (field[y0, x0] * (1 - fx) * (1 - fy) + field[y0, x0 + 1] * fx * (1 - fy)
         + field[y0 + 1, x0] * (1 - fx) * fy + field[y0 + 1, x0 + 1] * fx * fy)
    good = inside & ok[y0, x0] & ok[y0, x0 + 1] & ok[y0 + 1, x0] & ok[y0 + 1, x0 + 1]
    return v, good


@pytest.mark.parametrize("kind", ["gl", "tiny"])
def test_flow_warps_the_next_frame_onto_this_one_and_back(made, kind):
    """Catches: flow pointing to the previous frame, object motion left out (objects still falling),
    the validity bit set on pixels hidden in the next frame, forward and backward flow that disagree,
    and a drop's first and last frames given a flow to frames of another drop."""
    import cv2

    root, pairs = made["gl" if kind == "gl" else "tiny"], 0
    per_drop = 3
    for folder, i, eye in _views(root):
        fw, vf = read_extra(extra_file(folder, i, eye, "flow"), "flow")
        bk, vb = read_extra(extra_file(folder, i, eye, "flow_back"), "flow_back")
        if i % per_drop == per_drop - 1:
            assert not vf.any()
        if i % per_drop == 0:
            assert not vb.any()
        if i % per_drop == per_drop - 1:
            continue
        seg0 = cv2.imread(str(fatfmt.frame_file(folder, i, eye, "seg")), cv2.IMREAD_UNCHANGED)
        seg1 = cv2.imread(str(fatfmt.frame_file(folder, i + 1, eye, "seg")), cv2.IMREAD_UNCHANGED)
        bk1, vb1 = read_extra(extra_file(folder, i + 1, eye, "flow_back"), "flow_back")
        r, c = np.nonzero(vf)
        assert len(r) > 500
        x, y = c + 0.5 + fw[r, c, 0], r + 0.5 + fw[r, c, 1]
        H, W = vf.shape
        landed = seg1[np.clip(np.floor(y).astype(int), 0, H - 1), np.clip(np.floor(x).astype(int), 0, W - 1)]
        assert (landed == seg0[r, c]).mean() >= 0.99
        back, good = _bilinear(bk1, vb1, x, y)
        assert good.mean() > 0.8
        cycle = np.hypot(fw[r, c, 0] + back[:, 0], fw[r, c, 1] + back[:, 1])[good]
        # bilinear sampling of the backward flow between pixel centres is exact only where the flow is
        # linear: most of each view (a camera teleport's flow bends near the horizon and at depth edges)
        assert np.median(cycle) < 0.05 and np.percentile(cycle, 75) < 0.1, np.percentile(cycle, [50, 75])
        pairs += 1
    assert pairs >= 4


@pytest.mark.parametrize("kind", ["gl", "tiny"])
def test_object_coordinates_map_back_through_the_pose_and_k_onto_the_depth(made, kind):
    """Catches: coordinates in the wrong frame (the mesh's instead of the cuboid-aligned one), not
    scaled by the cuboid, on pixels of no object, or of another object than the instance map says."""
    from fat.formats.fat import OBJECT_SETTINGS, parse_object_settings, read_depth, read_instance, read_view_annotation

    root, checked = made["gl" if kind == "gl" else "tiny"], 0
    for folder, i, eye in _views(root):
        dims = {o.class_name: o.dimensions for o in parse_object_settings(json.loads((folder / OBJECT_SETTINGS).read_text()))}
        view = read_view_annotation(fatfmt.frame_file(folder, i, eye, "annotation"))
        K = Intrinsics.from_fov(320, 180, 64.0)
        depth = read_depth(fatfmt.frame_file(folder, i, eye, "depth"))
        inst = read_instance(fatfmt.frame_file(folder, i, eye, "instance"))
        c, valid = read_extra(extra_file(folder, i, eye, "coordinates"), "coordinates")
        assert np.array_equal(valid, inst > 0)
        for k, o in enumerate(view.objects):
            m = inst == k + 1
            if not m.any():
                continue
            p_obj = (c[m] - 0.5) * dims[o.class_name]
            assert (np.abs(c[m] - 0.5) <= 0.5 + 1e-4).all()
            p_cam = p_obj @ o.pose[:3, :3].T + o.pose[:3, 3]
            rows, cols = np.nonzero(m)
            assert np.abs(p_cam[:, 2] - depth[m]).max() < 0.001 * max(1.0, p_cam[:, 2].max())
            uv = K.project(p_cam)
            assert np.abs(uv - np.stack([cols + 0.5, rows + 0.5], -1)).max() < 0.02
            checked += 1
    assert checked > 20


def test_coordinates_drawn_by_gl_equal_those_from_its_depth():
    """Catches: gl's coordinate target out of step with the geometry (another frame than the
    cuboid-aligned one, the scale of another object, distractors or scenery given coordinates): its
    values against those back-projected from its own depth through the poses, within 0.1 mm."""
    from fat import catalog
    from fat.annotate.views import listed
    from fat.assets.objects import standin_assets
    from fat.formats.extras import decode_coordinates
    from fat.geometry import invert_pose

    r = renderer_or_skip("gl")
    try:
        r.draw_extras(("coordinates",))
        K = Intrinsics.from_fov(320, 180, 64.0)
        loc = get_location("kitchen_0")
        infos = [catalog.fat_objects().get(n) for n in ("003_cracker_box", "035_power_drill", "024_bowl")]
        assets = standin_assets(infos)
        poses = [make_pose(np.eye(3), loc.fixation + [0.07 * (k - 1), 0.05 * k, 0.1]) for k in range(3)]
        frame = Frame.view(loc, [(assets[o.name], T) for o, T in zip(infos, poses)], look_at(loc.fixation + np.array([0.4, -0.5, 0.5]), loc.fixation), K)
        out = r.render(frame)
        shown = listed(frame.objects, invert_pose(frame.rig.left), K)
        drawn, ok = decode_coordinates(extra.on_listed(out.coordinates, out.instance, shown))
        derived, ok2 = extra.coordinates(frame, "left", out.depth, out.instance, shown)
        assert np.array_equal(ok, ok2) and ok.sum() > 2000
        dims = np.array([o.dimensions for o in frame.objects])[out.instance[ok] - 1]
        assert np.abs((drawn[ok] - derived[ok]) * dims).max() < 1e-4
        assert not out.coordinates[out.instance == 0].any()  # the scenery has none
    finally:
        r.close()


def test_amodal_masks_hold_the_visible_pixels_and_give_the_visibility(made):
    """Catches: masks of the wrong object (the JSON's order against the drawing order), occluders
    cutting the amodal mask, a count in the JSON that is not the mask's, visibility that is not the
    visible share of the full silhouette."""
    from fat.formats.fat import read_instance, read_view_annotation

    root, partly = made["gl"], 0
    for folder, i, eye in _views(root):
        view = read_view_annotation(fatfmt.frame_file(folder, i, eye, "annotation"))
        inst = read_instance(fatfmt.frame_file(folder, i, eye, "instance"))
        masks = read_extra(extra_file(folder, i, eye, "amodal"), "amodal", len(view.objects))
        for k, (o, m) in enumerate(zip(view.objects, masks)):
            seen = inst == k + 1
            assert not (seen & ~m).any()
            assert o.amodal_pixel_count == m.sum()
            assert o.visibility == pytest.approx(seen.sum() / m.sum() if m.sum() else 0.0, abs=1e-4)
            partly += 0 < seen.sum() < m.sum()
    assert partly >= 3  # some objects hide parts of others: the masks differ from the visible ones


def test_an_amodal_mask_is_the_object_drawn_alone(tmp_path):
    """Catches: the silhouette pass missing triangles (back faces culled on open meshes), drawn with
    another projection or pixel centre than the image, or its bits shifted between objects."""
    from fat import catalog
    from fat.assets.objects import standin_assets

    r = renderer_or_skip("gl")
    try:
        r.draw_extras(("amodal",))
        K = Intrinsics.from_fov(320, 180, 64.0)
        loc = replace(get_location("kitchen_0"), props=())
        infos = [catalog.fat_objects().get(n) for n in ("003_cracker_box", "006_mustard_bottle", "035_power_drill", "024_bowl")]
        assets = standin_assets(infos)
        poses = [make_pose(np.eye(3), loc.fixation + [0.05 * (k - 1.5), 0.04 * k, 0.3]) for k in range(4)]
        cam = look_at(loc.fixation + np.array([0.5, -0.6, 0.6]), loc.fixation + [0, 0, 0.3])
        objs = [(assets[o.name], T) for o, T in zip(infos, poses)]
        out = r.render(Frame.view(loc, objs, cam, K))
        hidden = 0
        for k, pair in enumerate(objs):
            alone = r.render(Frame.view(loc, [pair], cam, K)).instance == 1
            mask = ((out.amodal >> k) & 1).astype(bool)
            assert alone.sum() > 200 and np.array_equal(mask, alone), (k, (mask != alone).sum())
            hidden += (mask & (out.instance != k + 1)).sum()
        assert hidden > 200  # the objects overlap: amodal and visible masks differ
    finally:
        r.close()


def test_a_renderer_that_cannot_draw_an_extra_refuses_in_one_line_and_writes_nothing(tmp_path):
    """Catches: --extras normals or amodal with tiny accepted and then written wrong or not at all,
    or a half-made folder left behind."""
    for e in ("normals", "amodal"):
        out = tmp_path / e
        p = subprocess.run([sys.executable, "-m", "cli.main", "generate", str(out), "--renderer", "tiny", "--extras",
                            f"flow,{e}", "--frames", "2", "--width", "64", "--height", "36"],
                           capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
        assert p.returncode != 0
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and f"cannot draw {e}" in lines[0] and "tiny" in lines[0], p.stderr
        assert not out.exists()
    p = subprocess.run([sys.executable, "-m", "cli.main", "generate", str(tmp_path / "x"), "--extras", "normals,depths"],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert p.returncode != 0 and "'depths'" in p.stderr and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["gl", "tiny"])
def test_generated_extras_pass_validate_and_read_alike_from_the_folder_and_hdf5(made, kind, tmp_path):
    """Catches: files that ``fat validate`` finds wrong (a visible pixel outside its amodal mask where
    the silhouette pass rounds a vertex otherwise than the picture), or extras that the loader or
    the HDF5 export read otherwise than the files say."""
    import fat
    from fat.exports import hdf5
    from fat.study.validate import validate

    root = made[kind]
    problems = list(validate(root))
    assert not problems, problems[:3]
    h5 = tmp_path / "d.h5"
    hdf5.export(root, h5)
    fields = ("annotations", "normals", "flow", "coordinates", "amodal")
    a, b = fat.Dataset(root, fields=fields), fat.Dataset(h5, fields=fields)
    assert len(a) == len(b) > 0
    for k in (0, len(a) - 1):
        x, y = a[k], b[k]
        folder = root / x["folder"]
        flow, valid = read_extra(extra_file(folder, x["index"], x["eye"], "flow"), "flow")
        assert np.array_equal(x["flow"], flow) and np.array_equal(x["flow_valid"], valid)
        keys = [key for key in x if key.startswith(("normals", "flow", "coordinates", "amodal"))]
        assert ("normals" in keys) == (kind == "gl") and ("amodal_masks" in keys) == (kind == "gl")
        assert keys and all(np.array_equal(x[key], y[key]) for key in keys)


def test_the_config_key_extras_takes_a_list(tmp_path):
    """Catches: the ``extras`` key of a config file ignored or refused as a list."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('extras = ["coordinates", "flow"]\nwidth = 64\nheight = 36\nrenderer = "tiny"\nframes = 2\n')
    out = tmp_path / "d"
    p = subprocess.run([sys.executable, "-m", "cli.main", "generate", str(out), "--config", str(cfg), "--quiet"],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert p.returncode == 0, p.stderr
    assert list(out.rglob("000000.left.coordinates.png")) and list(out.rglob("000000.left.flow.png"))
    assert not list(out.rglob("*.normals.png"))
    assert json.loads((out / "fat_dataset.json").read_text())["settings"]["extras"] == ["flow", "coordinates"]


@pytest.mark.slow
def test_extras_are_the_same_bytes_whatever_the_number_of_workers(tmp_path):
    """Catches: flow made across drops or in an order that depends on the workers."""
    renderer_or_skip("gl").close()
    one = _generate(tmp_path / "one", "gl", EXTRAS)
    from fat.run.driver import generate
    from fat.settings import Settings

    two = tmp_path / "two"
    generate(Settings(kinds=("mixed",), scenes=("kitchen", "temple"), locations=(0,), mixed_frames=6, frames_per_drop=3,
                      seed=5, renderer="gl", extras=EXTRAS, **SIZE), two, workers=2, notify=lambda m: None)
    files = sorted(p.relative_to(one) for p in one.rglob("*.png"))
    assert files and files == sorted(p.relative_to(two) for p in two.rglob("*.png"))
    assert all(_sha(one / f) == _sha(two / f) for f in files)
