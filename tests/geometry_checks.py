"""Property checks of generated FAT frames, shared by the tests of every renderer and object source."""

from __future__ import annotations

import cv2
import numpy as np

from fat.formats.fat import FatFolder, FatView
from fat.geometry import invert_pose, orbit_angles, transform_points


def mask_inside_projected_cuboid(view: FatView, tol_px: float = 1.0) -> None:
    """Every pixel of an object's mask lies inside the convex hull of its projected cuboid."""
    for k, o in enumerate(view.annotation.objects):
        ys, xs = np.nonzero(view.instance == k + 1)
        if len(xs) == 0:
            continue
        hull = cv2.convexHull(o.projected_cuboid.astype(np.float32))
        d = np.array([cv2.pointPolygonTest(hull, (float(x) + 0.5, float(y) + 0.5), True) for x, y in zip(xs, ys)])
        assert d.min() >= -tol_px, f"{view.folder}/{view.index}.{view.eye} {o.class_name}: mask pixel {-d.min():.1f} px outside the cuboid"


def mask_inside_bbox(view: FatView, tol_px: float = 1.0) -> None:
    for k, o in enumerate(view.annotation.objects):
        ys, xs = np.nonzero(view.instance == k + 1)
        if len(xs):
            x0, y0, x1, y1 = o.bbox
            assert xs.min() + 0.5 >= x0 - tol_px and xs.max() + 0.5 <= x1 + tol_px
            assert ys.min() + 0.5 >= y0 - tol_px and ys.max() + 0.5 <= y1 + tol_px


def depth_inside_cuboid(view: FatView, tol_m: float = 0.003) -> int:
    """Depth at mask pixels, back-projected and moved into the object frame by the annotated pose,
    lies inside the object's cuboid. Returns the number of pixels checked."""
    pts = view.intrinsics.backproject(view.depth)
    n = 0
    for k, o in enumerate(view.annotation.objects):
        m = (view.instance == k + 1) & (view.depth > 0)
        if not m.any():
            continue
        p_obj = transform_points(invert_pose(o.pose), pts[m])
        half = _half_dims(view, o.class_name)
        excess = np.abs(p_obj) - half
        assert excess.max() <= tol_m, f"{o.class_name}: depth point {excess.max() * 1000:.1f} mm outside the cuboid"
        n += int(m.sum())
    return n


def _half_dims(view: FatView, class_name: str) -> np.ndarray:
    return FatFolder(view.folder).object_setting(class_name).dimensions / 2


def seg_matches_instances(view: FatView, folder: FatFolder) -> None:
    """seg holds exactly the class ids of the listed objects where they are seen, 0 elsewhere."""
    ids = {o.class_name.lower(): o.segmentation_id for o in folder.objects}
    expect = np.zeros_like(view.seg)
    for k, o in enumerate(view.annotation.objects):
        expect[view.instance == k + 1] = ids[o.class_name.lower()]
    assert np.array_equal(view.seg, expect)
    assert set(np.unique(view.instance)) <= set(range(len(view.annotation.objects) + 1))


def outside_view(corners_cam: np.ndarray, intrinsics) -> bool:
    """Whether a cuboid (corners in a camera's frame) is out of that camera's picture: all corners
    beyond one image edge, or a corner behind the camera (FAT cannot hold its projection)."""
    if np.any(corners_cam[:, 2] <= 1e-3):
        return True
    u, v = intrinsics.project(corners_cam).T
    return bool(np.all(u <= 0) or np.all(u >= intrinsics.width) or np.all(v <= 0) or np.all(v >= intrinsics.height))


