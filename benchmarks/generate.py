"""End-to-end generation speed, stage by stage.

    python benchmarks/generate.py [--renderer tiny|egl] [--objects DIR] [--frames N] [--width W --height H]

Generates mixed drops at one location into a temporary folder (all files written) and prints stereo
frames per second with the time split between physics, rendering, annotation and writing. Uses real
YCB models from ../shared/ycb when present and --objects is not given.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import fat.annotate
import fat.formats.fat
import fat.pipeline as pipeline
from fat.pipeline import Settings, Worker, plan, prepare_output, validate, write_folder_settings


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--renderer", default="tiny")
    ap.add_argument("--objects", default=None)
    ap.add_argument("--standins", action="store_true", help="use the procedural stand-ins even if ../shared/ycb exists")
    ap.add_argument("--location", default="kitchen_0")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    a = ap.parse_args()
    ycb = a.objects
    shared = Path(__file__).resolve().parents[2] / "shared" / "ycb"
    if ycb is None and not a.standins and shared.is_dir():
        ycb = str(shared)
    scene, _, loc = a.location.rpartition("_")
    s = validate(Settings(scenes=(scene,), locations=(int(loc),), mixed_frames=a.frames, renderer=a.renderer,
                          ycb_dir=ycb, width=a.width, height=a.height))
    times: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def wrapper(*args, **kw):
            t = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                times[name] += time.perf_counter() - t
        return wrapper

    t0 = time.perf_counter()
    worker = Worker(s)
    setup = time.perf_counter() - t0
    worker.renderer.render = timed("render", worker.renderer.render)
    worker.physics.step = timed("physics", worker.physics.step)
    worker.physics.spawn = timed("physics", worker.physics.spawn)
    pipeline.annotate_view = timed("annotate", fat.annotate.annotate_view)
    pipeline.fatfmt.write_view = timed("encode + write", fat.formats.fat.write_view)
    folders, drops = plan(s)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        prepare_output(out, "new")
        write_folder_settings(out, folders, s)
        # warm-up drop (first upload of meshes and textures), not counted
        worker.run(drops[0], out)
        times.clear()
        t = time.perf_counter()
        n = sum(worker.run(d, out)[0] for d in drops)
        total = time.perf_counter() - t
    worker.close()
    print(f"machine     : {machine()}")
    print(f"renderer    : {a.renderer}   objects: {'YCB models from ' + ycb if ycb else 'procedural stand-ins'}")
    print(f"views       : {s.width}x{s.height}, {n} stereo frames of mixed drops at {a.location}")
    print(f"setup       : {setup:.1f} s (assets, renderer start)")
    print(f"end to end  : {n / total:.2f} stereo frames/s ({1000 * total / n:.0f} ms per stereo frame)")
    for name in ("physics", "render", "annotate", "encode + write"):
        print(f"  {name:14s}: {1000 * times[name] / n:7.1f} ms per stereo frame ({100 * times[name] / total:4.1f} %)")
    print(f"render only : {2 * n / times['render']:.2f} views/s ({1000 * times['render'] / (2 * n):.0f} ms per view)")


if __name__ == "__main__":
    main()
