"""Start-up and cost growth of ``fat generate``, from the shell as a user runs it.

    python benchmarks/startup.py [--renderer gl|tiny] [--out DIR]

Prints, for a 1-frame run at 1, 5 and 15 locations: seconds from the command's start to its first
line (the plan) and to its end; a refusal (other settings) and the rerun of a
finished dataset; then ``--dry-run`` of plans of 100, 10,000, 61,500 and 1,000,000 frames (plan and
check time and peak memory) and the resume scan of a finished dataset.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import machine  # benchmarks/generate.py

FAT = [sys.executable, "-m", "fat.cli.main"]


def timed(args: list[str]) -> tuple[float, float, int, str]:
    """(seconds to the first line of output, seconds in all, exit code, that line): the plan on
    standard output, or a refusal's one line on standard error."""
    t0 = time.perf_counter()
    p = subprocess.Popen(FAT + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = p.stdout.readline()
    t_first = time.perf_counter() - t0
    p.communicate()
    return t_first, time.perf_counter() - t0, p.returncode, first.strip()


PEAK = ("import resource, sys\nfrom fat.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")


def peak_mb(args: list[str]) -> tuple[float, float]:
    """(seconds, peak resident memory in MB) of one command in a process of its own."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True, check=True)
    dt = time.perf_counter() - t0
    return dt, int(r.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--renderer", default="gl")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    root = a.out or Path(tempfile.mkdtemp(prefix="fat-startup-"))
    common = ["--frames", "1", "--renderer", a.renderer, "--quiet"]
    print("| run | first line, s | total, s |\n|---|---|---|")
    for n in (1, 5, 15):
        scenes = ["kitchen"] if n < 15 else ["kitchen", "kitedemo", "temple"]
        locs = ["0"] if n == 1 else ["0", "1", "2", "3", "4"]
        args = [a for sc in scenes for a in ("--scene", sc)] + [a for i in locs for a in ("--location", i)]
        out = root / f"loc{n}"
        shutil.rmtree(out, ignore_errors=True)
        t1, t, rc, line = timed(["generate", str(out), *args, *common])
        print(f"| 1 frame at {n} location{'s' if n > 1 else ''} | {t1:.2f} | {t:.2f} |")
        t1, t, rc, line = timed(["generate", str(out), *args, *common])
        print(f"| its rerun (finished) | {t1:.2f} | {t:.2f} |")
        t1, t, rc, line = timed(["generate", str(out), *args, *common, "--seed", "9"])
        assert rc != 0, line
        print(f"| its rerun with another seed (refused) | {t1:.2f} | {t:.2f} |")
    print("\n| plan | dry run, s | peak memory, MB |\n|---|---|---|")
    for frames, extra in ((100, ["--scene", "kitchen", "--frames", "100"]),
                          (10_000, ["--kind", "both", "--scene", "kitchen", "--location", "0", "--location", "1",
                                    "--frames", "217"]),
                          (61_500, ["--preset", "fat"]),
                          (1_000_000, ["--scene", "kitchen", "--frames", "1000000", "--frames-per-drop", "100"])):
        dt, mb = peak_mb(["generate", str(root / "dry"), *extra, "--dry-run", "--renderer", a.renderer])
        print(f"| {frames:,} frames | {dt:.2f} | {mb:.0f} |")
    out = root / "resume"
    subprocess.run(FAT + ["generate", str(out), "--scene", "kitchen", "--frames", "200", "--frames-per-drop", "2",
                          "--width", "64", "--height", "48", "--renderer", "tiny", "--quiet"], check=True)
    t1, t, rc, _ = timed(["generate", str(out), "--scene", "kitchen", "--frames", "200", "--frames-per-drop", "2",
                          "--width", "64", "--height", "48", "--renderer", "tiny", "--quiet"])
    print(f"\nresume scan of a finished dataset of 100 drops, 200 frames: {t:.2f} s")
    if a.out is None:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nmachine: {machine()}")


if __name__ == "__main__":
    main()
