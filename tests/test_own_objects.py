"""Datasets of the user's own objects: a folder of meshes, an object-set file, a BOP models folder.

The folder of meshes is the sample set that ships with fat (``--objects sample``: PyBullet's ball,
lego, mug, torus, stone and teddy at about 10 cm), in every format a set may hold: OBJ with its MTL
and texture, OBJ without colour and with a collision file, OBJ that is not watertight, GLB, PLY with
vertex colours, STL. Each dataset is checked by the geometry of its frames (masks inside the
projected cuboids, depth back-projected inside the cuboids, projected cuboids = K x the annotated 3D
cuboid) and read back by every tool.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pybullet_data
import pytest
import trimesh

import geometry_checks as gc
from fat import Dataset, objectsets
from fat.errors import ConfigError
from fat.formats.fat import FatFolder
from fat.assets.meshes import MeshWarning
from fat.run.driver import generate
from fat.settings import Settings
from fat.run.resolve import object_infos, resolve

PB = Path(pybullet_data.getDataPath())
# pybullet_data's meshes are open or colourless: each test that is about a warning asks for it
pytestmark = pytest.mark.filterwarnings("ignore::fat.assets.meshes.MeshWarning")
FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
YCB_WORDS = re.compile(r"master_chef|cracker|banana|mustard|_16k", re.I)


def _scaled_obj(src: Path, dst: Path, factor: float, normals: bool = True) -> None:
    """A copy of an OBJ with its vertex positions multiplied by ``factor``, its MTL and textures beside it;
    without its vertex normals (``vn`` lines and the faces' normal indices) unless ``normals``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for line in src.read_text().splitlines():
        if line.startswith("vn ") and not normals:
            continue
        if line.startswith("f ") and not normals:
            line = "f " + " ".join("/".join(c.split("/")[:2]) for c in line.split()[1:])
        if line.startswith("v "):
            x, y, z = (float(t) * factor for t in line.split()[1:4])
            line = f"v {x:.7f} {y:.7f} {z:.7f}"
        elif line.startswith("mtllib"):
            mtl = src.parent / line.split(None, 1)[1].strip()
            if not mtl.is_file():  # lego.obj names an MTL pybullet_data does not ship
                continue
            shutil.copy(mtl, dst.parent / mtl.name)
            for m in re.finditer(r"^\s*map_K[ad]\s+(\S+)\s*$", mtl.read_text(), re.M):
                if (src.parent / m.group(1)).is_file():
                    shutil.copy(src.parent / m.group(1), dst.parent / m.group(1))
        lines.append(line)
    dst.write_text("\n".join(lines) + "\n")


def _trimesh(src: Path, factor: float) -> trimesh.Trimesh:
    m = trimesh.load(str(src), force="mesh", process=False)
    m.apply_scale(factor)
    return m


#: The sample set's objects: (pybullet_data file, the factor that makes it metres, the sample's file)
SAMPLE = {"ball": ("soccerball.obj", 0.1, "ball/soccerball.obj"), "lego": ("lego/lego.obj", 0.25, "lego/lego.obj"),
          "mug": ("objects/mug.obj", 1.0, "mug.obj"), "stone": ("stone.obj", 0.2, "stone.ply"),
          "teddy": ("teddy2_VHACD_CHs.obj", 0.12, "teddy.stl"),
          "torus": ("torus/torus_textured.obj", 0.07, "torus.glb")}


def make_mesh_folder(root: Path) -> Path:
    """The sample set that ships with fat, copied: six objects of pybullet_data, each about 10 cm, in
    metres, one per format."""
    shutil.copytree(objectsets.shipped_set("sample"), root)
    return root


def make_pybullet_folder(root: Path) -> Path:
    """The sample set made again from pybullet_data's files, as its SOURCE.md says it was made."""
    root.mkdir(parents=True)
    _scaled_obj(PB / "soccerball.obj", root / "ball" / "soccerball.obj", 0.1, normals=False)  # OBJ + MTL + PNG texture
    _scaled_obj(PB / "lego" / "lego.obj", root / "lego" / "lego.obj", 0.25)  # OBJ, no colour ...
    _scaled_obj(PB / "lego" / "lego_vhacd.obj", root / "lego" / "collision.obj", 0.25)  # ... its convex parts
    _scaled_obj(PB / "objects" / "mug.obj", root / "mug.obj", 1.0)  # not watertight: V-HACD
    _trimesh(PB / "torus" / "torus_textured.obj", 0.07).export(root / "torus.glb")  # glTF: metres by definition
    stone = _trimesh(PB / "stone.obj", 0.2)
    stone.merge_vertices()  # one closed surface: the OBJ's corners split by their normals joined
    for _ in range(3):  # each triangle into 64, the same surface: room for the colours to grade
        stone = stone.subdivide()
    h = (stone.vertices[:, 2] - stone.vertices[:, 2].min()) / np.ptp(stone.vertices[:, 2])
    stone.visual = trimesh.visual.ColorVisuals(stone, vertex_colors=np.column_stack(
        [255 * h, 80 + 0 * h, 255 * (1 - h), 255 + 0 * h]).astype(np.uint8))
    (root / "stone.ply").write_bytes(trimesh.exchange.ply.export_ply(stone, encoding="binary"))
    _trimesh(PB / "teddy2_VHACD_CHs.obj", 0.12).export(root / "teddy.stl")  # STL: no colour
    return root


def make_set_file(root: Path) -> Path:
    """An object-set file over pybullet_data's own files, each with its units as a number."""
    root.mkdir(parents=True)
    text = f"""
name = "pybullet_toys"
supercategory = "toys"
units = "m"

[[objects]]
name = "duck"
mesh = "{PB / 'duck.obj'}"
units = 0.06
mass = 0.08
segmentation_id = 17

[[objects]]
name = "lego"
class = "lego_brick"
mesh = "{PB / 'lego' / 'lego.obj'}"
collision = "{PB / 'lego' / 'lego_vhacd.obj'}"
units = 0.25

[[objects]]
name = "mug"
mesh = "{PB / 'objects' / 'mug.obj'}"
symmetry = "none"

[[objects]]
name = "torus"
mesh = "{PB / 'torus' / 'torus_textured.obj'}"
units = 0.07
align = "obb"

[[objects]]
name = "teddy"
mesh = "{PB / 'teddy2_VHACD_CHs.obj'}"
units = 0.12
"""
    (root / "toys.toml").write_text(text)
    return root / "toys.toml"


def make_bop_models(root: Path, meshes: Path) -> Path:
    """BOP's models/ layout (mm PLY + models_info.json + a class-name mapping) of four of the meshes."""
    root.mkdir(parents=True)
    info, names = {}, {}
    for i, (name, src) in enumerate([("ball", meshes / "ball" / "soccerball.obj"), ("mug", meshes / "mug.obj"),
                                     ("stone", meshes / "stone.ply"), ("teddy", meshes / "teddy.stl")], start=1):
        m = trimesh.load(str(src), force="mesh", process=False)
        m.apply_scale(1000.0)
        (root / f"obj_{i:06d}.ply").write_bytes(trimesh.exchange.ply.export_ply(m, encoding="ascii"))
        lo, hi = m.vertices.min(0), m.vertices.max(0)
        info[str(i)] = {"diameter": float(np.linalg.norm(hi - lo)), "min_x": lo[0], "min_y": lo[1], "min_z": lo[2],
                        "size_x": hi[0] - lo[0], "size_y": hi[1] - lo[1], "size_z": hi[2] - lo[2]}
        names[str(i)] = f"{name}_model"
    info["2"]["symmetries_continuous"] = [{"axis": [0, 1, 0], "offset": [0, 0, 0]}]
    (root / "models_info.json").write_text(json.dumps(info))
    (root / "class_names.json").write_text(json.dumps(names))
    return root


def _settings(source: str, **kw) -> Settings:
    base = dict(kinds=("mixed", "single"), scenes=("kitchen",), locations=(0,), mixed_frames=6, single_frames=2,
                frames_per_drop=3, seed=5, width=320, height=180, renderer="tiny", object_source=source)
    base.update(kw)
    return Settings(**base)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    meshes = make_mesh_folder(root / "meshes")
    return {"meshes": meshes, "setfile": make_set_file(root / "set"), "bop": make_bop_models(root / "models", meshes)}


@pytest.fixture(scope="module")
def datasets(sources, tmp_path_factory):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MeshWarning)
        for name, src in sources.items():
            out[name] = tmp_path_factory.mktemp(name) / "ds"
            generate(_settings(str(src)), out[name])
    return out


