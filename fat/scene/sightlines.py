"""Lines of sight in a glTF scene: whether a camera sees the drop point, where the free horizontal
surfaces are, which way a location opens.

The rays are PyBullet's ray tests against the scene's triangles, held as one static triangle mesh
in a PyBullet client of this module's own (one per scene and process). A ray reports the first
triangle it meets, from either side.

A camera sees a location when the segment from it to the fixation point meets no triangle closer to
the camera than :func:`clearance` before the fixation point (the objects lie within that distance
of it), and no triangle lies within :data:`fat.scene.location.CAMERA_MARGIN` of the camera (the near plane).
Nor may the camera be inside a closed mesh: the first triangle straight above it must not show its
back (by its winding, as glTF draws it).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._pybullet import pb, triangle_mesh_bodies
from ..errors import ConfigError
from .gltf_scene import GltfScene, load_gltf_scene
from .location import CAMERA_MARGIN

#: PyBullet casts at most this many rays a call.
BATCH = 16384
#: Beyond the drop cylinder's radius, how far from the fixation point objects may lie (metres): a
#: triangle nearer than that to the fixation point along a camera's line of sight is not in its way.
OBJECT_REACH = 0.10
#: A free horizontal surface: its normal within this angle of up (degrees), this much free space
#: above it (metres) and a disc of at least this radius on it (metres).
FLAT_DEG, FREE_HEIGHT, MIN_RADIUS = 10.0, 1.0, 0.2
#: Surfaces met by one vertical ray at most (floors, tables, shelves of a scene).
MAX_LEVELS = 8
#: Cells of the drop-point search along the scene's longer side (at most; at least 2 cm each).
SEARCH_CELLS = 256
#: Cells of the plan grid that finds the triangles above a point, along the scene's longer side;
#: a triangle over more cells than WIDE_CELLS is tried for every point.
GRID_CELLS, WIDE_CELLS = 128, 64


def clearance(drop_radius: float) -> float:
    """How far from the fixation point a triangle on a camera's line of sight is not in its way."""
    return drop_radius + OBJECT_REACH


