"""Scenes, random sampling, physics and visibility, each on its own."""

import math
from dataclasses import replace

import numpy as np
import pytest

from fat import catalog
from fat.annotate.views import annotate_view
from fat.assets.objects import standin_assets
from fat.errors import ConfigError
from fat.geometry import FAT_INTRINSICS, look_at, make_pose, orbit_angles
from fat.drop.physics import TIME_STEP, Physics
from fat.frame import Frame, FrameObject
from fat.render import make_renderer
from fat.drop.sampling import drop_rng, random_rotation, sample_camera, sample_objects, sample_start_poses
from fat.scene.scenes import CameraRanges, Prop, Surface, all_locations, check_camera_clearance, get_location, load_scene, scene_names


def test_three_scenes_five_locations_each():
    from fat.scene.scenes import FAT_SCENES

    assert set(FAT_SCENES) < set(scene_names())  # FAT's three, and the glTF patio beside them
    locs = [loc for s in FAT_SCENES for loc in load_scene(s)]
    assert [l.name for l in locs] == [f"{s}_{i}" for s in FAT_SCENES for i in range(5)]
    assert len({tuple(l.fixation) for l in locs}) == 15
    grounds = {l.ground.texture for l in locs}
    assert {"tiles", "grass", "stone", "sand"} <= grounds
    labels = {l.light.label for l in locs}
    assert {"low sun", "dim", "harsh"} <= labels
    for l in locs:
        assert l.props, l.name
        assert 0 <= l.light.ambient <= 1 and abs(np.linalg.norm(l.light.direction) - 1) < 1e-9


def test_props_stay_out_of_the_camera_region():
    ranges = CameraRanges()
    for loc in all_locations():
        check_camera_clearance(loc, ranges)


def test_the_kitchen_wall_is_behind_the_camera_range():
    """FAT's azimuth range keeps the camera off the kitchen wall; widening it to the full circle hits it."""
    loc = get_location("kitchen_0")
    wall = next(p for p in loc.props if p.name == "wall")
    a, _, _ = orbit_angles(loc.fixation, wall.pose[:3, 3])
    assert abs((a - loc.heading + 180) % 360 - 180) > 170  # straight behind
    with pytest.raises(ConfigError, match="kitchen_0: prop 'wall' lies where the camera is sampled"):
        check_camera_clearance(loc, CameraRanges(azimuth=(-180, 180)))


def test_bad_ranges_and_names():
    with pytest.raises(ConfigError, match="elevation range .* is empty"):
        CameraRanges(elevation=(30, 10))
    with pytest.raises(ConfigError, match="unknown scene 'garden'"):
        load_scene("garden")
    with pytest.raises(ConfigError, match="unknown location 'kitchen_7'"):
        get_location("kitchen_7")


def test_camera_samples_in_range_and_looking_at_the_fixation():
    loc = get_location("temple_2")
    rng = drop_rng(3, (1, 2, 3))
    r = CameraRanges()
    for _ in range(300):
        c = sample_camera(rng, loc, r)
        assert -120 <= c.azimuth <= 120 and 5 <= c.elevation <= 85 and 0.5 <= c.distance <= 1.5
        a, e, d = orbit_angles(loc.fixation, c.pose[:3, 3])
        assert math.isclose(d, c.distance) and math.isclose(e, c.elevation, abs_tol=1e-9)
        assert math.isclose((a - loc.heading - c.azimuth + 180) % 360 - 180, 0, abs_tol=1e-9)
        assert np.allclose(c.pose[:3, 2], (loc.fixation - c.pose[:3, 3]) / d)


def test_mixed_drops_hold_2_to_10_objects_with_replacement():
    pool = list(catalog.fat_objects().objects)
    counts, dup = [], 0
    for k in range(400):
        objs = sample_objects(drop_rng(0, (k,)), pool, "mixed")
        counts.append(len(objs))
        dup += len({o.name for o in objs}) < len(objs)
    assert min(counts) == 2 and max(counts) == 10 and set(counts) == set(range(2, 11))
    assert dup > 50  # sampled with replacement
    assert sample_objects(drop_rng(0, (1,)), [catalog.fat_objects().get("mug")], "single") == [catalog.fat_objects().get("mug")]