def cuboid_projections_hold(root: Path) -> int:
    """Each object's projected cuboid is K x its 3D cuboid, and its 3D cuboid is the pose applied to
    the box of its ``_object_settings.json`` dimensions (corners compared as sets). Returns the
    objects checked."""
    n = 0
    for path in sorted(p.parent for p in root.rglob("_camera_settings.json")):
        folder = FatFolder(path)
        for i in folder.frame_indices():
            for eye in ("left", "right"):
                view = folder.read(i, eye, ())
                K = view.intrinsics.K
                for o in view.annotation.objects:
                    corners = o.cuboid  # (8, 3) metres, camera frame
                    uvw = corners @ K.T
                    assert np.allclose(uvw[:, :2] / uvw[:, 2:], o.projected_cuboid, atol=0.02)
                    half = folder.object_setting(o.class_name).dimensions / 2
                    box = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * half
                    posed = box @ o.pose[:3, :3].T + o.pose[:3, 3]
                    assert np.allclose(np.sort(posed.round(4), axis=0), np.sort(corners.round(4), axis=0), atol=2e-4)
                    n += 1
    return n


@pytest.mark.parametrize("kind", ["meshes", "setfile", "bop"])
@pytest.mark.slow
def test_own_objects_make_geometrically_exact_datasets(datasets, kind):
    """Cuboids hold every rendered pixel of each object (2D and in depth), projected cuboids are K x
    cuboid, segmentation and stereo agree: the checks every dataset of the built-in objects passes."""
    root = datasets[kind]
    assert gc.check_dataset(root) > 2_000
    assert cuboid_projections_hold(root) > 20


