"""The frame record (what the physics fills and renderers, annotator and writer read) and the
random streams keyed by names: adding a scene or an object elsewhere changes no other drop."""

import json
from dataclasses import replace

import numpy as np
import pytest

from fat import catalog
from fat.run import manifest
from fat.errors import OutputError
from fat.frame import CameraRig, Frame, FrameObject
from fat.geometry import right_eye_pose
from fat.run.plan import Drop, drop_key, locations_of, plan, split_of
from fat.scene.scenes import scene_names
from fat.run.driver import check_output, generate
from fat.settings import FAT_PRESET, SETTINGS_VERSION, Settings, SettingError
from fat.run.resolve import object_set, plan_of, resolve
from fat.run.worker import Worker

from fat_cli import error_line, run_fat

S = Settings(kinds=("mixed", "single"), scenes=("kitchen",), objects=("banana", "mug"), mixed_frames=2,
             single_frames=2, frames_per_drop=2, seed=11, width=64, height=48, renderer="tiny")


def test_worker_yields_one_typed_frame_record_per_frame():
    s = resolve(S)
    worker = Worker(s)
    try:
        _, drops = plan(s, object_set(s))
        for drop in drops:
            frames = list(worker.scenes(drop))
            assert [f.index for f in frames] == list(range(drop.first_frame, drop.first_frame + drop.n_frames))
            for f in frames:
                assert isinstance(f, Frame) and f.location.name == drop.location and f.light is f.location.light
                assert f.rig.intrinsics == worker.K
                assert np.allclose(f.rig.right, right_eye_pose(f.rig.left, s.baseline))
                assert [eye for eye, _ in f.rig.eyes()] == ["left", "right"]
                for o in f.objects:
                    assert isinstance(o, FrameObject) and o.pose.shape == (4, 4)
                    assert np.array_equal(o.dimensions, o.asset.info.dimensions)
                    if drop.kind == "single":
                        assert o.segmentation_id == 255 and o.class_name == o.asset.info.class_name
                    else:
                        assert o.segmentation_id == o.asset.info.segmentation_id
            out = worker.renderer.render(frames[0], "right")
            assert out.rgb.shape == (48, 64, 3) and out.instance.max() <= len(frames[0].objects)
    finally:
        worker.close()


def test_frame_helpers():
    from fat.assets.objects import standin_assets
    from fat.geometry import FAT_INTRINSICS
    from fat.scene.scenes import get_location

    assets = standin_assets([catalog.fat_objects().get("mug")])
    mug = assets[catalog.fat_objects().get("mug").name]
    T = np.eye(4)
    frame = Frame.view(get_location("temple_2"), [(mug, T)], T, FAT_INTRINSICS)
    (o,) = frame.objects
    assert o.class_name == catalog.fat_objects().get("mug").class_name and o.segmentation_id == catalog.fat_objects().get("mug").segmentation_id
    assert len(o.part_points) == sum(len(p) for p in o.parts) and o.part_ends[-1] == len(o.part_points)
    assert frame.assets == [mug] and frame.poses[0] is T and frame.rig.pose("right") is T
    with pytest.raises(ValueError, match="unknown eye 'middle'"):
        frame.rig.pose("middle")
    assert isinstance(frame.rig, CameraRig)


# ----------------------------------------------------------------------------- keys by names
def test_a_drops_key_is_made_of_names():
    mug = catalog.fat_objects().get("mug").class_name
    d = Drop("single", "temple_3", "025_mug", 4, f"single/{mug}/temple_3", 80, 20, mug)
    assert d.key == drop_key("single", "temple", 3, mug, 4)
    planned = plan_of((Settings(kinds=("single",), scenes=("temple",), locations=(3,), objects=("mug",),
                                     single_frames=100)))[1]
    assert planned[4] == d  # the plan names the drop's class
    assert len(d.key) == 8 and all(0 <= k < 2**32 for k in d.key)
    assert Drop("mixed", "temple_3", None, 4, "mixed/temple_3", 80, 20).key == drop_key("mixed", "temple", 3, None, 4)
    # no two drops of FAT's full plan share a key
    keys = [d.key for d in plan(Settings(**FAT_PRESET), catalog.fat_objects())[1]]
    assert len(set(keys)) == len(keys) == 3075