def test_start_poses_inside_the_drop_cylinder():
    loc = get_location("kitedemo_3")
    poses = sample_start_poses(drop_rng(1, (2,)), loc, 500)
    p = np.array([T[:3, 3] for T in poses]) - loc.fixation
    assert np.hypot(p[:, 0], p[:, 1]).max() <= 0.05
    assert p[:, 2].min() >= loc.drop_height and p[:, 2].max() <= loc.drop_height + 0.10
    Rs = np.array([T[:3, :3] for T in poses])
    assert np.abs(Rs.mean(0)).max() < 0.1  # orientations spread over SO(3)
    assert np.allclose(np.linalg.det(random_rotation(drop_rng(0, ())), ), 1)


@pytest.fixture(scope="module")
def assets():
    return standin_assets(list(catalog.fat_objects().objects))


class _ReleaseWatch:
    """Stands in for ``fat.drop.physics``'s pybullet module: at each release (a body with mass made), it
    measures PyBullet's closest distance between the new body's collision shape and every other body
    of that world (ground, props, objects already falling), as the simulation holds them at that
    moment. Negative distances are interpenetration depths."""

    def __init__(self, pb):
        self._pb = pb
        self.releases: list[tuple[int, float]] = []  # (body, closest distance to anything else)

    def __getattr__(self, name):
        return getattr(self._pb, name)

    def createMultiBody(self, mass, *args, **kw):
        body = self._pb.createMultiBody(mass, *args, **kw)
        if mass > 0:
            c = kw["physicsClientId"]
            closest = math.inf
            for i in range(self._pb.getNumBodies(physicsClientId=c)):
                other = self._pb.getBodyUniqueId(i, physicsClientId=c)
                if other != body:
                    pts = self._pb.getClosestPoints(body, other, 0.05, physicsClientId=c)
                    closest = min([closest] + [p[8] for p in pts])
            self.releases.append((body, closest))
        return body


OVERLAP_TOL = 1e-3  # metres of interpenetration tolerated at a release (none is expected)


def _drop(assets, loc, names, seed, monkeypatch):
    import fat.drop.physics

    watch = _ReleaseWatch(fat.drop.physics.pb)
    monkeypatch.setattr(fat.drop.physics, "pb", watch)
    phys = Physics()
    infos = [catalog.fat_objects().get(n) for n in names]
    starts = sample_start_poses(drop_rng(seed, (0,)), loc, len(infos))
    phys.reset(loc)
    dropped = phys.spawn([assets[o.name] for o in infos], starts)
    return phys, watch, starts, dropped


@pytest.mark.slow
def test_physics_starts_without_overlaps_and_settles(assets, monkeypatch):
    """Ten objects sampled into the same small drop cylinder: at each one's release, its collision
    shape (the one the physics simulates) touches nothing. Catches starts that are not staggered or
    lifted (e.g. ``Physics._blocked`` always False, or the wait loop removed), which release bodies
    inside each other by centimetres."""
    loc = get_location("kitchen_1")
    names = ("pitcher_base", "bowl", "mug", "cracker_box", "bleach_cleanser", "power_drill", "master_chef_can",
             "wood_block", "banana", "mug")
    phys, watch, starts, dropped = _drop(assets, loc, names, 5, monkeypatch)
    try:
        for d, s in zip(dropped, starts):  # x, y as sampled; only ever lifted
            assert np.allclose(d.start[:2, 3], s[:2, 3]) and d.start[2, 3] >= s[2, 3] - 1e-12
        assert len(watch.releases) == len(names)
        assert [r for r in watch.releases if r[1] < -OVERLAP_TOL] == [], watch.releases
        # the starts did overlap as sampled: the staggering had work to do
        assert len({d.release_step for d in dropped}) > 1
        phys.step(int(3.0 / TIME_STEP))
        assert phys.speeds().max() < 0.05  # at rest
        p = np.array([T[:3, 3] for T in phys.poses()])
        assert np.all(p[:, 2] > loc.ground_z - 0.01) and np.all(np.hypot(*(p[:, :2] - loc.fixation[:2]).T) < 1.0)
    finally:
        phys.close()


