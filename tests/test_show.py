"""``fat show`` pictures and the ``fat stats`` figures: readable labels that never overlap, masks that
leave the objects visible, chosen panels, plain images on request, depth on a fixed scale in metres
with its colour bar, and titled figures whose count axes tick at whole numbers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import fat
from fat.study.overlay import TextStyle, annotate_image, colours, object_label, place_labels, text_height
from fat.study.show import DEPTH_RANGE, depth_colours, frame_picture

from fat_cli import error_line, run_fat

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
W, H = 192, 108


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Two stereo frames of one kitchen drop at 192x108 (7 objects a frame)."""
    out = tmp_path_factory.mktemp("show") / "ds"
    r = subprocess.run([FAT, "generate", out, "--scene", "kitchen", "--frames", "2", "--frames-per-drop", "2",
                        "--width", str(W), "--height", str(H), "--renderer", "tiny", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out


def _stereo(root: Path) -> fat.Dataset:
    return fat.Dataset(root, eyes="stereo", fields=("rgb", "depth", "seg", "instance", "annotations"))


def _disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_label_boxes_of_a_crowded_frame_do_not_overlap_and_stay_inside(tiny):
    """Catches labels drawn over one another (each at its box's corner whatever is there), or pushed
    out of the picture, when many objects crowd a frame: a real frame's objects repeated eight times
    with shifted boxes, some of them running over the image's edges."""
    objs = _stereo(tiny)[0]["left"]["objects"]
    rng = np.random.default_rng(3)
    boxes, texts = [], []
    for copy in range(8):
        for o in objs:
            dx, dy = rng.uniform(-60, 60, 2)
            boxes.append(np.asarray(o["bbox"], float) * 2.5 + [dx, dy, dx, dy])
            texts.append(object_label(o))
    shape = (270, 480, 3)
    style = TextStyle(text_height(480, 270))
    placed = place_labels(boxes, [style.size(t) for t in texts], shape)
    rects = [r for r in placed if r]
    assert len(rects) >= len(objs)  # a crowded frame still gets many labels
    for k, r in enumerate(rects):
        assert 0 <= r[0] < r[2] <= shape[1] and 0 <= r[1] < r[3] <= shape[0], r
        for other in rects[:k]:
            assert _disjoint(r, other), (r, other)
    for r, t in zip(placed, texts):  # each label keeps its text's size
        if r:
            assert (r[2] - r[0], r[3] - r[1]) == style.size(t)


def test_a_label_goes_above_its_box_below_inside_or_beside_it():
    """Catches a placement that ignores the box (labels far from their object) or gives up while a
    place next to the box is free: above a box with room above, below a box at the top edge, inside
    a box that fills the image's height, and beside the first label for a second box like it."""
    shape = (270, 480, 3)
    size = (80, 16)
    above, top, tall, twin = place_labels([(200, 100, 260, 150), (20, 0, 100, 40), (300, 0, 470, 270),
                                           (200, 100, 260, 150)], [size] * 4, shape)
    assert above == (200, 84, 280, 100)  # touching the box's top edge
    assert top == (20, 41, 100, 57)  # just below the box
    assert tall[1] == 0 and 300 <= tall[0] and tall[2] <= 480  # inside the box, at its top
    assert twin is not None and _disjoint(twin, above) and abs(twin[1] - above[1]) <= 4 * size[1]
    assert place_labels([(-50, -50, -10, -10)], [size], shape) == [None]  # a box outside the image: no label
    assert place_labels([(0, 0, 10, 10)], [(500, 16)], shape) == [None]  # wider than the image: no label


def test_labels_are_readable_at_the_default_size():
    """Catches text drawn at the frame's resolution and then scaled down with the picture (a 1920 px
    wide frame in a 480 px wide panel made 4 px letters): the label of an object, drawn for a panel of
    the default sheet (1440 px for three panels), is a filled box at least 14 px high."""
    view = {"rgb": np.full((1080, 1920, 3), 90, np.uint8), "objects": [{
        "class": "011_banana_16k", "visibility": 0.5, "bbox": [800, 700, 1100, 1000],
        "projected_cuboid": [[900 + 10 * (v % 2), 800 + 10 * (v // 4)] for v in range(8)]}]}
    img = annotate_image(view, (480, 270))
    c = colours(1)[0]
    solid = np.all(img == c, axis=2)
    rows = np.flatnonzero(solid[:175].sum(1) > 30)  # above the box (its top at 175 px here)
    assert rows.size >= 12 and rows.max() - rows.min() + 1 >= 12, rows
    ink = np.all(img[rows.min():rows.max() + 1] < 60, axis=2).sum()  # dark text on the colour
    assert ink > 50


def test_masks_are_a_translucent_tint_with_an_outline():
    """Catches opaque masks hiding the objects' looks: under the tint the texture keeps most of its
    contrast and the same pattern, and the mask's edge is outlined in the object's colour."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (108, 192, 3), dtype=np.uint8)
    inst = np.zeros((108, 192), np.uint8)
    inst[30:80, 50:150] = 1
    view = {"rgb": rgb, "instance": inst, "objects": [{  # box and cuboid off the image: the mask alone
        "class": "mug", "visibility": 1.0, "bbox": [-30, -30, -20, -20], "projected_cuboid": [[-25, -25]] * 8}]}
    img = annotate_image(view)
    inner = (slice(32, 78), slice(52, 148))  # inside the outline
    for ch in range(3):
        before, after = rgb[inner][..., ch].astype(float).ravel(), img[inner][..., ch].astype(float).ravel()
        assert np.corrcoef(before, after)[0, 1] > 0.95
        assert after.std() > 0.5 * before.std()
    c = colours(1)[0]
    assert np.all(img[30, 60:140] == c) and np.all(img[79, 60:140] == c) and np.all(img[40:70, 50] == c)
    assert np.array_equal(img[:20, :], rgb[:20, :])  # nothing drawn outside the object


def test_panels_choose_and_order_the_columns(tiny, tmp_path, capfd):
    """Catches --panels being ignored or reordered: depth,seg gives a picture of two panels the width
    asked for, the depth's colours on the left and the class segmentation on the right, and seg,depth
    the two swapped; every drawn picture is what frame_picture lays out."""
    ds = _stereo(tiny)
    left = ds[0]["left"]
    for order in (["depth", "seg"], ["seg", "depth"]):
        out = tmp_path / f"{'-'.join(order)}.png"
        rc, so, _ = run_fat(capfd, "show", tiny, "mixed/kitchen_0/0", "--panels", ",".join(order), "--width", 2 * W,
                            "--out", out)
        assert rc == 0 and so.strip() == f"drew 1 frame in {out}"
        img = cv2.imread(str(out))[:, :, ::-1]
        assert img.shape[1] == 2 * W
        pic, layout = frame_picture(ds, 0, order, 2 * W)
        assert np.array_equal(img, pic)
        assert [p[0] for p in layout["panels"]] == order
        assert [(x1 - x0, y1 - y0) for _, x0, y0, x1, y1 in layout["panels"]] == [(W, H), (W, H)]
        for name, x0, y0, x1, y1 in layout["panels"]:
            panel = img[y0:y1, x0:x1]
            if name == "depth":
                assert np.array_equal(panel, depth_colours(left["depth"]))
            else:
                assert np.all(panel[left["seg"] == 0] == 0) and np.all(panel[left["seg"] > 0].max(1) > 0)
        assert len(layout["bars"]) == 1  # one colour bar: one depth panel
    rc, _, _ = run_fat(capfd, "show", tiny, "0", "--panels", "left,right,masks,right-depth", "--out", tmp_path / "4.png")
    assert rc == 0 and cv2.imread(str(tmp_path / "4.png")).shape[1] == 1440


def test_no_overlay_shows_the_plain_images(tiny, tmp_path, capfd):
    """Catches --no-overlay still drawing masks, boxes, cuboids or labels: the left panel at the
    frame's own size is the left image pixel for pixel; without the flag it is not."""
    ds = _stereo(tiny)
    rgb = ds[1]["left"]["rgb"]

    def panel(*flags):
        out = tmp_path / f"p{len(flags)}.png"
        rc, _, err = run_fat(capfd, "show", tiny, "mixed/kitchen_0/1", "--panels", "left", "--width", W, *flags,
                             "--out", out)
        assert rc == 0, err
        img = cv2.imread(str(out))[:, :, ::-1]
        assert img.shape[1] == W
        return [img[y:y + H] for y in range(img.shape[0] - H + 1)]

    assert any(np.array_equal(p, rgb) for p in panel("--no-overlay"))
    assert not any(np.array_equal(p, rgb) for p in panel())


def test_depth_has_the_same_colour_for_the_same_metres_in_every_frame(tiny):
    """Catches depth scaled frame by frame (each frame's own near and far mapped to the ends of the
    scale): two frames whose depths span different ranges colour each depth they share the same, and
    another --depth-range colours them otherwise."""
    ds = _stereo(tiny)
    d0, d1 = ds[0]["left"]["depth"], ds[1]["left"]["depth"]
    assert abs(d0.max() - d1.max()) > 0.3 or abs(d0[d0 > 0].min() - d1[d1 > 0].min()) > 0.1  # different ranges
    p0 = frame_picture(ds, 0, ["depth"], W)
    p1 = frame_picture(ds, 1, ["depth"], W)
    (_, x0, y0, x1, y1), = p0[1]["panels"]
    c0, c1 = p0[0][y0:y1, x0:x1], p1[0][y0:y1, x0:x1]
    shared = np.intersect1d(d0[d0 > 0], d1[d1 > 0])
    assert shared.size > 20
    for m in shared[:: max(1, shared.size // 200)]:
        a, b = c0[d0 == m], c1[d1 == m]
        assert (a == a[0]).all() and (b == a[0]).all(), m
    other = frame_picture(ds, 0, ["depth"], W, depth_range=(0.0, 6.0))[0][y0:y1, x0:x1]
    assert not np.array_equal(other, c0)


def test_the_colour_bar_reads_the_depth_in_metres(tiny):
    """Catches a missing colour bar, or one that does not match the depth colours: reading each depth
    pixel's colour off the bar below the panel gives its depth in metres, within 5 cm; the bar's colours
    change along it from one end to the other."""
    ds = _stereo(tiny)
    depth = ds[0]["left"]["depth"]
    pic, layout = frame_picture(ds, 0, ["depth"], W)
    (_, x0, y0, x1, y1), = layout["panels"]
    (bx0, by0, bx1, by1), = layout["bars"]
    assert by0 >= y1 and bx0 >= x0 and bx1 <= x1 and bx1 - bx0 > W // 2
    bar = pic[(by0 + by1) // 2, bx0:bx1].astype(int)
    assert len({tuple(c) for c in bar}) > 0.4 * len(bar)  # a ramp, not a block of one colour
    assert np.all(pic[by0:by1, bx0:bx1] == bar[None])  # rows of the bar alike
    lo, hi = DEPTH_RANGE
    panel = pic[y0:y1, x0:x1].astype(int)
    sel = (depth > lo) & (depth < hi)
    col = np.argmin(((panel[sel][:, None, :] - bar[None]) ** 2).sum(-1), axis=1)
    read = lo + (col + 0.5) / len(bar) * (hi - lo)
    assert np.abs(read - depth[sel]).max() < 0.05
    assert np.all(panel[depth == 0] == 0)  # no value: black


def test_bad_panels_and_depth_ranges_are_one_line_errors(tiny, tmp_path, capfd):
    """Catches an unknown panel name or a bad --depth-range failing with a traceback, being ignored,
    or leaving a picture behind: exit 1, one line naming the value, a hint for a misspelt panel."""
    out = tmp_path / "x.png"
    rc, _, err = run_fat(capfd, "show", tiny, "0", "--panels", "left,dpeth", "--out", out)
    line = error_line(err)
    assert rc == 1 and "'dpeth'" in line and "did you mean depth?" in line
    for bad in ("3,1", "0", "a,b", "-1,2", "0,nan"):
        rc, _, err = run_fat(capfd, "show", tiny, "0", "--depth-range", bad, "--out", out)
        assert rc == 1 and "--depth-range" in error_line(err), bad
    rc, _, err = run_fat(capfd, "show", tiny, "0", "--panels", "", "--out", out)
    assert rc == 1 and "--panels" in error_line(err)
    assert not out.exists()


def test_stats_figures_are_titled_with_whole_number_count_ticks(tiny):
    """Catches untitled figures and count axes ticking at 0.5 (matplotlib's default for small counts,
    such as the two frames here): every figure has a title, and every count axis (the y axes, and the
    x axis of the number of objects in a frame) shows whole numbers only."""
    from fat.study.stats import compute, make_figures

    figs = make_figures(compute(tiny, images=True))
    assert set(figs) == {"classes.png", "objects_per_frame.png", "visibility.png", "camera.png", "boxes.png",
                         "depth.png"}
    for name, fig in figs.items():
        fig.canvas.draw()
        titled = fig.get_suptitle() or all(ax.get_title() for ax in fig.axes)
        assert titled, name
        for ax in fig.axes:
            lo, hi = ax.get_ylim()
            ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
            assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), (name, ticks)
    ax = figs["objects_per_frame.png"].axes[0]
    lo, hi = ax.get_xlim()
    assert all(float(t).is_integer() for t in ax.get_xticks() if lo <= t <= hi)
