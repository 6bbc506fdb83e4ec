"""Domain randomization (fat.randomize, ``--kind dr``, ``--randomize``): randomized frames hold the same
geometry as photoreal ones, distractors hide targets but are never annotated, each randomizer draws
from its own stream, the bytes do not depend on the number of workers, and a package can add a
randomizer through an entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import renderer_or_skip
from fat import catalog
from fat.annotate.views import annotate_view
from fat.assets.objects import standin_assets
from fat.frame import CameraRig, Frame, FrameObject
from fat.geometry import Intrinsics, invert_pose, look_at, make_pose, transform_points, ue4_point_to_world
from fat.run.plan import plan
from fat.randomize import Draft, Randomization, check_table, names
from fat.randomize.distractors import _asset, primitive_file
from fat.randomize.draw import temperature_rgb
from fat.run.driver import generate
from fat.drop.sampling import drop_rng, sample_camera, sample_objects, sample_start_poses
from fat.scene.scenes import CameraRanges, get_location
from fat.settings import Settings
from fat.run.resolve import object_set, plan_of, resolve
from fat.run.worker import Worker
from geometry_checks import check_dataset

MANY_DISTRACTORS = {"distractors": {"count": [3, 5]}}


def _settings(renderer="tiny", **kw):
    base = dict(kinds=("dr",), scenes=("kitchen", "temple"), locations=(0,), dr_frames=4, frames_per_drop=2, seed=5,
                width=320, height=180, renderer=renderer, randomize=MANY_DISTRACTORS)
    base.update(kw)
    return Settings(**base)


@pytest.mark.parametrize("renderer", ["tiny", "gl"])
@pytest.mark.slow
def test_randomized_frames_pass_the_geometric_checks(tmp_path, renderer):
    """Masks inside the projected cuboids and boxes, depth back-projected inside the cuboids,
    segmentation against instances, left against right: the checks of photoreal frames, on dr
    frames with distractors, random looks (the targets' too) and a random field of view per folder
    (whose _camera_settings.json the checks read)."""
    renderer_or_skip(renderer).close()
    table = {**MANY_DISTRACTORS, "camera": {"fov": [50, 80]}, "targets": {"enabled": True, "probability": 0.5}}
    out = tmp_path / "ds"
    generate(_settings(renderer, randomize=table), out)
    assert check_dataset(out) > 1000
    fovs = {json.loads((p / "_camera_settings.json").read_text())["camera_settings"][0]["horizontal_fov"]
            for p in (out / "dr").iterdir()}
    assert len(fovs) == 2 and all(50 <= f <= 80 for f in fovs), fovs  # per folder, within the range


@pytest.mark.slow
def test_distractors_are_drawn_and_hide_targets_but_are_never_annotated(tmp_path):
    """The renderer's instance map holds distractor pixels (ids past the targets'); the written
    segmentation and instance maps are background there, and every annotated object is a target."""
    s = resolve(_settings(renderer="tiny"))
    w = Worker(s)
    try:
        _, drops = plan(s, object_set(s))
        seen = 0
        for drop in drops:
            for frame in w.scenes(drop):
                assert len(frame.distractors) >= 3
                for eye, T in frame.rig.eyes():
                    out = w.renderer.render(frame, eye)
                    view, seg, inst = annotate_view(frame.objects, T, frame.rig.intrinsics, out.instance)
                    distractor = out.instance > len(frame.objects)
                    seen += int(distractor.sum())
                    assert not seg[distractor].any() and not inst[distractor].any()
                    assert len(view.objects) <= len(frame.objects)
                    assert {o.class_name for o in view.objects} <= {o.class_name for o in frame.objects}
                    assert inst.max() <= len(view.objects)
        assert seen > 1000  # distractors were in view
    finally:
        w.close()


def _frame(assets, objects, K, cam):
    loc = replace(get_location("kitedemo_0"), props=())
    loc = replace(loc, ground_z=loc.fixation[2] - 50.0)  # nothing else in view
    return loc, Frame(loc, tuple(objects[:1]), CameraRig(cam, cam, K), 0, tuple(objects[1:]))


@pytest.mark.parametrize("renderer", ["tiny", "gl"])
def test_a_distractor_in_front_of_a_target_lowers_its_visibility_by_what_it_covers(renderer):
    """A plate held between the camera and a box hides part of it. The box's visibility (the
    unhidden share of its eroded silhouette, fat.annotate) falls from 1 to 1 minus the share of the
    silhouette that the plate's projection covers, computed here from the plate's own corners; its
    visible mask loses the pixels the plate covers."""
    r = renderer_or_skip(renderer)
    try:
        info = catalog.fat_objects().get("cracker_box")
        target = standin_assets([info])[info.name]
        plate = _asset(str(primitive_file("plate")), 0.12)
        K = Intrinsics.from_fov(320, 240, 50.0)
        loc = get_location("kitedemo_0")
        centre = loc.fixation + np.array([0.0, 0.0, 0.3])
        cam = look_at(centre + np.array([0.8, 0.0, 0.0]), centre)
        box_pose = make_pose(np.eye(3), centre)
        # the plate upright, facing the camera, halfway there and shifted sideways: it covers part of the box
        R = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # plate x along world y, its thin z along x
        plate_pose = make_pose(R, centre + np.array([0.4, 0.045, 0.0]))
        box = FrameObject(target, info.class_name, info.segmentation_id, info.dimensions, box_pose)
        distractor = FrameObject(plate, "", 0, plate.info.dimensions, plate_pose)
        _, alone = _frame(None, [box], K, cam)
        _, hidden = _frame(None, [box, distractor], K, cam)
        out_alone, out_hidden = r.render(alone), r.render(hidden)
        vis_alone = annotate_view(alone.objects, cam, K, out_alone.instance)[0].objects[0].visibility
        vis_hidden = annotate_view(hidden.objects, cam, K, out_hidden.instance)[0].objects[0].visibility
        # the share of the box's silhouette inside the plate's projected outline
        T_cam = invert_pose(cam)
        box_mask = out_alone.instance == 1
        corners = transform_points(T_cam @ plate_pose, plate.hull)
        uv = K.project(corners)
        plate_mask = np.zeros(box_mask.shape, np.uint8)
        cv2.fillConvexPoly(plate_mask, cv2.convexHull(np.round((uv - 0.5) * 16).astype(np.int32)), 1, shift=4)
        covered = (box_mask & plate_mask.astype(bool)).sum() / box_mask.sum()
        assert vis_alone == pytest.approx(1.0)
        assert 0.2 < covered < 0.8
        assert vis_hidden == pytest.approx(1.0 - covered, abs=0.04)
        lost = box_mask & ~(out_hidden.instance == 1)
        assert abs(int(lost.sum()) - int((box_mask & plate_mask.astype(bool)).sum())) <= 0.03 * box_mask.sum()
        assert (out_hidden.instance[lost] == 2).mean() > 0.97  # what hides it is the distractor
    finally:
        r.close()


def _draft(seed_key, loc):
    rng = drop_rng(3, seed_key)
    infos = sample_objects(rng, list(catalog.fat_objects().objects), "dr")
    starts = sample_start_poses(rng, loc, len(infos))
    cams = [sample_camera(rng, loc, CameraRanges()) for _ in range(3)]
    return Draft(loc, infos, starts, cams, 5, None)


def test_switching_one_randomizer_off_leaves_the_others_draws_as_they_were():
    """Each randomizer draws from its own stream: with any one of them off (or with its options
    changed), every other one's looks, distractors and cameras are the same values."""
    loc = get_location("kitchen_0")
    key = (1, 2, 3, 4, 5, 6, 7, 8)
    table = {"targets": {"enabled": True}, "camera": {"elevation": [10, 60]}}

    def drawn(t):
        d = Randomization(check_table(t), seed=3).apply(key, _draft(key, loc))
        return d

    full = drawn(table)
    assert full.distractors and all(full.looks)
    fields = {"background": ["background"], "surfaces": ["surfaces"], "lights": ["lights", "ambient"],
              "targets": ["targets"], "distractors": ["distractors"]}
    for name in names():
        off = drawn({**table, name: {**table.get(name, {}), "enabled": False}})
        for other, keys in fields.items():
            if other == name:
                assert all(k not in f for f in off.looks for k in keys)
                continue
            for a, b in zip(full.looks, off.looks):
                assert all(a.get(k) == b.get(k) for k in keys), (name, other)
        if name != "distractors":
            assert [(a.folder, T.tobytes()) for a, T in full.distractors] == [(a.folder, T.tobytes()) for a, T in off.distractors]
        if name != "camera":
            assert [c.pose.tobytes() for c in full.cameras] == [c.pose.tobytes() for c in off.cameras]
    changed = drawn({**table, "lights": {"count": [1, 1]}})
    assert [f["background"] for f in changed.looks] == [f["background"] for f in full.looks]
    assert [len(f["lights"]) for f in changed.looks] == [1, 1, 1]


