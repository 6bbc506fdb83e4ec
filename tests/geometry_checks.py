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


def stereo_consistent(left: FatView, right: FatView, baseline: float = 0.06) -> None:
    """The right eye is the left one moved by the baseline along its x axis."""
    fx = left.intrinsics.fx
    dl, dr = left.annotation.camera_pose, right.annotation.camera_pose
    assert np.allclose(invert_pose(dl) @ dr[:, 3], [baseline, 0, 0, 1], atol=2e-5)
    assert np.allclose(dl[:3, :3], dr[:3, :3], atol=1e-4)
    right_by_class = {}
    for o in right.annotation.objects:
        right_by_class.setdefault(o.class_name, []).append(o)
    for o in left.annotation.objects:
        matches = [r for r in right_by_class.get(o.class_name, []) if np.allclose(r.location + [baseline, 0, 0], o.location, atol=2e-6)]
        if not matches:
            continue  # in the left view only
        r = matches[0]
        assert np.allclose(r.quaternion_xyzw, o.quaternion_xyzw, atol=1e-4)
        shift = o.projected_cuboid[:, 0] - r.projected_cuboid[:, 0]
        assert np.allclose(shift, fx * baseline / o.cuboid[:, 2], atol=0.01)
        assert np.allclose(o.projected_cuboid[:, 1], r.projected_cuboid[:, 1], atol=0.01)
    # pixelwise: left surface points seen by the right eye where they should be
    ys, xs = np.nonzero(left.depth > 0)
    z = left.depth[ys, xs]
    ur = (xs + 0.5) - fx * baseline / z
    ok = (ur >= 0) & (ur < left.intrinsics.width)
    zr = right.depth[ys[ok], np.floor(ur[ok]).astype(int)]
    agree = np.abs(zr - z[ok]) < 0.01
    assert agree.mean() > 0.9, f"only {agree.mean():.2%} of left depth pixels agree with the right eye"


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

    n = 0
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
            stereo_consistent(left, right)
    return n
