"""What each extra image (``--extras``, docs/extras.md) adds to a stereo frame's time.

    python benchmarks/extras.py [--frames N] [--objects DIR | --standins] [--renderer gl]

Makes the same mixed drops (kitchen_0, 960 x 540) in one worker without extras and then with each
extra alone, after a first drop that uploads the objects, and prints the milliseconds per stereo
frame (simulating, drawing, annotating, encoding and writing, with writing on its own thread) and
what the extra adds, as a share of the frame without extras and of the renderer's time drawing
both eyes in it.
Uses real YCB scans from ../shared/ycb when present and --objects is not given.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from fat.formats.extras import EXTRAS
from fat.run.plan import plan
from fat.settings import Settings
from fat.run.resolve import object_set, resolve
from fat.run.worker import Worker

from generate import machine

YCB = Path(__file__).resolve().parents[1].parent / "shared" / "ycb"


def seconds_per_frame(out: Path, frames: int, extras: tuple[str, ...], objects: str | None,
                      renderer: str) -> tuple[float, float]:
    """Seconds per stereo frame of making drops in one worker (simulating, drawing, annotating,
    encoding, writing), after a first drop that uploads the objects; and of the renderer's drawing of
    both eyes in them."""
    s = resolve(Settings(kinds=("mixed",), locations=(0,), scenes=("kitchen",), mixed_frames=frames + 10,
                          frames_per_drop=10, object_source=objects, renderer=renderer, extras=extras))
    shutil.rmtree(out, ignore_errors=True)
    _, drops = plan(s, object_set(s))
    for d in drops:
        (out / d.folder).mkdir(parents=True, exist_ok=True)
    worker = Worker(s)
    try:
        worker.run(drops[0], out)  # first uploads
        plain, drawing = worker.renderer.render_eyes, [0.0]

        def timed(frame):
            t = time.perf_counter()
            try:
                return plain(frame)
            finally:
                drawing[0] += time.perf_counter() - t

        worker.renderer.render_eyes = timed
        t, n = time.perf_counter(), 0
        for d in drops[1:]:
            n += worker.run(d, out)[0]
        return (time.perf_counter() - t) / n, drawing[0] / n
    finally:
        worker.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--objects", default=None)
    ap.add_argument("--standins", action="store_true")
    ap.add_argument("--renderer", default="gl")
    a = ap.parse_args()
    objects = None if a.standins else a.objects or (str(YCB) if YCB.is_dir() else None)
    print(f"{machine()}; renderer {a.renderer}; objects {objects or 'stand-ins'}; {a.frames} stereo frames at 960 x 540, 1 worker")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "d"
        seconds_per_frame(out, 10, (), objects, a.renderer)  # the asset caches
        base, render = seconds_per_frame(out, a.frames, (), objects, a.renderer)
        print(f"{'none':12s} {1000 * base:7.1f} ms per stereo frame, of which drawing both eyes {1000 * render:.1f} ms")
        for e in EXTRAS + ("all",):
            t, _ = seconds_per_frame(out, a.frames, EXTRAS if e == "all" else (e,), objects, a.renderer)
            print(f"{e:12s} {1000 * t:7.1f} ms per stereo frame: +{1000 * (t - base):.1f} ms, "
                  f"{100 * (t - base) / base:+.1f} % of the frame, {100 * (t - base) / render:+.1f} % of the drawing")


if __name__ == "__main__":
    main()
