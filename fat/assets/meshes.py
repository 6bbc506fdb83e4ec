"""Triangle meshes: convex primitives for the stand-ins, OBJ writing, YCB mesh reading.

A :class:`Mesh` holds vertices (metres), triangles, per-vertex UVs and normals. Shapes are built as
unions of convex :class:`Part` s, which serve both as the visual mesh and as PyBullet's compound
collision shape, and whose hull vertices give FAT's 2D bounding box.
"""

from __future__ import annotations

import collections
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError


@dataclass
class Mesh:
    vertices: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int, counter-clockwise seen from outside
    uvs: np.ndarray | None = None  # (N, 2)
    normals: np.ndarray | None = None  # (N, 3)

    def transformed(self, T: np.ndarray) -> "Mesh":
        v = self.vertices @ T[:3, :3].T + T[:3, 3]
        n = None if self.normals is None else _unit(self.normals @ np.linalg.inv(T[:3, :3]))
        return Mesh(v, self.faces.copy(), None if self.uvs is None else self.uvs.copy(), n)

    def with_vertex_normals(self, weld: bool = False, crease: float | None = None) -> "Mesh":
        """Area-weighted vertex normals (vertices shared by faces are smoothed). ``weld``: smooth
        across vertices at the same position too, as a scan's texture seams split its surface
        into separate vertices with one position (hard edges of built shapes must not be welded).
        ``crease`` (degrees, with ``weld``): smooth only across faces whose normals differ by less,
        splitting the vertices of sharper edges (a box keeps its hard edges, a scan stays smooth)."""
        v, f = self.vertices, self.faces
        fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        group = np.unique(v, axis=0, return_inverse=True)[1].ravel() if weld else np.arange(len(v))
        if weld and crease is not None and len(f):
            return self._creased(fn, group, math.cos(math.radians(crease)))
        n = np.zeros((int(group.max()) + 1 if len(v) else 0, 3))
        for k in range(3):
            np.add.at(n, group[f[:, k]], fn)
        return Mesh(v, f, self.uvs, _unit(n[group]))

    def _creased(self, fn: np.ndarray, group: np.ndarray, cos_crease: float) -> "Mesh":
        """Normals per face corner: the area-weighted sum over the corners at the same position whose
        faces turn by less than the crease; vertices split where their corners' normals differ."""
        f = self.faces
        corner_face = np.repeat(np.arange(len(f)), 3)
        corner_group = group[f.ravel()]
        fu = _unit(fn)
        order = np.argsort(corner_group, kind="stable")
        g, cf = corner_group[order], corner_face[order]
        n = fn[cf].copy()  # each corner's own face
        run = np.diff(np.flatnonzero(np.r_[True, g[1:] != g[:-1], True])).max()  # the most corners at one position
        for d in range(1, int(run)):
            a, b = np.arange(len(g) - d), np.arange(d, len(g))
            same = g[a] == g[b]
            a, b = a[same], b[same]
            near = np.einsum("ij,ij->i", fu[cf[a]], fu[cf[b]]) >= cos_crease
            a, b = a[near], b[near]
            np.add.at(n, a, fn[cf[b]])
            np.add.at(n, b, fn[cf[a]])
        normals = np.empty_like(n)
        normals[order] = _unit(n)
        # one vertex per (vertex, normal): corners of a vertex on both sides of a crease are split
        vid = f.ravel()
        key = np.column_stack([vid, np.round(normals * 1e5)]).astype(np.int64)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        source = vid[first]
        return Mesh(self.vertices[source], inverse.reshape(-1, 3).astype(f.dtype),
                    None if self.uvs is None else self.uvs[source], normals[first])


