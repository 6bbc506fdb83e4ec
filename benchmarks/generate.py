"""End-to-end generation speed against the renderer's own speed on the same views.

    python benchmarks/generate.py [--workers N] [--renderer gl|tiny|egl] [--objects DIR | --standins]
                                  [--frames N] [--location kitchen_0] [--width W --height H] [--randomize]

1. End to end: ``fat.run.generate`` makes ``--frames`` stereo frames of mixed drops at one
   location with ``--workers`` processes (default: one per core), every file written, into a
   temporary folder. Its own clock covers the drops (worker start-up included, the parent's renderer
   probe not). Peak memory: the largest resident set of any worker process.
2. Render only: one renderer in this process (Mesa's default of one rasteriser thread per core)
   renders the same views (the same drops simulated again: same seed, same poses) and nothing else.
3. Stages: the CPU time of each stage, one after another in this process: physics (while collecting
   the views), rendering, annotation, encoding and writing.

``--randomize``: the mixed drops domain-randomized with the default randomizers (fat.randomize:
backgrounds, materials, 1-4 lights, 0-6 distractors).

Uses real YCB models from ../shared/ycb when present and neither --objects nor --standins is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from fat.annotate.views import annotate_view
from fat.formats import fat as fatfmt
from fat.run.plan import plan
from fat.run.driver import generate
from fat.settings import Settings
from fat.run.resolve import object_set, resolve
from fat.run.worker import Worker


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


def peak_rss_mb(workers: int) -> float:
    who = resource.RUSAGE_CHILDREN if workers > 1 else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--renderer", default="gl")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--objects", default=None)
    ap.add_argument("--standins", action="store_true", help="use the procedural stand-ins even if ../shared/ycb exists")
    ap.add_argument("--location", default="kitchen_0")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=540)
    ap.add_argument("--randomize", action="store_true", help="domain-randomize the drops (the default randomizers)")
    a = ap.parse_args()
    ycb = a.objects
    shared = Path(__file__).resolve().parents[2] / "shared" / "ycb"
    if ycb is None and not a.standins and shared.is_dir():
        ycb = str(shared)
    scene, _, loc = a.location.rpartition("_")
    s = resolve(Settings(scenes=(scene,), locations=(int(loc),), mixed_frames=a.frames, renderer=a.renderer,
                          object_source=ycb, width=a.width, height=a.height,
                          randomize={"all": True} if a.randomize else {}))

    with tempfile.TemporaryDirectory() as tmp:
        summary = generate(s, Path(tmp) / "out", workers=a.workers, notify=lambda m: None)
    end_to_end = summary["frames"] / summary["seconds"]
    peak = peak_rss_mb(a.workers)

    # the same views again, rendered alone; then the other stages on their own
    worker = Worker(s)
    stage = dict.fromkeys(("physics", "render", "render cpu", "annotate", "encode + write"), 0.0)
    views = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for drop in plan(s, object_set(s))[1]:
            (root / drop.folder).mkdir(parents=True, exist_ok=True)
            frames = worker.scenes(drop)
            while True:
                t = time.process_time()
                frame = next(frames, None)
                stage["physics"] += time.process_time() - t
                if frame is None:
                    break
                for eye, T_cam in frame.rig.eyes():
                    t, c = time.perf_counter(), time.process_time()
                    out = worker.renderer.render(frame, eye)
                    stage["render"] += time.perf_counter() - t
                    stage["render cpu"] += time.process_time() - c
                    views += 1
                    c = time.process_time()
                    view, seg, inst = annotate_view(frame.objects, T_cam, worker.K, out.instance)
                    stage["annotate"] += time.process_time() - c
                    c = time.process_time()
                    fatfmt.write_view(root / drop.folder, frame.index, eye, view, out.rgb, out.depth, seg, inst, s.jpeg_quality)
                    stage["encode + write"] += time.process_time() - c
    device = getattr(worker.renderer, "device", "")
    worker.close()
    render_only = views / 2 / stage["render"]

    n = views / 2
    print(f"machine       : {machine()}")
    print(f"renderer      : {summary['renderer']} {device}".rstrip())
    print(f"objects       : {'YCB models from ' + ycb if ycb else 'procedural stand-ins'}")
    print(f"views         : {s.width}x{s.height}, {summary['frames']} stereo frames of {'randomized ' if a.randomize else ''}mixed drops at {a.location}, all files written")
    print(f"end to end    : {end_to_end:.2f} stereo frames/s with {a.workers} worker(s) "
          f"({summary['seconds']:.1f} s, worker start-up included)")
    print(f"render only   : {render_only:.2f} stereo frames/s (one renderer, same views, nothing else)")
    print(f"end to end / render only: {100 * end_to_end / render_only:.0f} %")
    print(f"peak memory   : {peak:.0f} MB per worker (largest resident set)")
    print("stages, one after another in one process (CPU ms per stereo frame):")
    for name in ("physics", "render cpu", "annotate", "encode + write"):
        print(f"  {name:15s}: {1000 * stage[name] / n:6.1f}")
    print(f"  (render wall  : {1000 * stage['render'] / n:6.1f} ms per stereo frame)")


if __name__ == "__main__":
    main()
