"""``fat export bop`` against ``fat generate`` on the same dataset, both from the shell as a user runs them.

    python benchmarks/export_bop.py [--renderer gl] [--out DIR] [--keep] [--dataset DIR] [-- GENERATE ARGS...]

1. ``fat generate OUT`` (by default the README's command: 60 stereo frames of mixed drops at the
   three scenes' location 0, 960 x 540) with ``--renderer``, in a child process.
2. ``fat export bop OUT OUT-bop --renderer ...`` of that dataset, in a child process.

For each: wall time and CPU time (user + system of the child and its own children), then the
export's time over the generation's. ``--dataset DIR`` exports an existing dataset instead of
generating one (no generation figures then); arguments after ``--`` go to ``fat generate``
(for example ``-- --scene kitchen --frames 10``). The folders are made under ``--out`` (default: a
temporary folder, removed at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import machine  # benchmarks/generate.py: the machine named as every figure names it

FAT = [sys.executable, "-m", "fat.cli.main"]


def timed(args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, last line of output) of ``fat ARGS`` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(FAT + args, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:
        sys.exit(f"fat {' '.join(args)} failed:\n{r.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = r.stdout.strip().splitlines()  # the summary (progress goes to standard error)
    return wall, cpu, lines[-1] if lines else ""


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--renderer", default="gl")
    ap.add_argument("--out", type=Path, default=None, help="folder for the dataset and the export")
    ap.add_argument("--keep", action="store_true", help="keep the dataset and the export")
    ap.add_argument("--dataset", type=Path, default=None, help="export this dataset instead of generating one")
    a = ap.parse_args(argv)
    root = a.out or Path(tempfile.mkdtemp(prefix="fat-export-bop-"))
    root.mkdir(parents=True, exist_ok=True)
    ds, bop = a.dataset or root / "ds", root / "bop"
    shutil.rmtree(bop, ignore_errors=True)
    try:
        print(f"machine  : {machine()}")
        gen = None
        if a.dataset is None:
            shutil.rmtree(ds, ignore_errors=True)
            args = ["generate", str(ds), "--renderer", a.renderer, *extra]
            gen = timed(args)
            print(f"generate : {gen[0]:7.1f} s wall, {gen[1]:7.1f} s CPU   (fat {' '.join(args[:1] + args[2:])})")
            print(f"           {gen[2]}")
        args = ["export", "bop", str(ds), str(bop), "--renderer", a.renderer]
        exp = timed(args)
        print(f"export   : {exp[0]:7.1f} s wall, {exp[1]:7.1f} s CPU   (fat export bop DS OUT --renderer {a.renderer})")
        print(f"           {exp[2]}")
        if gen is not None:
            print(f"export / generate: {exp[0] / gen[0]:.2f} wall, {exp[1] / gen[1]:.2f} CPU")
    finally:
        if a.out is None and not a.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
