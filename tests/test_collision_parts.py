"""Collision parts for the physics: V-HACD parts merged while the shape stays tight."""

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from fat import catalog
from fat.assets.objects import MAX_ADDED_VOLUME, MAX_COLLISION_PARTS, standin_assets, ycb_assets
from fat.assets.meshes import load_mesh, merge_convex_parts, split_closed_parts


def box(lo, hi):
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def inside(points, hull_points, tol=1e-9):
    """Every point within ``tol`` metres of the convex hull of ``hull_points`` (or inside it)."""
    eq = ConvexHull(hull_points).equations  # unit outward normals and offsets
    return bool(np.all(points @ eq[:, :3].T + eq[:, 3] <= tol))


def volume(parts):
    return sum(ConvexHull(p).volume for p in parts)


def l_shape():
    """An L of 1 cm cubes: a 10-cube arm along x and a 10-cube arm along y."""
    arm_x = [box((i, 0, 0), (i + 1, 1, 1)) for i in range(10)]
    arm_y = [box((0, j, 0), (1, j + 1, 1)) for j in range(1, 11)]
    return [p * 0.01 for p in arm_x + arm_y]


def test_merging_keeps_every_part_inside_and_the_concavity_open():
    parts = l_shape()
    merged = merge_convex_parts(parts, 2, 0.05)
    assert len(merged) == 2  # each arm becomes one box; joining the arms would fill the L's corner
    for p in parts:
        assert any(inside(p, m) for m in merged)
    assert np.isclose(volume(merged), volume(parts), rtol=1e-6)  # collinear cubes merge for free
    one = merge_convex_parts(parts, 1, 0.05)
    assert len(one) == 2  # one hull would add 4x the L's volume: over budget, so it stops at two


def test_merging_stops_at_the_volume_budget():
    parts = l_shape()
    merged = merge_convex_parts(parts, 1, 10.0)
    assert len(merged) == 1
    assert np.isclose(volume(merged), ConvexHull(np.vstack(parts)).volume)  # the hull of the whole L
    few = merge_convex_parts(parts, 5, 0.0)
    assert len(few) == 5  # free merges only (collinear cubes), down to the limit


def test_parts_at_or_under_the_limit_come_back_unchanged():
    parts = l_shape()[:3]
    out = merge_convex_parts(parts, 16, 0.1)
    assert len(out) == 3 and all(np.array_equal(a, b) for a, b in zip(out, parts))


def check_collision(asset):
    merged = [m.vertices for m in split_closed_parts(load_mesh(asset.collision))]
    assert 1 <= len(merged) <= len(asset.parts)
    for p in asset.parts:  # every source part lies inside some merged part (1 um for the OBJ text)
        assert any(inside(p, m, tol=1e-6) for m in merged), asset.info.name
    assert volume(merged) <= volume(asset.parts) * (1 + MAX_ADDED_VOLUME) + 1e-12
    return len(merged)


def test_standin_collision_parts():
    for a in standin_assets(catalog.fat_objects().objects).values():
        check_collision(a)


@pytest.mark.slow
def test_ycb_collision_parts_are_fewer_and_tight(ycb_dir):
    counts = {o.name: check_collision(a) for o, a in
              ((catalog.fat_objects().get(n), a) for n, a in ycb_assets(ycb_dir, [catalog.fat_objects().get(n) for n in ("mug", "bowl", "master_chef_can", "cracker_box")]).items())}
    assert counts["003_cracker_box"] <= MAX_COLLISION_PARTS  # a box: its 64 parts merge freely
    assert counts["024_bowl"] > MAX_COLLISION_PARTS  # the bowl's hollow would cost too much volume