def test_other_scenes_and_objects_in_the_plan_change_no_drops_key(scenes_dir):
    small = resolve(replace(S, scenes=("temple",), objects=("mug",)))
    big = resolve(replace(S, scenes=("kitchen", "kitedemo", "temple"), objects=("banana", "mug", "bowl")))
    keys = {(d.folder, d.index): d.key for d in plan(small, object_set(small))[1]}
    big_keys = {(d.folder, d.index): d.key for d in plan(big, object_set(big))[1]}
    assert keys and all(big_keys[k] == v for k, v in keys.items())
    # a scene file added, first of the scenes by name: the same keys
    (scenes_dir / "attic.json").write_text((scenes_dir / "kitchen.json").read_text())
    scene_names.cache_clear()  # the scenes are found once per process
    assert scene_names()[0] == "attic"
    assert {(d.folder, d.index): d.key for d in plan(small, object_set(small))[1]} == keys


@pytest.mark.slow
def test_a_drops_files_do_not_depend_on_the_rest_of_the_plan(tmp_path):
    """The single drops of the mug in temple_0, made alone and within a plan of more scenes and
    objects: the same files, byte for byte (same seed)."""
    alone = replace(S, kinds=("single",), scenes=("temple",), objects=("mug",))
    more = replace(S, kinds=("single",), scenes=("kitchen", "temple"), objects=("banana", "mug"))
    generate(alone, tmp_path / "alone")
    generate(more, tmp_path / "more")
    a, b = manifest.load(tmp_path / "alone"), manifest.load(tmp_path / "more")
    assert a and all(b[k]["files"] == v["files"] for k, v in a.items())


# ----------------------------------------------------------------------------- settings version
def test_a_folder_of_another_settings_version_is_not_resumed(capfd, tmp_path):
    s = resolve(S)
    root = tmp_path / "old"
    root.mkdir()
    (root / "fat_dataset.json").write_text(json.dumps({"fat_version": "0.1.0", "renderer": "tiny",
                                                       "settings": s.to_json()}))
    with pytest.raises(OutputError, match=f"settings version 1, this fat makes version {SETTINGS_VERSION}"):
        check_output(root, False, s)
    assert check_output(root, True, s) == "replace"
    rc, out, err = run_fat(capfd, "generate", root, "--kind", "both", "--scene", "kitchen", "--object", "banana",
                           "--object", "mug", "--frames", "2", "--frames-per-drop", "2", "--seed", "11", "--width", "64",
                           "--height", "48", "--renderer", "tiny", "--quiet")
    assert rc == 1 and "holds a dataset of settings version 1" in error_line(err) and "--overwrite" in err


def test_settings_of_version_1_are_read():
    old = {**resolve(S).to_json(), "gl_device": "0", "unrealcv": None, "unreal_config": None}
    del old["renderer_options"]
    s = Settings.from_json(old)
    assert s.renderer_options == {"gl_device": "0"} and s.objects == resolve(S).objects


def test_each_scene_has_the_locations_of_its_file(scenes_dir):
    doc = json.loads((scenes_dir / "kitchen.json").read_text())
    doc["locations"] = doc["locations"][:3]
    (scenes_dir / "garage.json").write_text(json.dumps(doc))
    with pytest.raises(SettingError, match="scene garage has locations 0..2, got location 3"):
        resolve(Settings(scenes=("kitchen", "garage"), locations=(0, 3)))
    s = resolve(Settings(scenes=("kitchen", "garage"), locations=(0, 2), test_location=2))
    assert locations_of(s) == ["kitchen_0", "kitchen_2", "garage_0", "garage_2"]
    s4 = resolve(Settings(scenes=("kitchen", "garage"), locations=(0,)))  # test location 4: garage has none
    assert "garage_4" not in split_of(s4, plan(s4, object_set(s4))[0])["test_locations"]
    assert split_of(s4, plan(s4, object_set(s4))[0])["test_locations"][-3:] == ["kitchen_4", "kitedemo_4", "temple_4"]
    with pytest.raises(SettingError, match="location must be at most 4, got 5"):
        resolve(Settings(locations=(5,)))
