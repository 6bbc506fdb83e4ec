"""Objects of any size: the drop and the camera grow with the largest object, cameras keep every
target they can see whole in front of them, and what is drawn of a target is always annotated."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import trimesh

import geometry_checks as gc
from fat.catalog import fat_objects
from fat.errors import FatError
from fat.formats.fat import FatFolder
from fat.geometry import Intrinsics, make_pose, right_eye_pose
from fat.assets.meshes import MeshWarning
from fat.run.driver import generate
from fat.objectsets.build import LARGEST, SMALLEST
from fat.drop.sampling import (CAMERA_CLEARANCE, REFERENCE_RADIUS, bounding_radius, clear_camera, drop_rng, sample_camera,
                          straddles)
from fat.scene.scenes import CameraRanges, get_location
from fat.settings import Settings, SettingError
from fat.run.resolve import resolve
from fat_cli import error_line, run_fat

SIZES = {"grain": (0.005, 0.004, 0.003), "block": (0.1, 0.06, 0.04), "beam": (1.5, 0.2, 0.2), "truck": (5.0, 2.0, 2.0)}


@pytest.fixture(scope="module")
def meshes(tmp_path_factory):
    root = tmp_path_factory.mktemp("sizes") / "meshes"
    root.mkdir()
    for name, extents in SIZES.items():
        trimesh.creation.box(extents=extents).export(root / f"{name}.obj")
    return root


def _settings(meshes, **kw) -> Settings:
    base = dict(kinds=("single", "mixed", "dr"), scenes=("kitchen",), locations=(1,), frames_per_drop=3,
                mixed_frames=3, single_frames=3, dr_frames=3, width=320, height=180, renderer="tiny",
                object_source=str(meshes), objects=("grain", "block", "beam"), seed=3)
    base.update(kw)
    return Settings(**base)


def test_fats_objects_keep_fats_drop_and_camera():
    """FAT's 21 objects are all within the reference radius: the settings of their datasets (and so
    every byte) stay FAT's. Catches a scale or camera rule that moves FAT's 0.5-1.5 m cameras."""
    assert max(bounding_radius(o) for o in fat_objects().objects) < REFERENCE_RADIUS
    assert 2 * REFERENCE_RADIUS + CAMERA_CLEARANCE <= 0.5
    s = resolve(Settings(scenes=("kitchen",)))
    assert s.size_scale is None and s.distance == (0.5, 1.5)
    assert "size_scale" not in s.to_json()


def test_large_objects_scale_the_drop_and_move_the_camera_out(meshes):
    """The largest object's bounding radius sets the drop's scale and the camera's near end (twice
    the radius plus the clearance), recorded in the settings. Catches large objects dropped with
    FAT's 5 cm cylinder and 0.5 m cameras (a camera inside a 1.5 m object)."""
    s = resolve(_settings(meshes))
    r = 0.5 * np.linalg.norm(SIZES["beam"])
    assert s.size_scale == pytest.approx(r / REFERENCE_RADIUS, abs=0.01) and s.size_scale >= r / REFERENCE_RADIUS
    assert s.distance[0] >= 2 * r + CAMERA_CLEARANCE and s.distance[1] - s.distance[0] == pytest.approx(1.0)
    assert s.to_json()["size_scale"] == s.size_scale and s.to_json()["distance"] == list(s.distance)
    assert resolve(s) == s  # validated twice (command and run): the same settings
    with pytest.raises(SettingError, match=r"size scale 2 is below 3\.8"):
        resolve(_settings(meshes, size_scale=2))
    assert resolve(_settings(meshes, size_scale=5.0)).size_scale == 5.0