@pytest.mark.slow
def test_same_seed_same_bytes_with_any_number_of_workers(tmp_path):
    """A dr dataset, and photoreal frames beside it, made with one and with two workers: every file byte-identical."""
    s = _settings(kinds=("mixed", "dr"), mixed_frames=2)
    generate(s, tmp_path / "one", workers=1)
    generate(s, tmp_path / "two", workers=2)
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert any(str(f).startswith("dr/") for f in files) and any(str(f).startswith("mixed/") for f in files)
    for f in files:
        if f.name == "fat_dataset.json":
            continue  # it records the run's time
        if f.name == "manifest.jsonl":  # one line per drop, in the order the drops finished
            lines = [sorted((tmp_path / d / f).read_text().splitlines()) for d in ("one", "two")]
            assert lines[0] == lines[1]
            continue
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f


@pytest.mark.slow
def test_a_looks_only_randomizer_off_changes_the_pictures_only(tmp_path):
    """Lights change nothing of the geometry: with them off, every annotation, depth, segmentation
    and instance file is byte-identical, and the pictures differ."""
    generate(_settings(), tmp_path / "on")
    generate(_settings(randomize={**MANY_DISTRACTORS, "lights": {"enabled": False}}), tmp_path / "off")
    n_rgb_diff = 0
    for p in sorted((tmp_path / "on" / "dr").rglob("*.*")):
        q = tmp_path / "off" / p.relative_to(tmp_path / "on")
        if p.name.endswith(".jpg"):
            n_rgb_diff += p.read_bytes() != q.read_bytes()
        else:
            assert p.read_bytes() == q.read_bytes(), p
    assert n_rgb_diff > 0


