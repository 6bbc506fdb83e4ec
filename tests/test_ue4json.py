"""The UE4 JSON text style: q4 quantisation, %.17g with ties away from zero, layout."""

import hashlib
import json
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fat.formats.ue4json import dumps, f32, g17, q4, quantise

from conftest import REFERENCE_SHA256


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: v != 0))
def test_g17_matches_c_printf_away_from_ties(v):
    # glibc's printf rounds ties to even, MSVC's away from zero; off a tie both print the same text.
    from decimal import Decimal

    digits = Decimal(v).normalize().as_tuple().digits
    if len(digits) > 17 and digits[17] == 5 and all(d == 0 for d in digits[18:]):
        return  # an exact tie: covered by test_g17_rounds_ties_away_from_zero
    assert g17(v) == "%.17g" % v


def test_g17_rounds_ties_away_from_zero():
    v = f32(-36.3954)  # exact value -36.3954010009765625: a tie at 17 significant digits
    assert g17(v) == "-36.395401000976563"
    assert ("%.17g" % v) == "-36.395401000976562"  # half-to-even would give ...62
    big = 160000000000001 / 16  # exactly 10000000000000.0625: a tie of a double, not of a float32
    assert g17(big) == "10000000000000.063" and g17(-big) == "-10000000000000.063"
    assert g17(2.0**60 + 2.0**8) == "1.1529215046068472e+18"  # 1152921504606847232: no tie


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_quantising_an_array_is_q4_of_each_element(values):
    out = quantise(np.array(values))
    assert [str(v) for v in out] == [str(q4(v)) for v in values]  # same bits, -0.0 included


def test_g17_forms():
    assert g17(0) == "0" and g17(0.0) == "0" and g17(-0.0) == "0"
    assert g17(64.0) == "64" and g17(255) == "255"
    assert g17(f32(0.0001)) == "9.9999997473787516e-05"
    with pytest.raises(ValueError):
        g17(float("nan"))


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_q4_is_idempotent_and_close(x):
    y = q4(x)
    assert q4(y) == y
    assert y == f32(y)
    assert abs(y - x) <= 0.00005 + abs(x) * 2 ** -23 + 1e-12
    assert not (y == 0 and math.copysign(1, y) < 0)


@given(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False))
def test_g17_reads_back_exactly(x):
    assert float(g17(x)) == x


def test_layout_rules():
    text = dumps(quantise({"a": {"b": [1, 2.5]}, "c": ["x", "y"], "d": [], "e": [{"f": 1}], "g": np.eye(2)}))
    assert text == (
        '{\n\t"a":\n\t{\n\t\t"b": [ 1, 2.5 ]\n\t},\n\t"c": [\n\t\t"x",\n\t\t"y"\n\t],\n\t"d": [],\n'
        '\t"e": [\n\t\t{\n\t\t\t"f": 1\n\t\t}\n\t],\n\t"g": [\n\t\t[ 1, 0 ],\n\t\t[ 0, 1 ]\n\t]\n}'
    )
    assert json.loads(text)["g"] == [[1, 0], [0, 1]]


@pytest.mark.parametrize("name", sorted(REFERENCE_SHA256))
def test_reference_files_reserialise_byte_for_byte(reference, name):
    raw = reference(name).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == REFERENCE_SHA256[name]
    doc = json.loads(raw)
    assert dumps(quantise(doc)).encode("ascii") == raw


@pytest.mark.parametrize("name", sorted(REFERENCE_SHA256))
def test_every_reference_number_is_q4_stable(reference, name):
    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                yield from walk(x)
        elif isinstance(v, list):
            for x in v:
                yield from walk(x)
        elif isinstance(v, float):
            yield v

    values = list(walk(json.loads(reference(name).read_text())))
    assert values and all(q4(v) == v for v in values)
