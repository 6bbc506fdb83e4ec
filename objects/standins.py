"""Recipes of the procedural stand-ins for the 21 FAT objects.

Each recipe returns convex parts in the FAT-aligned object frame (x right, y down, z front; "top" is
-y), in metres and roughly to size, each with a colour name of :data:`PALETTE`. The builder
(:mod:`fat.assets`) scales the union of the parts so that its bounding box is exactly the object's
FAT cuboid, centred at the origin. Shapes are made of convex parts only, because the same parts are
PyBullet's compound collision shape.
"""

from __future__ import annotations

import math

import numpy as np

from fat.assets.meshes import Mesh, box, convex_hull, cylinder, ellipsoid, lathe

#: Colour names -> RGB 0..255.
PALETTE = {
    "red": (200, 30, 30), "dark_red": (130, 20, 25), "white": (235, 235, 230), "silver": (180, 182, 185),
    "gold": (200, 160, 60), "blue": (30, 70, 170), "dark_blue": (20, 35, 90), "light_blue": (90, 150, 210),
    "yellow": (240, 200, 30), "mustard": (235, 190, 20), "brown": (120, 75, 40), "chocolate": (90, 50, 30),
    "green": (60, 130, 50), "teal": (20, 120, 130), "black": (25, 25, 28), "grey": (110, 110, 115),
    "orange": (230, 120, 30), "wood": (190, 145, 95), "banana": (235, 205, 70), "banana_tip": (90, 80, 30),
    "pink": (230, 120, 140), "cream": (240, 225, 190), "purple": (110, 50, 130), "foam_red": (210, 50, 50),
}

Parts = list[tuple[Mesh, str]]


def _can(radius, height, body, lid, label=None) -> Parts:
    """A can standing along y: body, lids, and an optional label band."""
    lid_h = height * 0.04
    parts = [
        (cylinder(radius, height - 2 * lid_h), body),
        (cylinder(radius * 0.97, lid_h, center=(0, -(height - lid_h) / 2, 0)), lid),
        (cylinder(radius * 0.97, lid_h, center=(0, (height - lid_h) / 2, 0)), lid),
    ]
    if label:
        parts.append((cylinder(radius * 1.005, height * 0.45, center=(0, height * 0.05, 0)), label))
    return parts


def _box_product(size, body, band, band_axis=1) -> Parts:
    """A printed box: a body and a slightly proud band around its middle."""
    band_size = np.array(size, dtype=float) * 1.01
    band_size[band_axis] = size[band_axis] * 0.35
    return [(box(size), body), (box(band_size), band)]


def _arc_segments(radius, thickness, width, a0, a1, n, center=(0, 0, 0), plane="xy") -> list[Mesh]:
    """Box segments along a circular arc (a handle, a ring); each segment is convex."""
    out = []
    for k in range(n):
        a = a0 + (a1 - a0) * (k + 0.5) / n
        seg_len = 2 * radius * math.sin(abs(a1 - a0) / n / 2) * 1.15
        m = box((thickness, seg_len, width))
        c, s = math.cos(a), math.sin(a)
        R2 = np.array([[c, -s], [s, c]])
        v = m.vertices.copy()
        v[:, :2] = v[:, :2] @ R2.T + radius * np.array([c, s])
        nn = m.normals.copy()
        nn[:, :2] = nn[:, :2] @ R2.T
        if plane == "xz":  # rotate the arc's plane from xy into xz
            v = v[:, [0, 2, 1]]  # swapping two axes mirrors: reverse the winding
            nn = nn[:, [0, 2, 1]]
            f = m.faces[:, ::-1]
        else:
            f = m.faces
        out.append(Mesh(v + np.asarray(center, dtype=float), f, None, nn))
    return out