def test_a_start_inside_a_prop_is_lifted_clear(assets, monkeypatch):
    """A prop fills the drop cylinder: waiting cannot free the starts, so each one is lifted until its
    collision shape clears the prop and the objects released before it. Catches a missing or short
    lift (e.g. the lift loop removed, or checked against the objects only)."""
    base = get_location("kitchen_1")
    slab_top = base.fixation[2] + base.drop_height + 0.12  # above the whole drop cylinder
    slab = Prop("slab", "box", make_pose(np.eye(3), [*base.fixation[:2], slab_top - 0.1]), np.array([0.4, 0.4, 0.2]),
                Surface("plain", ((200, 200, 200),)))
    loc = replace(base, props=(slab,))
    phys, watch, starts, dropped = _drop(assets, loc, ("mug", "cracker_box", "banana"), 2, monkeypatch)
    try:
        assert len(watch.releases) == 3
        assert [r for r in watch.releases if r[1] < -OVERLAP_TOL] == [], watch.releases
        assert all(d.start[2, 3] > s[2, 3] for d, s in zip(dropped, starts))  # every start was lifted
    finally:
        phys.close()


def _alone_scene(props=()):
    loc = replace(get_location("kitchen_1"), props=tuple(props))
    return loc


def _view(loc, assets, name, T_obj, cam):
    a = assets[catalog.fat_objects().get(name).name]
    frame = Frame.view(loc, [(a, T_obj)], cam, FAT_INTRINSICS)
    r = make_renderer("tiny")
    try:
        out = r.render(frame)
    finally:
        r.close()
    o = catalog.fat_objects().get(name)
    view, seg, inst = annotate_view([FrameObject(a, o.class_name, o.segmentation_id, o.dimensions, T_obj)], cam,
                                    FAT_INTRINSICS, out.instance)
    return view, seg, inst, out


def test_visibility_alone_is_one_and_half_hidden_is_a_half(assets):
    loc = _alone_scene()
    T_obj = make_pose(np.eye(3), loc.fixation + [0, 0, 0.15])  # clear of the floor
    cam = look_at(loc.fixation + [0.0, -0.8, 0.3], T_obj[:3, 3])
    for name in ("cracker_box", "mug", "banana", "power_drill"):
        view, seg, inst, out = _view(loc, assets, name, T_obj, cam)
        (o,) = view.objects
        assert o.visibility == 1.0, name
        assert inst.sum() > 500 and np.array_equal(seg > 0, inst > 0)
    # a wall between the camera and the cracker box, covering its left half as the camera sees it
    x_cam = cam[:3, 0]  # camera x axis in the world
    wall_centre = T_obj[:3, 3] + (cam[:3, 3] - T_obj[:3, 3]) * 0.4 - x_cam * 0.25
    wall_pose = make_pose(cam[:3, :3], wall_centre)
    # the wall's right edge passes through the line of sight to the object centre
    wall = Prop("wall", "box", wall_pose, np.array([0.5, 1.0, 0.01]), Surface("plain", ((200, 200, 200),)))
    view, seg, inst, out = _view(_alone_scene([wall]), assets, "cracker_box", T_obj, cam)
    (o,) = view.objects
    assert 0.4 < o.visibility < 0.6
    view_none, *_ = _view(_alone_scene([replace(wall, pose=make_pose(cam[:3, :3], wall_centre + x_cam * 0.25))]),
                          assets, "cracker_box", T_obj, cam)
    assert view_none.objects[0].visibility == 0.0


def test_objects_outside_the_frustum_are_not_listed(assets):
    loc = _alone_scene()
    cam = look_at(loc.fixation + [0.0, -0.8, 0.3], loc.fixation)
    behind = make_pose(np.eye(3), cam[:3, 3] - cam[:3, 2] * 0.5)
    view, seg, inst, _ = _view(loc, assets, "mug", behind, cam)
    assert view.objects == [] and not seg.any() and not inst.any()
    # just outside the left image edge: its cuboid misses the frustum
    side = make_pose(np.eye(3), cam[:3, 3] + cam[:3, 2] * 0.8 - cam[:3, 0] * 0.8)
    view, *_ = _view(loc, assets, "mug", side, cam)
    assert view.objects == []
    # partly in view: listed, with an unclamped box that crosses the image border
    edge = make_pose(np.eye(3), cam[:3, 3] + cam[:3, 2] * 0.8 - cam[:3, 0] * 0.5)
    view, *_ = _view(loc, assets, "mug", edge, cam)
    (o,) = view.objects
    assert o.bbox[0] < 0 < o.bbox[2]
