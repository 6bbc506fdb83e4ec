"""Extra files (``fat generate --extras``, :mod:`fat.formats.extras`) written into a dataset that was
generated without them, for the tests of what reads them (the loader, the exports, ``fat show``,
``fat validate``) apart from the generator.

The content is made up but consistent, as the format asks: each object's amodal mask holds its
visible pixels (instance map == k + 1) plus its 2D box's pixels, and ``amodal_pixel_count`` in the
frame JSON is its pixel count; normals are unit length where the depth has a value; object
coordinates lie in [0, 1] on the pixels of objects only; flow is valid on object pixels only (so
some pixels valid and some not), ``flow_back`` its opposite. ``manifest.jsonl`` is brought up to
date (the changed JSON files' sha256, the new files listed with their drop), so that ``fat
validate`` finds nothing wrong with the result.

:func:`add_extras` returns what it wrote, before encoding (so a reader that shares a bug with the
format's decoders is still caught), for comparisons within the format's quantisation.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

from fat.formats.extras import (AMODAL_KEY, EXTRAS, FILES, encode_amodal, encode_coordinates, encode_flow, encode_normals,
                                extra_file)
from fat.formats.fat import FRAME_RE


#: kind -> its encoder of (values, valid)
ENCODERS = {"normals": encode_normals, "coordinates": encode_coordinates, "flow": encode_flow, "flow_back": encode_flow}


def leaf_folders(root: Path) -> list[Path]:
    """The leaf folders of a dataset (those with ``_camera_settings.json``)."""
    return sorted(p.parent for p in Path(root).rglob("_camera_settings.json"))


def views(folder: Path) -> list[tuple[int, str]]:
    """(frame index, eye) of every frame JSON of a leaf folder."""
    out = []
    for p in sorted(folder.iterdir()):
        m = FRAME_RE.match(p.name)
        if m:
            out.append((int(m.group(1)), m.group(2)))
    return out


def made_up(stem: Path, n_objects: int, bboxes: list) -> dict:
    """The extras of one view (``stem``: ``folder/XXXXXX.<eye>``) from its instance map and depth:
    kind -> (values, valid), amodal -> (N, H, W) bool."""
    inst = cv2.imread(f"{stem}.instance.png", cv2.IMREAD_UNCHANGED).astype(np.int64)
    depth = cv2.imread(f"{stem}.depth.png", cv2.IMREAD_UNCHANGED)
    H, W = inst.shape
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    surface = (depth > 0) & (depth < 65535)
    surface[:2] = False  # the top two rows as if nothing were drawn there (sky): some pixels without normals
    n = np.stack([(xs - W / 2) / W, (ys - H / 2) / H, -np.ones_like(xs)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    on = inst > 0
    nocs = np.stack([xs / max(W - 1, 1), ys / max(H - 1, 1), (inst % 7) / 6.0], axis=-1)
    flow = np.stack([inst * 0.75 + 0.25, -0.5 * np.ones_like(xs)], axis=-1)
    masks = np.zeros((n_objects, H, W), bool)
    for k, (y0, x0, y1, x1) in enumerate(bboxes):  # FAT's (y, x) box
        masks[k] = inst == k + 1
        xa, xb = max(0, int(np.ceil(x0))), min(W, int(np.floor(x1)))
        ya, yb = max(0, int(np.ceil(y0))), min(H, int(np.floor(y1)))
        masks[k, ya:yb, xa:xb] = True
    return {"normals": (n, surface), "coordinates": (nocs, on), "flow": (flow, on), "flow_back": (-flow, on),
            "amodal": masks}


def add_extras(root: Path, extras=EXTRAS, folders: list[str] | None = None) -> dict:
    """Write the extra files of ``extras`` (names of :data:`fat.formats.extras.EXTRAS`) for every view
    of ``root`` (or of the leaf folders ``folders``, relative to it); add ``amodal_pixel_count`` to the
    frame JSON files with amodal; update ``manifest.jsonl``. Returns ``{(folder, index, eye): {kind:
    value}}``: (float values, bool valid) as given to the encoder, amodal the (N, H, W) bool masks."""
    root = Path(root)
    kinds = [k for e in extras for k in FILES[e]]
    leaves = [root / f for f in folders] if folders is not None else leaf_folders(root)
    written: dict[str, str] = {}  # relative path -> sha256 of every file written or changed
    out = {}
    for folder in leaves:
        rel = folder.relative_to(root).as_posix()
        for index, eye in views(folder):
            stem = folder / f"{index:06d}.{eye}"
            jpath = Path(f"{stem}.json")
            doc = json.loads(jpath.read_text())
            objs = doc["objects"]
            boxes = [(*o["bounding_box"]["top_left"], *o["bounding_box"]["bottom_right"]) for o in objs]
            made = made_up(stem, len(objs), boxes)
            got = {}
            for kind in kinds:
                if kind == "amodal":
                    data = encode_amodal(made["amodal"])
                    got[kind] = made["amodal"]
                    for o, m in zip(objs, made["amodal"]):
                        o[AMODAL_KEY] = int(m.sum())
                    text = json.dumps(doc, indent="\t")
                    jpath.write_text(text)
                    written[f"{rel}/{jpath.name}"] = hashlib.sha256(text.encode()).hexdigest()
                else:
                    data = ENCODERS[kind](*made[kind])
                    got[kind] = made[kind]
                path = extra_file(folder, index, eye, kind)
                path.write_bytes(data)
                written[f"{rel}/{path.name}"] = hashlib.sha256(data).hexdigest()
            out[(rel, index, eye)] = got
    _update_manifest(root, written)
    return out


def _update_manifest(root: Path, written: dict[str, str]) -> None:
    """Each drop's entry lists the files written beside its frames, with their sha256."""
    path = root / "manifest.jsonl"
    if not path.is_file():
        return
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for e in entries:
        stems = {f.rsplit("/", 1)[0] + "/" + f.rsplit("/", 1)[1][:6] for f in e["files"] if f.endswith(".json")}
        for rel, digest in written.items():
            if rel in e["files"] or rel.rsplit("/", 1)[0] + "/" + rel.rsplit("/", 1)[1][:6] in stems:
                e["files"][rel] = digest
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries))
