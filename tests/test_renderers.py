"""Renderers against geometry: analytic depth of planes, silhouettes of objects, EGL against TinyRenderer."""

import math
from dataclasses import replace

import numpy as np
import pytest

from fat import catalog
from fat.annotate.views import annotate_view
from fat.assets.objects import standin_assets
from fat.errors import ConfigError
from fat.geometry import FAT_INTRINSICS, Intrinsics, invert_pose, look_at, make_pose, transform_points
from fat.frame import Frame, FrameObject
from fat.render import make_renderer
from fat.scene.scenes import get_location

K = FAT_INTRINSICS


from conftest import renderer_or_skip


def _rolled_camera(loc, roll_deg=30.0):
    cam = look_at(loc.fixation + [0, -0.8, 0.5], loc.fixation)
    a = math.radians(roll_deg)
    return cam @ make_pose(np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]]), [0, 0, 0])


def _floor_depth_error(renderer):
    """z-depth of the floor at every pixel centre against the ray-plane intersection."""
    loc = replace(get_location("kitchen_1"), props=())
    cam = _rolled_camera(loc)
    out = renderer.render(Frame.view(loc, [], cam, K))
    xn, yn = K.pixel_rays()
    rays = np.stack([xn, yn, np.ones_like(xn)], -1) @ cam[:3, :3].T
    t = (loc.ground_z - cam[2, 3]) / rays[..., 2]
    m = (out.depth > 0) & (t > 0) & (t < 2.5)  # as far as objects are seen (camera 0.5..1.5 m away)
    return np.abs(out.depth - t)[m], m.sum()


@pytest.mark.parametrize("kind", ["tiny", "egl", "gl"])
def test_depth_is_z_depth_at_pixel_centres(kind):
    r = renderer_or_skip(kind)
    try:
        err, n = _floor_depth_error(r)
    finally:
        r.close()
    assert n > 200_000
    # metres; PyBullet's EGL reads a depth buffer back, gl writes each pixel's z as a float
    median, p99 = {"tiny": (1e-5, 5e-5), "egl": (1.5e-4, 1.5e-3), "gl": (1e-5, 5e-5)}[kind]
    assert np.median(err) < median and np.percentile(err, 99) < p99


@pytest.fixture(scope="module")
def assets():
    return standin_assets(list(catalog.fat_objects().objects))


def _object_view(renderer, assets, names):
    loc = replace(get_location("kitchen_1"), props=())
    poses = [make_pose(np.eye(3), loc.fixation + [0.2 * (i - 1), 0.1 * (i % 2), 0.15]) for i in range(len(names))]
    objs = [assets[catalog.fat_objects().get(n).name] for n in names]
    cam = _rolled_camera(loc, 10)
    out = renderer.render(Frame.view(loc, zip(objs, poses), cam, K))
    infos = [catalog.fat_objects().get(n) for n in names]
    scene_objs = [FrameObject(a, o.class_name, o.segmentation_id, o.dimensions, T) for o, a, T in zip(infos, objs, poses)]
    return out, annotate_view(scene_objs, cam, K, out.instance), cam, poses, objs