def test_randomize_all_randomizes_every_kind_and_is_recorded(tmp_path):
    s = resolve(_settings(kinds=("single", "mixed"), objects=("banana",), single_frames=2, mixed_frames=2,
                           randomize={"all": True, **MANY_DISTRACTORS}))
    assert s.randomized("single") and s.randomized("mixed") and s.to_json()["randomize"]["all"] is True
    w = Worker(s)
    try:
        for drop in plan(s, object_set(s))[1]:
            frames = list(w.scenes(drop))
            assert all(f.looks is not None and len(f.distractors) >= 3 for f in frames)
    finally:
        w.close()
    plain = resolve(_settings(kinds=("mixed",), mixed_frames=2, randomize={}))
    assert "randomize" not in plain.to_json() and not plain.randomizes  # a photoreal record is as before


def test_bad_randomize_settings_are_one_line_errors_naming_the_option(tmp_path):
    from fat.errors import ConfigError

    for table, words in (({"lights": {"count": [3, 1]}}, "randomize.lights.count"),
                         ({"lights": {"cont": 2}}, "randomize.lights.cont: unknown option"),
                         ({"nothing": {}}, "randomize.nothing: unknown randomizer"),
                         ({"background": {"images": str(tmp_path / "none")}}, "randomize.background.images"),
                         ({"distractors": {"meshes": str(tmp_path)}}, "no mesh file"),
                         ({"surfaces": {"kinds": {"wood": 1}}}, "unknown name 'wood'"),
                         ({"camera": {"distance": [0.05, 0.3]}}, "randomize.camera")):
        with pytest.raises(ConfigError) as e:
            resolve(_settings(randomize=table))
        assert words in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_colour_temperature_follows_the_black_body():
    """6500 K is about white (D65's correlated colour temperature), lower is redder, higher bluer."""
    warm, white, cold = (np.array(temperature_rgb(k)) for k in (2000, 6500, 12000))
    assert np.allclose(white, 1.0, atol=0.06)
    assert warm[0] == 1.0 and warm[2] < 0.1 and warm[0] > warm[1] > warm[2]
    assert cold[2] == 1.0 and cold[0] < cold[1] < cold[2]