def _unit(n: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    return n / np.where(norm > 0, norm, 1.0)


def concatenate(meshes: list[Mesh]) -> Mesh:
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    has_uv = all(m.uvs is not None for m in meshes)
    has_n = all(m.normals is not None for m in meshes)
    return Mesh(
        np.concatenate([m.vertices for m in meshes]),
        np.concatenate([m.faces + o for m, o in zip(meshes, offsets)]),
        np.concatenate([m.uvs for m in meshes]) if has_uv else None,
        np.concatenate([m.normals for m in meshes]) if has_n else None,
    )


# ----------------------------------------------------------------------------- convex primitives
def box(size, center=(0.0, 0.0, 0.0)) -> Mesh:
    """Axis-aligned box with flat normals (4 vertices per side)."""
    h = np.asarray(size, dtype=np.float64) / 2
    verts, faces, normals = [], [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u, w = [a for a in range(3) if a != axis]
            corners = []
            for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                p = np.zeros(3)
                p[axis], p[u], p[w] = sign * h[axis], a * h[u], b * h[w]
                corners.append(p)
            base = len(verts)
            verts += corners
            normals += [n] * 4
            tri = [(0, 1, 2), (0, 2, 3)]
            if np.dot(np.cross(corners[1] - corners[0], corners[2] - corners[0]), n) < 0:
                tri = [(0, 2, 1), (0, 3, 2)]
            faces += [(base + i, base + j, base + k) for i, j, k in tri]
    return Mesh(np.array(verts) + np.asarray(center, dtype=np.float64), np.array(faces), None, np.array(normals))


def lathe(profile, segments: int = 32, axis: int = 1, center=(0.0, 0.0, 0.0), scale_xz=(1.0, 1.0)) -> Mesh:
    """Solid of revolution about ``axis`` from a profile [(height, radius), ...] (bottom to top,
    radius 0 allowed at the ends); convex when the profile is concave-down. Smooth side normals,
    flat caps. ``scale_xz`` makes an elliptic cross-section."""
    prof = np.asarray(profile, dtype=np.float64)
    ang = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    c, s = np.cos(ang) * scale_xz[0], np.sin(ang) * scale_xz[1]
    verts, normals, faces = [], [], []

    def ring(h, r):
        pts = np.zeros((segments, 3))
        pts[:, 0], pts[:, 1], pts[:, 2] = r * c, h, r * s
        return pts

    # sides
    rings = [ring(h, r) for h, r in prof]
    side_n = []
    for i, (h, r) in enumerate(prof):
        j0, j1 = max(i - 1, 0), min(i + 1, len(prof) - 1)
        dh, dr = prof[j1, 0] - prof[j0, 0], prof[j1, 1] - prof[j0, 1]
        nn = np.zeros((segments, 3))
        nn[:, 0], nn[:, 1], nn[:, 2] = c * dh, -dr, s * dh
        side_n.append(_unit(nn))
    for i in range(len(prof)):
        verts.append(rings[i])
        normals.append(side_n[i])
    for i in range(len(prof) - 1):
        for k in range(segments):
            a, b = i * segments + k, i * segments + (k + 1) % segments
            a2, b2 = a + segments, b + segments
            faces += [(a, a2, b), (b, a2, b2)]
    nv = len(prof) * segments
    # caps
    for end, sign in ((0, -1.0), (len(prof) - 1, 1.0)):
        h, r = prof[end]
        if r <= 0:
            continue
        center_idx = nv
        cap = np.vstack([[0.0, h, 0.0], ring(h, r)])
        verts.append(cap)
        normals.append(np.tile([0.0, sign, 0.0], (segments + 1, 1)))
        for k in range(segments):
            a, b = center_idx + 1 + k, center_idx + 1 + (k + 1) % segments
            faces.append((center_idx, b, a) if sign > 0 else (center_idx, a, b))
        nv += segments + 1
    v = np.vstack(verts)
    n = np.vstack(normals)
    f = np.array(faces)
    m = Mesh(v, f, None, n)
    m = _fix_winding(m)
    perm = {0: [1, 0, 2], 1: [0, 1, 2], 2: [0, 2, 1]}[axis]
    m = Mesh(m.vertices[:, perm], m.faces if axis == 1 else m.faces[:, ::-1], None, m.normals[:, perm])
    m.vertices = m.vertices + np.asarray(center, dtype=np.float64)
    return m


def cylinder(radius: float, height: float, axis: int = 1, center=(0.0, 0.0, 0.0), segments: int = 32,
             scale_xz=(1.0, 1.0), top_radius: float | None = None) -> Mesh:
    r2 = radius if top_radius is None else top_radius
    return lathe([(-height / 2, radius), (height / 2, r2)], segments, axis, center, scale_xz)


def ellipsoid(radii, center=(0.0, 0.0, 0.0), rings: int = 10, segments: int = 20) -> Mesh:
    t = np.linspace(-np.pi / 2, np.pi / 2, rings + 1)
    m = lathe(list(zip(np.sin(t), np.cos(t))), segments, 1)
    v = m.vertices * np.asarray(radii, dtype=np.float64)
    n = _unit(m.normals / np.asarray(radii, dtype=np.float64))
    return Mesh(v + np.asarray(center, dtype=np.float64), m.faces, None, n)


def _fix_winding(m: Mesh) -> Mesh:
    """Orient every face so that its geometric normal agrees with its vertex normals."""
    v, f = m.vertices, m.faces.copy()
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    ref = m.normals[f].sum(axis=1)
    flip = (fn * ref).sum(axis=1) < 0
    f[flip] = f[flip][:, ::-1]
    return Mesh(v, f, m.uvs, m.normals)


def convex_hull(points: np.ndarray) -> Mesh:
    """Convex hull as a closed mesh with outward faces and flat-ish normals."""
    from scipy.spatial import ConvexHull

    pts = np.asarray(points, dtype=np.float64)
    hull = ConvexHull(pts)
    used = np.unique(hull.simplices)
    remap = -np.ones(len(pts), dtype=np.int64)
    remap[used] = np.arange(len(used))
    v = pts[used]
    f = remap[hull.simplices]
    centre = v.mean(0)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    out = ((v[f].mean(1) - centre) * fn).sum(1) < 0
    f[out] = f[out][:, ::-1]
    return Mesh(v, f).with_vertex_normals()


# ----------------------------------------------------------------------------- files
def write_obj(path: Path, parts: list[Mesh], mtl: str | None = None, names: list[str] | None = None) -> None:
    """Write meshes to an OBJ; one ``o`` block per mesh (PyBullet makes a compound of their hulls).
    Written in blocks of lines (a mesh of millions of triangles is not one string in memory)."""
    def rows(fmt: str, a: np.ndarray):
        for start in range(0, len(a), 65536):
            yield "".join(map(fmt.__mod__, map(tuple, a[start:start + 65536].tolist())))

    with open(path, "w") as out:
        out.write("# written by fat\n")
        if mtl:
            out.write(f"mtllib {mtl}\n")
        base = 1
        for i, m in enumerate(parts):
            out.write(f"o {names[i] if names else f'part{i}'}\n")
            if mtl:
                out.write("usemtl material0\n")
            out.writelines(rows("v %.7f %.7f %.7f\n", np.asarray(m.vertices, dtype=np.float64)))
            if m.uvs is not None:
                out.writelines(rows("vt %.6f %.6f\n", np.asarray(m.uvs, dtype=np.float64)))
            if m.normals is not None:
                out.writelines(rows("vn %.6f %.6f %.6f\n", np.asarray(m.normals, dtype=np.float64)))
            faces = np.asarray(m.faces, dtype=np.int64) + base
            if m.uvs is not None and m.normals is not None:
                out.writelines(rows("f %d/%d/%d %d/%d/%d %d/%d/%d\n", np.repeat(faces, 3, axis=1)))
            elif m.normals is not None:
                out.writelines(rows("f %d//%d %d//%d %d//%d\n", np.repeat(faces, 2, axis=1)))
            else:
                out.writelines(rows("f %d %d %d\n", faces))
            base += len(m.vertices)


def merge_close_vertices(mesh: Mesh, cells: int) -> Mesh:
    """``mesh`` with its vertices merged on a grid of ``cells`` along the longest side of its box
    (vertex clustering): each occupied cell's vertices become their mean, triangles left with fewer
    than three corners go, and so do repeated ones. The surface moves by at most a cell's diagonal."""
    v = np.asarray(mesh.vertices, dtype=np.float64)
    if len(v) == 0:
        return Mesh(v, np.asarray(mesh.faces).reshape(0, 3))
    lo = v.min(axis=0)
    step = float(np.ptp(v, axis=0).max()) / cells or 1.0
    key = np.minimum(np.floor((v - lo) / step), cells).astype(np.int64)
    _, cell = np.unique(key[:, 0] * (cells + 1) ** 2 + key[:, 1] * (cells + 1) + key[:, 2], return_inverse=True)
    cell = cell.ravel()
    n = int(cell.max()) + 1
    count = np.bincount(cell, minlength=n)[:, None]
    merged = np.column_stack([np.bincount(cell, weights=v[:, k], minlength=n) for k in range(3)]) / count
    f = cell[np.asarray(mesh.faces, dtype=np.int64)]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])]
    _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
    return Mesh(merged, f[np.sort(first)])


