"""Reading scanned meshes with their texture seams, and filling the space between atlas charts."""

import re

import cv2
import numpy as np

from fat.assets.atlas import chart_mask, fill_background, prepare_atlas
from fat.assets.meshes import Mesh, load_mesh

# A square of two triangles whose diagonal is a texture seam: the two corners on it have one
# position each but a different texture coordinate on either side.
SEAM_OBJ = """v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
vt 0.1 0.1
vt 0.4 0.1
vt 0.4 0.4
vt 0.6 0.6
vt 0.9 0.9
vt 0.6 0.9
f 1/1 2/2 3/3
f 1/4 3/5 4/6
"""


def corners_from_text(text: str):
    """Each face corner's position and texture coordinate, read straight from the OBJ text."""
    v = np.array([list(map(float, m.split())) for m in re.findall(r"^v (.+)$", text, re.M)])
    vt = np.array([list(map(float, m.split()[:2])) for m in re.findall(r"^vt (.+)$", text, re.M)])
    pos, uv = [], []
    for line in re.findall(r"^f (.+)$", text, re.M):
        for corner in line.split():
            i, t = corner.split("/")[:2]
            pos.append(v[int(i) - 1])
            uv.append(vt[int(t) - 1])
    return np.array(pos), np.array(uv)


def check_corners(mesh: Mesh, text: str):
    pos, uv = corners_from_text(text)
    f = mesh.faces.ravel()
    assert np.allclose(mesh.vertices[f], pos, atol=1e-6)
    assert np.allclose(mesh.uvs[f], uv, atol=1e-6)


def test_texture_seams_keep_both_coordinates(tmp_path):
    p = tmp_path / "seam.obj"
    p.write_text(SEAM_OBJ)
    m = load_mesh(p)
    assert len(m.vertices) == 6  # the two seam corners count twice
    check_corners(m, SEAM_OBJ)


def test_welded_normals_are_smooth_across_a_seam(tmp_path):
    p = tmp_path / "seam.obj"
    p.write_text(SEAM_OBJ.replace("v 1 1 0", "v 1 1 0.5"))  # fold the square along its diagonal
    m = load_mesh(p)
    split = m.with_vertex_normals().normals
    welded = m.with_vertex_normals(weld=True).normals
    same_place = [(i, j) for i in range(6) for j in range(i + 1, 6) if np.array_equal(m.vertices[i], m.vertices[j])]
    assert len(same_place) == 2
    for i, j in same_place:
        assert not np.allclose(split[i], split[j])  # each side alone: two normals at one point
        assert np.allclose(welded[i], welded[j])


def test_a_scan_reads_with_every_face_corners_own_texture_coordinate(ycb_dir):
    path = ycb_dir / "002_master_chef_can" / "textured.obj"
    text = path.read_text()
    m = load_mesh(path)
    assert len(m.vertices) > len(re.findall(r"^v ", text, re.M))  # seams split positions
    check_corners(m, text)


def red_chart_on_black(size=256):
    """A texture whose only chart is a red triangle; UVs of that triangle."""
    uvs = np.array([[0.2, 0.2], [0.8, 0.25], [0.5, 0.8]])
    faces = np.array([[0, 1, 2]])
    img = np.zeros((size, size, 3), np.uint8)
    known = chart_mask(img.shape[:2], uvs, faces)
    img[known] = (30, 40, 200)
    return img, uvs, faces, known


def test_the_background_takes_the_charts_colours():
    img, uvs, faces, known = red_chart_on_black()
    assert 0.1 < known.mean() < 0.4
    out = fill_background(img, known)
    assert np.array_equal(out[known], img[known])  # charts untouched
    assert np.all(out == (30, 40, 200))  # one chart: its colour everywhere


def test_shrinking_an_atlas_does_not_darken_the_chart_edges():
    img, uvs, faces, known = red_chart_on_black(1024)
    small = prepare_atlas(img, uvs, faces, 256)
    assert small.shape == (256, 256, 3)
    assert np.abs(small.astype(int) - (30, 40, 200)).max() <= 1
    plain = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)  # what shrinking alone gives
    assert plain[chart_mask((256, 256), uvs, faces)].min(0)[2] < 150  # dark edge texels


def test_welded_normals_keep_edges_sharper_than_the_crease():
    """With a crease angle, welded normals are smoothed across gentle bends only: a box's 8 shared
    corners become 24 vertices, each with its face's normal; a sphere keeps its vertices, each with
    about the radial normal; a texture seam (two vertices at one place) is still smoothed across."""
    import trimesh

    box = trimesh.creation.box((1.0, 1.0, 1.0))
    m = Mesh(np.asarray(box.vertices), np.asarray(box.faces)).with_vertex_normals(weld=True, crease=60.0)
    assert len(m.vertices) == 24 and len(m.faces) == 12
    tri = m.vertices[m.faces]
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    face_normals /= np.linalg.norm(face_normals, axis=1, keepdims=True)
    assert np.allclose(m.normals[m.faces], face_normals[:, None, :])
    ball = trimesh.creation.icosphere(subdivisions=3)
    v, f = np.asarray(ball.vertices), np.asarray(ball.faces)
    s = Mesh(v, f).with_vertex_normals(weld=True, crease=60.0)
    assert len(s.vertices) == len(v) and np.abs(s.normals - s.vertices / np.linalg.norm(s.vertices, axis=1, keepdims=True)).max() < 0.02
    # a seam: the faces of one half use copies of the vertices on the cut
    half = ball.vertices[f].mean(axis=1)[:, 0] > 0
    copies = np.vstack([v, v])
    seamed = np.where(half[:, None], f + len(v), f)
    t = Mesh(copies, seamed).with_vertex_normals(weld=True, crease=60.0)
    assert np.abs(t.normals - t.vertices / np.linalg.norm(t.vertices, axis=1, keepdims=True)).max() < 0.02


def test_packed_rectangles_do_not_overlap_and_fit():
    """Catches: an atlas layout (fat.assets.atlas.pack, glTF parts' regions) that puts two regions on the same
    texels or one outside the image."""
    from fat.assets.atlas import pack

    rng = np.random.default_rng(3)
    sizes = [tuple(int(x) for x in rng.integers(4, 200, 2)) for _ in range(40)]
    places, (H, W) = pack(sizes, gutter=2)
    used = np.zeros((H, W), int)
    for (h, w), (y, x) in zip(sizes, places):
        assert y + h <= H and x + w <= W
        used[y:y + h, x:x + w] += 1
    assert used.max() == 1
    assert used.sum() > 0.5 * H * W  # not wasteful


def test_texel_triangles_give_each_texel_its_triangle_and_weights():
    """Catches: per-texel interpolation (glTF vertex colours or a second set of texture coordinates
    baked into a region) reading the wrong triangle or wrong barycentric weights."""
    from fat.assets.atlas import texel_triangles

    px = np.array([[0.0, 0.0], [16.0, 0.0], [16.0, 16.0], [0.0, 16.0]])  # a 16 x 16 square, two triangles
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    tri, bary = texel_triangles((16, 16), px, faces)
    assert (tri >= 0).all()
    rows, cols = np.mgrid[0:16, 0:16]
    centre = np.stack([cols + 0.5, rows + 0.5], axis=-1)
    back = (px[faces[tri]] * bary[..., None]).sum(axis=2)  # the weights give each texel's centre back
    assert np.abs(back - centre).max() < 1e-4
    assert (tri[rows < cols] == 0).all() and (tri[rows > cols] == 1).all()
