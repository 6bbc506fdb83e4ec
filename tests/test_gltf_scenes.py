"""glTF 2.0 scenes as locations: reading a scene file into the world, drop points, cameras that see
the drop point, objects at rest on the scene's triangles, datasets at the shipped patio.

The scenes here are written with :mod:`fat.scene.gltf_write` in glTF's Y-up axes: a 6 x 6 m floor slab, a
table (top at 0.75 m) and a wall, each a node of its own under a root turning Z-up into Y-up."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from fat.scene import scenes as scenes
from fat.errors import ConfigError
from fat.scene.gltf_scene import load_gltf_scene
from fat.scene.gltf_write import UINT16, UINT32, GltfWriter
from fat.assets.meshes import box
from fat.scene.sightlines import find_drop_points, views_clear

#: Z-up (the world) -> glTF's Y-up: (x, y, z) -> (x, z, -y), the root node's turn.
TO_Y_UP = [-math.sqrt(0.5), 0.0, 0.0, math.sqrt(0.5)]  # -90 degrees about x


def _room(path: Path, drop: str | None = "drop_table", index_type=UINT32, normals=True) -> Path:
    w = GltfWriter()
    grey = w.material("floor", base_color=(0.5, 0.5, 0.5, 1.0), metallic=0.0, roughness=0.9)
    red = w.material("table", base_color=(0.8, 0.2, 0.1, 1.0), metallic=0.0, roughness=0.6)
    children = []

    def add(size, centre, mat, name, types=index_type):
        m = box(np.array(size, float))
        prim = w.primitive(m.vertices, m.faces, mat, normals=(m.with_vertex_normals().normals if normals else None),
                           index_type=types)
        children.append(w.node(name, mesh=w.mesh([prim]), translation=list(centre)))

    add([6, 6, 0.1], [0, 0, -0.05], grey, "floor")
    add([1.4, 0.8, 0.04], [0, 0, 0.73], red, "top", UINT16)
    for sx in (-0.6, 0.6):
        for sy in (-0.3, 0.3):
            add([0.05, 0.05, 0.71], [sx, sy, 0.355], red, "leg")
    add([0.2, 6, 2.5], [-2.0, 0, 1.25], grey, "wall")
    if drop:
        children.append(w.node(drop, translation=[0.0, 0.0, 0.75], rotation=[0, 0, math.sin(0.25), math.cos(0.25)]))
    w.root(w.node("root", rotation=TO_Y_UP, children=children))
    return w.write(path)


def test_a_scene_file_comes_into_the_world_z_up_with_its_node_transforms(tmp_path):
    """Catches: glTF's Y-up read as Z-up (the table would stand on its side), node transforms of
    children ignored, 16-bit indices misread, missing normals left missing (glTF: flat normals)."""
    g = load_gltf_scene(_room(tmp_path / "room.glb", normals=False))
    assert np.allclose(g.lo, [-3, -3, -0.1]) and np.allclose(g.hi, [3, 3, 2.5])
    top = next(b for b in g.batches if g.material(b.material).name == "table")
    assert np.isclose(top.vertices[:, 2].max(), 0.75)
    for b in g.batches:  # flat normals: each triangle's own, unit, facing along its winding
        a, c, d = (b.vertices[b.faces[:, k]] for k in range(3))
        n = np.cross(c - a, d - a)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        assert np.allclose(b.normals[b.faces[:, 0]], n, atol=1e-9)
    frame = g.nodes["drop_table"]
    assert np.allclose(frame[:3, 3], [0, 0, 0.75])
    assert math.isclose(math.degrees(math.atan2(frame[1, 0], frame[0, 0])), 28.6479, abs_tol=1e-3)  # 0.5 rad


def test_locations_come_from_drop_nodes_or_the_largest_free_surface(tmp_path):
    """Catches: a scene given as a file with drop nodes not placed at them (with their heading);
    without one, a drop point under the table or on no surface at all."""
    name = scenes.scene_name(str(_room(tmp_path / "named.glb")))
    (loc,) = scenes.load_scene(name)
    assert np.allclose(loc.fixation, [0, 0, 0.75]) and math.isclose(loc.heading, 28.6479, abs_tol=1e-3)
    g = load_gltf_scene(_room(tmp_path / "bare.glb", drop=None))
    points = find_drop_points(g)
    assert {round(p[2], 3) for p in points} == {0.0, 0.75}  # the floor and the table top, nothing else
    (found,) = scenes.load_scene(scenes.scene_name(str(tmp_path / "bare.glb")))
    on_floor = abs(found.fixation[2]) < 1e-6
    under_table = np.all(np.abs(found.fixation[:2]) < [0.75, 0.45])
    assert on_floor and not under_table  # the floor is larger; the floor under the table is not free


def test_a_drop_point_no_camera_sees_is_refused_in_one_line(tmp_path):
    """Catches: a location inside a closed box (no camera sees it) passing the checks, and then
    every frame failing or rendering the inside of a wall."""
    w = GltfWriter()
    m = box(np.array([1.0, 1.0, 1.0]))
    w.root(w.node("crate", mesh=w.mesh([w.primitive(m.vertices, m.faces)])))
    path = w.write(tmp_path / "crate.glb")
    (tmp_path / "crate_scene.json").write_text(json.dumps({"asset": "crate.glb", "locations": [{"fixation": [0, 0, -0.4]}]}))
    name = scenes.scene_name(str(tmp_path / "crate_scene.json"))
    (loc,) = scenes.load_scene(name)
    assert loc.asset == str(path.resolve())
    with pytest.raises(ConfigError, match=r"crate_scene_0: no camera in the ranges .* sees the drop point") as e:
        scenes.check_camera_clearance(loc, scenes.CameraRanges())
    assert "\n" not in str(e.value)
    (tmp_path / "bad.json").write_text(json.dumps({"asset": "crate.glb", "locations": [{"node": "nowhere"}]}))
    with pytest.raises(ConfigError, match=r"locations\[0\]: node 'nowhere' is not in crate.glb \(named nodes: crate\)"):
        scenes.load_scene(scenes.scene_name(str(tmp_path / "bad.json")))


def _segment_hits(start: np.ndarray, end: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Distances along start -> end at which the segment crosses triangles (Moller-Trumbore, numpy)."""
    d = end - start
    length = np.linalg.norm(d)
    d = d / length
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    e1, e2 = b - a, c - a
    p = np.cross(d, e2)
    det = (e1 * p).sum(1)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1 / np.where(ok, det, 1), 0)
    s = start - a
    u = (s * p).sum(1) * inv
    q = np.cross(s, e1)
    v = (q @ d) * inv
    t = (e2 * q).sum(1) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0) & (t < length)
    return t[hit]