def write_mtl(path: Path, texture_name: str) -> None:
    Path(path).write_text(
        "newmtl material0\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nNs 1\nillum 1\n" f"map_Kd {texture_name}\n"
    )


def load_mesh(path: Path) -> Mesh:
    """Read an OBJ (with UVs when present) or STL with trimesh; without UVs in the file order.

    A file cut short raises :class:`~fat.errors.ConfigError` naming it: an STL whose size or end does
    not match what its header promises, an OBJ with face lines that could not be read (trimesh skips
    them without a word)."""
    import trimesh

    # An OBJ's vertex is a (position, texture coordinate) pair: a texture seam gives one position two
    # vertices. trimesh's maintain_order keeps one vertex per position (and one of its UVs), so it is
    # only used where there are no UVs, to keep the file's vertex order.
    path = Path(path)
    suffix = path.suffix.lower()
    data = path.read_bytes() if suffix in (".obj", ".stl") else b""
    if suffix == ".stl":
        check_stl(path, data)
    has_uv = suffix == ".obj" and re.search(rb"^vt\s", data, re.M) is not None
    m = trimesh.load(str(path), process=False, force="mesh", **({} if has_uv else {"maintain_order": True}))
    faces = np.asarray(m.faces, dtype=np.int64).reshape(-1, 3)
    if suffix == ".obj":
        listed = len(re.findall(rb"^[ \t]*f\s", data, re.M))
        if len(faces) < listed:  # every face line gives at least one triangle
            raise ConfigError(f"{path}: {listed:,} faces listed but {len(faces):,} triangles read; "
                              "is the file cut short or damaged?")
    uv = getattr(m.visual, "uv", None)
    uv = None if uv is None or len(uv) != len(m.vertices) else np.asarray(uv, dtype=np.float64)
    return Mesh(np.asarray(m.vertices, dtype=np.float64), faces, uv, None)


