"""The plan as a typed value, and the settings as a leaf below it.

Settings -> (fat.settings.check: values) -> (fat.run.resolve.resolve: object set, renderer, room
for the camera) -> fat.run.plan.plan: folders, each with its camera, and drops, each with its
folder's camera. What the run writes in ``_camera_settings.json`` and what the worker renders with
must be the plan's camera, not one computed again elsewhere.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from fat.catalog import fat_objects
from fat.formats.fat import CAMERA_SETTINGS, parse_camera_settings
from fat.geometry import Intrinsics
from fat.run.driver import generate
from fat.run.plan import Plan, plan
from fat.run.resolve import object_set, plan_of, resolve
from fat.run.worker import Worker
from fat.settings import Settings, SettingError, check

RANDOM_FOV = {"camera": {"fov": [40.0, 90.0]}}
SMALL = dict(kinds=("mixed", "dr"), scenes=("kitchen",), locations=(0, 1), mixed_frames=2, dr_frames=4,
             frames_per_drop=2, width=64, height=48, renderer="tiny", randomize=RANDOM_FOV)


def test_the_plan_gives_every_folder_its_camera_and_every_drop_its_folders():
    """Catches: a randomized folder's field of view drawn outside the plan (two places drawing it
    could disagree), one drop of a folder with another camera than its folder, or plain folders
    with anything but the settings' camera."""
    s = resolve(Settings(**SMALL))
    p = plan_of(Settings(**SMALL))
    assert isinstance(p, Plan) and p == plan(s, object_set(s))
    K = s.intrinsics
    by_path = {f.path: f for f in p.folders}
    for f in p.folders:
        if f.kind == "mixed":
            assert f.intrinsics == K
        else:  # its own field of view, drawn within the randomizer's range; the image size kept
            assert (f.intrinsics.width, f.intrinsics.height) == (K.width, K.height) and f.intrinsics != K
            assert 40.0 <= f.intrinsics.hfov <= 90.0
    assert len({by_path[f].intrinsics.fx for f in ("dr/kitchen_0", "dr/kitchen_1")}) == 2
    assert p.drops and all(d.intrinsics == by_path[d.folder].intrinsics for d in p.drops)
    # another camera for the renderer (a game drawing another size): the folders' cameras start from it
    other = Intrinsics.from_fov(128, 96, 64.0)
    q = plan(s, object_set(s), other)
    assert all((f.intrinsics.width, f.intrinsics.height) == (128, 96) for f in q.folders)
    assert [f.path for f in q.folders] == [f.path for f in p.folders] and q.drops == p.drops  # same drops


def test_the_written_camera_and_the_rendered_camera_are_the_plans(tmp_path):
    """Catches: ``_camera_settings.json`` or the frames' camera taken from anywhere but the plan."""
    out = tmp_path / "ds"
    generate(Settings(**SMALL), out)
    s = resolve(Settings(**SMALL))
    p = plan_of(Settings(**SMALL))
    w = Worker(s)
    try:
        for f in p.folders:
            written = parse_camera_settings(json.loads((out / f.path / CAMERA_SETTINGS).read_text()))
            assert written and all(np.allclose(k.K, f.intrinsics.K) and (k.width, k.height) == (64, 48)
                                   for k in written.values()), f.path
        for d in p.drops[:1] + [d for d in p.drops if d.kind == "dr"][:1]:
            frame = next(w.scenes(d))
            assert frame.rig.intrinsics == d.intrinsics
    finally:
        w.close()


def test_settings_check_values_and_resolve_checks_what_needs_objects_and_scenes():
    """Catches: the value check loading the object set (settings are a leaf: a bad object name is
    a resolve-time refusal, a bad type a check-time one), or resolve leaving the objects unnamed."""
    s = check(Settings(objects=("no_such_object",)))  # a name: well-formed, looked up later
    assert s.objects == ("no_such_object",)
    with pytest.raises(SettingError, match="no_such_object") as e:
        resolve(s)
    assert e.value.setting == "objects"
    with pytest.raises(SettingError) as e:
        check(Settings(mixed_frames="many"))
    assert e.value.setting == "mixed_frames"
    r = resolve(Settings(scenes=("temple",)))
    assert r.objects == tuple(o.name for o in fat_objects().objects) and resolve(r) == r


def test_importing_the_settings_loads_no_object_set_scene_physics_or_run():
    """Catches: fat.settings growing back into a hub (importing the run, the physics, the renderers'
    modules or PyBullet to check values)."""
    code = ("import sys, fat.settings; bad = [m for m in sys.modules if m.startswith(('fat.run', 'fat.drop.physics', "
            "'fat.render.gl', 'fat.render.pybullet', 'fat.study', 'fat.exports')) or m == 'pybullet']; print(bad)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
