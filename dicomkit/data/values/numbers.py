"""Numeric values: DS, IS and AS strings, and the binary VRs (PS3.5 §6.2, Table 6.2-1).

Layer: ``dicomkit.data`` value helpers, under the element/dataset accessors.

::

    DS   [+-]digits[.digits][(E|e)[+-]digits]   16 bytes max, spaces around allowed
    IS   [+-]digits   in -2^31 .. 2^31-1         12 bytes max, spaces around allowed
    AS   nnnD | nnnW | nnnM | nnnY               exactly 4 bytes
    FL FD SS US SL UL SV UV, OB OW OF OD OL OV UN   fixed-size binary, little/big endian
    AT   pairs of uint16: (group, element)

Readers are lenient where the meaning is still clear (an IS written ``"10.0"``
is read as 10, as pydicom does; out-of-range IS values are read) and strict
where it is not (``"1.5"`` as IS, ``"NaN"`` as DS, a binary length that is not a
multiple of the value size). Writers only produce values that are valid for
their VR. Malformed input raises :class:`~dicomkit.errors.DecodeError`, values
that cannot be written :class:`~dicomkit.errors.EncodeError`.
"""

from __future__ import annotations

import enum
import math
import re
import struct
import sys
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import NamedTuple

from dicomkit.data.tag import Tag
from dicomkit.data.vr import VR, VRKind, vr_info
from dicomkit.errors import DecodeError, EncodeError, InvalidVRError, LengthError

__all__ = [
    "IS_MAX",
    "IS_MIN",
    "Age",
    "AgeUnit",
    "format_as",
    "format_ds",
    "format_is",
    "pack_numbers",
    "pack_tags",
    "parse_as",
    "parse_ds",
    "parse_ds_decimal",
    "parse_is",
    "unpack_floats",
    "unpack_ints",
    "unpack_tags",
]

#: PS3.5 Table 6.2-1, IS: "-2^31 <= n <= (2^31 - 1)".
IS_MIN = -(2**31)
IS_MAX = 2**31 - 1
_DS_MAX_LENGTH = 16
# Readers accept IS values beyond the VR's range but within a 64-bit integer; past that
# the text is not an integer anyone meant (and huge ints cost memory and time).
_IS_READ_LIMIT = 2**63

_DS = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_IS = re.compile(r"[+-]?[0-9]+")
_AS = re.compile(r"([0-9]{3})([DWMY])")
_FLOAT_MAX = Decimal(sys.float_info.max)


def _strip(text: str) -> str:
    # DS and IS may be padded with leading and trailing spaces; some writers pad with NUL.
    return text.rstrip("\x00 ").lstrip(" ")


# ------------------------------------------------------------------------------- DS


def parse_ds_decimal(text: str) -> Decimal:
    """A DS value as an exact ``Decimal``; DecodeError if it is not DS syntax."""
    value = _strip(text)
    if _DS.fullmatch(value) is None:
        raise DecodeError(f"not a DS value: {text!r}")
    try:
        return Decimal(value)
    except InvalidOperation:  # an exponent beyond what Decimal can hold
        raise DecodeError(f"DS value out of range: {text!r}") from None


def parse_ds(text: str) -> float:
    """A DS value as a ``float``; DecodeError if malformed or beyond the float range."""
    value = _strip(text)
    if _DS.fullmatch(value) is None:
        raise DecodeError(f"not a DS value: {text!r}")
    result = float(value)
    if math.isinf(result):
        raise DecodeError(f"DS value out of floating point range: {text!r}")
    return result