def _triangles(g) -> np.ndarray:
    return np.concatenate([b.vertices[b.faces] for b in g.batches])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["single", "mixed", "dr"])
def test_datasets_at_the_patio_pass_the_geometric_checks_and_every_camera_sees_the_drop_point(tmp_path, kind):
    """Catches: masks, depth, segmentation or stereo wrong at a glTF scene; a camera behind a wall,
    a bench or the table (its line of sight to the drop point crosses a triangle before the objects)."""
    from fat.formats.fat import FatFolder
    from fat.run.driver import generate
    from fat.settings import Settings
    from geometry_checks import camera_in_ranges, check_dataset

    out = tmp_path / kind
    generate(Settings(kinds=(kind,), scenes=("patio",), locations=(0, 2, 3), objects=("003_cracker_box", "005_tomato_soup_can", "010_potted_meat_can"),
                      single_frames=2, mixed_frames=3, dr_frames=3, frames_per_drop=3, width=240, height=135,
                      renderer="tiny", seed=3), out)
    assert check_dataset(out) > 0
    tris = _triangles(load_gltf_scene(scenes.get_location("patio_0").asset))
    n = 0
    for path in sorted(p.parent for p in out.rglob("_camera_settings.json")):
        loc = scenes.get_location(path.name)
        folder = FatFolder(path)
        for i in folder.frame_indices():
            view = folder.read(i, "left", ())
            if kind != "dr":
                camera_in_ranges(view, loc.fixation, loc.heading)
            eye = view.annotation.camera_pose[:3, 3]
            blocking = _segment_hits(eye, loc.fixation, tris)
            reach = np.linalg.norm(eye - loc.fixation) - (loc.drop_radius + 0.10)
            assert not (blocking < reach).any(), f"{path.name}/{i}: a triangle {blocking.min():.2f} m from the camera hides the drop point"
            n += 1
    assert n >= 6


