"""The gl renderer's light is physical: image-based light from an environment map, a sun with soft
shadows, metallic-roughness materials, a filmic tone curve that the tests undo.

Each scene here is one object in front of the camera, lit by an environment made for the test (a
uniform sky, or a dark sky with one bright spot), so the expected radiance follows from the
rendering equation, not from the shader's formulas.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh

from conftest import renderer_or_skip
from fat import objectsets
from fat.assets.objects import load_assets
from fat.scene.environment import Environment, direction_to_uv, load_environment, uniform_environment
from fat.frame import Frame
from fat.geometry import Intrinsics, look_at, make_pose
from fat.render.lighting import Lighting
from fat.render.tonemap import aces, aces_inverse, from_srgb8, srgb_decode, srgb_encode
from fat.scene.scenes import get_location

K = Intrinsics.from_fov(160, 120, 40.0)
HDRI = Path(__file__).resolve().parents[1] / "scenes" / "environments"


def _object(tmp_path: Path, mesh: trimesh.Trimesh, name: str, rgb=(1, 1, 1), **material):
    """An asset of ``mesh`` (metres) with a flat colour and the given material, via an object-set file."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "m.mtl").write_text(f"newmtl m\nKd {rgb[0]} {rgb[1]} {rgb[2]}\n")
    obj = trimesh.exchange.obj.export_obj(mesh, include_texture=False, include_normals=True)
    (folder / "m.obj").write_text("mtllib m.mtl\nusemtl m\n" + obj)
    extra = "".join(f"{k} = {v}\n" for k, v in material.items())
    (folder / "set.toml").write_text(f'[[objects]]\nname = "{name}"\nmesh = "m.obj"\n{extra}')
    objects = objectsets.load(folder / "set.toml")
    return load_assets(objects, objects.meshes)[name]


def _render(renderer, asset, lighting: Lighting, camera_distance=0.35, pose=None, intrinsics=K):
    """The object at the fixation point of a location with no scenery, seen from +x (slightly above)."""
    loc = replace(get_location("kitedemo_0"), props=())
    loc = replace(loc, ground_z=loc.fixation[2] - 50.0)  # the ground far below: out of every view
    renderer._lighting[loc.name] = lighting
    target = loc.fixation
    eye = target + camera_distance * np.array([1.0, 0.0, 0.15]) / np.linalg.norm([1.0, 0.0, 0.15])
    cam = look_at(eye, target)
    pose = make_pose(np.eye(3), target) if pose is None else pose
    return renderer.render(Frame.view(loc, [(asset, pose)], cam, intrinsics)), cam


def _lighting(env: Environment, exposure: float, sun=(0.0, 0.0, 0.0), sun_dir=(0.0, 0.0, 1.0), shadows=False):
    return Lighting(env, np.eye(3), np.asarray(sun_dir, float) / np.linalg.norm(sun_dir), np.asarray(sun, float),
                    exposure, shadows)


@pytest.fixture(scope="module")
def gl():
    r = renderer_or_skip("gl")
    yield r
    r.close()


def test_the_tone_curve_and_its_inverse():
    x = np.array([0.0, 0.01, 0.1, 0.5, 1.0, 3.0])
    assert np.allclose(aces_inverse(aces(x)), x, rtol=1e-9, atol=1e-12)
    assert np.allclose(srgb_decode(srgb_encode(x / 3)), x / 3, atol=1e-12)
    assert aces(100.0) == 1.0 and aces(0.0) == 0.0


def test_a_white_lambertian_surface_under_a_uniform_sky_renders_to_the_skys_radiance(gl, tmp_path):
    """Irradiance pi L from every direction, albedo 1, no specular: outgoing radiance L, whatever the
    surface's orientation (a box seen on two faces). Tolerance: the 8-bit code's width after the
    tone curve is undone (about 1.5 % at these levels) plus 1 %."""
    box = _object(tmp_path, trimesh.creation.box([0.1, 0.1, 0.1]), "white", roughness=1.0, metallic=0.0, specular=0.0)
    for L in (0.2, 0.5, 1.0):
        out, _ = _render(gl, box, _lighting(uniform_environment((L, L, L)), exposure=1.0))
        seen = out.instance == 1
        assert seen.sum() > 1000
        radiance = from_srgb8(out.rgb[seen], 1.0)
        assert np.allclose(radiance, L, rtol=0.025), (L, radiance.min(), radiance.max())