def test_a_set_with_an_object_no_location_can_hold_is_refused_before_anything_is_written(meshes, tmp_path, capfd):
    """5 mm, 10 cm, 1.5 m and 5 m in one set: the 5 m truck needs cameras beyond every location's
    walls; refused in one line naming it, its size and what to do, before the output exists. The
    1.5 m beam at a location without room is refused naming the locations with room. Catches a run
    that stops half-way ("no free start position") or draws through the walls."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MeshWarning)
        rc, _, err = run_fat(capfd, "generate", tmp_path / "out", "--objects", meshes, "--renderer", "tiny", "--quiet")
        line = [x for x in err.splitlines() if "error" in x]
        assert rc != 0 and len(line) == 1
        assert "truck (5.74 m across" in line[0] and "leave the object out" in line[0] and "no location has room" in line[0]
        assert not (tmp_path / "out").exists()
        rc, _, err = run_fat(capfd, "generate", tmp_path / "out", "--objects", meshes, "--object", "beam",
                             "--scene", "kitchen", "--location", "0", "--renderer", "tiny", "--quiet")
        line = error_line("\n".join(x for x in err.splitlines() if "warning" not in x))
        assert rc != 0 and "beam (1.53 m across" in line and "locations with room: kitchen_1" in line
        assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_datasets_of_5mm_to_1_5m_objects_are_valid_and_label_every_drawn_target(meshes, tmp_path, monkeypatch):
    """single, mixed and dr folders of a 5 mm, a 10 cm and a 1.5 m object: every pixel the renderer
    draws of a target is in the JSON, the segmentation and the instance map; the frames pass the
    geometric checks. Catches targets that fill the view unlisted (a corner behind the camera)."""
    check = gc.DrawnTargetsLabelled().install(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MeshWarning)
        generate(_settings(meshes), tmp_path / "ds")
    assert check.views == 2 * 3 * 5 and check.pixels > 1000
    gc.check_dataset(tmp_path / "ds")
    listed = {o.class_name for p in (tmp_path / "ds").rglob("_camera_settings.json")
              for i in FatFolder(p.parent).frame_indices() for o in FatFolder(p.parent).read(i, "left", ()).annotation.objects}
    assert {"beam", "block"} <= listed


def test_a_camera_a_target_reaches_behind_is_drawn_again():
    """A target lying across the camera's position (its cuboid in front of and behind the camera)
    makes clear_camera draw another camera from the ranges, the same for the same seed, keeping the
    target whole in front of both eyes or out of view. Catches frames where a target fills the
    view but cannot be annotated."""
    loc = get_location("kitchen_1")
    K = Intrinsics.from_fov(192, 108, 64.0)
    ranges = CameraRanges(distance=(1.0, 2.0))
    cam = sample_camera(drop_rng(0, (1, 2)), loc, ranges)
    dims = np.array([0.6, 0.6, 0.6])
    target = make_pose(np.eye(3), cam.pose[:3, 3])  # centred on the camera
    assert straddles(cam.pose, dims, target, K)
    new = clear_camera(0, (1, 2), 4, cam, loc, ranges, [(dims, target)], K, 0.06)
    assert not np.allclose(new.pose, cam.pose)
    for T in (new.pose, right_eye_pose(new.pose, 0.06)):
        assert not straddles(T, dims, target, K)
    again = clear_camera(0, (1, 2), 4, cam, loc, ranges, [(dims, target)], K, 0.06)
    assert np.array_equal(again.pose, new.pose)
    assert clear_camera(0, (1, 2), 4, new, loc, ranges, [(dims, target)], K, 0.06) is new  # a clear camera stands
    with pytest.raises(FatError, match="no camera in the ranges"):  # a target around the whole camera region
        clear_camera(0, (1, 2), 4, cam, loc, ranges, [(np.array([5.0, 5.0, 5.0]), make_pose(np.eye(3), loc.fixation))],
                     K, 0.06)


def test_an_object_over_40_cm_is_warned_about_before_the_output_folder_exists(tmp_path, capfd, monkeypatch):
    """Catches: a mesh larger than FAT's drop and cameras are made for (here 50 cm; often a mesh in
    other units, such as pybullet_data's at 1 m per unit) read without a word until the run fails,
    or warned about without its size and a unit to try, or only after the output folder is made;
    and a 30 cm object (FAT-sized) warned about."""
    import fat.run.driver

    assert LARGEST == pytest.approx(0.4) and LARGEST == 2 * REFERENCE_RADIUS and SMALLEST == 0.005
    folder = tmp_path / "meshes"
    folder.mkdir()
    trimesh.creation.box(extents=(0.5, 0.2, 0.1)).export(folder / "crate.obj")
    trimesh.creation.box(extents=(0.3, 0.2, 0.1)).export(folder / "tray.obj")
    seen = {}

    def locked_folder(root):  # the first thing to make the output folder (its lock): what was said before it
        seen["exists"] = Path(root).exists()
        seen["err"] = capfd.readouterr().err
        raise fat.run.driver.OutputError("stopped here")

    monkeypatch.setattr(fat.run.driver, "locked_folder", locked_folder)
    rc, _, _ = run_fat(capfd, "generate", tmp_path / "out", "--objects", folder, "--scene", "kitchen",
                       "--location", "1", "--frames", "1", "--frames-per-drop", "1", "--width", "64", "--height", "48",
                       "--renderer", "tiny", "--quiet")
    assert rc == 1 and seen["exists"] is False
    sizes = [x for x in seen["err"].splitlines() if x.startswith("fat: warning:") and "across" in x]
    assert sizes == [f"fat: warning: {(folder / 'crate.obj').resolve()}: 0.5 m across at 1 m per unit, larger than "
                     "the 0.4 m that FAT's drop and cameras are made for; are its units right? (--units 0.1 makes it "
                     "5 cm; use --units or the set file's units)"], seen["err"]


def test_a_start_no_lift_frees_names_the_size_of_a_large_object(tmp_path):
    """Catches: "no free start position" for an object larger than FAT's drop is made for (a mesh in
    other units, most likely) without a word about its size, and a size hint for FAT-sized objects
    (whose starts a prop blocks)."""
    from fat.assets.objects import load_assets
    from fat.objectsets import load
    from fat.drop.physics import MAX_LIFT, Physics
    from fat.drop.sampling import sample_start_poses

    folder = tmp_path / "meshes"
    folder.mkdir()
    trimesh.creation.box(extents=(1.0, 0.5, 0.5)).export(folder / "beam.obj")
    trimesh.creation.box(extents=(0.1, 0.06, 0.04)).export(folder / "block.obj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MeshWarning)
        objects = load(folder)
    assets = load_assets(objects, objects.meshes)
    loc = get_location("kitchen_1")
    phys = Physics()
    try:
        for name, hint in (("beam", "beam is 1 m across, larger than the 0.4 m that FAT's drop is made for: are its "
                                    "units right? (--units, or units in an object-set file)"),
                           ("block", "a prop above the drop point?")):
            phys.reset(loc)
            start = sample_start_poses(drop_rng(0, (1,)), loc, 1)[0]
            start[2, 3] = loc.ground_z - MAX_LIFT - 1.0  # below the ground by more than a start is lifted
            with pytest.raises(FatError) as e:
                phys.spawn([assets[name]], [start])
            assert str(e.value) == (f"{name}: no free start position within {MAX_LIFT:g} m above the drop cylinder "
                                    f"({hint})")
    finally:
        phys.close()