@pytest.mark.slow
def test_objects_at_rest_touch_the_scenes_triangles():
    """Catches: scene collision shapes standing off the drawn surface (objects floating above the
    table) or objects sinking into it: contact distance within 2 mm."""
    from fat._pybullet import pb
    from fat.assets.objects import load_assets
    from fat.objectsets import load as load_set
    from fat.drop.physics import Physics
    from fat.drop.sampling import drop_rng, sample_start_poses

    objects = load_set(None)
    infos = [objects.get(n) for n in ("003_cracker_box", "005_tomato_soup_can", "061_foam_brick")]
    assets = load_assets(infos, objects.meshes)
    physics = Physics()
    try:
        for name in ("patio_0", "patio_3", "patio_2"):
            loc = scenes.get_location(name)
            physics.reset(loc)
            starts = sample_start_poses(drop_rng(1, (7,)), loc, len(infos))
            physics.spawn([assets[o.name] for o in infos], starts)
            physics.step(240 * 4)
            assert physics.speeds().max() < 0.05
            scene_bodies = physics.static[1:]
            for body in physics.bodies:
                gaps = [p[8] for s in scene_bodies for p in pb.getClosestPoints(body, s, 0.01, physicsClientId=physics.client)]
                gaps += [p[8] for o in physics.bodies if o != body
                         for p in pb.getClosestPoints(body, o, 0.01, physicsClientId=physics.client)]
                assert gaps and min(gaps) > -0.002 and min(gaps) < 0.002, f"{name}: resting {min(gaps, default=None)} m off"
            rest = [T[2, 3] for T in physics.poses()]
            assert min(rest) > loc.fixation[2] - 0.01  # on the surface, not fallen through it
    finally:
        physics.close()


def test_cameras_drawn_at_a_gltf_location_see_the_drop_point():
    """Catches: camera sampling at a glTF scene ignoring its geometry (a camera inside the wall)."""
    from fat.drop.sampling import drop_rng, sample_camera

    loc = scenes.get_location("patio_1")  # on a wall: half the cameras around it are behind the wall
    g = load_gltf_scene(loc.asset)
    rng = drop_rng(0, (1, 2))
    ranges = scenes.CameraRanges((-180.0, 180.0))
    eyes = np.array([sample_camera(rng, loc, ranges).pose[:3, 3] for _ in range(20)])
    assert views_clear(g, loc.fixation, loc.drop_radius, eyes).all()
    tris = _triangles(g)
    for eye in eyes:
        assert not (_segment_hits(eye, loc.fixation, tris) < np.linalg.norm(eye - loc.fixation) - 0.15).any()


def _checker_floor(path: Path) -> Path:
    """A 4 x 4 m floor with a black-and-white checker texture (squares of 0.5 m), a drop node at its centre."""
    w = GltfWriter()
    img = np.kron((np.indices((8, 8)).sum(0) % 2), np.ones((16, 16))).astype(np.uint8) * 255
    tex = w.texture(w.image_array(np.repeat(img[..., None], 3, axis=2)))
    mat = w.material("checker", base_color_texture=tex, metallic=0.0, roughness=0.9)
    v = np.array([[-2, -2, 0], [2, -2, 0], [2, 2, 0], [-2, 2, 0]], float)
    uv = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], float)
    floor = w.mesh([w.primitive(v, [[0, 1, 2], [0, 2, 3]], mat, normals=np.tile([0, 0, 1.0], (4, 1)), texcoords=uv)])
    w.root(w.node("root", rotation=TO_Y_UP, children=[w.node("floor", mesh=floor), w.node("drop", translation=[0, 0, 0])]))
    return w.write(path)