def _ring_wall(r_out, thickness, height, n, center=(0, 0, 0), flare=0.0) -> list[Mesh]:
    """A ring of convex wall segments about the y axis (bowl and mug walls)."""
    parts = []
    for k in range(n):
        a0, a1 = 2 * math.pi * k / n, 2 * math.pi * (k + 1) / n
        pts = []
        for a in (a0, a1):
            for r in (r_out - thickness, r_out):
                for y, extra in ((-height / 2, 0.0), (height / 2, flare)):  # flare: radius change at the bottom (+y)
                    pts.append(((r + extra) * math.cos(a), y, (r + extra) * math.sin(a)))
        parts.append(convex_hull(np.array(pts) + np.asarray(center, dtype=float)))
    return parts


def master_chef_can() -> Parts:
    return _can(0.051, 0.140, "blue", "silver", "gold")


def cracker_box() -> Parts:
    return _box_product((0.164, 0.213, 0.072), "red", "yellow")


def sugar_box() -> Parts:
    return _box_product((0.093, 0.176, 0.045), "cream", "yellow")


def tomato_soup_can() -> Parts:
    return [(cylinder(0.0338, 0.05, center=(0, -0.025, 0)), "red"),
            (cylinder(0.0338, 0.05, center=(0, 0.025, 0)), "white"),
            (cylinder(0.033, 0.002, center=(0, -0.051, 0)), "silver"),
            (cylinder(0.033, 0.002, center=(0, 0.051, 0)), "silver")]


def mustard_bottle() -> Parts:
    body = lathe([(0.095, 0.040), (0.06, 0.048), (-0.03, 0.046), (-0.06, 0.030)], 32, scale_xz=(1.0, 0.6))
    cap = cylinder(0.014, 0.025, center=(0, -0.072, 0))
    nozzle = cylinder(0.004, 0.014, center=(0, -0.090, 0), top_radius=0.002)
    return [(body, "mustard"), (cap, "mustard"), (nozzle, "red")]


def tuna_fish_can() -> Parts:
    return _can(0.0428, 0.0335, "blue", "gold", "dark_blue")


def pudding_box() -> Parts:
    return _box_product((0.114, 0.090, 0.038), "chocolate", "white", band_axis=0)


def gelatin_box() -> Parts:
    return _box_product((0.089, 0.073, 0.030), "red", "pink", band_axis=0)


def potted_meat_can() -> Parts:
    body = lathe([(0.042, 0.050), (-0.036, 0.050)], 24, scale_xz=(1.0, 0.57))
    top = lathe([(-0.036, 0.049), (-0.042, 0.047)], 24, scale_xz=(1.0, 0.57))
    return [(body, "blue"), (top, "yellow")]


def banana() -> Parts:
    parts = []
    n = 9
    for k in range(n):
        t = k / (n - 1)
        a = (t - 0.5) * 1.4
        x, z = 0.11 * math.sin(a), 0.11 * (1 - math.cos(a)) - 0.03
        r = 0.018 * (1 - 0.55 * abs(2 * t - 1) ** 2)
        parts.append((ellipsoid((0.016, r, r * 1.1), center=(x, 0, z), rings=6, segments=12),
                      "banana_tip" if k in (0, n - 1) else "banana"))
    return parts


def pitcher_base() -> Parts:
    body = lathe([(0.12, 0.062), (0.0, 0.066), (-0.10, 0.056), (-0.12, 0.050)], 32)
    handle = [(m, "blue") for m in _arc_segments(0.055, 0.014, 0.025, math.pi / 2, 3 * math.pi / 2, 5,
                                                 center=(-0.065, -0.02, 0))]
    spout = box((0.03, 0.02, 0.03), center=(0.064, -0.11, 0))
    return [(body, "light_blue")] + handle + [(spout, "light_blue")]


def bleach_cleanser() -> Parts:
    body = lathe([(0.125, 0.050), (-0.05, 0.050), (-0.09, 0.035)], 28, scale_xz=(1.0, 0.66))
    neck = cylinder(0.016, 0.02, center=(0, -0.10, 0))
    cap = cylinder(0.018, 0.025, center=(0, -0.1225, 0))
    return [(body, "white"), (neck, "white"), (cap, "blue")]


