"""Builds ``scenes/patio/patio.glb``: a small garden patio, a glTF 2.0 scene of the project's own.

The patio is 10 m x 10 m of stone paving (x from -5 to 5 m east, y from -5 to 5 m north, its top
at z = 0), with a low stone wall (0.5 m high, 0.4 m thick) along the north and west sides; the
north wall is 0.8 m thick for 1.2 m of its length. On the paving stand a wooden table (top 1.4 m x
0.8 m at 0.75 m) between two wooden benches (seats 0.5 m deep at 0.45 m), a wooden planter box
with a small tree (leaves: quads with an alpha-masked texture), four pots (three with bushes), a
lamp post with an emissive lantern, a round marble side table with a polished metal bowl, and a
marble plinth. The plinth and the soil are written without normals, the bark, the soil and the
bowl without texture coordinates. Lights (KHR_lights_punctual): a directional sun (4 lux, warm
white) from the south-west at 40 degrees elevation and a point light (20 cd) in the lantern. Five empty nodes mark where objects are dropped:
``drop_table``, ``drop_wall``, ``drop_paving_0``, ``drop_paving_1`` and ``drop_plinth``; each
node's x axis is its location's heading.

Everything is modelled in a Z-up world (metres; x east, y north, z up) and turned into glTF's Y-up
frame by the root node ``patio``, a rotation of -90 degrees about x ((x, y, z) -> (x, z, -y), as
Blender's exporter writes a Z-up scene); every other node descends from it. Textures: the CC0 sets
of ``scenes/textures`` (paving: Tiles107's pattern coloured by Ground054; wood: rosewood_veneer1;
wall: Rock058; plinth and side table: Marble006), a leaf texture and a lantern texture drawn here.
The output is the same file on every run (fixed seeds; the same NumPy and OpenCV).

Rebuild from the checkout's root: ``.venv/bin/python scenes/patio/build.py``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from fat.scene.gltf_write import CLAMP_TO_EDGE, REPEAT, GltfWriter  # noqa: E402

TEXTURES = ROOT / "scenes" / "textures"
OUT = HERE / "patio.glb"
#: The root's rotation: -90 degrees about x (x, y, z, w).
Y_UP_ROTATION = (-math.sqrt(0.5), 0.0, 0.0, math.sqrt(0.5))
#: Profiles of surfaces of revolution turning by more than this (degrees) have a sharp edge there.
CREASE_DEG = 35.0
#: The sun: compass azimuth (degrees from north, clockwise) and elevation it shines from.
SUN_AZIMUTH, SUN_ELEVATION = 220.0, 40.0
#: Drop locations: name -> (x, y, z) in the Z-up world, heading (degrees from +x towards +y).
DROPS = {
    "drop_table": ((-2.0, 1.8, 0.75), 0.0),
    "drop_wall": ((2.0, 4.6, 0.5), -90.0),
    "drop_paving_0": ((0.8, -1.0, 0.0), -45.0),
    "drop_paving_1": ((-2.2, -2.8, 0.0), -60.0),
    "drop_plinth": ((3.4, 0.6, 0.9), 180.0),
}


# ----------------------------------------------------------------------------- geometry
class Part:
    """Triangles with optional per-vertex normals and texture coordinates."""

    def __init__(self, v, f, n=None, uv=None):
        self.v, self.f = np.asarray(v, float), np.asarray(f, np.int64)
        self.n = None if n is None else np.asarray(n, float)
        self.uv = None if uv is None else np.asarray(uv, float)

    def moved(self, R=np.eye(3), t=(0.0, 0.0, 0.0)) -> "Part":
        return Part(self.v @ R.T + t, self.f, None if self.n is None else self.n @ R.T, self.uv)


def merge(parts: list[Part]) -> Part:
    offsets = np.cumsum([0] + [len(p.v) for p in parts])
    n = None if any(p.n is None for p in parts) else np.concatenate([p.n for p in parts])
    uv = None if any(p.uv is None for p in parts) else np.concatenate([p.uv for p in parts])
    return Part(np.concatenate([p.v for p in parts]), np.concatenate([p.f + o for p, o in zip(parts, offsets)]), n, uv)


def rot_z(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def quat_z(deg: float) -> tuple:
    h = math.radians(deg) / 2
    return (0.0, 0.0, math.sin(h), math.cos(h))


def quat_of(R: np.ndarray) -> tuple:
    """A rotation matrix's unit quaternion (x, y, z, w)."""
    w = math.sqrt(max(0.0, 1 + R[0, 0] + R[1, 1] + R[2, 2])) / 2
    x = math.copysign(math.sqrt(max(0.0, 1 + R[0, 0] - R[1, 1] - R[2, 2])) / 2, R[2, 1] - R[1, 2])
    y = math.copysign(math.sqrt(max(0.0, 1 - R[0, 0] + R[1, 1] - R[2, 2])) / 2, R[0, 2] - R[2, 0])
    z = math.copysign(math.sqrt(max(0.0, 1 - R[0, 0] - R[1, 1] + R[2, 2])) / 2, R[1, 0] - R[0, 1])
    return (x, y, z, w)