def stereo_consistent(left: FatView, right: FatView, baseline: float = 0.06) -> tuple[int, int]:
    """The right eye is the left one moved by the baseline along its x axis. Every object listed in
    one eye is listed in the other, where it must be, unless it is out of the other eye's picture.
    Returns (objects matched, objects listed in either eye). Catches an object listed in one eye only
    while the other eye sees it too (e.g. a frustum test that drops objects still in view)."""
    fx = left.intrinsics.fx
    dl, dr = left.annotation.camera_pose, right.annotation.camera_pose
    assert np.allclose(invert_pose(dl) @ dr[:, 3], [baseline, 0, 0, 1], atol=2e-5)
    assert np.allclose(dl[:3, :3], dr[:3, :3], atol=1e-4)
    shift = np.array([baseline, 0.0, 0.0])  # a left-camera point is at p - shift in the right camera
    matched_right = set()
    for o in left.annotation.objects:
        matches = [j for j, r in enumerate(right.annotation.objects)
                   if r.class_name == o.class_name and np.allclose(r.location + shift, o.location, atol=2e-6)]
        if not matches:
            assert outside_view(o.cuboid - shift, right.intrinsics), \
                f"{left.folder}/{left.index}: {o.class_name} is missing from the right view, where it is in the picture"
            continue
        r = right.annotation.objects[matches[0]]
        matched_right.add(matches[0])
        assert np.allclose(r.quaternion_xyzw, o.quaternion_xyzw, atol=1e-4)
        d = o.projected_cuboid[:, 0] - r.projected_cuboid[:, 0]
        assert np.allclose(d, fx * baseline / o.cuboid[:, 2], atol=0.01)
        assert np.allclose(o.projected_cuboid[:, 1], r.projected_cuboid[:, 1], atol=0.01)
    for j, r in enumerate(right.annotation.objects):
        if j not in matched_right:
            assert outside_view(r.cuboid + shift, left.intrinsics), \
                f"{right.folder}/{right.index}: {r.class_name} is missing from the left view, where it is in the picture"
    # pixelwise: left surface points seen by the right eye where they should be
    ys, xs = np.nonzero(left.depth > 0)
    z = left.depth[ys, xs]
    ur = (xs + 0.5) - fx * baseline / z
    ok = (ur >= 0) & (ur < left.intrinsics.width)
    zr = right.depth[ys[ok], np.floor(ur[ok]).astype(int)]
    zr = np.where(zr > 0, zr, np.inf)  # nothing there: as far as can be
    agree = np.abs(zr - z[ok]) < 0.01
    # the right eye sees each left surface point, or something in front of it (an occluder: near the
    # camera, a falling object hides much more from one eye than from the other); never something
    # behind it, except where the pixel grid splits a depth edge
    behind = zr > z[ok] + 0.01
    assert behind.mean() < 0.03, f"{behind.mean():.2%} of left depth pixels see past their surface in the right eye"
    assert agree.mean() > 0.75, f"only {agree.mean():.2%} of left depth pixels agree with the right eye"
    n = len(matched_right)
    return n, len(left.annotation.objects) + len(right.annotation.objects) - n


def camera_in_ranges(view: FatView, fixation: np.ndarray, heading: float, az=(-120, 120), el=(5, 85), dist=(0.5, 1.5)) -> None:
    T = view.annotation.camera_pose
    a, e, d = orbit_angles(fixation, T[:3, 3])
    a = (a - heading + 180) % 360 - 180
    assert az[0] - 1e-3 <= a <= az[1] + 1e-3 and el[0] - 1e-3 <= e <= el[1] + 1e-3 and dist[0] - 1e-4 <= d <= dist[1] + 1e-4
    # the left eye looks at the fixation point: it projects to the image centre
    c = transform_points(invert_pose(T), fixation[None])[0]
    uv = view.intrinsics.project(c[None])[0]
    # (the file holds the camera quaternion to 4 decimals: up to about 2e-4 rad, 0.15 px)
    assert np.allclose(uv, [view.intrinsics.cx, view.intrinsics.cy], atol=0.3)


def check_dataset(out) -> int:
    """Every frame of every folder under ``out``: masks in cuboids and boxes, depth in cuboids,
    segmentation against instances, left against right. Returns the depth pixels checked."""
    from pathlib import Path

    n = matched = listed = 0
    for path in sorted(p.parent for p in Path(out).rglob("_camera_settings.json")):
        folder = FatFolder(path)
        for i in folder.frame_indices():
            left = folder.read(i, "left", ("depth", "seg", "instance"))
            right = folder.read(i, "right", ("depth", "seg", "instance"))
            for v in (left, right):
                mask_inside_projected_cuboid(v)
                mask_inside_bbox(v)
                n += depth_inside_cuboid(v)
                seg_matches_instances(v, folder)
            m, k = stereo_consistent(left, right)
            matched, listed = matched + m, listed + k
    # objects land near the fixation point, which both eyes see: most are in both pictures
    assert listed and matched >= 0.8 * listed, f"only {matched} of {listed} objects are in both views"
    return n