def _signed_distance_to_hull(hull_uv: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Signed distance (pixels, > 0 inside) of pixel centres to a convex polygon."""
    import cv2

    hull = cv2.convexHull(hull_uv.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    pts = np.stack([xs + 0.5, ys + 0.5], 1)
    d = np.full(len(pts), np.inf)
    area = 0.0
    for a, b in zip(hull, np.roll(hull, -1, 0)):
        area += a[0] * b[1] - a[1] * b[0]
    sign = 1.0 if area > 0 else -1.0
    for a, b in zip(hull, np.roll(hull, -1, 0)):
        e = b - a
        n = sign * np.array([-e[1], e[0]]) / np.linalg.norm(e)  # inward normal
        d = np.minimum(d, (pts - a) @ n)
    return d


@pytest.mark.parametrize("kind", ["tiny", "egl", "gl"])
@pytest.mark.slow
def test_box_masks_are_exactly_their_projections(kind, assets):
    """A box's mask holds exactly the pixels whose centres its projection covers (0.05 px slack)."""
    r = renderer_or_skip(kind)
    try:
        out, (view, seg, inst), cam, poses, objs = _object_view(r, assets, ["cracker_box", "foam_brick", "wood_block"])
    finally:
        r.close()
    ys, xs = np.mgrid[0:K.height, 0:K.width]
    ys, xs = ys.ravel(), xs.ravel()
    for k, (T, a) in enumerate(zip(poses, objs)):
        if a.info.name == "003_cracker_box":  # a box with a proud band: not one box
            continue
        corners = transform_points(invert_pose(cam) @ T, a.hull)
        d = _signed_distance_to_hull(K.project(corners), ys, xs)
        m = (out.instance == k + 1).ravel()
        assert m.sum() > 3000
        assert d[m].min() > -0.05, (kind, a.info.name, d[m].min())
        assert m[d > 0.05].all(), (kind, a.info.name)
    assert [o.visibility for o in view.objects] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("kind", ["tiny", "egl", "gl"])
@pytest.mark.slow
def test_masks_cover_every_pixel_where_the_object_is_in_front(kind, assets):
    """Five objects in a cluster, seen through the edge of a wall, each partly hiding another: every
    pixel where an object's render mesh (projected with K and its pose, by a z-buffer of the test's
    own) is in front of everything else is in that object's mask, not only inside its cuboid.
    Catches masks that are too small or holed: objects drawn smaller than their mesh, faces culled
    that should be seen, masks eroded or given to the wrong object by the annotator."""
    import geometry_checks as gc
    from fat.assets.meshes import load_mesh
    from fat.scene.scenes import Prop, Surface

    base = get_location("kitchen_1")
    cam = _rolled_camera(base, 10)
    target = base.fixation + [0, 0, 0.15]  # clear of the floor
    toward = (cam[:3, 3] - target) / np.linalg.norm(cam[:3, 3] - target)
    side = cam[:3, 0]
    rng = np.random.default_rng(3)
    names = ["cracker_box", "mug", "power_drill", "bowl", "banana"]
    offsets = [(0.0, 0.0), (0.09, 0.17), (-0.1, 0.3), (0.22, -0.08), (-0.06, 0.42)]  # (sideways, toward the camera)
    poses = []
    for dx, dt in offsets:
        R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        poses.append(make_pose(R * np.linalg.det(R), target + side * dx + toward * dt))
    # a wall whose edge crosses the cluster, between it and the camera
    wall = Prop("wall", "box", make_pose(cam[:3, :3], target + toward * 0.55 - side * 0.2), np.array([0.3, 1.0, 0.01]),
                Surface("plain", ((200, 200, 200),)))
    loc = replace(base, props=(wall,))
    objs = [assets[catalog.fat_objects().get(n).name] for n in names]
    r = renderer_or_skip(kind)
    try:
        out = r.render(Frame.view(loc, zip(objs, poses), cam, K))
    finally:
        r.close()
    infos = [catalog.fat_objects().get(n) for n in names]
    scene_objs = [FrameObject(a, o.class_name, o.segmentation_id, o.dimensions, T)
                  for o, a, T in zip(infos, objs, poses)]
    view, seg, inst = annotate_view(scene_objs, cam, K, out.instance)
    assert len(view.objects) == len(names)  # all listed: instance k + 1 is object k
    own = []
    for a, T in zip(objs, poses):
        mesh = load_mesh(a.visual)
        own.append(gc.raster_depth(transform_points(invert_pose(cam) @ T, mesh.vertices), mesh.faces, K))
    margin = 0.005 if kind != "egl" else 0.01  # EGL reads a 24-bit depth buffer back
    counts = gc.mask_covers_front_pixels(inst, out.depth, own, margin)
    assert all(front > 1000 for front, _ in counts), counts  # every object is checked on many pixels
    assert sum(hidden > 500 for _, hidden in counts) >= 2, counts  # and some are partly hidden
    assert any(hidden > 500 and (inst == k + 1).sum() > 500 for k, (_, hidden) in enumerate(counts))
    assert sorted(o.visibility for o in view.objects)[0] < 0.9


def _tiny_and(kind: str, assets, names):
    """The same objects and camera rendered by TinyRenderer and by ``kind``."""
    other = renderer_or_skip(kind)
    tiny = make_renderer("tiny")
    try:
        return _object_view(tiny, assets, names), _object_view(other, assets, names)
    finally:
        other.close()
        tiny.close()


def test_egl_and_tiny_agree_on_geometry(assets):
    names = ["mug", "power_drill", "master_chef_can", "banana"]
    (a_out, (a_view, a_seg, a_inst), *_), (b_out, (b_view, b_seg, b_inst), *_) = _tiny_and("egl", assets, names)
    for k in range(len(names)):
        m1, m2 = a_inst == k + 1, b_inst == k + 1
        assert (m1 & m2).sum() / (m1 | m2).sum() > 0.97
    both = (a_out.depth > 0) & (b_out.depth > 0) & (a_out.instance == b_out.instance)
    assert np.median(np.abs(a_out.depth - b_out.depth)[both]) < 0.001
    for o1, o2 in zip(a_view.objects, b_view.objects):
        assert o1.class_name == o2.class_name and np.array_equal(o1.cuboid, o2.cuboid) and np.array_equal(o1.bbox, o2.bbox)
        assert abs(o1.visibility - o2.visibility) < 0.02


def test_near_plane_clips_nothing_of_the_props():
    """Every point the near plane cuts away lies closer to the camera than props may come."""
    from fat.render.pybullet import NEAR
    from fat.scene.scenes import CAMERA_MARGIN

    corner = np.array([K.cx / K.fx, K.cy / K.fy, 1.0])  # the frustum's widest ray, per unit depth
    assert NEAR * np.linalg.norm(corner) < CAMERA_MARGIN


def test_egl_missing_is_one_clear_error(monkeypatch):
    import pkgutil

    monkeypatch.setattr(pkgutil, "get_loader", lambda name: None)
    with pytest.raises(ConfigError, match="--renderer egl: PyBullet's EGL plugin could not start"):
        make_renderer("egl")
    with pytest.raises(ConfigError, match="unknown renderer 'vulkan'"):
        make_renderer("vulkan")


def test_gl_and_tiny_agree_on_geometry_and_annotations(assets):
    """The fast renderer against TinyRenderer on the same scene and camera: masks, depth, annotations."""
    from fat.formats.fat import view_json

    names = ["mug", "power_drill", "master_chef_can", "banana", "cracker_box"]
    (a_out, (a_view, a_seg, a_inst), *_), (b_out, (b_view, b_seg, b_inst), *_) = _tiny_and("gl", assets, names)
    for k in range(len(names)):
        m1, m2 = a_inst == k + 1, b_inst == k + 1
        assert m1.sum() > 500 and (m1 & m2).sum() / (m1 | m2).sum() >= 0.99, names[k]
    same_object = (a_inst == b_inst) & (a_inst > 0)  # pixels both renderers give to the same object
    assert np.abs(a_out.depth - b_out.depth)[same_object].max() < 0.001
    both = (a_out.depth > 0) & (b_out.depth > 0)  # elsewhere only surface edges may differ
    assert (np.abs(a_out.depth - b_out.depth)[both] > 0.001).mean() < 0.002
    assert view_json(a_view) == view_json(b_view)  # the files written from either are the same
    assert np.array_equal(a_seg, b_seg) or (a_seg != b_seg).mean() < 0.001


def _signed_volume(v, f):
    return np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6


def test_which_faces_may_be_culled():
    from fat.assets.meshes import Mesh, box, concatenate, grid, split_for_culling

    b = box((0.1, 0.2, 0.3))  # 4 vertices per side: closed only once welded by position
    culled, two = split_for_culling(b)
    assert len(culled) == 12 and len(two) == 0 and np.isclose(_signed_volume(b.vertices, culled), 0.006)
    inside_out = Mesh(b.vertices, b.faces[:, ::-1])
    culled, two = split_for_culling(inside_out)
    assert len(culled) == 12 and np.isclose(_signed_volume(b.vertices, culled), 0.006)  # turned outwards
    g = grid(1.0, 0.25)
    culled, two = split_for_culling(g)
    assert len(culled) == 0 and len(two) == len(g.faces)  # a plane is seen from both sides
    both = concatenate([box((0.1, 0.1, 0.1)), Mesh(g.vertices + [0, 0, 1], g.faces)])
    culled, two = split_for_culling(both)
    assert len(culled) == 12 and len(two) == len(g.faces)
    flipped = b.faces.copy()
    flipped[0] = flipped[0][::-1]  # one triangle wound the wrong way: the box is no longer closed
    culled, two = split_for_culling(Mesh(b.vertices, flipped))
    assert len(culled) == 0 and len(two) == 12


@pytest.mark.slow
def test_gl_culling_leaves_no_holes_in_the_scans(ycb_dir):
    """gl culls the back faces of closed surfaces: the same images as drawing every face from both
    sides, and the same masks as TinyRenderer (which draws every face)."""
    from fat.assets.objects import ycb_assets
    from fat.render.gl.renderer import GLRenderer

    renderer_or_skip("gl").close()
    names = ["mug", "bowl", "power_drill", "tomato_soup_can", "large_clamp"]  # hollow, thin, a few flipped faces
    scans = ycb_assets(ycb_dir, [catalog.fat_objects().get(n) for n in names], texture_size=256)
    outs = []
    for cull in (True, False):
        r = GLRenderer(cull=cull)
        try:
            outs.append(_object_view(r, scans, names)[0])
        finally:
            r.close()
    culled, full = outs
    assert np.array_equal(culled.instance, full.instance)
    assert np.abs(culled.depth - full.depth).max() < 1e-4  # the depth files' unit: 0.1 mm
    # a thin rim, where a back face lies within float precision of a front face, may shade one pixel apart
    assert (np.abs(culled.rgb.astype(int) - full.rgb).max(-1) > 0).sum() <= 5
    (tiny, *_), _ = _tiny_and("gl", scans, names)
    for k in range(len(names)):
        m1, m2 = tiny.instance == k + 1, culled.instance == k + 1
        assert m1.sum() > 500 and (m1 & m2).sum() / (m1 | m2).sum() >= 0.99, names[k]
    same_object = (tiny.instance == culled.instance) & (tiny.instance > 0)
    assert (np.abs(tiny.depth - culled.depth)[same_object] > 0.001).mean() < 0.001  # a rim pixel may differ


def test_gl_device_errors_and_auto_fallback(monkeypatch):
    monkeypatch.setenv("FAT_EGL_DEVICE", "99")
    with pytest.raises(ConfigError, match="--renderer gl: cannot make an OpenGL context on EGL device 99"):
        make_renderer("gl")
    r = make_renderer("auto")
    try:
        assert r.name == "tiny" and "renderer auto: using TinyRenderer, since cannot make an OpenGL context" in r.note
    finally:
        r.close()
    monkeypatch.setenv("FAT_EGL_DEVICE", "gpu0")
    with pytest.raises(ConfigError, match="must be a device index"):
        make_renderer("gl")


def test_gl_draws_the_scenery_nearest_first_and_the_order_changes_no_pixel(monkeypatch):
    """gl draws the scenery nearest first so that hidden fragments fail the depth test before they are
    shaded (fat.render.gl.looks._nearest_first). The order must not change the picture: the same frame drawn
    farthest first gives the same RGB, depth and instances; and drawn nearest first, the fragments that
    pass the depth test (OpenGL's samples-passed count, which counts each shaded fragment) are about the
    pixels of the image. Breakage caught: a sort that loses or repeats a surface, a key that puts the
    floor before the counter standing on it (which shades most of the image twice: the count fails)."""
    from fat.render.gl import looks as gl

    renderer = renderer_or_skip("gl")
    try:
        loc = get_location("kitchen_0")  # the counter stands on the floor; the fixation point is on it
        cam = look_at(loc.fixation + np.array([0.4, -0.5, 0.45]), loc.fixation)
        frame = Frame.view(loc, [], cam, Intrinsics.from_fov(320, 180, 64.0))
        passed = []
        draw = renderer._draw

        def counted(vao, n_culled, n_two_sided):
            if vao.program is renderer.shadow_prog:
                return draw(vao, n_culled, n_two_sided)
            query = renderer.ctx.query(samples=True)
            with query:
                draw(vao, n_culled, n_two_sided)
            passed.append(query.samples)

        monkeypatch.setattr(renderer, "_draw", counted)
        near_first = renderer.render(frame)
        assert len(passed) == len(renderer._scenery)
        assert sum(passed) <= 1.1 * near_first.depth.size, sum(passed) / near_first.depth.size
        order = gl._nearest_first
        monkeypatch.setattr(gl, "_nearest_first", lambda items, boxes, *a: order(items, boxes, *a)[::-1])
        passed.clear()
        far_first = renderer.render(frame)
        assert sum(passed) > 1.3 * near_first.depth.size  # drawn the other way, the floor is shaded under the counter
        assert np.array_equal(near_first.instance, far_first.instance)
        # where two surfaces meet at one depth (a prop's edge on another), the first drawn wins: a
        # pixel or two may take the other's depth, within the depth files' unit of 0.1 mm
        d = np.abs(near_first.depth - far_first.depth)
        assert (d > 0).sum() <= 3 and d.max() < 1e-4
        rgb = np.abs(near_first.rgb.astype(int) - far_first.rgb).max(-1)
        assert (rgb > 1).sum() <= 3
    finally:
        renderer.close()
