"""What a plan will cost before it runs: disk use and time, for ``fat generate --dry-run`` and
the plan line every run starts with.

Time comes from the rate this machine last measured for the renderer (every finished run records
its stereo frames per second and worker, at its image size, in the cache folder's ``rates.json``),
else from the reference rates of :data:`REFERENCE_RATES`; both are scaled by the image's pixels and
the number of workers.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ..assets.cache import cache_dir
from ..errors import OutputError
from ..fileio import write_text_atomic

#: Bytes of one stereo frame's ten files per pixel of one image: JPEG 95, 16-bit depth, segmentation
#: and instance PNGs of both eyes (JSON aside). Measured on FAT's 960 x 540 frames: 0.45 to 0.65 MB.
BYTES_PER_PIXEL = 1.15
#: Bytes of one eye's JSON per listed object and of its camera part (FAT's text style).
JSON_BYTES_PER_OBJECT, JSON_BYTES = 1_250, 900
#: Stereo frames per second of one worker at 960 x 540 with FAT's stand-ins on a 2-core machine
#: without a GPU (docs/performance.md), when this machine has measured none.
REFERENCE_RATES = {"gl": 7.0, "tiny": 1.1, "egl": 3.1}
REFERENCE_PIXELS = 960 * 540
RATES_FILE = "rates.json"


@dataclass(frozen=True)
class Estimate:
    bytes: int
    seconds: float | None  # None: no rate known for the renderer
    source: str  # where the rate comes from


def _rates() -> dict:
    try:
        doc = json.loads((cache_dir() / RATES_FILE).read_text("utf-8"))
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def record_rate(renderer: str, width: int, height: int, frames: int, seconds: float, workers: int) -> None:
    """Remember a finished run's rate (stereo frames/s per worker, per pixel) for later estimates;
    a cache that cannot be written is left as it is."""
    if frames < 1 or seconds <= 0 or workers < 1:
        return
    rates = _rates()
    rates[renderer] = {"frames_per_second": frames / seconds / workers, "pixels": width * height,
                       "frames": frames, "date": time.strftime("%Y-%m-%d")}
    path = cache_dir() / RATES_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(rates, indent=1) + "\n")
    except (OSError, OutputError):
        pass


def estimate(frames: int, objects_per_frame: float, width: int, height: int, renderer: str, workers: int = 1) -> Estimate:
    """Disk use and time of ``frames`` stereo frames (``objects_per_frame`` listed objects on average)."""
    pixels = width * height
    size = frames * (pixels * BYTES_PER_PIXEL + 2 * (JSON_BYTES + objects_per_frame * JSON_BYTES_PER_OBJECT))
    known = _rates().get(renderer)
    if isinstance(known, dict) and isinstance(known.get("frames_per_second"), (int, float)) and known.get("pixels"):
        rate = known["frames_per_second"] * known["pixels"] / pixels
        source = f"from this machine's rate of {known['date']}, over {known['frames']} frames"
    elif renderer in REFERENCE_RATES:
        rate = REFERENCE_RATES[renderer] * REFERENCE_PIXELS / pixels
        source = "from reference rates of a 2-core machine without a GPU; a finished run records this machine's"
    else:
        return Estimate(int(size), None, f"no rate known for renderer {renderer}")
    return Estimate(int(size), frames / (rate * max(1, workers)), source)


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s // 3600:.0f} h {s % 3600 / 60:.0f} min"
    return f"{s / 86400:.1f} days"