def check_stl(path: Path, data: bytes) -> None:
    """Refuse an STL cut short: a binary one must be 84 + 50 bytes per triangle its header counts,
    a text one must end with ``endsolid``."""
    if data[:5].lower() == b"solid" and b"facet" in data[:4096]:  # text STL (a binary header may say "solid" too)
        if not re.search(rb"endsolid[^\n]*\s*$", data[-4096:]):
            raise ConfigError(f"{path}: text STL without its closing 'endsolid'; is the file cut short?")
        return
    if len(data) < 84:
        raise ConfigError(f"{path}: {len(data)} bytes, too short for an STL (a binary STL's header alone is 84)")
    n = int.from_bytes(data[80:84], "little")
    if len(data) < 84 + 50 * n:
        raise ConfigError(f"{path}: a binary STL of {n:,} triangles is {84 + 50 * n:,} bytes, this file has "
                          f"{len(data):,}; is it cut short or damaged?")


class MeshWarning(UserWarning):
    """A mesh that reads but looks damaged (not closed where a scan is)."""


def open_edges(mesh: Mesh) -> tuple[int, int]:
    """(edges that border one triangle only, all edges), vertices welded by position. A closed surface,
    as every YCB scan is, has no open edge; a mesh that lost faces at the end of its file has some."""
    if len(mesh.faces) == 0:
        return 0, 0
    _, weld = np.unique(np.round(mesh.vertices, 7), axis=0, return_inverse=True)
    f = weld.ravel()[mesh.faces]
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int((counts == 1).sum()), len(counts)