@pytest.mark.slow
def test_gl_draws_the_scene_where_tiny_does_with_its_materials_textures(tmp_path):
    """Catches: the gl renderer's scene chunks placed, culled or clipped wrongly (its depth against
    tiny's, which draws the same triangles), or a material drawn without its texture (a checker
    floor: two levels in gl, one mean colour in tiny)."""
    from conftest import renderer_or_skip
    from fat.frame import Frame
    from fat.geometry import Intrinsics, look_at

    gl = renderer_or_skip("gl")
    tiny = renderer_or_skip("tiny")
    try:
        K = Intrinsics.from_fov(240, 135, 64.0)
        loc = scenes.get_location("patio_0")
        for offset in ([-0.9, 0.4, 0.6], [0.5, -0.9, 0.3]):
            frame = Frame.view(loc, [], look_at(loc.fixation + np.array(offset), loc.fixation), K)
            a, b = gl.render(frame), tiny.render(frame)
            both = (a.depth > 0) & (b.depth > 0)
            assert both.mean() > 0.5
            close = np.abs(a.depth - b.depth)[both] < 0.01
            assert close.mean() > 0.97, f"gl and tiny depths agree on {close.mean():.1%} of the pixels"
        (floor,) = scenes.load_scene(scenes.scene_name(str(_checker_floor(tmp_path / "checker.glb"))))
        frame = Frame.view(floor, [], look_at(np.array([0.0, -0.3, 1.2]), floor.fixation), K)
        grey = [x.rgb.astype(float).mean(axis=2)[20:115, 40:200] for x in (gl.render(frame), tiny.render(frame))]
        dark, light = np.percentile(grey[0], [10, 90])
        assert light > 2.5 * dark + 20, (dark, light)  # both squares' colours in gl
        assert np.percentile(grey[1], 90) - np.percentile(grey[1], 10) < 0.5 * (light - dark)  # tiny: the mean colour
    finally:
        gl.close()
        tiny.close()


@pytest.mark.slow
def test_a_mesh_larger_than_one_pybullet_shape_holds_is_split_and_still_collides(tmp_path):
    """Catches: one glTF mesh of more triangles than PyBullet takes in one shape (131,072 vertices)
    failing to load, or a part of it left out of the ray tests and the physics."""
    from fat._pybullet import MESH_TRIANGLES, pb
    from fat.drop.physics import Physics
    from fat.scene.sightlines import sightlines

    n = 260
    xs = np.linspace(-3, 3, n + 1)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    v = np.column_stack([X.ravel(), Y.ravel(), np.zeros(X.size)])
    i = (np.arange(n)[:, None] * (n + 1) + np.arange(n)[None, :]).ravel()
    faces = np.concatenate([np.column_stack([i, i + n + 1, i + 1]), np.column_stack([i + 1, i + n + 1, i + n + 2])])
    assert len(faces) > 2 * MESH_TRIANGLES
    w = GltfWriter()
    w.root(w.node("root", rotation=TO_Y_UP, children=[w.node("lawn", mesh=w.mesh([w.primitive(v, faces)])),
                                                       w.node("drop", translation=[0.0, 0.0, 0.0])]))
    (loc,) = scenes.load_scene(scenes.scene_name(str(w.write(tmp_path / "lawn.glb"))))
    g = load_gltf_scene(loc.asset)
    corners = np.array([[x, y, 1.0] for x in (-2.9, 2.9) for y in (-2.9, 2.9)])
    f, _ = sightlines(g).hits(corners, corners - [0, 0, 2.0])
    assert np.allclose(f, 0.5)  # every corner of the lawn is in the ray tests
    physics = Physics()
    try:
        physics.reset(loc)
        assert len(physics.static) >= 1 + 3  # the ground plane and the lawn's triangles within reach in 3 shapes
        ring = [[2.6 * math.cos(a), 2.6 * math.sin(a), 1.0] for a in np.linspace(0, 2 * math.pi, 24, endpoint=False)]
        hits = pb.rayTestBatch(ring, [[x, y, -0.5] for x, y, _ in ring], physicsClientId=physics.client)
        assert all(h[0] in physics.static[1:] and abs(h[3][2]) < 1e-4 for h in hits)  # the lawn, not the plane under it
        assert len({h[0] for h in hits}) >= 3
    finally:
        physics.close()