@pytest.mark.slow
def test_background_images_and_random_urdfs_meshes(tmp_path):
    """Background images from a folder and distractor meshes from pybullet_data's random_urdfs make a
    valid dataset with gl, whose distractors are those meshes; and where no surface is, gl shows the
    background image (a view of nothing but it), or the flat colour."""
    import pybullet_data

    from fat.looks import Background, Looks
    from fat.render.tonemap import srgb_encode

    renderer = renderer_or_skip("gl")
    try:
        images = tmp_path / "images"
        images.mkdir()
        cv2.imwrite(str(images / "red.png"), np.full((60, 80, 3), (0, 0, 255), np.uint8))
        urdfs = Path(pybullet_data.getDataPath()) / "random_urdfs"
        table = {"background": {"kinds": {"image": 1}, "images": str(images)},
                 "distractors": {"count": [2, 3], "meshes": str(urdfs), "primitives": 0.0}}
        out = tmp_path / "ds"
        s = _settings("gl", scenes=("kitedemo",), dr_frames=2, randomize=table)
        generate(s, out)
        assert check_dataset(out) > 100
        w = Worker(resolve(s))
        try:
            frame = next(w.scenes(plan_of((s))[1][0]))
            assert frame.distractors and all(Path(o.asset.info.mesh).is_relative_to(urdfs) for o in frame.distractors)
            assert frame.looks.background.path == str(images / "red.png")
        finally:
            w.close()
        loc = replace(get_location("kitedemo_0"), props=())
        loc = replace(loc, ground_z=loc.fixation[2] - 50.0)
        cam = look_at(loc.fixation + np.array([1.0, 0.0, 0.0]), loc.fixation)
        K = Intrinsics.from_fov(160, 90, 60.0)
        for bg, expected in ((Background("image", str(images / "red.png")), (255, 0, 0)),
                             (Background("color", color=(0.2, 0.5, 0.05)), tuple(np.round(srgb_encode(np.array([0.2, 0.5, 0.05])) * 255)))):
            frame = Frame(loc, (), CameraRig(cam, cam, K), looks=Looks(background=bg))
            out_view = renderer.render(frame)
            assert not (out_view.depth > 0).any()
            assert np.abs(out_view.rgb.astype(int) - expected).max() <= 1, bg
    finally:
        renderer.close()


