"""Scenes and prop shapes are data: a scene is a file with its own number of locations, a prop shape
is one entry of ``fat.scene.props.PROP_SHAPES`` that the scene reader, the camera clearance check, the
renderers' scenery and the physics all use."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from fat import catalog
from fat.scene import scenes as scene
from fat.assets.objects import standin_assets
from fat.errors import ConfigError
from fat.geometry import make_pose
from fat.assets.meshes import ellipsoid
from fat.drop.physics import TIME_STEP, Physics
from fat.scene.props import PROP_SHAPES, Collision, PropShape
from fat.render.scenery import location_meshes
from fat.drop.sampling import drop_rng, sample_start_poses
from fat.scene.scenes import CameraRanges, check_camera_clearance, get_location


def test_fat_scenes_are_found_from_their_files():
    assert scene.scene_names() == ("kitchen", "kitedemo", "patio", "temple")
    assert scene.FAT_SCENES == ("kitchen", "kitedemo", "temple")
    assert [scene.n_locations(s) for s in scene.scene_names()] == [5, 5, 5, 5]


def test_a_scene_file_adds_a_scene_with_its_own_number_of_locations(scenes_dir):
    doc = json.loads((scenes_dir / "kitchen.json").read_text())
    doc["locations"] = doc["locations"][1:3]
    (scenes_dir / "garage.json").write_text(json.dumps(doc))
    assert scene.scene_names() == ("garage", "kitchen", "kitedemo", "patio", "temple")
    assert scene.n_locations("garage") == 2
    g1, k2 = get_location("garage_1"), get_location("kitchen_2")
    assert g1.name == "garage_1" and np.allclose(g1.fixation, k2.fixation)
    with pytest.raises(ConfigError, match=r"unknown location 'garage_2'.*index 0\.\.1"):
        get_location("garage_2")
    assert get_location("kitchen_4").name == "kitchen_4"  # the others keep their five


def test_a_broken_scene_file_is_one_line_naming_it(scenes_dir):
    (scenes_dir / "attic.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"scenes/attic\.json: unreadable"):
        scene.load_scene("attic")
    (scenes_dir / "attic.json").write_text(json.dumps({"locations": []}))
    with pytest.raises(ConfigError, match=r"scenes/attic\.json: no locations"):
        scene.load_scene.cache_clear() or scene.load_scene("attic")
    doc = json.loads((scenes_dir / "kitchen.json").read_text())
    doc["locations"][0].setdefault("props", []).append({"shape": "pyramid", "center": [0, 0, 0]})
    (scenes_dir / "attic.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"attic\.json: locations\[0\]\.props\[\d+\]: shape 'pyramid' is not one of box, cylinder, rock"):
        scene.load_scene.cache_clear() or scene.load_scene("attic")


@pytest.fixture
def sphere_shape(monkeypatch):
    """A prop shape added the one way the project offers: an entry of PROP_SHAPES."""
    shape = PropShape(
        "sphere", ("radius",), lambda d: np.full(3, float(d["radius"])),
        lambda local, size, margin: np.linalg.norm(local, axis=-1) <= size[0] + margin,
        lambda size: ellipsoid(size, rings=16, segments=24),
        lambda size: Collision("mesh", vertices=ellipsoid(size, rings=16, segments=24).vertices))
    monkeypatch.setitem(PROP_SHAPES, "sphere", shape)
    return shape


def test_a_new_prop_shape_is_read_drawn_kept_clear_of_and_collided_with(scenes_dir, sphere_shape):
    doc = json.loads((scenes_dir / "kitchen.json").read_text())
    loc_doc = doc["locations"][1]
    r = 0.3
    # a big ball sunk in the floor: a dome whose top is 5 cm above the fixation point, under the drop cylinder
    loc_doc["props"] = [{"shape": "sphere", "radius": r, "center": [0, 0, 0.05 - r], "name": "ball",
                         "texture": "plain", "colors": [[200, 40, 40]]}]
    doc["locations"] = [loc_doc]
    doc.pop("backdrop", None)  # the ball alone
    loc_doc.pop("backdrop", None)
    (scenes_dir / "balls.json").write_text(json.dumps(doc))
    loc = get_location("balls_0")
    ball = loc.props[0]
    assert ball.shape == "sphere" and np.allclose(ball.size, r)
    centre = ball.pose[:3, 3]

    # drawn: the scenery mesh of the renderers holds the ball, its vertices on the sphere
    meshes = location_meshes(loc)
    assert len(meshes) == 2
    v = meshes[1][0].vertices
    assert np.allclose(np.linalg.norm(v - centre, axis=1), r, atol=1e-9)

    # kept clear of: the camera clearance check asks the shape whether a camera could be inside
    check_camera_clearance(loc, CameraRanges())
    near = replace(loc, props=(replace(ball, pose=make_pose(np.eye(3), centre + [0.0, 0.0, 0.55]), size=np.full(3, 0.3)),))
    with pytest.raises(ConfigError, match="prop 'ball' lies where the camera is sampled"):
        check_camera_clearance(near, CameraRanges())

    # collided with: a can dropped above the dome lands on it and never enters it (without the ball's
    # collision shape it would fall through to the floor, 5 cm lower, its hull deep inside the ball)
    asset = standin_assets([catalog.fat_objects().get("master_chef_can")])["002_master_chef_can"]
    hull = np.concatenate(asset.parts)
    phys = Physics()
    gaps = []
    try:
        phys.reset(loc)
        start = sample_start_poses(drop_rng(0, (1,)), loc, 1)[0]
        start[:2, 3] = centre[:2]
        phys.spawn([asset], [start])
        for _ in range(150):
            phys.step(int(0.01 / TIME_STEP) or 1)
            T = phys.poses()[0]
            gaps.append(np.min(np.linalg.norm(hull @ T[:3, :3].T + T[:3, 3] - centre, axis=1)) - r)
    finally:
        phys.close()
    assert min(gaps) > -0.005  # never more than 5 mm into the ball
    assert min(gaps) < 0.01  # and it did land on it