def merge_convex_parts(parts: list[np.ndarray], max_parts: int, max_added: float) -> list[np.ndarray]:
    """Fewer convex parts covering the same shape: V-HACD's own last step, hull merging.

    Repeatedly replaces the two parts whose joint convex hull adds the least volume by that hull,
    while there are more than ``max_parts`` and the volume added so far stays within ``max_added``
    (a fraction of the parts' total volume). Every input part lies inside one output part. Returns
    the vertices of the output parts' hulls (inputs kept as given when nothing is merged).
    """
    from scipy.spatial import ConvexHull, QhullError

    pts = [np.asarray(p, dtype=np.float64) for p in parts]
    if len(pts) <= max_parts:
        return pts
    try:
        vol = [ConvexHull(p).volume for p in pts]
    except QhullError:  # a flat part: leave the decomposition as it is
        return pts
    budget = max_added * sum(vol) + 1e-9 * sum(vol)  # rounding of the hull volumes is free
    n = len(pts)
    cost = np.full((n, n), np.inf)

    def added(i: int, j: int) -> float:
        try:
            return ConvexHull(np.vstack([pts[i], pts[j]])).volume - vol[i] - vol[j]
        except QhullError:
            return np.inf

    for i in range(n):
        for j in range(i + 1, n):
            cost[i, j] = added(i, j)
    alive = list(range(n))
    spent = 0.0
    while len(alive) > max_parts:
        i, j = np.unravel_index(np.argmin(cost), cost.shape)
        c = max(float(cost[i, j]), 0.0)
        if not np.isfinite(c) or spent + c > budget:
            break
        spent += c
        h = ConvexHull(np.vstack([pts[i], pts[j]]))
        pts[i], vol[i] = h.points[h.vertices], h.volume
        alive.remove(j)
        cost[j, :] = cost[:, j] = np.inf
        for k in alive:
            if k != i:
                cost[min(i, k), max(i, k)] = added(i, k)
    return [pts[k] for k in alive]


def split_closed_parts(mesh: Mesh) -> list[Mesh]:
    """Split a triangle soup written part after part (V-HACD output) into its closed parts.

    A part ends where every edge seen since its first triangle is shared by two triangles. Triangles
    left over (an open run at the end) form one more part.
    """
    keys: dict = {}
    ids = np.array([keys.setdefault(tuple(p), len(keys)) for p in np.round(mesh.vertices, 9)])
    uniq = np.zeros((len(keys), 3))
    uniq[ids] = mesh.vertices
    faces = ids[mesh.faces]
    parts, start, open_edges = [], 0, collections.Counter()
    for i, (a, b, c) in enumerate(faces):
        for e in ((a, b), (b, c), (c, a)):
            k = (min(e), max(e))
            if open_edges[k]:
                open_edges[k] -= 1
                if not open_edges[k]:
                    del open_edges[k]
            else:
                open_edges[k] += 1
        if not open_edges:
            parts.append(faces[start : i + 1])
            start = i + 1
    if start < len(faces):
        parts.append(faces[start:])
    out = []
    for f in parts:
        used = np.unique(f)
        if len(used) >= 4:
            out.append(Mesh(uniq[used], np.searchsorted(used, f)))
    return out