@pytest.mark.slow
def test_a_package_adds_a_randomizer_by_an_entry_point(tmp_path):
    from plugin_examples import install

    root = install(tmp_path / "plugin", "fat_overhead", ["fat_overhead"])  # docs/randomization.md's example
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "ds"
    r = subprocess.run([sys.executable, "-m", "fat.cli.main", "generate", str(out), "--kind", "dr", "--scene", "kitchen",
                        "--frames", "2", "--frames-per-drop", "2", "--width", "160", "--height", "90", "--renderer",
                        "tiny", "--randomizer", "overhead.height=1.3", "--quiet"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    loc = get_location("kitchen_0")
    for p in sorted((out / "dr").rglob("*.left.json")):
        eye = ue4_point_to_world(np.array(json.loads(p.read_text())["camera_data"]["location_worldframe"]))
        assert np.allclose(eye[:2], loc.fixation[:2], atol=0.03) and eye[2] - loc.fixation[2] == pytest.approx(1.3, abs=0.01)
    bad = subprocess.run([sys.executable, "-m", "fat.cli.main", "generate", str(tmp_path / "x"), "--kind", "dr",
                          "--randomizer", "overhead.height=9"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "randomize.overhead.height" in bad.stderr and not (tmp_path / "x").exists()


def test_the_guide_lists_every_option_of_every_randomizer():
    """docs/randomization.md's table names each option of ours (a new option without a line fails)."""
    from fat.randomize import REGISTRY, option_help

    text = (Path(__file__).resolve().parents[1] / "docs" / "randomization.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for name, option, _, _ in option_help():
        if name not in REGISTRY.ours() or option in ("enabled", "probability"):
            continue
        assert any(line.startswith(f"| `{name}` | ") and f"`{option}`" in line.split("|")[2] for line in rows), (name, option)


def test_randomized_lights_add_up_and_light_a_white_surface_as_lambert_says(tmp_path):
    """gl with a randomized frame's lights and no image-based light: a white Lambertian sphere lit by
    a light of irradiance E shows radiance E cos(theta) / pi at each point (theta: between the
    light and the sphere's normal there, known from the geometry); two lights (the first shadowed,
    the second drawn by the extra-light code) give the sum of each alone. Tolerance: the 8-bit
    code's width after the tone curve is undone, plus 3 % (the sphere's facets)."""
    import trimesh

    from fat.scene.environment import uniform_environment
    from fat.looks import LightSource, Looks
    from fat.render.tonemap import from_srgb8
    from test_pbr import _lighting, _object

    gl = renderer_or_skip("gl")
    try:
        ball = _object(tmp_path, trimesh.creation.icosphere(subdivisions=4, radius=0.05), "white", roughness=1.0,
                       metallic=0.0, specular=0.0)
        loc = replace(get_location("kitedemo_0"), props=())
        loc = replace(loc, ground_z=loc.fixation[2] - 50.0)
        gl._lighting[loc.name] = _lighting(uniform_environment((0.0, 0.0, 0.0)), exposure=1.0, sun=(1.0, 1.0, 1.0))
        eye = loc.fixation + 0.35 * np.array([1.0, 0.0, 0.6]) / np.linalg.norm([1.0, 0.0, 0.6])
        cam = look_at(eye, loc.fixation)
        K = Intrinsics.from_fov(160, 120, 40.0)
        obj = FrameObject(ball, "white", 1, ball.info.dimensions, make_pose(np.eye(3), loc.fixation))
        d1, d2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.6, 0.8])
        side, top = LightSource(tuple(d1), (1.0, 1.0, 1.0), 1.0), LightSource(tuple(d2), (1.0, 1.0, 1.0), 0.5)

        def radiance(*lights):
            frame = Frame(loc, (obj,), CameraRig(cam, cam, K), looks=Looks(lights=lights, ambient=0.0))
            out = gl.render(frame)
            return from_srgb8(out.rgb, 1.0)[..., 1], out

        r_side, out = radiance(side)
        r_top, _ = radiance(top)
        r_both, _ = radiance(side, top)
        seen = cv2.erode((out.instance == 1).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        normals = transform_points(cam, K.backproject(out.depth)[seen]) - loc.fixation
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        c1, c2 = normals @ d1, normals @ d2
        for r, c, e in ((r_side, c1, 1.0), (r_top, c2, 0.5)):
            lit = c > 0.15  # away from the terminator, where the shadow map's bias decides
            assert lit.sum() > 300
            assert np.allclose(r[seen][lit], e * c[lit] / np.pi, rtol=0.03, atol=0.006)
            assert np.all(r[seen][c < -0.05] < 0.004)  # the far side: dark
        assert np.allclose(r_both[seen], r_side[seen] + r_top[seen], rtol=0.03, atol=0.006)
    finally:
        gl.close()


def test_what_randomized_frames_bring_stays_within_the_renderers_cache(tmp_path):
    """Background images (and texture sets, distractor meshes, maps) have no bound in number, so gl
    keeps them in a cache of bounded bytes: after many frames with another image each, it holds
    about its budget, not every image; a frame whose image was released draws the same again."""
    from fat.looks import Background, Looks

    renderer = renderer_or_skip("gl")
    try:
        renderer._random.budget = 2 * 2**20
        loc = replace(get_location("kitedemo_0"), props=())
        loc = replace(loc, ground_z=loc.fixation[2] - 50.0)
        cam = look_at(loc.fixation + np.array([1.0, 0.0, 0.0]), loc.fixation)
        K = Intrinsics.from_fov(64, 48, 60.0)
        frames = []
        for i in range(12):
            path = tmp_path / f"bg{i}.png"
            cv2.imwrite(str(path), np.full((300, 400, 3), (20 * i, 100, 255 - 20 * i), np.uint8))
            frames.append(Frame(loc, (), CameraRig(cam, cam, K), looks=Looks(background=Background("image", str(path)))))
        first = renderer.render(frames[0]).rgb
        for f in frames[1:]:
            renderer.render(f)
            assert sum(renderer._random.sizes.values()) <= renderer._random.budget + 600_000  # the budget and this frame's image
        assert f"image:{tmp_path / 'bg0.png'}" not in renderer._random.items  # released long ago
        assert np.array_equal(renderer.render(frames[0]).rgb, first)
    finally:
        renderer.close()


def test_fats_preset_with_a_dr_kind_adds_2000_randomized_frames_per_location():
    """--preset fat --kind both --kind dr: FAT's 61,500 stereo frames and a dr/ folder of 2,000 at
    each of the 15 locations, split by FAT's held-out location like the others."""
    from fat.run.plan import split_of, total_frames
    from fat.settings import from_values

    s = resolve(from_values({"preset": "fat", "kind": ["both", "dr"]}))
    assert s.kinds == ("single", "mixed", "dr") and total_frames(s) == 61_500 + 15 * 2000
    folders = plan(s, object_set(s))[0]
    dr = [f for f in folders if f.kind == "dr"]
    assert len(dr) == 15 and all(f.n_frames == 2000 and f.path == f"dr/{f.location}" for f in dr)
    split = split_of(s, folders)
    assert sorted(split["kinds"]["dr"]["test"]) == ["dr/kitchen_4", "dr/kitedemo_4", "dr/temple_4"]
    assert total_frames(resolve(from_values({"preset": "fat"}))) == 61_500  # FAT's plan unchanged


def test_patterns_are_two_tone_images_that_tile():
    """Catches: a pattern outside 0..1 (colours beyond the two chosen), a flat pattern (no second
    colour) and one with a seam where it wraps around (a visible line on every tiled surface)."""
    from fat.looks import PATTERNS
    from fat.scene.patterns import pattern

    for name in PATTERNS:
        g = pattern(name, 64)
        assert g.shape == (64, 64) and g.dtype == np.float32, name
        assert 0 <= g.min() and g.max() <= 1 and g.max() - g.min() > 0.5, name
        for a in (g, g.T):  # across the wrap, neighbours differ no more than anywhere inside
            inside = np.abs(np.diff(a, axis=1)).max(axis=0)
            assert np.abs(a[:, 0] - a[:, -1]).max() <= inside.max() + 1e-6, name
