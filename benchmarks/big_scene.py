"""Write a glTF scene of about 289,000 triangles for timing large scenes (docs/performance.md).

    python benchmarks/big_scene.py [--out big.glb] [--cells 380]

An 8 x 8 m lawn, one mesh of 2 x cells^2 triangles (a textured surface with 1 cm bumps, so objects
rest on many small triangles: the physics' worst case) and a table of five boxes. Two drop nodes:
``drop_lawn`` (location big_0 when the file is big.glb) and ``drop_table`` (big_1)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from fat.scene.gltf_write import GltfWriter
from fat.assets.meshes import box


def write(out: Path, cells: int) -> int:
    """Write the scene to ``out``; returns its number of triangles."""
    w = GltfWriter()
    xs = np.linspace(-4, 4, cells + 1)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    v = np.column_stack([X.ravel(), Y.ravel(), (0.01 * np.sin(X * 7) * np.cos(Y * 5)).ravel()])
    i = (np.arange(cells)[:, None] * (cells + 1) + np.arange(cells)[None, :]).ravel()
    faces = np.concatenate([np.column_stack([i, i + cells + 1, i + 1]),
                            np.column_stack([i + 1, i + cells + 1, i + cells + 2])])
    img = (np.random.default_rng(0).random((256, 256, 3)) * 80 + 100).astype(np.uint8)
    lawn = w.material("lawn", base_color_texture=w.texture(w.image_array(img, "jpeg")), metallic=0.0, roughness=0.8)
    kids = [w.node("lawn", mesh=w.mesh([w.primitive(v, faces, lawn, texcoords=v[:, :2] / 2)]))]
    wood = w.material("table", base_color=(0.6, 0.3, 0.2, 1), metallic=0.0, roughness=0.5)
    parts = [([1.4, 0.8, 0.04], [0, 0, 0.73])] + [([0.05, 0.05, 0.71], [x, y, 0.355]) for x in (-.6, .6) for y in (-.3, .3)]
    for size, centre in parts:
        m = box(np.array(size, float))
        kids.append(w.node("table", mesh=w.mesh([w.primitive(m.vertices, m.faces, wood)]), translation=centre))
    kids += [w.node("drop_lawn", translation=[2.0, 1.5, 0.0]), w.node("drop_table", translation=[0, 0, 0.75])]
    w.root(w.node("root", rotation=[-math.sqrt(0.5), 0, 0, math.sqrt(0.5)], children=kids))  # Z-up -> glTF's Y-up
    w.write(out)
    return len(faces) + 12 * len(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("big.glb"))
    ap.add_argument("--cells", type=int, default=380, help="lawn cells along a side (2 triangles each)")
    a = ap.parse_args()
    n = write(a.out, a.cells)
    print(f"{a.out}: {n:,} triangles, {a.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