def split_for_culling(mesh: Mesh, max_open: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """The faces a renderer may cull when seen from behind, turned to face outwards, and the others.

    Vertices are welded by position (texture seams split them), faces are joined across edges that
    two faces share in opposite directions (consistent winding), and each such patch is judged on
    its own: a closed patch (at most ``max_open`` of its edges unshared: scans have a few pinched
    spots) is oriented by the sign of its volume, and its faces can be culled; an open patch (a
    plane, a flipped fragment of a scan) must be drawn from both sides. Returns (cullable faces,
    two-sided faces), both (K, 3) index arrays into ``mesh.vertices``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(mesh.faces, dtype=np.int64)
    if len(f) == 0:
        return f.reshape(0, 3), f.reshape(0, 3)
    _, weld = np.unique(np.round(mesh.vertices, 7), axis=0, return_inverse=True)
    w = weld.ravel()[f]
    n = int(w.max()) + 1
    a = w.ravel()
    b = w[:, [1, 2, 0]].ravel()
    face_of = np.repeat(np.arange(len(f)), 3)
    key = a * n + b
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    unique_keys, first, counts = np.unique(sorted_keys, return_index=True, return_counts=True)
    once = counts == 1  # directed edges used by one face only
    rev = b * n + a
    pos = np.searchsorted(unique_keys, rev)
    pos = np.minimum(pos, len(unique_keys) - 1)
    found = (unique_keys[pos] == rev) & once[pos]
    mine = np.searchsorted(unique_keys, key)
    ok = found & once[mine]  # this edge and its reverse each belong to exactly one face
    partner = face_of[order[first[pos[ok]]]]
    adj = coo_matrix((np.ones(int(ok.sum())), (face_of[ok], partner)), shape=(len(f), len(f)))
    n_comp, comp = connected_components(adj, directed=False)
    shared = np.bincount(comp[face_of], weights=ok, minlength=n_comp)  # face-edges paired inside the patch
    total = np.bincount(comp, minlength=n_comp) * 3
    v = mesh.vertices
    vol6 = np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]]))
    volume = np.bincount(comp, weights=vol6, minlength=n_comp)
    closed = (total - shared) <= max_open * total
    cull = closed[comp] & (volume[comp] != 0)
    inward = (volume[comp] < 0) & cull
    out = f.copy()
    out[inward] = out[inward][:, ::-1]
    return out[cull], out[~cull]


def planar_uvs(mesh: Mesh, tile: float) -> Mesh:
    """UVs by projecting each vertex onto the plane of its normal's dominant axis, ``tile`` metres
    per texture repeat (box faces get undistorted textures; curved faces get seams)."""
    n = mesh.normals if mesh.normals is not None else mesh.with_vertex_normals().normals
    axis = np.argmax(np.abs(n), axis=1)
    uv = np.empty((len(mesh.vertices), 2))
    for a in range(3):
        sel = axis == a
        u, w = [k for k in range(3) if k != a]
        uv[sel] = mesh.vertices[sel][:, [u, w]] / tile
    return Mesh(mesh.vertices, mesh.faces, uv, n)


def grid(half_extent: float, tile: float, z: float = 0.0, center=(0.0, 0.0)) -> Mesh:
    """A square of quads (one texture repeat each), normals up, centred at ``center``."""
    n = max(1, int(np.ceil(2 * half_extent / tile)))
    xs = np.linspace(-half_extent, half_extent, n + 1)
    verts, uvs, faces = [], [], []
    for i in range(n):
        for j in range(n):
            base = len(verts)
            x0, x1, y0, y1 = xs[i], xs[i + 1], xs[j], xs[j + 1]
            verts += [(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)]
            uvs += [(0, 0), (1, 0), (1, 1), (0, 1)]
            faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    v = np.array(verts, dtype=np.float64)
    v[:, 0] += center[0]
    v[:, 1] += center[1]
    return Mesh(v, np.array(faces), np.array(uvs, dtype=np.float64), np.tile([0.0, 0.0, 1.0], (len(v), 1)))