def _spot_environment(folder: Path, direction, size=(128, 256), spot=200.0, base=0.05) -> Environment:
    """A dim uniform sky with one small very bright patch around ``direction``."""
    h, w = size
    img = np.full((h, w, 3), base, np.float32)
    u, v = direction_to_uv(np.asarray(direction, float) / np.linalg.norm(direction))
    r, c = int(v * h), int(u * w) % w
    img[max(r - 1, 0):r + 2, (c - 1) % w] = spot
    img[max(r - 1, 0):r + 2, c] = spot
    img[max(r - 1, 0):r + 2, (c + 1) % w] = spot
    cv2.imwrite(str(folder / "spot.hdr"), img[:, :, ::-1])
    return load_environment(folder / "spot.hdr")


def test_a_mirror_sphere_shows_the_maps_brightest_point_where_the_reflection_points(gl, tmp_path):
    """On a metallic sphere of roughness 0, the brightest pixel is where the view ray, reflected about
    the sphere's normal, points to the bright patch of the map."""
    sphere = _object(tmp_path, trimesh.creation.icosphere(subdivisions=5, radius=0.05), "ball", rgb=(1, 1, 1),
                     roughness=0.0, metallic=1.0)
    spot = np.array([0.3, 0.8, 0.5])
    spot /= np.linalg.norm(spot)
    env = _spot_environment(tmp_path, spot)
    assert np.degrees(np.arccos(env.sun_direction @ spot)) < 1.5  # the spot is the map's sun: the light of the shadows
    big = Intrinsics.from_fov(480, 360, 40.0)
    out, cam = _render(gl, sphere, _lighting(env, exposure=1.0, sun=env.sun_radiance, sun_dir=env.sun_direction),
                       intrinsics=big)
    lum = out.rgb.astype(float).sum(2) * (out.instance == 1)
    ys, xs = np.nonzero(lum >= 0.95 * lum.max())  # the highlight's centre
    y, x = ys.mean(), xs.mean()
    # the point of the sphere this pixel sees, its normal, the reflected ray
    ray_cam = np.linalg.inv(big.K) @ [x + 0.5, y + 0.5, 1.0]
    ray = cam[:3, :3] @ (ray_cam / np.linalg.norm(ray_cam))
    o, c = cam[:3, 3], get_location("kitedemo_0").fixation
    b = ray @ (o - c)
    t = -b - math.sqrt(b * b - (np.dot(o - c, o - c) - 0.05 ** 2))
    n = (o + t * ray - c) / 0.05
    r = ray - 2 * (ray @ n) * n
    angle = math.degrees(math.acos(np.clip(r @ spot, -1, 1)))
    assert angle < 2.5, angle  # a map pixel is 1.4 degrees; a screen pixel turns the reflection by about 1


def test_a_shadow_falls_on_the_side_away_from_the_sun(gl, tmp_path):
    """A post on a white floor, the sun low from +y: the floor at -y (behind the post) is darker than
    the floor at +y and at -x, at the same distance from the post."""
    post = _object(tmp_path, trimesh.creation.box([0.04, 0.04, 0.2]), "post", specular=0.0, roughness=1.0)
    floor = _object(tmp_path, trimesh.creation.box([0.8, 0.8, 0.01]), "floor", specular=0.0, roughness=1.0)
    loc = replace(get_location("kitedemo_0"), props=())
    loc = replace(loc, ground_z=loc.fixation[2] - 50.0)
    c = loc.fixation
    sun_dir = np.array([0.0, 1.0, 0.6]) / np.linalg.norm([0.0, 1.0, 0.6])
    gl._lighting[loc.name] = _lighting(uniform_environment((0.1, 0.1, 0.1)), 1.0, sun=(3.0, 3.0, 3.0),
                                       sun_dir=sun_dir, shadows=True)
    cam = look_at(c + np.array([0.0, 0.0, 0.9]), c, up=(1.0, 0.0, 0.0))
    big = Intrinsics.from_fov(200, 200, 50.0)
    frame = Frame.view(loc, [(post, make_pose(np.eye(3), c + [0, 0, 0.1])), (floor, make_pose(np.eye(3), c - [0, 0, 0.005]))],
                       cam, big)
    out = gl.render(frame)
    T_cw = np.linalg.inv(cam)

    def pixel(p):
        q = T_cw[:3, :3] @ p + T_cw[:3, 3]
        u = big.K @ q
        return int(u[1] / u[2]), int(u[0] / u[2])

    def bright(p):
        y, x = pixel(p)
        assert out.instance[y, x] == 2
        return float(out.rgb[y - 1:y + 2, x - 1:x + 2].mean())

    behind, front, side = bright(c + [0, -0.12, 0]), bright(c + [0, 0.12, 0]), bright(c + [-0.12, 0, 0])
    assert behind < 0.6 * front and behind < 0.6 * side, (behind, front, side)