class Sightlines:
    """The scene's triangles in a PyBullet client of their own, for ray tests."""

    def __init__(self, scene: GltfScene):
        self.client = pb.connect(pb.DIRECT)
        verts = np.concatenate([b.vertices for b in scene.batches])
        offsets = np.cumsum([0] + [len(b.vertices) for b in scene.batches])
        faces = np.concatenate([b.faces + o for b, o in zip(scene.batches, offsets)])
        self.bodies = triangle_mesh_bodies(self.client, verts, faces)
        self.probe = None
        self.tris = verts[faces]  # (T, 3, 3): for :meth:`inside`
        self.tri_lo, self.tri_hi = self.tris.min(axis=1), self.tris.max(axis=1)
        self._index_columns()

    def _index_columns(self) -> None:
        """Which triangles each cell of a grid over the scene's plan may hold (triangles over more
        than :data:`WIDE_CELLS` cells are kept apart and tried for every point)."""
        lo, hi = self.tri_lo[:, :2].min(0), self.tri_hi[:, :2].max(0)
        self.cell = max(float((hi - lo).max()) / GRID_CELLS, 1e-3)
        self.origin, self.cells = lo, np.floor((hi - lo) / self.cell).astype(np.int64) + 1
        c0 = self._cell_of(self.tri_lo[:, :2])
        c1 = self._cell_of(self.tri_hi[:, :2])
        span = c1 - c0 + 1
        wide = span.prod(1) > WIDE_CELLS
        self.wide = np.flatnonzero(wide)
        ids, keys = [], []
        for dx in range(int(span[~wide, 0].max(initial=1))):
            for dy in range(int(span[~wide, 1].max(initial=1))):
                t = np.flatnonzero(~wide & (span[:, 0] > dx) & (span[:, 1] > dy))
                ids.append(t)
                keys.append((c0[t, 0] + dx) * self.cells[1] + c0[t, 1] + dy)
        keys, ids = np.concatenate(keys), np.concatenate(ids)
        order = np.argsort(keys, kind="stable")
        self.cell_ids = ids[order]
        self.cell_start = np.searchsorted(keys[order], np.arange(self.cells.prod() + 1))

    def _cell_of(self, xy: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((xy - self.origin) / self.cell).astype(np.int64), 0, self.cells - 1)

    def _column(self, p: np.ndarray) -> np.ndarray:
        """The triangles whose plan boxes may hold the point ``p``'s (x, y)."""
        if (p[:2] < self.origin).any() or (p[:2] > self.origin + self.cells * self.cell).any():
            return self.wide
        cx, cy = self._cell_of(p[:2])
        k = cx * self.cells[1] + cy
        return np.concatenate([self.cell_ids[self.cell_start[k]:self.cell_start[k + 1]], self.wide])

    def hits(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first triangle each segment ``start[i] -> end[i]`` meets: the fraction of the way
        (1 where none) and its unit normal (zero where none)."""
        start, end = np.atleast_2d(start), np.atleast_2d(end)
        fraction = np.ones(len(start))
        normal = np.zeros((len(start), 3))
        for i in range(0, len(start), BATCH):
            out = pb.rayTestBatch(start[i:i + BATCH].tolist(), end[i:i + BATCH].tolist(), physicsClientId=self.client)
            for k, hit in enumerate(out):
                if hit[0] >= 0:
                    fraction[i + k], normal[i + k] = hit[2], hit[4]
        return fraction, normal

    def near(self, points: np.ndarray, radius: float) -> np.ndarray:
        """Whether a triangle lies within ``radius`` of each point."""
        if self.probe is None or self.probe[0] != radius:
            self.probe = (radius, pb.createCollisionShape(pb.GEOM_SPHERE, radius=radius, physicsClientId=self.client))
        return np.array([any(pb.getClosestPoints(-1, b, 0.0, collisionShapeA=self.probe[1],
                                                 collisionShapePositionA=list(map(float, p)), physicsClientId=self.client)
                             for b in self.bodies) for p in np.atleast_2d(points)])


    def inside(self, points: np.ndarray) -> np.ndarray:
        """Whether each point is inside a closed mesh: the first triangle straight above it shows
        its back (its normal, by its winding, points up, away from the point)."""
        out = []
        for p in np.atleast_2d(points):
            c = self._column(p)
            lo, hi = self.tri_lo[c], self.tri_hi[c]
            near = c[(lo[:, 0] <= p[0]) & (hi[:, 0] >= p[0]) & (lo[:, 1] <= p[1]) & (hi[:, 1] >= p[1]) & (hi[:, 2] > p[2])]
            t, nz = _up_hits(p, self.tris[near])
            out.append(bool(len(t)) and nz[np.argmin(t)] > 0)
        return np.array(out, dtype=bool)


def _up_hits(p: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the ray from ``p`` straight up meets ``tris`` (distances) and those triangles'
    normals' z (by their winding)."""
    a, e1, e2 = tris[:, 0], tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    d = np.array([0.0, 0.0, 1.0])
    q = np.cross(d, e2)
    det = (e1 * q).sum(1)
    ok = np.abs(det) > 1e-15
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = p - a
    u = (s * q).sum(1) * inv
    r = np.cross(s, e1)
    v = r[:, 2] * inv
    t = (e2 * r).sum(1) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    return t[hit], np.cross(e1, e2)[hit][:, 2]


@functools.lru_cache(maxsize=2)
def _sightlines(path: str, size: int, mtime_ns: int) -> Sightlines:
    return Sightlines(load_gltf_scene(path))


def sightlines(scene: GltfScene) -> Sightlines:
    st = scene.path.stat()
    return _sightlines(str(scene.path), st.st_size, st.st_mtime_ns)


def views_clear(scene: GltfScene, fixation: np.ndarray, drop_radius: float, eyes: np.ndarray) -> np.ndarray:
    """Which cameras at ``eyes`` see the fixation point (see the module text)."""
    eyes = np.atleast_2d(np.asarray(eyes, dtype=np.float64))
    s = sightlines(scene)
    fraction, _ = s.hits(eyes, np.broadcast_to(fixation, eyes.shape))
    d = np.linalg.norm(eyes - fixation, axis=1)
    ok = fraction * d >= d - clearance(drop_radius)
    if ok.any():
        ok[ok] = ~s.near(eyes[ok], CAMERA_MARGIN)
    if ok.any():
        ok[ok] = ~s.inside(eyes[ok])
    return ok


def orbit_points(fixation: np.ndarray, heading: float, az_deg, el_deg, dist) -> np.ndarray:
    """World points at azimuths (degrees about ``heading``), elevations and distances from ``fixation``."""
    az, el = np.radians(np.asarray(az_deg) + heading), np.radians(np.asarray(el_deg))
    d = np.asarray(dist)
    return np.stack([d * np.cos(el) * np.cos(az), d * np.cos(el) * np.sin(az), d * np.sin(el)], -1) + fixation


def view_grid(ranges, steps: tuple[int, int, int] = (24, 8, 3)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Azimuths, elevations and distances of a grid spanning ``ranges`` (flattened, one per camera)."""
    axes = [np.linspace(lo, hi, n) for (lo, hi), n in zip((ranges.azimuth, ranges.elevation, ranges.distance), steps)]
    A, E, D = np.meshgrid(*axes, indexing="ij")
    return A.reshape(-1), E.reshape(-1), D.reshape(-1)


def check_views(scene: GltfScene, name: str, fixation: np.ndarray, heading: float, drop_radius: float, ranges) -> float:
    """The share of a grid of cameras over ``ranges`` that see the location; ConfigError when none does."""
    A, E, D = view_grid(ranges)
    ok = views_clear(scene, fixation, drop_radius, orbit_points(fixation, heading, A, E, D))
    if not ok.any():
        raise ConfigError(f"{name}: no camera in the ranges (azimuth {list(ranges.azimuth)}, elevation "
                          f"{list(ranges.elevation)}, distance {list(ranges.distance)} m) sees the drop point "
                          f"{np.round(fixation, 3).tolist()} of {scene.path.name}: the scene's geometry is in the way")
    return float(ok.mean())


def open_heading(scene: GltfScene, fixation: np.ndarray, drop_radius: float, span: float = 240.0) -> float:
    """The heading (degrees) whose azimuth range of ``span`` degrees sees the fixation point from
    most cameras: a location's camera side, where its file gives none."""
    az = np.arange(0.0, 360.0, 5.0)
    el, dist = np.array([10.0, 30.0, 55.0, 80.0]), np.array([0.6, 1.0, 1.4])
    A, E, D = (x.reshape(-1) for x in np.meshgrid(az, el, dist, indexing="ij"))
    ok = views_clear(scene, fixation, drop_radius, orbit_points(fixation, 0.0, A, E, D)).reshape(len(az), -1).mean(1)
    half = int(round(span / 2 / 5.0))
    window = np.array([sum(ok[(i + k) % len(az)] for k in range(-half, half + 1)) for i in range(len(az))])
    return float(az[int(np.argmax(window))])


def find_drop_points(scene: GltfScene) -> list[np.ndarray]:
    """Free horizontal surfaces of the scene, best first: each one's point farthest in from its
    edges (up to 0.5 m in) nearest the scene's centre. The best is the largest near the scene's
    centre: area / (1 + (distance / half the scene's size)^2). Vertical rays on a grid find every
    surface under every other (up to :data:`MAX_LEVELS`); a surface is free where nothing lies
    within :data:`FREE_HEIGHT` above it."""
    import cv2

    s = sightlines(scene)
    lo, hi = scene.lo, scene.hi
    cell = max(float((hi[:2] - lo[:2]).max()) / SEARCH_CELLS, 0.02)
    nx, ny = (max(int(math.ceil((hi[i] - lo[i]) / cell)), 1) for i in (0, 1))
    X, Y = np.meshgrid(lo[0] + (np.arange(nx) + 0.5) * cell, lo[1] + (np.arange(ny) + 0.5) * cell, indexing="ij")
    xy = np.column_stack([X.reshape(-1), Y.reshape(-1)])
    top, bottom = hi[2] + 1.0, lo[2] - 1.0
    start = np.full(len(xy), top)
    above = np.full(len(xy), np.inf)
    live = np.arange(len(xy))
    found = []  # (cell index, z)
    for _ in range(MAX_LEVELS):
        if not len(live):
            break
        a = np.column_stack([xy[live], start[live]])
        b = np.column_stack([xy[live], np.full(len(live), bottom)])
        f, n = s.hits(a, b)
        hit = f < 1.0
        z = start[live] + (bottom - start[live]) * f
        flat = hit & (n[:, 2] >= math.cos(math.radians(FLAT_DEG))) & (above[live] - z >= FREE_HEIGHT)
        found += list(zip(live[flat], z[flat]))
        above[live[hit]] = z[hit]
        start[live[hit]] = z[hit] - 1e-3
        live = live[hit]
    if not found:
        return []
    idx, z = (np.array(v) for v in zip(*found))
    centre = scene.centre[:2]
    size = max(float((hi[:2] - lo[:2]).max()) / 2, 1e-3)
    out = []
    for level in np.unique(np.round(z / 0.02)):
        sel = np.round(z / 0.02) == level
        mask = np.zeros((nx, ny), np.uint8)
        mask.reshape(-1)[idx[sel]] = 1
        n, labels = cv2.connectedComponents(mask, connectivity=4)
        inside = cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 5)[1:-1, 1:-1] * cell
        for k in range(1, n):
            part = labels == k
            radius = float(inside[part].max())
            if radius < MIN_RADIUS:
                continue
            ii, jj = np.nonzero(part & (inside >= min(radius, 0.5) - 1e-9))
            pts = np.column_stack([X[ii, jj], Y[ii, jj]])
            best = int(np.argmin(np.linalg.norm(pts - centre, axis=1)))
            zs = z[sel][np.isin(idx[sel], np.ravel_multi_index(np.nonzero(part), (nx, ny)))]
            point = np.array([*pts[best], float(np.median(zs))])
            area = float(part.sum()) * cell * cell
            score = area / (1 + (np.linalg.norm(point[:2] - centre) / size) ** 2)
            out.append((score, point))
    out.sort(key=lambda t: -t[0])
    return [p for _, p in out]