def raster_depth(points_cam: np.ndarray, faces: np.ndarray, intrinsics) -> np.ndarray:
    """z-depth of a triangle mesh (vertices in the camera frame) at every pixel centre, by a plain
    z-buffer written out here (1/z interpolated across each triangle on the image); inf where the
    mesh does not cover the pixel centre. Triangles reaching behind the camera are left out."""
    H, W = intrinsics.height, intrinsics.width
    zbuf = np.full((H, W), np.inf)
    uv = intrinsics.project(np.column_stack([points_cam[:, :2], np.maximum(points_cam[:, 2], 1e-9)]))
    for f in faces:
        z = points_cam[f, 2]
        if np.any(z <= 1e-3):
            continue
        a, b, c = uv[f]
        area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if abs(area) < 1e-12:
            continue
        lo, hi = np.minimum(np.minimum(a, b), c), np.maximum(np.maximum(a, b), c)
        x0, x1 = max(int(np.ceil(lo[0] - 0.5)), 0), min(int(np.floor(hi[0] - 0.5)), W - 1)
        y0, y1 = max(int(np.ceil(lo[1] - 0.5)), 0), min(int(np.floor(hi[1] - 0.5)), H - 1)
        if x1 < x0 or y1 < y0:
            continue
        px, py = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        wa = ((b[0] - px) * (c[1] - py) - (b[1] - py) * (c[0] - px)) / area
        wb = ((c[0] - px) * (a[1] - py) - (c[1] - py) * (a[0] - px)) / area
        wc = 1.0 - wa - wb
        inside = (wa >= 0) & (wb >= 0) & (wc >= 0)
        if not inside.any():
            continue
        depth = 1.0 / (wa / z[0] + wb / z[1] + wc / z[2])
        sub = zbuf[y0 : y1 + 1, x0 : x1 + 1]
        np.minimum(sub, np.where(inside, depth, np.inf), out=sub)
    return zbuf


def mask_covers_front_pixels(instance: np.ndarray, depth: np.ndarray, own: list[np.ndarray], margin: float = 0.005,
                             band_px: int = 1) -> list[tuple[int, int]]:
    """Coverage, the converse of a mask inside its cuboid: wherever object k's own mesh (``own[k]``,
    its z-depth from :func:`raster_depth`) is in front, its mask (``instance == k + 1``) holds the
    pixel. In front: nothing rendered there is nearer than the object by more than ``margin``
    (metres), and no other object's mesh comes within ``margin`` of it there. A band of ``band_px``
    pixels along the mesh's outline is not checked (two rasterisers may differ there).
    Returns, per object, (pixels checked, pixels hidden by something nearer)."""
    rendered = np.where(depth > 0, depth, np.inf)
    kernel = np.ones((2 * band_px + 1,) * 2, np.uint8)
    counts = []
    for k, z in enumerate(own):
        core = cv2.erode(np.isfinite(z).astype(np.uint8), kernel).astype(bool)
        others = np.min([own[j] for j in range(len(own)) if j != k], axis=0) if len(own) > 1 else np.full_like(z, np.inf)
        hidden = core & (rendered < z - margin)
        front = core & ~hidden & (others > z + margin)
        missing = front & (instance != k + 1)
        ys, xs = np.nonzero(missing)
        assert not len(ys), (f"object {k}: {len(ys)} of {int(front.sum())} pixels where it is in front are not in its mask, "
                             f"e.g. (x, y) = {list(zip(xs[:5].tolist(), ys[:5].tolist()))}")
        counts.append((int(front.sum()), int(hidden.sum())))
    return counts


class DrawnTargetsLabelled:
    """Checks, for every view annotated in this process while installed (``install(monkeypatch)``),
    that each pixel the renderer drew of a target (instance ids 1 .. number of targets) carries that
    target in the written maps: its entry of the view's ``objects`` in the instance map, its class id
    in the segmentation. Counts the views and drawn pixels checked."""

    def __init__(self):
        self.views = self.pixels = 0

    def install(self, monkeypatch) -> "DrawnTargetsLabelled":
        import fat.run.worker
        from fat.annotate.views import annotate_view

        def checked(objects, T_world_cam, K, instance_render):
            view, seg, inst = annotate_view(objects, T_world_cam, K, instance_render)
            for k, o in enumerate(objects):
                drawn = instance_render == k + 1
                if not drawn.any():
                    continue
                ids = np.unique(inst[drawn])
                assert len(ids) == 1 and ids[0] > 0, f"{o.class_name}: {int((inst[drawn] == 0).sum())} drawn pixels unlabelled"
                assert view.objects[int(ids[0]) - 1].class_name == o.class_name
                assert np.all(seg[drawn] == o.segmentation_id)
                self.pixels += int(drawn.sum())
            self.views += 1
            return view, seg, inst

        monkeypatch.setattr(fat.run.worker, "annotate_view", checked)
        return self
