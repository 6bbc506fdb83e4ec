"""Render-only speed of the gl renderer on views simulated elsewhere: for a machine that has a GPU
but not PyBullet (a GPU node without the project's full environment).

    python benchmarks/render_views.py save DIR [--objects YCB_DIR | --standins] [--frames N]
    python benchmarks/render_views.py run DIR

``save`` simulates the mixed drops of kitchen_0 (as benchmarks/generate.py does) and writes the
frames (poses, cameras, the location) to DIR/frames.pkl and the assets they use to DIR/assets/, with
paths relative to the working directory, so DIR can travel. ``run`` needs only numpy, OpenCV,
trimesh and moderngl: it renders both eyes of every frame at 960x540, RGB, depth and instance maps
read back, and prints stereo frames per second (best of three passes) and the OpenGL device: one eye
at a time (``render``) and both eyes with asynchronous read-back (``render_eyes``).
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path


def save(out: Path, source: str | None, n_frames: int) -> None:
    from fat.run.plan import plan
    from fat.settings import Settings
    from fat.run.resolve import object_set, resolve
    from fat.run.worker import Worker

    s = resolve(Settings(scenes=("kitchen",), locations=(0,), mixed_frames=n_frames, frames_per_drop=20, seed=0,
                          renderer="tiny", object_source=source))
    w = Worker(s)
    frames = [f for d in plan(s, object_set(s))[1] for f in w.scenes(d)]
    w.close()
    moved = {}
    for f in frames:
        for o in f.objects:
            if o.asset.folder not in moved:
                dst = out / "assets" / o.asset.info.name
                if not dst.exists():
                    shutil.copytree(o.asset.folder, dst)
                moved[o.asset.folder] = replace(o.asset, folder=Path(os.path.relpath(dst)))
    frames = [replace(f, objects=tuple(replace(o, asset=moved[o.asset.folder]) for o in f.objects)) for f in frames]
    (out / "frames.pkl").write_bytes(pickle.dumps(frames))
    print(f"{len(frames)} stereo frames, {len(moved)} assets in {out}")


def run(folder: Path) -> None:
    from fat.render.gl.renderer import GLRenderer

    frames = pickle.loads((folder / "frames.pkl").read_bytes())
    r = GLRenderer(size=(960, 540))
    info = r.ctx.info
    print(f"OpenGL: {info.get('GL_RENDERER')} ({info.get('GL_VENDOR')}, {info.get('GL_VERSION')})", flush=True)
    for f in frames[:3]:
        r.render(f, "left")  # uploads and environment maps first
    ways = {"one eye at a time, each read back before the next (render)":
            lambda f: [r.render(f, eye) for eye in ("left", "right")],
            "both eyes submitted, read back asynchronously (render_eyes)": r.render_eyes}
    for name, way in ways.items():
        best = None
        for _ in range(3):
            t = time.perf_counter()
            for f in frames:
                way(f)
            best = min(best or 1e9, time.perf_counter() - t)
        print(f"render only, {name}: {len(frames) / best:.1f} stereo frames/s, {best / len(frames) * 1000:.1f} ms per "
              f"stereo frame ({len(frames)} stereo frames at 960x540, best of 3)", flush=True)
    r.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("save", "run"))
    ap.add_argument("folder", type=Path)
    ap.add_argument("--objects", default=None)
    ap.add_argument("--standins", action="store_true")
    ap.add_argument("--frames", type=int, default=40)
    a = ap.parse_args()
    sys.path.insert(0, os.getcwd())
    if a.what == "save":
        ycb = Path(__file__).resolve().parents[1].parent / "shared" / "ycb"
        source = None if a.standins else (a.objects or (str(ycb) if ycb.is_dir() else None))
        a.folder.mkdir(parents=True, exist_ok=True)
        save(a.folder, source, a.frames)
    else:
        run(a.folder)


if __name__ == "__main__":
    main()