def _trim_fixed(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _compact_exponent(text: str) -> str:
    mantissa, _, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{exponent.lstrip('+')}"


def _best_exponent_form(exact: Decimal) -> str:
    for digits in range(_DS_MAX_LENGTH - 1, -1, -1):
        text = _compact_exponent(format(exact, f".{digits}e"))
        if len(text) <= _DS_MAX_LENGTH:
            return text
    raise EncodeError(f"cannot write {exact} as DS")  # unreachable: '1e-999999999' fits


def format_ds(value: float | int | Decimal) -> str:
    """The most accurate DS text of at most 16 characters for ``value``.

    Fixed-point notation unless exponent notation is strictly more accurate (very
    large or very small magnitudes). The result always parses back (``parse_ds``)
    to a finite float. Raises EncodeError for NaN, infinities and values beyond
    the float range.
    """
    try:
        exact = Decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        raise EncodeError(f"not a number: {value!r}") from None
    if not exact.is_finite():
        raise EncodeError(f"DS cannot hold {value!r}")
    if exact.is_zero():
        return "0"
    if abs(exact) > _FLOAT_MAX:
        raise EncodeError(f"DS value beyond the floating point range: {value!r}")
    with localcontext() as ctx:
        # Exact arithmetic for the error comparison: a float's exact decimal has < 800 digits.
        ctx.prec = 1000
        ctx.rounding = ROUND_HALF_EVEN
        best: str | None = None
        if exact.adjusted() < _DS_MAX_LENGTH:  # the integer part fits in fixed notation
            for places in range(_DS_MAX_LENGTH, -1, -1):
                text = _trim_fixed(format(exact, f".{places}f"))
                if len(text) <= _DS_MAX_LENGTH:
                    best = text
                    break
        scientific = _best_exponent_form(exact)
        if math.isinf(float(scientific)):  # rounded up past the float maximum
            ctx.rounding = ROUND_DOWN
            scientific = _best_exponent_form(exact)
        if best is None or abs(Decimal(scientific) - exact) < abs(Decimal(best) - exact):
            best = scientific
    return best


# ------------------------------------------------------------------------------- IS


def parse_is(text: str) -> int:
    """An IS value as an ``int``.

    Also reads integral decimal forms (``"10.0"``, ``"1e2"``) as pydicom does, and
    values outside the IS range (strict writers reject those; see
    ``strings.validate_value``). DecodeError for anything else, including
    non-integral numbers and magnitudes of 2^63 or more.
    """
    value = _strip(text)
    if _IS.fullmatch(value) is not None:
        digits = value.lstrip("+-").lstrip("0")
        if len(digits) > 19:
            raise DecodeError(f"IS value out of range: {text!r}")
        result = int(value)
    elif _DS.fullmatch(value) is not None:
        number = parse_ds_decimal(value)
        if number.adjusted() > 19:
            raise DecodeError(f"IS value out of range: {text!r}")
        if number != number.to_integral_value():
            raise DecodeError(f"IS value is not an integer: {text!r}")
        result = int(number)
    else:
        raise DecodeError(f"not an IS value: {text!r}")
    if not -_IS_READ_LIMIT <= result < _IS_READ_LIMIT:
        raise DecodeError(f"IS value out of range: {text!r}")
    return result


def format_is(value: int) -> str:
    """IS text for ``value``; EncodeError outside -2^31 .. 2^31-1."""
    if not isinstance(value, int):
        raise EncodeError(f"IS needs an integer, not {type(value).__name__}")
    if not IS_MIN <= value <= IS_MAX:
        raise EncodeError(f"IS value {value} out of range -2^31 .. 2^31-1")
    return str(int(value))


# ------------------------------------------------------------------------------- AS


class AgeUnit(enum.StrEnum):
    """The unit letter of an Age String."""

    DAYS = "D"
    WEEKS = "W"
    MONTHS = "M"
    YEARS = "Y"


class Age(NamedTuple):
    """An AS value: ``Age(45, AgeUnit.YEARS)`` is ``"045Y"``."""

    number: int
    unit: AgeUnit

    def format(self) -> str:
        return format_as(self.number, self.unit)


def parse_as(text: str) -> Age:
    """An AS value (``nnnD``, ``nnnW``, ``nnnM`` or ``nnnY``) as ``(number, unit)``."""
    match = _AS.fullmatch(text.rstrip("\x00 "))
    if match is None:
        raise DecodeError(f"not an AS value: {text!r}")
    return Age(int(match[1]), AgeUnit(match[2]))


def format_as(number: int, unit: AgeUnit | str) -> str:
    """AS text; EncodeError for a number outside 0..999 or an unknown unit."""
    if not isinstance(number, int) or not 0 <= number <= 999:
        raise EncodeError(f"AS number must be an integer in 0..999, not {number!r}")
    try:
        letter = AgeUnit(unit)
    except ValueError:
        raise EncodeError(f"AS unit must be D, W, M or Y, not {unit!r}") from None
    return f"{number:03d}{letter.value}"


# --------------------------------------------------------------------- binary VRs


def _binary_format(vr: VR | str, kind: str, size: int, *, little_endian: bool) -> str:
    try:
        info = vr_info(vr)
    except (KeyError, ValueError):
        raise InvalidVRError(f"unknown VR {vr!r}") from None
    is_float = info.struct_code in ("f", "d")
    if info.kind not in (VRKind.NUMBER, VRKind.BYTES) or is_float != (kind == "float"):
        raise InvalidVRError(f"VR {info.vr.value} does not hold {kind} values")
    if size % info.item_size:
        raise LengthError(f"{size} bytes is not a multiple of {info.item_size} for VR {info.vr.value}")
    return f"{'<' if little_endian else '>'}{size // info.item_size}{info.struct_code}"


def unpack_ints(vr: VR | str, data: bytes, *, little_endian: bool = True) -> tuple[int, ...]:
    """The integers of an SS, US, SL, UL, SV, UV, OB, OW, OL, OV or UN value."""
    code = _binary_format(vr, "integer", len(data), little_endian=little_endian)
    return tuple(struct.unpack(code, data))


def unpack_floats(vr: VR | str, data: bytes, *, little_endian: bool = True) -> tuple[float, ...]:
    """The floats of an FL, FD, OF or OD value (NaN and infinities are passed through)."""
    code = _binary_format(vr, "float", len(data), little_endian=little_endian)
    return tuple(struct.unpack(code, data))


def pack_numbers(
    vr: VR | str, values: Sequence[int] | Sequence[float], *, little_endian: bool = True
) -> bytes:
    """Encode numbers with ``vr``'s binary layout; EncodeError if one does not fit."""
    try:
        info = vr_info(vr)
    except (KeyError, ValueError):
        raise InvalidVRError(f"unknown VR {vr!r}") from None
    kind = "float" if info.struct_code in ("f", "d") else "integer"
    code = _binary_format(vr, kind, len(values) * info.item_size, little_endian=little_endian)
    try:
        return struct.pack(code, *values)
    except (struct.error, OverflowError, TypeError) as exc:
        raise EncodeError(f"cannot encode values as {info.vr.value}: {exc}") from None


def unpack_tags(data: bytes, *, little_endian: bool = True) -> tuple[Tag, ...]:
    """The tags of an AT value: each is a group uint16 followed by an element uint16."""
    if len(data) % 4:
        raise LengthError(f"AT value length {len(data)} is not a multiple of 4")
    halves = struct.unpack(f"{'<' if little_endian else '>'}{len(data) // 2}H", data)
    return tuple(Tag(halves[i], halves[i + 1]) for i in range(0, len(halves), 2))


def pack_tags(tags: Iterable[int], *, little_endian: bool = True) -> bytes:
    """Encode tags as an AT value; EncodeError for a number that is not a 32-bit tag."""
    halves: list[int] = []
    for tag in tags:
        if not isinstance(tag, int) or not 0 <= tag <= 0xFFFFFFFF:
            raise EncodeError(f"not a tag: {tag!r}")
        halves += (tag >> 16, tag & 0xFFFF)
    return struct.pack(f"{'<' if little_endian else '>'}{len(halves)}H", *halves)