def box(lo, hi, tile: float = 1.0, grain: int | None = None) -> Part:
    """An axis-aligned box, flat normals, texture coordinates in metres / ``tile`` on each face
    (v along the ``grain`` axis where the face holds it)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    vs, fs, ns, uvs = [], [], [], []
    for k in range(3):
        a, b = (k + 1) % 3, (k + 2) % 3
        for sign in (-1, 1):
            c = np.empty((4, 3))
            c[:, k] = hi[k] if sign > 0 else lo[k]
            c[:, a] = [lo[a], hi[a], hi[a], lo[a]]
            c[:, b] = [lo[b], lo[b], hi[b], hi[b]]
            if sign < 0:
                c = c[::-1]
            u, v = (b, a) if grain == a else (a, b)
            vs.append(c)
            ns.append(np.tile(np.eye(3)[k] * sign, (4, 1)))
            uvs.append(np.column_stack([c[:, u], -c[:, v]]) / tile)
            fs.append(np.array([[0, 1, 2], [0, 2, 3]]) + 4 * len(fs))
    return Part(np.concatenate(vs), np.concatenate(fs), np.concatenate(ns), np.concatenate(uvs))


def runs_of(profile) -> list[np.ndarray]:
    """A polyline cut where it turns by more than :data:`CREASE_DEG` (a sharp edge there)."""
    p = np.asarray(profile, float)
    d = np.diff(p, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    cuts = [0, *(1 + np.flatnonzero((d[:-1] * d[1:]).sum(1) < math.cos(math.radians(CREASE_DEG)))), len(p) - 1]
    return [p[a:b + 1] for a, b in zip(cuts[:-1], cuts[1:])]


def lathe(profile, segments: int = 48, tile: float = 1.0, planar: bool = False) -> Part:
    """A surface of revolution about z of an (r, z) polyline, traced so that the surface's outward
    side is on the right of the direction of travel (r to the right, z up): smooth normals but at
    its creases; texture coordinates in metres / ``tile``, around and along the profile (or the
    x and y coordinates: ``planar``)."""
    parts = []
    theta = np.linspace(0, 2 * np.pi, segments + 1)
    ring = np.column_stack([np.cos(theta), np.sin(theta)])
    for p in runs_of(profile):
        d = np.diff(p, axis=0)
        seg_n = np.column_stack([d[:, 1], -d[:, 0]]) / np.linalg.norm(d, axis=1, keepdims=True)
        n2 = np.concatenate([seg_n[:1], seg_n[:-1] + seg_n[1:], seg_n[-1:]])
        n2 /= np.linalg.norm(n2, axis=1, keepdims=True)
        s = np.concatenate([[0], np.cumsum(np.linalg.norm(d, axis=1))])
        k, m = len(p), segments + 1
        v = np.zeros((k, m, 3))
        v[..., :2] = p[:, None, :1] * ring[None]
        v[..., 2] = p[:, None, 1]
        n = np.zeros((k, m, 3))
        n[..., :2] = n2[:, None, :1] * ring[None]
        n[..., 2] = n2[:, None, 1]
        uv = np.stack(np.broadcast_arrays(theta[None] * p[:, :1].max() / tile, s[:, None] / tile), -1)
        if planar:
            uv = np.stack([v[..., 0], -v[..., 1]], -1) / tile
        i, j = np.meshgrid(np.arange(k - 1), np.arange(segments), indexing="ij")
        a, b, c, e = i * m + j, i * m + j + 1, (i + 1) * m + j + 1, (i + 1) * m + j
        f = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, e], -1).reshape(-1, 3)])
        vv = v.reshape(-1, 3)
        area = np.linalg.norm(np.cross(vv[f[:, 1]] - vv[f[:, 0]], vv[f[:, 2]] - vv[f[:, 0]]), axis=1)
        parts.append(Part(vv, f[area > 1e-12], n.reshape(-1, 3), uv.reshape(-1, 2)))
    return merge(parts)


def flat(part: Part) -> Part:
    """``part`` with each triangle's own vertices and its face normal (sharp edges everywhere)."""
    v = part.v[part.f].reshape(-1, 3)
    n = np.cross(v[1::3] - v[0::3], v[2::3] - v[0::3])
    n = np.repeat(n / np.linalg.norm(n, axis=1, keepdims=True), 3, axis=0)
    uv = None if part.uv is None else part.uv[part.f].reshape(-1, 2)
    return Part(v, np.arange(len(v)).reshape(-1, 3), n, uv)


