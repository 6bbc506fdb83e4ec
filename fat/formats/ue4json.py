"""JSON text exactly as Unreal Engine 4's pretty JSON writer prints it (the style of every FAT file).

Three rules make FAT's bytes (FAT_FORMAT.md section 10):

* every float is quantised by :func:`q4` (NDDS ``ConvertFloatWithPrecision4``: 4 decimals, float32);
* every number is printed by :func:`g17`, C's ``%.17g`` with ties rounded away from zero;
* layout by :func:`dumps`: tab indentation, numeric arrays inline, no newline after the last brace.

:func:`dumps` prints numbers as given; callers quantise with :func:`q4` first (see
:func:`quantise`), so that integers such as ids and image sizes stay integers.
"""

from __future__ import annotations

import json
import math
import struct
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

__all__ = ["f32", "q4", "g17", "quantise", "dumps"]


def f32(x: float) -> float:
    """Round a double to the nearest float32 and widen it back."""
    return struct.unpack("<f", struct.pack("<f", float(x)))[0]


def q4(x: float) -> float:
    """NDDS's 4-decimal quantisation: ``float32(floor(float32(x) * 10000 + 0.5) / 10000)``.

    UE4's ``RoundToDouble`` is ``floor(d + 0.5)``, so ties go towards +infinity, and values in
    [-0.00005, 0] become +0 (never -0).
    """
    v = math.floor(f32(x) * 10000.0 + 0.5) / 10000.0
    return f32(v) + 0.0  # + 0.0 turns a -0.0 into +0.0


def q4_array(a: np.ndarray) -> np.ndarray:
    """:func:`q4` of every element (the same IEEE operations, so the same bits), as float64."""
    v = np.floor(np.asarray(a, dtype=np.float32).astype(np.float64) * 10000.0 + 0.5) / 10000.0
    return v.astype(np.float32).astype(np.float64) + 0.0


def g17(x: float) -> str:
    """``printf("%.17g", x)`` with ties rounded half away from zero (the MSVC runtime's rounding)."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("booleans are not numbers in FAT JSON")
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot write {x!r} in FAT JSON")
    if x == 0:
        return "0"
    if not _tie17(x):  # Python's %.17g rounds the exact value correctly; only ties differ
        return "%.17g" % x
    return _g17_exact(x)


def _tie17(x: float) -> bool:
    """Whether the exact decimal value of ``x`` lies half-way between two 17-digit numbers.

    A double with a fraction is n / 2**j (n odd, j > 0); its exact decimal is n * 5**j / 10**j,
    whose last digit is 5, so it is a tie at 17 digits exactly when n * 5**j has 18 digits. Integers
    of 18 digits or more are left to the exact path (none of them is a tie, but it costs nothing)."""
    n, d = x.as_integer_ratio()
    n = abs(n)
    if d == 1:
        return n >= 10**17
    j = d.bit_length() - 1
    return 10**17 <= n * 5**j < 10**18


def _g17_exact(x: float) -> str:
    d = Decimal(x)  # the exact value of the double
    e = d.adjusted()
    q = d.quantize(Decimal(1).scaleb(e - 16), rounding=ROUND_HALF_UP)
    if q.adjusted() != e:  # rounding carried into the next decade
        e = q.adjusted()
        q = d.quantize(Decimal(1).scaleb(e - 16), rounding=ROUND_HALF_UP)
    if -4 <= e < 17:  # %g chooses fixed notation
        s = format(q, "f")
        return s.rstrip("0").rstrip(".") if "." in s else s
    m = format(q.scaleb(-e), "f")
    m = m.rstrip("0").rstrip(".") if "." in m else m
    return f"{m}e{'-' if e < 0 else '+'}{abs(e):02d}"


def quantise(obj: Any) -> Any:
    """Apply :func:`q4` to every float (and float array) inside ``obj``; ints and strings pass.

    numpy arrays become nested lists; integer-valued numpy scalars stay integers.
    """
    if isinstance(obj, dict):
        return {k: quantise(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return q4_array(obj).tolist() if obj.dtype.kind == "f" else obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [quantise(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        return q4(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _scalar(v: Any) -> str:
    if isinstance(v, str):
        if not v.isascii():
            raise ValueError(f"FAT JSON strings are ASCII: {v!r}")
        return json.dumps(v)
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if v is None:
        return "null"
    return g17(v)


def dumps(obj: dict, newline: str = "\n") -> str:
    """Serialise ``obj`` (key order kept) in the layout of UE4's ``TPrettyJsonPrintPolicy``."""
    out: list[str] = []
    nl = newline

    def members(d: dict, ind: int) -> None:  # members of an object whose braces sit at indent ind
        for n, (k, v) in enumerate(d.items()):
            out.append(("," if n else "") + nl + "\t" * (ind + 1) + json.dumps(k) + ":")
            if isinstance(v, dict):
                out.append(nl + "\t" * (ind + 1) + "{")
                members(v, ind + 1)
                out.append(nl + "\t" * (ind + 1) + "}")
            elif isinstance(v, (list, tuple)):
                out.append(" ")
                array(v, ind + 1)
            else:
                out.append(" " + _scalar(v))

    def array(a: list, ind: int) -> None:  # ind = indent of the line holding '['
        if not a:
            out.append("[]")
        elif all(_is_number(x) for x in a):
            out.append("[ " + ", ".join(g17(x) for x in a) + " ]")
        else:
            out.append("[")
            for n, x in enumerate(a):
                out.append(("," if n else "") + nl + "\t" * (ind + 1))
                if isinstance(x, dict):
                    out.append("{")
                    members(x, ind + 1)
                    out.append(nl + "\t" * (ind + 1) + "}")
                elif isinstance(x, (list, tuple)):
                    array(x, ind + 1)
                else:
                    out.append(_scalar(x))
            out.append(nl + "\t" * ind + "]")

    out.append("{")
    members(obj, 0)
    out.append(nl + "}")
    return "".join(out)