@pytest.mark.slow
def test_every_reader_follows_the_datasets_own_set(datasets, sources, tmp_path):
    """fat.Dataset, validate, COCO and HDF5 take the classes from the dataset's own files; no YCB name anywhere."""
    root = datasets["setfile"]
    ds = Dataset(root, kind="both", fields=("annotations",))
    assert [o.class_name for o in ds.objects] == ["duck", "lego_brick", "mug", "torus", "teddy"]
    assert ds.objects.supercategory == "toys"
    seen = {o["class"] for item in ds for o in item["objects"]}
    assert seen <= {"duck", "lego_brick", "mug", "torus", "teddy"} and len(seen) >= 3
    mixed = json.loads((root / "mixed/kitchen_0/_object_settings.json").read_text())
    ids = {o["class"]: o["segmentation_class_id"] for o in mixed["exported_objects"]}
    assert ids["duck"] == 17  # given in the set file; the others by the spread rule (255 // 5 = 51 apart)
    assert [ids[c] for c in ("lego_brick", "mug", "torus", "teddy")] == [102, 153, 204, 255]
    assert sorted(p.name for p in (root / "single").iterdir()) == ["duck", "lego_brick", "mug", "teddy", "torus"]
    assert not YCB_WORDS.search((root / "fat_dataset.json").read_text().replace(str(PB), ""))

    r = subprocess.run([FAT, "validate", str(root)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    coco = tmp_path / "coco.json"
    r = subprocess.run([FAT, "export", "coco", str(root), str(coco), "--quiet"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    doc = json.loads(coco.read_text())
    assert [(c["id"], c["name"], c["supercategory"]) for c in doc["categories"]] == [
        (1, "duck", "toys"), (2, "lego_brick", "toys"), (3, "mug", "toys"), (4, "torus", "toys"), (5, "teddy", "toys")]
    assert not YCB_WORDS.search(coco.read_text())
    h5 = tmp_path / "ds.h5"
    r = subprocess.run([FAT, "export", "hdf5", str(root), str(h5), "--quiet"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert [(o.index, o.class_name) for o in Dataset(h5).objects] == [(o.index, o.class_name) for o in ds.objects]


def test_bop_models_give_their_mapped_names_and_symmetries(sources):
    """Catches: a BOP models folder read without its class names, symmetries or millimetre units."""
    objects = objectsets.load(sources["bop"])
    assert [o.class_name for o in objects] == ["ball_model", "mug_model", "stone_model", "teddy_model"]
    assert objects.get("obj_000002").symmetry == {"symmetries_continuous": [{"axis": [0, 1, 0], "offset": [0, 0, 0]}]}
    info = json.loads((sources["bop"] / "models_info.json").read_text())
    for o in objects:  # millimetre files, metre cuboids: BOP's own box of each model
        i = str(int(o.name.split("_")[1]))
        assert np.allclose(o.dimensions * 1000, [info[i]["size_x"], info[i]["size_y"], info[i]["size_z"]], atol=1e-3)


@pytest.mark.slow
def test_a_bop_models_set_names_its_single_folders(datasets):
    """Catches: single-object folders named by BOP's obj_000001 instead of the mapped class names."""
    assert sorted(p.name for p in (datasets["bop"] / "single").iterdir()) == [
        "ball_model", "mug_model", "stone_model", "teddy_model"]


def test_the_aligned_frame_is_the_box_centre_and_the_file_transform_maps_the_mesh(sources):
    """NDDS's rule: the cuboid is the mesh's own axis-aligned box, its centre the origin; the model
    transform written to _object_settings.json maps the file's vertices into that frame."""
    objects = objectsets.load(sources["meshes"])
    ball = objects.get("ball")
    v = trimesh.load(str(sources["meshes"] / "ball" / "soccerball.obj"), force="mesh", process=False).vertices
    p = v @ ball.model_transform[:3, :3].T + ball.model_transform[:3, 3]
    assert np.allclose(p.min(0), -ball.dimensions / 2, atol=1e-9) and np.allclose(p.max(0), ball.dimensions / 2, atol=1e-9)
    assert np.allclose(ball.model_transform[:3, :3], np.eye(3))  # aabb: no rotation
    # --align obb: a mesh turned by 30 degrees gets its unturned box back
    box = trimesh.creation.box([0.12, 0.06, 0.03])
    box.apply_transform(trimesh.transformations.rotation_matrix(np.radians(30), [0, 0, 1]))
    folder = sources["meshes"].parent / "turned"
    folder.mkdir(exist_ok=True)
    box.export(folder / "brick.stl")
    aabb = objectsets.load(folder).get("brick").dimensions
    obb = objectsets.load(folder, objectsets.Options(align="obb")).get("brick").dimensions
    assert np.allclose(sorted(obb), [0.03, 0.06, 0.12], atol=1e-6)
    assert aabb[0] > 0.12 and aabb[2] == pytest.approx(0.03)


def test_units_come_from_the_file_where_the_format_says(sources, tmp_path):
    """glTF is in metres whatever --units says; OBJ, PLY and STL take --units."""
    shutil.copy(sources["meshes"] / "torus.glb", tmp_path / "torus.glb")
    shutil.copy(sources["meshes"] / "teddy.stl", tmp_path / "teddy.stl")
    m = objectsets.load(tmp_path, objectsets.Options(units="m"))
    with pytest.warns(MeshWarning, match="teddy.stl: .* m across at 0.001 m per unit; are its units right"):
        mm = objectsets.load(tmp_path, objectsets.Options(units="mm"))
    assert np.allclose(mm.get("torus").dimensions, m.get("torus").dimensions)
    assert np.allclose(mm.get("teddy").dimensions * 1000, m.get("teddy").dimensions)


@pytest.mark.slow
def test_a_millimetre_mesh_read_as_metres_is_warned_about(sources, tmp_path):
    """Catches: a mesh in millimetres read as metres (121.6 m) listed without a warning, or with one
    that does not say which unit to try and the size it gives."""
    folder = tmp_path / "mm"
    folder.mkdir()
    m = trimesh.load(str(sources["meshes"] / "mug.obj"), force="mesh", process=False)
    m.apply_scale(1000.0)  # the mug in millimetres
    m.export(folder / "mug.stl")
    r = subprocess.run([FAT, "objects", "--objects", str(folder)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^fat: warning: .*mug\.stl: 121\.6 m across at 1 m per unit, larger than the 0\.4 m that "
                     r"FAT's drop and cameras are made for; are its units right\? \(--units mm makes it 12\.2 cm",
                     r.stderr, re.M), r.stderr
    r = subprocess.run([FAT, "objects", "--objects", str(folder), "--units", "mm"], capture_output=True, text=True, timeout=300)
    assert "units right" not in r.stderr and "12.16" in r.stdout  # 121.6 mm tall


def test_an_unreadable_mesh_fails_in_one_line_and_writes_nothing(sources, tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(sources["meshes"], folder)
    (folder / "broken.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\nproperty float x\n")
    out = tmp_path / "out"
    r = subprocess.run([FAT, "generate", str(out), "--objects", str(folder), "--frames", "2", "--renderer", "tiny",
                        "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and f"{folder / 'broken.ply'}: cannot read the mesh" in errors[0], r.stderr
    assert not out.exists()


def test_meshes_that_are_not_closed_or_lack_uvs_work_with_a_warning(sources):
    with pytest.warns(MeshWarning) as caught:
        objectsets.load(sources["meshes"].parent / "set" / "toys.toml")
        objectsets.load(sources["meshes"] / "mug.obj")  # caught once per process: read another path too
    text = "\n".join(str(w.message) for w in caught)
    assert "no texture coordinates and no colours" in text or "not watertight" in text


def test_collision_is_the_hull_of_a_convex_mesh_and_vhacd_parts_of_a_concave_one(sources, tmp_path):
    from fat.assets.objects import load_assets

    box = trimesh.creation.box([0.1, 0.05, 0.04])
    box.export(tmp_path / "brick.stl")
    shutil.copy(sources["meshes"] / "mug.obj", tmp_path / "mug.obj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MeshWarning)
        objects = objectsets.load(tmp_path)
    assets = load_assets(objects, objects.meshes)
    assert len(assets["brick"].parts) == 1 and len(assets["brick"].parts[0]) == 8
    mug = assets["mug"]
    assert len(mug.parts) > 1  # the handle and the hollow: not one hull
    hull_volume = trimesh.convex.convex_hull(mug.hull).volume
    parts_volume = sum(trimesh.convex.convex_hull(p).volume for p in mug.parts)
    assert parts_volume < 0.9 * hull_volume  # the inside of the cup is not solid
    assert objects.get("brick").mass == pytest.approx(0.1 * 0.05 * 0.04 * 500.0)


def test_object_picks_from_the_set_and_unknown_names_are_refused(sources):
    s = resolve(_settings(str(sources["meshes"]), objects=("stone", "ball")))
    assert s.objects == ("stone", "ball")
    with pytest.raises(ConfigError, match=r"unknown object 'banana' in object set meshes; known: ball, lego"):
        resolve(_settings(str(sources["meshes"]), objects=("banana",)))
    assert resolve(_settings(str(sources["meshes"]))).objects == ("ball", "lego", "mug", "stone", "teddy", "torus")


def test_set_file_errors_name_the_file_and_field(sources, tmp_path):
    cases = [
        ('[[objects]]\nname = "a"\nmesh = "nowhere.obj"\n', r"objects\[0\]\.mesh: no such file"),
        (f'[[objects]]\nname = "a b"\nmesh = "{PB / "duck.obj"}"\n', r"objects\[0\]: class name 'a b'"),
        (f'[[objects]]\nname = "a"\nmesh = "{PB / "duck.obj"}"\nunits = "inch"\n', r"objects\[0\]\.units: units must be"),
        (f'[[objects]]\nname = "a"\nmesh = "{PB / "duck.obj"}"\ncolour = 1\n', r"objects\[0\]: unknown key 'colour'"),
        (f'[[objects]]\nname = "a"\nmesh = "{PB / "duck.obj"}"\nsegmentation_id = 300\n', r"segmentation_id must be an integer 1\.\.255"),
        ('objects = 3\n', r"objects: expected a list"),
        ('name = \n', r"not valid TOML"),
    ]
    for i, (text, pattern) in enumerate(cases):
        f = tmp_path / f"set{i}.toml"
        f.write_text(text)
        with pytest.raises(ConfigError, match=pattern) as e:
            objectsets.load(f)
        assert str(f) in str(e.value) and "\n" not in str(e.value)


def test_segmentation_ids_spread_over_the_byte_and_give_fats_ids_for_21():
    from fat.catalog import fat_objects
    from fat.objectsets.build import segmentation_ids

    assert segmentation_ids(21, {}) == [o.segmentation_id for o in fat_objects()]
    assert segmentation_ids(1, {}) == [255]
    ids = segmentation_ids(255, {})
    assert ids == list(range(1, 256))
    ids = segmentation_ids(5, {0: 102})  # object 1's rule id is taken: it moves to the nearest free one
    assert len(set(ids)) == 5 and ids[0] == 102 and ids[1] in (101, 103)


@pytest.mark.slow
def test_bop_export_writes_the_sets_own_models_and_they_read_back(datasets, sources, tmp_path):
    """The BOP export of a dataset of the user's meshes writes those meshes (FAT frame, mm), found
    through the source fat_dataset.json records; read back as a set they give the same cuboids."""
    bop = tmp_path / "bop"
    r = subprocess.run([FAT, "export", "bop", str(datasets["meshes"]), str(bop), "--renderer", "tiny", "--quiet"],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    own = objectsets.load(sources["meshes"])
    info = json.loads((bop / "models" / "models_info.json").read_text())
    ds = Dataset(datasets["meshes"], kind="both", fields=())
    assert sorted(map(int, info)) == sorted(o.index + 1 for o in ds.objects)
    back = objectsets.load(bop / "models")
    for o in ds.objects:
        i = info[str(o.index + 1)]
        assert np.allclose([i["size_x"], i["size_y"], i["size_z"]], own.get(o.class_name).dimensions * 1000, atol=0.01)
        assert np.abs(back.get(f"obj_{o.index + 1:06d}").dimensions - o.dimensions).max() < 0.001
    # the models carry the objects' colours (vertex colours sampled from their textures): the ball is
    # black and white (its texture), the stone red at the top and blue at the bottom (its vertex colours)
    from fat.assets.mesh_reading import read_mesh_file

    def vertex_colours(name: str) -> np.ndarray:  # (N, 3) BGR
        mf = read_mesh_file(bop / "models" / f"obj_{ds.objects.get(name).index + 1:06d}.ply")
        assert mf.colour_source == "vertex colours"
        h, w = mf.texture.shape[:2]
        uv = mf.mesh.uvs
        return mf.texture[((1 - uv[:, 1]) * h).astype(int).clip(0, h - 1), (uv[:, 0] * w).astype(int).clip(0, w - 1)].astype(int)

    ball = vertex_colours("ball")
    dark, light = (ball.max(1) < 60).mean(), (ball.min(1) > 150).mean()
    assert 0.1 < dark < 0.4 and dark + light > 0.95, (dark, light)
    stone = vertex_colours("stone")
    red_minus_blue = stone[:, 2] - stone[:, 0]
    assert red_minus_blue.min() < -200 and red_minus_blue.max() > 200, (red_minus_blue.min(), red_minus_blue.max())
    gt = json.loads(next(bop.glob("train_left/*/scene_gt.json")).read_text())
    assert {g["obj_id"] for frame in gt.values() for g in frame} <= set(map(int, info))


@pytest.mark.slow
def test_stats_and_show_name_the_sets_classes(datasets, tmp_path):
    root = datasets["meshes"]
    r = subprocess.run([FAT, "stats", str(root), "--out", str(tmp_path / "stats"), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    stats = (tmp_path / "stats" / "stats.json").read_text()
    assert "ball" in stats and "stone" in stats and not YCB_WORDS.search(stats)
    r = subprocess.run([FAT, "show", str(root), "mixed/kitchen_0/0", "--out", str(tmp_path / "show.png")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "show.png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_package_adds_an_object_source_through_an_entry_point(tmp_path):
    """A module and its distribution's entry_points.txt (group fat.object_sources) on the path:
    ``--objects`` reads a file type fat does not know, and a dataset is made of it."""
    from plugin_examples import install

    plugin = install(tmp_path / "plugin", "fat_boxes", ["fat_boxes"])
    (tmp_path / "crates.boxes").write_text("crate 0.12 0.08 0.05\nplank 0.2 0.03 0.02\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), os.environ.get("PYTHONPATH", "")])}

    def fat(*args):
        return subprocess.run([sys.executable, "-m", "fat.cli.main", *map(str, args)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)

    r = fat("objects", "--objects", "crates.boxes")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^1\s+crate\s+127\s+12\.00\s+8\.00\s+5\.00\s", r.stdout, re.M), r.stdout
    assert re.search(r"^2\s+plank\s+254\s+20\.00\s+3\.00\s+2\.00\s", r.stdout, re.M), r.stdout
    r = fat("generate", "out", "--objects", "crates.boxes", "--kind", "both", "--scene", "kitchen", "--frames", "2",
            "--frames-per-drop", "2", "--width", "96", "--height", "64", "--renderer", "tiny", "--quiet")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "single").iterdir()) == ["crate", "plank"]
    r = fat("validate", "out", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_ply_with_a_texture_file_reads_its_texture(sources, tmp_path):
    """BOP's textured models: ``comment TextureFile`` and per-vertex ``texture_u``/``texture_v``."""
    from fat.assets.mesh_reading import read_mesh_file

    m = trimesh.load(str(sources["meshes"] / "ball" / "soccerball.obj"), force="mesh", process=False)
    shutil.copy(sources["meshes"] / "ball" / "colors16.png", tmp_path / "tex.png")
    head = (f"ply\nformat ascii 1.0\ncomment TextureFile tex.png\nelement vertex {len(m.vertices)}\n"
            "property float x\nproperty float y\nproperty float z\nproperty float texture_u\nproperty float texture_v\n"
            f"element face {len(m.faces)}\nproperty list uchar int vertex_indices\nend_header\n")
    rows = [f"{x} {y} {z} {u} {v}" for (x, y, z), (u, v) in zip(m.vertices, m.visual.uv)]
    (tmp_path / "ball.ply").write_text(head + "\n".join(rows) + "\n" + "\n".join(f"3 {a} {b} {c}" for a, b, c in m.faces) + "\n")
    mf = read_mesh_file(tmp_path / "ball.ply")
    assert mf.colour_source == "texture" and mf.texture.shape == (256, 256, 3)
    assert np.allclose(mf.mesh.uvs, m.visual.uv, atol=1e-6)


def _fat(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([FAT, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_sample_set_ships_small_credited_and_makes_a_dataset(tmp_path):
    """Catches: a guide's meshes that exist only in the tests (``--objects sample`` not found in a
    fresh folder, or a file of the set left out of the package data), a sample object that is not
    about 10 cm, cuboids that are not the mesh files' extents, a file without its origin and licence
    in SOURCE.md or under another licence than bullet3's zlib one (which allows any use and
    redistribution), and a set that cannot make a dataset (the geometry of its frames is checked at a
    larger size by test_own_objects_make_geometrically_exact_datasets, whose meshes are this set)."""
    folder = objectsets.shipped_set("sample")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert sum(p.stat().st_size for p in files) < 1_000_000
    credits = (folder / "SOURCE.md").read_text("utf-8")
    for p in files:
        assert p.name == "SOURCE.md" or f"`{p.relative_to(folder).as_posix()}`" in credits, p
    table = [line for line in credits.splitlines() if line.startswith("| `")]
    assert len(table) == 7 and all(line.endswith("| zlib (Bullet) |") for line in table), table  # free to redistribute
    assert "This notice may not be removed or altered from any source distribution." in credits
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert re.search(r'^"fat\.objects" = \[.*"sample/\*", "sample/\*/\*"', pyproject, re.M)

    r = _fat("objects", "--objects", "sample", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {m.group(1): (np.array([float(m.group(i)) for i in (2, 3, 4)]), Path(m.group(5)))
            for m in re.finditer(r"^\d+\s+(\w+)\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\S+\s+(\S+)$", r.stdout, re.M)}
    assert sorted(rows) == sorted(SAMPLE) and r.stdout.rstrip().endswith(
        "sample: 6 objects; single-object folders use segmentation id 255 for every object")
    for name, (cm, mesh) in rows.items():
        assert mesh == folder / SAMPLE[name][2]
        extents = trimesh.load(str(mesh), force="mesh", process=False).extents  # metres: the set's units
        assert np.allclose(cm, extents * 100, atol=0.006), (name, cm, extents)
        assert 6 < cm.max() < 13, (name, cm)
    assert not re.search(r"across", r.stderr), r.stderr  # no size warning: every object is FAT-sized

    r = _fat("generate", "out", "--objects", "sample", "--kind", "both", "--scene", "kitchen", "--frames", "2",
             "--frames-per-drop", "2", "--width", "128", "--height", "72", "--renderer", "tiny", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "single").iterdir()) == sorted(SAMPLE)
    record = json.loads((out / "fat_dataset.json").read_text())
    assert record["settings"]["object_source"] == str(folder)  # found again from any folder
    r = _fat("validate", "out", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_sample_set_is_pybullet_datas_meshes_at_about_10_cm(tmp_path):
    """Catches: shipped files that are not what SOURCE.md says (pybullet_data's meshes times the
    factor it gives): each sample object's cuboid is its source mesh's extents times that factor."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MeshWarning)
        made = objectsets.load(make_pybullet_folder(tmp_path / "made"))
        shipped = objectsets.load("sample")
    for name, (src, factor, _) in SAMPLE.items():
        extents = trimesh.load(str(PB / src), force="mesh", process=False).extents * factor
        assert np.allclose(np.sort(shipped.get(name).dimensions), np.sort(extents), rtol=1e-5), name
        assert np.allclose(shipped.get(name).dimensions, made.get(name).dimensions, rtol=1e-6), name


def test_a_folder_named_sample_in_the_working_folder_wins_over_the_shipped_set(tmp_path):
    """Catches: ``--objects sample`` reading the shipped set where the user has a folder of that name
    (the name is looked up only where no such path exists), and an unknown name or path refused
    without naming the shipped sets."""
    (tmp_path / "sample").mkdir()
    trimesh.creation.box(extents=(0.1, 0.06, 0.04)).export(tmp_path / "sample" / "brick.stl")
    r = _fat("objects", "--objects", "sample", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^1\s+brick\s+255\s+10\.00\s+6\.00\s+4\.00\s", r.stdout, re.M), r.stdout
    assert "sample: 1 objects" in r.stdout
    r = _fat("objects", "--objects", "samples", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == ("fat: error: --objects samples: no such file or folder (nor the name of a set that "
                                "ships with fat: sample)"), r.stderr


def test_units_as_a_number_scale_a_mesh_exactly(sources, tmp_path):
    """Catches: ``--units 0.1`` (metres per unit, as a set file's ``units = 0.1``) refused or read
    as another scale: the cuboids are exactly a tenth of ``--units m``'s, the model transforms' scale
    a tenth, the masses a thousandth; the same through the settings, recorded as the number."""
    m = objectsets.load(sources["meshes"], objectsets.Options(units="m"))
    tenth = objectsets.load(sources["meshes"], objectsets.Options(units="0.1"))
    for o in m:
        t = tenth.get(o.name)
        if o.name == "torus":  # glTF is in metres whatever --units says
            assert np.array_equal(t.dimensions, o.dimensions)
            continue
        assert np.allclose(t.dimensions * 10, o.dimensions, rtol=1e-12, atol=0), o.name
        assert np.allclose(t.model_transform[:3, :3] * 10, o.model_transform[:3, :3], rtol=1e-12, atol=1e-15)
        assert t.mass * 1000 == pytest.approx(o.mass, rel=1e-9), o.name
    assert np.array_equal(objectsets.load(sources["meshes"], objectsets.Options(units=0.1)).get("ball").dimensions,
                          tenth.get("ball").dimensions)
    s = resolve(_settings(str(sources["meshes"]), units="0.1", objects=("ball",)))
    assert s.units == 0.1 and s.to_json()["units"] == 0.1
    assert np.array_equal(object_infos(s)[0].dimensions, tenth.get("ball").dimensions)
    r = _fat("objects", "--objects", sources["meshes"], "--units", "0.1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^1\s+ball\s+42\s+1\.00\s+1\.00\s+1\.01\s", r.stdout, re.M), r.stdout


@pytest.mark.parametrize("value", ["inch", "0", "-1", "nan", "1e400", ""])
def test_bad_units_are_refused_in_one_line_naming_the_option_and_value(value, tmp_path):
    """Catches: a units value that is no name and no positive finite number taken (a scale of 0, a
    negative or infinite one), or refused with a traceback or without naming ``--units`` and the
    value, by ``fat objects`` and ``fat generate`` (before the output folder exists)."""
    r = _fat("objects", "--objects", "sample", "--units", value, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == (f"fat: error: --units: units must be mm, cm, m or a positive number of metres per "
                                f"unit, got {value!r}"), r.stderr
    r = _fat("generate", "out", "--objects", "sample", "--units", value, "--renderer", "tiny", "--quiet", cwd=tmp_path)
    lines = [x for x in r.stderr.splitlines() if not x.startswith("pybullet build time")]
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert lines[0] == ("fat: error: units must be mm, cm, m or a positive number of metres per unit "
                        f"(--units 0.1: a unit of 10 cm), got {value!r}"), lines
    assert not (tmp_path / "out").exists()
