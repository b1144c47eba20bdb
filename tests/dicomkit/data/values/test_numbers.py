"""DS, IS, AS and the binary VRs (PS3.5 Table 6.2-1)."""

from __future__ import annotations

import contextlib
import math
import re
import struct
import sys
import warnings
from decimal import Decimal

import pydicom.valuerep
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomkit.data.tag import Tag
from dicomkit.data.values.numbers import (
    IS_MAX,
    IS_MIN,
    Age,
    AgeUnit,
    format_as,
    format_ds,
    format_is,
    pack_numbers,
    pack_tags,
    parse_as,
    parse_ds,
    parse_ds_decimal,
    parse_is,
    unpack_floats,
    unpack_ints,
    unpack_tags,
)
from dicomkit.errors import DecodeError, EncodeError, InvalidVRError, LengthError

# PS3.5 Table 6.2-1, DS, transcribed independently of the module under test: an optional
# sign, digits with an optional decimal point, an optional E/e exponent; no spaces inside.
DS_SYNTAX = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([Ee][+-]?[0-9]+)?")

finite_floats = st.floats(allow_nan=False, allow_infinity=False)

# ----------------------------------------------------------------------------- DS


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.5", 1.5),
        (" 1.5 ", 1.5),
        ("+1", 1.0),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("   12", 12.0),
        ("-0", 0.0),
        ("1.5\x00", 1.5),
    ],
)
def test_ds_is_parsed(text: str, value: float) -> None:
    assert parse_ds(text) == value
    assert parse_ds(text) == float(pydicom.valuerep.DSfloat(text.rstrip("\x00")))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        ".",
        "+",
        "1,5",
        "1_000",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1e",
        "e3",
        "1 2",
        "0x10",
        "١٢",
        "1e999",
    ],
)
def test_malformed_ds_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_ds(text)


def test_ds_as_decimal_is_exact() -> None:
    assert parse_ds_decimal(" 0.1 ") == Decimal("0.1")
    with pytest.raises(DecodeError):
        parse_ds_decimal("1e99999999999999999999999")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (1 / 3, "0.33333333333333"),
        (100, "100"),
        (1e16, "1e16"),
        (1e-100, "1e-100"),
        (Decimal("1.25"), "1.25"),
        (123456789012345678, "1.23456789012e17"),
    ],
)
def test_ds_formatting_examples(value: float | int | Decimal, text: str) -> None:
    assert format_ds(value) == text


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("1e400"), 10**400])
def test_ds_cannot_hold_non_finite_or_huge_values(value: float | int | Decimal) -> None:
    with pytest.raises(EncodeError):
        format_ds(value)


@given(finite_floats)
def test_formatted_ds_is_valid_and_parses_back_close(value: float) -> None:
    text = format_ds(value)
    assert len(text) <= 16
    assert DS_SYNTAX.fullmatch(text), text
    back = parse_ds(text)
    # 16 characters leave at least 9 significant digits even for '-1.23456789e-300'.
    assert math.isclose(back, value, rel_tol=1e-8, abs_tol=0.0)


@given(finite_floats)
def test_short_floats_round_trip_exactly_without_exponent(value: float) -> None:
    shortest = repr(value)
    if "e" in shortest or len(shortest) > 16:
        return
    text = format_ds(value)
    assert "e" not in text
    assert float(text) == value


@given(st.integers(min_value=-(10**15) + 1, max_value=10**16 - 1))
def test_integers_format_as_plain_digits(value: int) -> None:
    assert format_ds(value) == str(value)


@pytest.mark.parametrize(
    "value", [sys.float_info.max, -sys.float_info.max, 5e-324, -5e-324, 2.2250738585072014e-308]
)
def test_ds_formatting_at_the_float_limits_parses_back(value: float) -> None:
    assert math.isclose(parse_ds(format_ds(value)), value, rel_tol=1e-8)


@given(finite_floats)
def test_formatted_ds_is_valid_for_pydicom(value: float) -> None:
    text = format_ds(value)
    assert pydicom.valuerep.is_valid_ds(text)
    assert float(pydicom.valuerep.DSfloat(text)) == parse_ds(text)


@given(st.text(max_size=30))
def test_ds_parsing_raises_only_decode_error(text: str) -> None:
    try:
        result = parse_ds(text)
    except DecodeError:
        return
    assert math.isfinite(result)


# ----------------------------------------------------------------------------- IS


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("  12 ", 12),
        ("+5", 5),
        ("-5", -5),
        ("007", 7),
        ("10.0", 10),
        ("1e2", 100),
        ("2147483648", 2**31),
    ],
)
def test_is_is_parsed(text: str, value: int) -> None:
    assert parse_is(text) == value


@pytest.mark.parametrize("text", ["", "1.5", "1 2", "abc", "0x10", "9" * 30, "1e30", "١", "1_000"])
def test_malformed_is_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_is(text)