def bowl() -> Parts:
    walls = _ring_wall(0.080, 0.006, 0.050, 16, center=(0, -0.002, 0), flare=-0.03)
    base = cylinder(0.053, 0.006, center=(0, 0.022, 0), segments=24)
    return [(w, "red") for w in walls] + [(base, "red")]


def mug() -> Parts:
    walls = _ring_wall(0.0465, 0.005, 0.075, 16, center=(0, -0.003, 0))
    base = cylinder(0.0465, 0.006, center=(0, 0.037, 0), segments=24)
    handle = _arc_segments(0.025, 0.010, 0.012, -math.pi / 2, math.pi / 2, 5, center=(0.045, 0, 0))
    return [(w, "red") for w in walls] + [(base, "red")] + [(h, "red") for h in handle]


def power_drill() -> Parts:
    housing = cylinder(0.030, 0.14, axis=0, center=(0.01, -0.055, 0), segments=24)
    chuck = cylinder(0.014, 0.04, axis=0, center=(0.10, -0.055, 0), segments=16, top_radius=0.010)
    handle = box((0.040, 0.10, 0.045), center=(-0.02, 0.02, 0))
    battery = box((0.075, 0.030, 0.057), center=(-0.015, 0.078, 0))
    return [(housing, "teal"), (chuck, "black"), (handle, "black"), (battery, "teal")]


def wood_block() -> Parts:
    return [(box((0.09, 0.206, 0.091)), "wood")]


def scissors() -> Parts:
    blade = box((0.15, 0.016, 0.004), center=(0.02, 0.0, 0.0))
    blade2 = box((0.15, 0.014, 0.004), center=(0.02, 0.008, 0.003))
    rings = _arc_segments(0.022, 0.008, 0.012, 0, 2 * math.pi, 8, center=(-0.075, -0.02, 0)) + \
        _arc_segments(0.022, 0.008, 0.012, 0, 2 * math.pi, 8, center=(-0.075, 0.03, 0))
    return [(blade, "silver"), (blade2, "silver")] + [(r, "blue") for r in rings]


def large_marker() -> Parts:
    return [(cylinder(0.0095, 0.085, center=(0, 0.015, 0)), "white"),
            (cylinder(0.0097, 0.035, center=(0, -0.045, 0)), "black"),
            (cylinder(0.004, 0.008, center=(0, 0.061, 0), top_radius=0.002), "black")]


def _clamp(w, h, t) -> Parts:
    jaw = 0.22 * h
    parts = [
        (box((0.18 * w, h, t)), "black"),  # spine on the left
        (box((0.85 * w, jaw, t), center=(0.3 * w, -(h - jaw) / 2, 0)), "orange"),
        (box((0.85 * w, jaw, t), center=(0.3 * w, (h - jaw) / 2, 0)), "orange"),
        (box((0.25 * w, 0.55 * h, 0.6 * t), center=(0.55 * w, 0, 0)), "black"),
    ]
    return parts


def large_clamp() -> Parts:
    return _clamp(0.165, 0.122, 0.036)


def extra_large_clamp() -> Parts:
    return _clamp(0.203, 0.165, 0.036)


def foam_brick() -> Parts:
    return [(box((0.078, 0.051, 0.053)), "foam_red")]


#: YCB folder name -> recipe.
RECIPES = {
    "002_master_chef_can": master_chef_can, "003_cracker_box": cracker_box, "004_sugar_box": sugar_box,
    "005_tomato_soup_can": tomato_soup_can, "006_mustard_bottle": mustard_bottle,
    "007_tuna_fish_can": tuna_fish_can, "008_pudding_box": pudding_box, "009_gelatin_box": gelatin_box,
    "010_potted_meat_can": potted_meat_can, "011_banana": banana, "019_pitcher_base": pitcher_base,
    "021_bleach_cleanser": bleach_cleanser, "024_bowl": bowl, "025_mug": mug, "035_power_drill": power_drill,
    "036_wood_block": wood_block, "037_scissors": scissors, "040_large_marker": large_marker,
    "051_large_clamp": large_clamp, "052_extra_large_clamp": extra_large_clamp, "061_foam_brick": foam_brick,
}