def test_a_rough_white_sphere_is_never_brighter_than_its_environment(gl, tmp_path):
    """Energy: under a uniform sky of radiance L, a white dielectric sphere of roughness 1 (diffuse
    plus specular) reflects at most L at any pixel (2 % for quantisation and the split-sum fit)."""
    sphere = _object(tmp_path, trimesh.creation.icosphere(subdivisions=4, radius=0.05), "rough", roughness=1.0)
    L = 0.6
    out, _ = _render(gl, sphere, _lighting(uniform_environment((L, L, L)), exposure=1.0))
    seen = out.instance == 1
    radiance = from_srgb8(out.rgb[seen], 1.0)
    assert radiance.max() <= L * 1.02 + 0.01, radiance.max()
    assert radiance.mean() > 0.8 * L  # and not much darker: the light is not lost either


def test_another_environment_changes_the_rgb_only(gl, tmp_path):
    """Geometry untouched: the same frame under two environment maps has byte-identical depth and
    instance maps; its colours differ."""
    box = _object(tmp_path, trimesh.creation.box([0.1, 0.07, 0.05]), "crate")
    maps = sorted(HDRI.glob("*.hdr"))
    if len(maps) < 2:
        pytest.skip("the shipped environment maps are missing")
    outs = [_render(gl, box, _lighting(load_environment(m), exposure=1.0, sun=(2, 2, 2), shadows=True))[0]
            for m in maps[:2]]
    assert np.array_equal(outs[0].depth, outs[1].depth) and np.array_equal(outs[0].instance, outs[1].instance)
    assert not np.array_equal(outs[0].rgb, outs[1].rgb)


def test_a_boxs_faces_are_flat_and_its_edges_hard(gl, tmp_path):
    """A white Lambertian box from a mesh file (8 shared corners, as trimesh writes it), turned 45
    degrees about the vertical, under a sun along one visible face's normal and no sky: that face at
    radiance E / pi all over, the other visible face (at right angles to the sun) black. Normals
    smoothed across the edges (the welding the scans' texture seams need, without a crease angle)
    made the lit face darker towards its edges and the other one grey."""
    box = _object(tmp_path, trimesh.creation.box([0.1, 0.1, 0.1]), "white", roughness=1.0, metallic=0.0, specular=0.0)
    loc = get_location("kitedemo_0")
    c, s_ = math.cos(math.pi / 4), math.sin(math.pi / 4)
    turn = np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]])
    lit_normal, dark_normal = turn @ [1.0, 0.0, 0.0], turn @ [0.0, -1.0, 0.0]
    out, cam = _render(gl, box, _lighting(uniform_environment((0.0, 0.0, 0.0)), exposure=1.0, sun=(1.0, 1.0, 1.0),
                                            sun_dir=lit_normal), camera_distance=0.4, pose=make_pose(turn, loc.fixation))
    seen = cv2.erode((out.instance == 1).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    pts = K.backproject(out.depth)[seen] @ cam[:3, :3].T + cam[:3, 3] - loc.fixation
    radiance = from_srgb8(out.rgb[seen], 1.0)[..., 1]
    on_lit, on_dark = (np.abs(pts @ n - 0.05) < 0.002 for n in (lit_normal, dark_normal))
    lit, dark = on_lit & (pts @ dark_normal < 0.045), on_dark & (pts @ lit_normal < 0.045)  # 5 mm from the edge
    assert lit.sum() > 300 and dark.sum() > 300
    assert np.allclose(radiance[lit], 1.0 / math.pi, rtol=0.025)
    assert radiance[dark].max() < 0.004