@pytest.mark.parametrize("text", ["12", " 12 ", "+5", "-2147483648", "2147483647", "10.0", "1e2"])
def test_is_agrees_with_pydicom(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the non-integer forms it accepts
        theirs = int(pydicom.valuerep.IS(text))
    assert parse_is(text) == theirs


@given(st.integers(IS_MIN, IS_MAX), st.sampled_from(["", " ", "  "]), st.booleans())
def test_is_round_trips(value: int, pad: str, plus: bool) -> None:
    text = format_is(value)
    assert len(text) <= 12
    if plus and value >= 0:
        text = "+" + text
    assert parse_is(pad + text + pad) == value


@pytest.mark.parametrize("value", [IS_MIN - 1, IS_MAX + 1, 2**63])
def test_is_out_of_range_cannot_be_written(value: int) -> None:
    with pytest.raises(EncodeError):
        format_is(value)


@given(st.text(max_size=30))
def test_is_parsing_raises_only_decode_error(text: str) -> None:
    with contextlib.suppress(DecodeError):
        parse_is(text)


# ----------------------------------------------------------------------------- AS


def test_age_strings() -> None:
    assert parse_as("045Y") == Age(45, AgeUnit.YEARS)
    assert parse_as("003W") == (3, AgeUnit.WEEKS)
    assert format_as(45, "Y") == "045Y"
    assert Age(7, AgeUnit.DAYS).format() == "007D"


@pytest.mark.parametrize("text", ["45Y", "045y", "045", "0450Y", "045X", "", "-45Y"])
def test_malformed_age_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_as(text)


@pytest.mark.parametrize(("number", "unit"), [(-1, "Y"), (1000, "Y"), (5, "X")])
def test_age_that_cannot_be_written(number: int, unit: str) -> None:
    with pytest.raises(EncodeError):
        format_as(number, unit)


@given(st.integers(0, 999), st.sampled_from(list(AgeUnit)))
def test_ages_round_trip(number: int, unit: AgeUnit) -> None:
    assert parse_as(format_as(number, unit)) == (number, unit)


# --------------------------------------------------------------------- binary VRs

INTEGER_RANGES = {
    "SS": (-(2**15), 2**15 - 1),
    "US": (0, 2**16 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "UL": (0, 2**32 - 1),
    "SV": (-(2**63), 2**63 - 1),
    "UV": (0, 2**64 - 1),
    "OB": (0, 255),
    "OW": (0, 2**16 - 1),
    "OL": (0, 2**32 - 1),
    "OV": (0, 2**64 - 1),
}


def test_binary_values_little_and_big_endian() -> None:
    assert unpack_ints("US", b"\x01\x00\x02\x00") == (1, 2)
    assert unpack_ints("US", b"\x00\x01\x00\x02", little_endian=False) == (1, 2)
    assert unpack_ints("SS", b"\xff\xff") == (-1,)
    assert unpack_floats("FD", struct.pack("<d", 1.5)) == (1.5,)
    assert unpack_floats("FL", struct.pack(">f", -2.0), little_endian=False) == (-2.0,)
    assert pack_numbers("UL", [1], little_endian=False) == b"\x00\x00\x00\x01"
    assert unpack_ints("US", b"") == ()


@st.composite
def integer_values(draw: st.DrawFn) -> tuple[str, list[int]]:
    vr = draw(st.sampled_from(sorted(INTEGER_RANGES)))
    low, high = INTEGER_RANGES[vr]
    return vr, draw(st.lists(st.integers(low, high), max_size=8))


@given(integer_values(), st.booleans())
def test_integer_vrs_round_trip(case: tuple[str, list[int]], little: bool) -> None:
    vr, values = case
    assert unpack_ints(vr, pack_numbers(vr, values, little_endian=little), little_endian=little) == tuple(
        values
    )


@given(st.sampled_from(["FD", "OD"]), st.lists(finite_floats, max_size=8), st.booleans())
def test_double_vrs_round_trip(vr: str, values: list[float], little: bool) -> None:
    assert unpack_floats(vr, pack_numbers(vr, values, little_endian=little), little_endian=little) == tuple(
        values
    )


def test_binary_length_must_be_a_multiple_of_the_value_size() -> None:
    with pytest.raises(LengthError):
        unpack_ints("UL", b"\x00\x00\x00")
    with pytest.raises(LengthError):
        unpack_tags(b"\x10\x00")


def test_binary_accessor_must_match_the_vr() -> None:
    with pytest.raises(InvalidVRError):
        unpack_ints("FL", b"\x00\x00\x00\x00")
    with pytest.raises(InvalidVRError):
        unpack_floats("UL", b"\x00\x00\x00\x00")
    with pytest.raises(InvalidVRError):
        unpack_ints("CS", b"AB")
    with pytest.raises(InvalidVRError):
        unpack_ints("XX", b"AB")


@pytest.mark.parametrize(("vr", "values"), [("US", [70000]), ("SS", [-40000]), ("UL", [-1]), ("FL", [1e300])])
def test_values_that_do_not_fit_cannot_be_packed(vr: str, values: list[int] | list[float]) -> None:
    with pytest.raises(EncodeError):
        pack_numbers(vr, values)


def test_at_values() -> None:
    assert unpack_tags(b"\x10\x00\x20\x00") == (Tag(0x00100020),)
    assert unpack_tags(b"\x00\x10\x00\x20", little_endian=False) == (Tag(0x00100020),)
    assert pack_tags([0x7FE00010]) == b"\xe0\x7f\x10\x00"
    with pytest.raises(EncodeError):
        pack_tags([2**32])


@given(st.lists(st.integers(0, 2**32 - 1), max_size=8), st.booleans())
def test_at_round_trips(tags: list[int], little: bool) -> None:
    assert unpack_tags(pack_tags(tags, little_endian=little), little_endian=little) == tuple(tags)