def disc(r: float, z: float, segments: int = 32, wobble: float = 0.0, seed: int = 0) -> Part:
    """A horizontal disc (a fan, its normal up) with no normals or texture coordinates: soil."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    rim = np.column_stack([r * np.cos(t), r * np.sin(t), z + wobble * rng.uniform(-1, 1, segments)])
    v = np.concatenate([[[0.0, 0.0, z + wobble]], rim])
    f = np.column_stack([np.zeros(segments, int), 1 + np.arange(segments), 1 + (np.arange(segments) + 1) % segments])
    return Part(v, f)


def branch(start, end, r0: float, r1: float, segments: int = 10) -> Part:
    """A tapered cylinder from ``start`` to ``end`` (bark: normals, no texture coordinates)."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    axis = end - start
    length = np.linalg.norm(axis)
    z = axis / length
    x = np.cross(z, [0.0, 0.0, 1.0] if abs(z[2]) < 0.9 else [1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    R = np.column_stack([x, np.cross(z, x), z])
    prof = [(r0, 0.0), (r0 + (r1 - r0) * 0.5, length * 0.5), (r1, length), (0.0, length + r1 * 0.5)]
    p = lathe(prof, segments).moved(R, start)
    return Part(p.v, p.f, p.n)


def leaf_cards(centres, size, rng, centre_of) -> Part:
    """Square cards (2 triangles each) at ``centres``, turned at random, their normals facing
    away from ``centre_of`` (the canopy's middle)."""
    parts = []
    for c in centres:
        out = c - centre_of
        out = out / (np.linalg.norm(out) + 1e-9)
        n = out + rng.normal(0, 0.8, 3)
        n /= np.linalg.norm(n)
        e1 = np.cross(n, rng.normal(0, 1, 3))
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(n, e1)
        h = size * rng.uniform(0.75, 1.25) / 2
        v = c + h * np.array([-e1 - e2, e1 - e2, e1 + e2, -e1 + e2])
        parts.append(Part(v, [[0, 1, 2], [0, 2, 3]], np.tile(n, (4, 1)), [[0, 1], [1, 1], [1, 0], [0, 0]]))
    return merge(parts)


# ----------------------------------------------------------------------------- images
def read(name: str, kind: str, flags=cv2.IMREAD_COLOR) -> np.ndarray:
    return cv2.imread(str(TEXTURES / name / f"{name}_512_{kind}.jpg"), flags)


def jpeg(bgr: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes, chroma at full resolution (the channels of a material map are separate values)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    ok, data = cv2.imencode(".jpg", bgr, params)
    assert ok
    return data.tobytes()


def material_map(roughness: np.ndarray, occlusion: np.ndarray | None = None) -> bytes:
    """glTF's metallic-roughness (and occlusion) image: R occlusion (255: none), G roughness, B metalness 0."""
    r = np.full_like(roughness, 255) if occlusion is None else occlusion
    return jpeg(np.dstack([np.zeros_like(roughness), roughness, r]))


def occlusion_from(colour_bgr: np.ndarray, depth: float) -> np.ndarray:
    """An ambient-occlusion estimate from a colour texture: its darker hollows, blurred."""
    lum = cv2.GaussianBlur(cv2.cvtColor(colour_bgr, cv2.COLOR_BGR2GRAY).astype(float), (0, 0), 2.0)
    return np.clip(255 * (1 - depth + depth * lum / np.percentile(lum, 90)), 0, 255).astype(np.uint8)


def paving_images() -> tuple[bytes, bytes, bytes]:
    """Stone tiles: Tiles107's grid (0.5 m tiles at 4 m a texture) coloured by Ground054, each tile
    a little lighter or darker; colour, normal (Tiles107's) and occlusion-roughness-metal images."""
    rng = np.random.default_rng(7)
    grid = read("Tiles107", "Color", cv2.IMREAD_GRAYSCALE).astype(float)
    stone = read("Ground054", "Color").astype(float)
    shade = np.clip(grid / np.percentile(grid, 60), 0.0, 1.0)[..., None]
    tint = np.kron(rng.uniform(0.97, 1.03, (8, 8, 3)) * rng.uniform(0.82, 1.08, (8, 8, 1)), np.ones((64, 64, 1)))
    colour = np.clip(stone * shade * tint * 0.95, 0, 255).astype(np.uint8)
    rough = np.clip(0.55 * read("Ground054", "Roughness", cv2.IMREAD_GRAYSCALE).astype(float)
                    + 0.8 * read("Tiles107", "Roughness", cv2.IMREAD_GRAYSCALE) + 95, 0, 255).astype(np.uint8)
    normal = (TEXTURES / "Tiles107" / "Tiles107_512_NormalGL.jpg").read_bytes()
    return jpeg(colour), normal, material_map(rough, occlusion_from(colour, 0.35))


def leaf_image(seed: int = 3) -> np.ndarray:
    """RGBA: a spray of leaves on a transparent ground (256 x 256)."""
    rng = np.random.default_rng(seed)
    bgr = np.zeros((256, 256, 3), np.uint8)
    bgr[:] = (40, 105, 55)
    alpha = np.zeros((256, 256), np.uint8)
    for _ in range(11):
        c = tuple(int(x) for x in rng.uniform(55, 200, 2))
        axes = (int(rng.uniform(32, 52)), int(rng.uniform(11, 17)))
        angle = float(rng.uniform(0, 180))
        green = tuple(int(x) for x in (rng.uniform(25, 60), rng.uniform(90, 150), rng.uniform(40, 85)))
        cv2.ellipse(bgr, c, axes, angle, 0, 360, green, -1, cv2.LINE_AA)
        cv2.ellipse(alpha, c, axes, angle, 0, 360, 255, -1, cv2.LINE_AA)
        a = math.radians(angle)
        tip = (int(c[0] + axes[0] * 0.9 * math.cos(a)), int(c[1] + axes[0] * 0.9 * math.sin(a)))
        base = (int(c[0] - axes[0] * 0.9 * math.cos(a)), int(c[1] - axes[0] * 0.9 * math.sin(a)))
        cv2.line(bgr, base, tip, tuple(int(g * 0.7) for g in green), 1, cv2.LINE_AA)
    cv2.line(bgr, (128, 250), (128, 150), (30, 60, 70), 3)
    cv2.line(alpha, (128, 250), (128, 150), 255, 3)
    return np.dstack([bgr[..., ::-1], alpha])


def lantern_image() -> np.ndarray:
    """RGB: a lantern pane, warm light brightest in its middle, within a dark frame (128 x 256)."""
    y, x = np.mgrid[0:256, 0:128]
    glow = np.exp(-(((x - 64) / 70.0) ** 2 + ((y - 140) / 120.0) ** 2))
    rgb = np.stack([255 * (0.55 + 0.45 * glow), 225 * (0.45 + 0.55 * glow), 160 * (0.3 + 0.7 * glow)], -1)
    frame = (x < 8) | (x >= 120) | (y < 8) | (y >= 248) | (abs(y - 128) < 3) | (abs(x - 64) < 2)
    rgb[frame] = (25, 22, 20)
    return rgb.astype(np.uint8)


# ----------------------------------------------------------------------------- the scene's parts
def paving() -> Part:
    n = 120
    xs = np.linspace(-5, 5, n + 1)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    v = np.column_stack([X.ravel(), Y.ravel(), np.zeros(X.size)])
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a, b, c, d = i * (n + 1) + j, (i + 1) * (n + 1) + j, (i + 1) * (n + 1) + j + 1, i * (n + 1) + j + 1
    f = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    top = Part(v, f, np.tile([0.0, 0.0, 1.0], (len(v), 1)), np.column_stack([v[:, 0], -v[:, 1]]) / 4.0)
    slab = box((-5, -5, -0.08), (5, 5, 0.0), 4.0)
    sides = Part(slab.v[:20], slab.f[:10], slab.n[:20], slab.uv[:20])  # the slab but its top (faces -x .. -z)
    return merge([top, sides])


def walls() -> Part:
    pieces = [((-5.0, -5.0), (-4.6, 5.0)),  # west
              ((-4.6, 4.6), (1.4, 5.0)), ((1.4, 4.2), (2.6, 5.0)), ((2.6, 4.6), (5.0, 5.0))]  # north
    return merge([box((x0, y0, 0.0), (x1, y1, 0.5), 2.0) for (x0, y0), (x1, y1) in pieces])


def table() -> Part:
    top = box((-0.7, -0.4, 0.71), (0.7, 0.4, 0.75), 1.2, grain=0)
    legs = [box((sx * 0.6 - 0.035, sy * 0.3 - 0.035, 0.0), (sx * 0.6 + 0.035, sy * 0.3 + 0.035, 0.71), 1.2, grain=2)
            for sx in (-1, 1) for sy in (-1, 1)]
    rails = [box((-0.565, sy * 0.3 - 0.015, 0.62), (0.565, sy * 0.3 + 0.015, 0.71), 1.2, grain=0) for sy in (-1, 1)]
    return merge([top, *legs, *rails])


def bench() -> Part:
    slats = [box((-0.7, -0.25 + k * 0.175, 0.41), (0.7, -0.25 + k * 0.175 + 0.15, 0.45), 1.2, grain=0)
             for k in range(3)]
    legs = [box((x - 0.03, -0.22, 0.0), (x + 0.03, 0.22, 0.41), 1.2, grain=2) for x in (-0.55, 0.55)]
    beam = box((-0.55, -0.03, 0.12), (0.55, 0.03, 0.2), 1.2, grain=0)
    return merge([*slats, *legs, beam])


def planter() -> tuple[Part, Part]:
    """The box (wood) and its soil, 1.2 m square and 0.5 m high, centred on its origin."""
    o, t = 0.6, 0.06
    sides = [box((-o, -o, 0), (o, -o + t, 0.5), 1.2, 0), box((-o, o - t, 0), (o, o, 0.5), 1.2, 0),
             box((-o, -o + t, 0), (-o + t, o - t, 0.5), 1.2, 1), box((o - t, -o + t, 0), (o, o - t, 0.5), 1.2, 1)]
    return merge(sides), disc(o - t, 0.44, 24, 0.02, 11)


def tree(rng) -> tuple[Part, Part]:
    """A small tree standing on its origin (the soil): bark and leaf cards."""
    crown = np.array([0.0, 0.0, 2.2])
    parts = [branch((0, 0, -0.05), (0.05, -0.03, 1.55), 0.08, 0.05, 14)]
    tips = []
    for k in range(7):
        a = 2 * np.pi * k / 7 + rng.uniform(-0.3, 0.3)
        tip = crown + [0.6 * math.cos(a), 0.6 * math.sin(a), rng.uniform(-0.35, 0.45)]
        parts.append(branch((0.05, -0.03, 1.45 + 0.05 * k), tip, 0.035, 0.015, 8))
        tips.append(tip)
    bark = merge(parts)
    u = rng.normal(0, 1, (900, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    pts = crown + u * (rng.uniform(0.55, 1.0, (len(u), 1)) ** 0.5) * [0.9, 0.9, 0.65]
    return bark, leaf_cards(pts, 0.32, rng, crown)


def bush(rng, radius: float, height: float, count: int) -> Part:
    centre = np.array([0.0, 0.0, height])
    u = rng.normal(0, 1, (count, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    pts = centre + u * rng.uniform(0.4, 1.0, (count, 1)) * [radius, radius, radius * 0.8]
    return leaf_cards(pts, radius * 0.55, rng, centre)


POTS = {  # name -> profile (r, z), the soil's height and radius
    "urn": ([(0.0, 0.0), (0.14, 0.0), (0.16, 0.05), (0.23, 0.16), (0.28, 0.3), (0.28, 0.42), (0.24, 0.52),
             (0.22, 0.58), (0.25, 0.62), (0.25, 0.66), (0.22, 0.66), (0.2, 0.6), (0.2, 0.52)], 0.56, 0.202),
    "flowerpot": ([(0.0, 0.0), (0.16, 0.0), (0.22, 0.4), (0.25, 0.4), (0.25, 0.47), (0.21, 0.47), (0.2, 0.4)],
                  0.42, 0.205),
    "tall": ([(0.0, 0.0), (0.22, 0.0), (0.24, 0.35), (0.25, 0.7), (0.22, 0.7), (0.21, 0.4)], 0.66, 0.22),
}


def pot(kind: str) -> tuple[Part, Part]:
    """A pot standing on its origin, and its soil."""
    profile, soil_z, soil_r = POTS[kind]
    return lathe(profile, 64, 0.5), disc(soil_r, soil_z, 32, 0.0, len(kind))


def lamp_post() -> tuple[Part, Part, Part]:
    """Metal (base, pole, lantern frame, cap), the lantern's four panes; the light's height."""
    metal = merge([
        lathe([(0.0, 0.0), (0.13, 0.0), (0.13, 0.06), (0.09, 0.12), (0.05, 0.22), (0.04, 0.3), (0.035, 2.05),
               (0.09, 2.08), (0.09, 2.1), (0.0, 2.1)], 32),
        box((-0.13, -0.13, 2.08), (0.13, 0.13, 2.11), 1.0),
        flat(lathe([(0.0, 2.45), (0.19, 2.45), (0.19, 2.47), (0.03, 2.6), (0.03, 2.66), (0.0, 2.68)], 4)).moved(rot_z(45)),
        *[box((sx * 0.12 - 0.012, sy * 0.12 - 0.012, 2.11), (sx * 0.12 + 0.012, sy * 0.12 + 0.012, 2.45))
          for sx in (-1, 1) for sy in (-1, 1)],
    ])
    panes = []
    for k in range(4):
        R = rot_z(90 * k)
        v = np.array([[0.11, -0.11, 2.11], [0.11, 0.11, 2.11], [0.11, 0.11, 2.45], [0.11, -0.11, 2.45]])
        panes.append(Part(v, [[0, 1, 2], [0, 2, 3]], np.tile([1.0, 0, 0], (4, 1)),
                          [[0, 1], [1, 1], [1, 0], [0, 0]]).moved(R))
    return metal, merge(panes), 2.28


def side_table() -> tuple[Part, Part]:
    """A round side table: marble top (radius 0.3 m at 0.55 m), metal pedestal."""
    top = lathe([(0.0, 0.52), (0.3, 0.52), (0.3, 0.55), (0.0, 0.55)], 64, 0.8, planar=True)
    stand = lathe([(0.0, 0.0), (0.2, 0.0), (0.2, 0.02), (0.04, 0.05), (0.03, 0.3), (0.04, 0.52)], 32)
    return top, stand


def bowl() -> Part:
    """A polished bowl standing on its origin: radius 0.14 m, 0.09 m high, rounded, with a foot."""
    t = np.linspace(0, 1, 16)
    outer = np.column_stack([0.06 + 0.08 * np.sin(t * np.pi / 2), 0.012 + 0.078 * (1 - np.cos(t * np.pi / 2))])
    inner = np.column_stack([0.054 + 0.08 * np.sin(t * np.pi / 2), 0.018 + 0.072 * (1 - np.cos(t * np.pi / 2))])[::-1]
    return lathe(np.concatenate([[(0.0, 0.0), (0.06, 0.0)], outer, [(0.143, 0.093)], inner, [(0.0, 0.018)]]), 96)


def plinth() -> Part:
    return merge([box((-0.4, -0.4, 0.0), (0.4, 0.4, 0.1), 1.0), box((-0.3, -0.3, 0.1), (0.3, 0.3, 0.84), 1.0),
                  box((-0.4, -0.4, 0.84), (0.4, 0.4, 0.9), 1.0)])


# ----------------------------------------------------------------------------- the file
def build(path: Path = OUT) -> Path:
    rng = np.random.default_rng(2024)
    w = GltfWriter("fat scenes/patio/build.py")

    def texture_set(name: str, colour: bytes | None = None, mr: bytes | None = None) -> tuple[int, int, int]:
        col = colour or (TEXTURES / name / f"{name}_512_Color.jpg").read_bytes()
        nrm = (TEXTURES / name / f"{name}_512_NormalGL.jpg").read_bytes()
        return tuple(w.texture(w.image(d, "image/jpeg")) for d in (col, nrm, mr))

    pav_col, pav_nrm, pav_orm = paving_images()
    t_pav = (w.texture(w.image(pav_col, "image/jpeg")), w.texture(w.image(pav_nrm, "image/jpeg")),
             w.texture(w.image(pav_orm, "image/jpeg")))
    rock = read("Rock058", "Color")
    t_rock = texture_set("Rock058", mr=material_map(read("Rock058", "Roughness", 0), occlusion_from(rock, 0.5)))
    t_wood = texture_set("rosewood_veneer1", mr=material_map(
        np.clip(read("rosewood_veneer1", "Roughness", 0).astype(int) * 2 + 110, 0, 255).astype(np.uint8)))
    t_marble = texture_set("Marble006", mr=material_map(read("Marble006", "Roughness", 0)))
    leaves_tex = w.texture(w.image_array(leaf_image()), wrap=CLAMP_TO_EDGE)
    lantern_tex = w.texture(w.image_array(lantern_image(), "jpeg"), wrap=(CLAMP_TO_EDGE, REPEAT))

    m = {
        "paving": w.material("paving stone", base_color_texture=t_pav[0], normal_texture=t_pav[1], metallic=0.0,
                             metallic_roughness_texture=t_pav[2], occlusion_texture=t_pav[2]),
        "stone": w.material("wall stone", base_color=(0.9, 0.88, 0.85, 1.0), base_color_texture=t_rock[0],
                            normal_texture=t_rock[1], metallic=0.0, metallic_roughness_texture=t_rock[2],
                            occlusion_texture=t_rock[2], occlusion_strength=0.8),
        "wood": w.material("weathered wood", base_color=(0.78, 0.7, 0.62, 1.0), base_color_texture=t_wood[0],
                           normal_texture=t_wood[1], normal_scale=0.6, metallic=0.0,
                           metallic_roughness_texture=t_wood[2]),
        "marble": w.material("black marble", base_color_texture=t_marble[0], normal_texture=t_marble[1],
                             metallic=0.0, metallic_roughness_texture=t_marble[2]),
        "leaves": w.material("leaves", base_color_texture=leaves_tex, metallic=0.0, roughness=0.7,
                             alpha_mode="MASK", alpha_cutoff=0.5, double_sided=True),
        "bark": w.material("bark", base_color=(0.13, 0.09, 0.06, 1.0), metallic=0.0, roughness=0.95),
        "soil": w.material("soil", base_color=(0.09, 0.06, 0.04, 1.0), metallic=0.0, roughness=1.0),
        "terracotta": w.material("terracotta", base_color=(0.55, 0.22, 0.11, 1.0), metallic=0.0, roughness=0.85),
        "glaze": w.material("blue glaze", base_color=(0.05, 0.16, 0.35, 1.0), metallic=0.0, roughness=0.25),
        "iron": w.material("painted iron", base_color=(0.04, 0.045, 0.04, 1.0), metallic=1.0, roughness=0.5),
        "lantern": w.material("lantern glass", base_color=(0.9, 0.85, 0.75, 1.0), metallic=0.0, roughness=0.1,
                              emissive_texture=lantern_tex, emissive=(1.0, 0.86, 0.62)),
        "brass": w.material("polished brass", base_color=(0.91, 0.78, 0.42, 1.0), metallic=1.0, roughness=0.12),
    }

    def prim(part: Part, material: str, normals: bool = True, uv: bool = True) -> dict:
        return w.primitive(part.v, part.f, m[material], part.n if normals else None, part.uv if uv else None)

    children = []

    def place(name, mesh=None, at=(0.0, 0.0, 0.0), heading=0.0, scale=None, kids=None, light=None) -> int:
        return w.node(name, mesh, translation=at if any(at) else None, rotation=quat_z(heading) if heading else None,
                      scale=scale, children=kids, light=light)

    children.append(place("paving", w.mesh([prim(paving(), "paving")], "paving")))
    children.append(place("walls", w.mesh([prim(walls(), "stone")], "walls")))
    children.append(place("table", w.mesh([prim(table(), "wood")], "table"), (-2.0, 1.8, 0.0)))
    bench_mesh = w.mesh([prim(bench(), "wood")], "bench")
    children.append(place("bench_north", bench_mesh, (-2.0, 2.8, 0.0)))
    children.append(place("bench_south", bench_mesh, (-2.0, 0.8, 0.0), 180.0))
    box_part, soil = planter()
    bark, leaves = tree(rng)
    tree_node = place("tree", w.mesh([prim(bark, "bark"), prim(leaves, "leaves")], "tree"), (0.0, 0.0, 0.44))
    children.append(place("planter", w.mesh([prim(box_part, "wood"), prim(soil, "soil")], "planter"),
                          (-3.8, 3.8, 0.0), kids=[tree_node]))
    pot_meshes = {}
    for kind, material in (("urn", "terracotta"), ("flowerpot", "terracotta"), ("tall", "glaze")):
        shell, dirt = pot(kind)
        pot_meshes[kind] = w.mesh([prim(shell, material), prim(dirt, "soil")], kind)
    bush_mesh = w.mesh([prim(bush(rng, 0.3, 0.0, 140), "leaves")], "bush")
    for name, kind, at, heading, bush_at in (
            ("pot_urn", "urn", (-4.15, -0.7, 0.0), 20.0, 0.75), ("pot_flower", "flowerpot", (-4.2, -1.6, 0.0), 0.0, None),
            ("pot_tall", "tall", (4.2, -4.2, 0.0), 0.0, 0.9), ("pot_north", "flowerpot", (-1.0, 4.25, 0.0), 60.0, 0.6)):
        kids = [place(f"{name}_bush", bush_mesh, (0.0, 0.0, bush_at))] if bush_at else None
        children.append(place(name, pot_meshes[kind], at, heading, kids=kids))
    metal, panes, light_z = lamp_post()
    lamp = w.light("point", color=(1.0, 0.8, 0.55), intensity=20.0, name="lamp")
    children.append(place("lamp_post", w.mesh([prim(metal, "iron"), prim(panes, "lantern")], "lamp_post"),
                          (4.2, 3.9, 0.0), kids=[place("lamp_light", at=(0.0, 0.0, light_z), light=lamp)]))
    top, stand = side_table()
    bowl_node = place("bowl", w.mesh([prim(bowl(), "brass", uv=False)], "bowl"), (0.06, -0.04, 0.55))
    children.append(place("side_table", w.mesh([prim(top, "marble"), prim(stand, "iron")], "side_table"),
                          (0.2, 3.6, 0.0), kids=[bowl_node]))
    children.append(place("plinth", w.mesh([prim(plinth(), "marble", normals=False)], "plinth"), (3.4, 0.6, 0.0), 180.0))

    az, el = math.radians(SUN_AZIMUTH), math.radians(SUN_ELEVATION)
    to_sun = np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])
    x = np.cross([0.0, 0.0, 1.0], to_sun)
    x /= np.linalg.norm(x)
    sun = w.light("directional", color=(1.0, 0.95, 0.86), intensity=4.0, name="sun")
    children.append(w.node("sun", translation=(to_sun * 20).tolist(),
                           rotation=quat_of(np.column_stack([x, np.cross(to_sun, x), to_sun])), light=sun))
    for name, (at, heading) in DROPS.items():
        children.append(place(name, at=at, heading=heading))
    w.root(w.node("patio", rotation=Y_UP_ROTATION, children=children))
    return w.write(path)


if __name__ == "__main__":
    out = build()
    print(f"{out.relative_to(ROOT)}: {out.stat().st_size:,} bytes")
