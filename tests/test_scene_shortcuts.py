"""What keeps large glTF scenes fast gives what the plain computation gives: the gl renderer's
shadow map with the scenery drawn once per location, the plan-grid index of the sightlines'
``inside`` test, and the physics' collision triangles cropped to the drop point's reach and welded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fat.scene import scenes as scenes
from fat.scene.gltf_scene import load_gltf_scene
from fat.scene.gltf_write import GltfWriter

TO_Y_UP = [-math.sqrt(0.5), 0.0, 0.0, math.sqrt(0.5)]  # the root node's turn: Z-up world -> glTF's Y-up


def _plain_inside(s, points):
    """``Sightlines.inside`` without its index: every triangle tried for every point."""
    from fat.scene.sightlines import _up_hits

    out = []
    for p in points:
        near = np.flatnonzero((s.tri_lo[:, 0] <= p[0]) & (s.tri_hi[:, 0] >= p[0]) & (s.tri_lo[:, 1] <= p[1])
                              & (s.tri_hi[:, 1] >= p[1]) & (s.tri_hi[:, 2] > p[2]))
        t, nz = _up_hits(p, s.tris[near])
        out.append(bool(len(t)) and nz[np.argmin(t)] > 0)
    return np.array(out)


def test_the_indexed_inside_test_answers_as_trying_every_triangle():
    """Catches: the plan grid losing a triangle that spans cells (a point under a table top called
    outside), or a point beyond the grid's edge answered from a clamped cell."""
    from fat.scene.sightlines import sightlines

    g = load_gltf_scene(scenes.get_location("patio_0").asset)
    s = sightlines(g)
    lo, hi = g.lo, g.hi
    rng = np.random.default_rng(3)
    points = rng.uniform(lo - 0.5, hi + 0.5, size=(1500, 3))  # some beyond the scene's plan
    points[:200, :2] = s.origin + rng.integers(0, 40, size=(200, 2)) * s.cell  # on cell borders
    got = s.inside(points)
    assert np.array_equal(got, _plain_inside(s, points))
    assert 20 < got.sum() < len(got) - 20  # both answers occur: the comparison means something


def _lawn(path, n=120, side=6.0):
    """A bumpy square lawn of 2 n^2 triangles, each with its own three vertices (flat shading), and a
    drop node near one corner."""
    xs = np.linspace(-side / 2, side / 2, n + 1)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    v = np.column_stack([X.ravel(), Y.ravel(), 0.01 * np.sin(7 * X.ravel()) * np.cos(5 * Y.ravel())])
    i = (np.arange(n)[:, None] * (n + 1) + np.arange(n)[None, :]).ravel()
    faces = np.concatenate([np.column_stack([i, i + n + 1, i + 1]), np.column_stack([i + 1, i + n + 1, i + n + 2])])
    split = v[faces].reshape(-1, 3)  # three vertices per triangle, as a flat-shaded export writes them
    w = GltfWriter()
    mesh = w.mesh([w.primitive(split, np.arange(len(split)).reshape(-1, 3))])
    w.root(w.node("root", rotation=TO_Y_UP, children=[w.node("lawn", mesh=mesh), w.node("drop", translation=[2.0, 2.0, 0.0])]))
    return w.write(path)


def test_scene_collision_keeps_every_triangle_within_reach_once_with_its_corners_joined(tmp_path):
    """Catches: a triangle near the drop point left out of the physics (an object falling through
    the lawn), far triangles kept (slow drops), or a flat-shaded mesh's split corners left split."""
    from fat.drop.physics import SCENE_REACH, scene_collision

    (loc,) = scenes.load_scene(scenes.scene_name(str(_lawn(tmp_path / "bumpy_lawn.glb"))))
    tris = np.concatenate([p.vertices[p.faces] for p in load_gltf_scene(loc.asset).pieces])  # as read: float32
    hulls, shapes = scene_collision(loc.asset, tuple(loc.fixation))
    assert hulls == []
    kept = np.concatenate([np.asarray(v)[np.asarray(i).reshape(-1, 3)] for v, i in shapes])
    gap = np.linalg.norm(np.maximum(np.maximum(tris.min(1) - loc.fixation, loc.fixation - tris.max(1)), 0), axis=1)
    near = tris[gap <= SCENE_REACH]
    assert 0 < len(near) < len(tris)  # the crop drops something and keeps something
    assert len(kept) == len(near)
    by_centre = lambda t: t[np.lexsort(np.round(t.mean(1)[:, :2], 4).T)]  # noqa: E731  (distinct on the grid)
    assert np.allclose(by_centre(kept), by_centre(near), atol=1e-6)
    for v, i in shapes:  # each corner once: about one vertex per two triangles, not three per triangle
        v = np.asarray(v)
        assert len(np.unique(np.round(v, 6), axis=0)) == len(v)
        assert len(v) < 0.6 * len(i) / 3 + 2 * math.sqrt(len(i))


@pytest.mark.slow
@pytest.mark.parametrize("location", ["kitchen_0", "patio_3"])
def test_shadow_map_with_the_scenery_drawn_once_equals_one_drawn_whole(location):
    """Catches: the scenery's shadow depths restored wrongly from the per-location copy (shadows
    lost, shifted or taken from another location), or the objects' shadows drawn before it and
    then overwritten."""
    from conftest import renderer_or_skip
    from fat import catalog
    from fat.frame import Frame
    from fat.geometry import Intrinsics, look_at, make_pose
    from fat.assets.objects import standin_assets

    r = renderer_or_skip("gl")
    try:
        K = Intrinsics.from_fov(320, 180, 64.0)
        loc = scenes.get_location(location)
        names = ["003_cracker_box", "006_mustard_bottle", "035_power_drill"]
        infos = [catalog.fat_objects().get(n) for n in names]
        assets = standin_assets(infos)
        objs = [assets[o.name] for o in infos]

        def frame(shift, eye):
            poses = [make_pose(np.eye(3), loc.fixation + [0.12 * (k - 1) + shift, 0.05 * k, 0.08]) for k in range(3)]
            return Frame.view(loc, zip(objs, poses), look_at(loc.fixation + np.array(eye), loc.fixation), K)

        drawn = []
        plain_draws = r._shadow_draws
        r._shadow_draws = lambda items: (drawn.append(len(items)), plain_draws(items))[1]
        first, second = frame(0.0, [0.5, -0.6, 0.5]), frame(0.07, [-0.4, -0.7, 0.6])
        r.render(first)
        drawn.clear()
        cached = r.render(second)
        assert drawn == [3]  # the objects alone: the scenery came from the copy
        r._static_key = r._shadow_key = None
        whole = r.render(second)
        assert drawn[1:] == [len(r._casters), 3]
        for a, b in zip((cached.rgb, cached.depth, cached.instance), (whole.rgb, whole.depth, whole.instance)):
            assert np.array_equal(a, b)
        r._static_shadow.write(np.ones(r._static_shadow.size // 4, "f4").tobytes())  # the copy without the scenery
        r._shadow_key = None
        unshadowed = r.render(second)
        assert (np.abs(unshadowed.rgb.astype(int) - whole.rgb).max(-1) > 8).sum() > 100  # the scenery's shadows show
    finally:
        r.close()
