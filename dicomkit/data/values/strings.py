"""Validation of string values against their VR (PS3.5 §6.2, Table 6.2-1; PS3.4 C.2.2.2).

Layer: ``dicomkit.data`` value helpers, used by strict writers and by lenient
readers that record findings instead of failing. A value here is one value of a
possibly multi-valued element (already split at backslashes), decoded from its
character set, with trailing padding allowed.

``validate_value(vr, value)`` returns findings (an empty list means valid). A
finding names the rule that is broken, never the value itself, so findings can
be logged without leaking PHI. ``query=True`` checks the forms a C-FIND
identifier may use instead: DA/TM/DT ranges with their longer maxima, and the
``*``/``?`` wildcards in CS.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dicomkit.data.values.datetime import DicomDate, DicomDateTime, DicomTime
from dicomkit.data.values.numbers import IS_MAX, IS_MIN, parse_ds, parse_is
from dicomkit.data.values.person_name import PersonName
from dicomkit.data.values.ranges import parse_range
from dicomkit.data.vr import VR, vr_info
from dicomkit.errors import DecodeError

__all__ = ["validate_value"]

# Maximum lengths in the context of a query with range matching (PS3.5 Table 6.2-1).
_QUERY_MAX_LENGTH = {VR.DA: 18, VR.TM: 28, VR.DT: 54}

# Control characters other than ESC, and backslash (the value delimiter): SH, LO, UC, PN.
_STRING_FORBIDDEN = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f\\]")
# Text VRs (ST, LT, UT) also allow TAB, LF, FF and CR, and keep backslash as a character.
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_AE_FORBIDDEN = re.compile(r"[^\x20-\x5b\x5d-\x7e]")  # default repertoire less backslash
_CS_FORBIDDEN = re.compile(r"[^A-Z0-9 _]")
_CS_QUERY_FORBIDDEN = re.compile(r"[^A-Z0-9 _*?]")
_UR_FORBIDDEN = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")  # RFC 3986 characters
_UI = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
_AS = re.compile(r"[0-9]{3}[DWMY]")
_IS = re.compile(r" *[+-]?[0-9]+ *")
_DS = re.compile(r" *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *")


def _characters(pattern: re.Pattern[str], value: str, what: str) -> list[str]:
    bad = sorted({f"U+{ord(char):04X}" for char in pattern.findall(value)})
    return [f"contains characters not allowed in {what}: {', '.join(bad)}"] if bad else []


def _check_ae(value: str, query: bool) -> list[str]:
    findings = _characters(_AE_FORBIDDEN, value, "AE")
    if value and not value.strip(" "):
        findings.append("AE value consists solely of spaces")
    return findings


def _check_as(value: str, query: bool) -> list[str]:
    return [] if _AS.fullmatch(value) else ["not an age string of the form nnnD, nnnW, nnnM or nnnY"]


def _check_cs(value: str, query: bool) -> list[str]:
    return _characters(_CS_QUERY_FORBIDDEN if query else _CS_FORBIDDEN, value, "CS")


def _check_ds(value: str, query: bool) -> list[str]:
    if _DS.fullmatch(value) is None:
        return ["not a decimal string (fixed or floating point number)"]
    try:
        parse_ds(value)
    except DecodeError:
        return ["decimal string beyond the floating point range"]
    return []


def _check_is(value: str, query: bool) -> list[str]:
    if _IS.fullmatch(value) is None:
        return ["not an integer string"]
    try:
        number = parse_is(value)
    except DecodeError:
        number = IS_MAX + 1
    if not IS_MIN <= number <= IS_MAX:
        return ["integer string out of range -2^31 .. 2^31-1"]
    return []


def _date_time_checker(
    vr: VR, parse: Callable[[str], DicomDate | DicomTime | DicomDateTime], form: str
) -> Callable[[str, bool], list[str]]:
    """Checks DA/TM/DT syntax (and range syntax in a query) in the form writers must use."""

    def check(value: str, query: bool) -> list[str]:
        if value.startswith(" "):
            return ["leading spaces are not allowed"]
        text = value.rstrip(" ")
        if not text:
            return []
        try:
            if query:
                found = parse_range(text, vr)
                low = "" if found.lower is None else found.lower.format()
                high = "" if found.upper is None else found.upper.format()
                canonical = {f"{low}-{high}", found.format()}
            else:
                canonical = {parse(text).format()}
        except DecodeError:  # its reason quotes the value: keep findings free of PHI
            return [f"not a valid {form}{' or range' if query else ''}"]
        if text not in canonical:  # e.g. the legacy ACR-NEMA forms, an empty fraction
            return [f"not in the {form} form"]
        return []

    return check


def _check_pn(value: str, query: bool) -> list[str]:
    return PersonName.from_str(value, strict=False).validate()


def _check_ui(value: str, query: bool) -> list[str]:
    if _UI.fullmatch(value.rstrip("\x00")) is None:
        return ["not a UID: dot-separated numbers without leading zeros"]
    return []


def _check_ur(value: str, query: bool) -> list[str]:
    if value.startswith(" "):
        return ["leading spaces are not allowed"]
    return _characters(_UR_FORBIDDEN, value.rstrip(" "), "UR")


def _string(what: str) -> Callable[[str, bool], list[str]]:
    return lambda value, query: _characters(_STRING_FORBIDDEN, value, what)


def _text(what: str) -> Callable[[str, bool], list[str]]:
    return lambda value, query: _characters(_TEXT_FORBIDDEN, value, what)


_CHECKS: dict[VR, Callable[[str, bool], list[str]]] = {
    VR.AE: _check_ae,
    VR.AS: _check_as,
    VR.CS: _check_cs,
    VR.DA: _date_time_checker(VR.DA, DicomDate.parse, "date YYYYMMDD"),
    VR.DS: _check_ds,
    VR.DT: _date_time_checker(VR.DT, DicomDateTime.parse, "date-time YYYYMMDDHHMMSS.FFFFFF&ZZXX"),
    VR.IS: _check_is,
    VR.LO: _string("LO"),
    VR.LT: _text("LT"),
    VR.PN: _check_pn,
    VR.SH: _string("SH"),
    VR.ST: _text("ST"),
    VR.TM: _date_time_checker(VR.TM, DicomTime.parse, "time HHMMSS.FFFFFF"),
    VR.UC: _string("UC"),
    VR.UI: _check_ui,
    VR.UR: _check_ur,
    VR.UT: _text("UT"),
}


def validate_value(vr: VR | str, value: str, *, query: bool = False) -> list[str]:
    """Findings for one string value of ``vr``; an empty list when it is valid.

    Checks the maximum length (characters; per component group for PN), the
    allowed characters and, for AS, DA, DS, DT, IS, TM and UI, the syntax and
    range. Never raises: a VR that is unknown or has no string values is a finding.
    """
    try:
        known = VR(vr)
    except ValueError:
        return [f"unknown VR {vr!r}"]
    check = _CHECKS.get(known)
    if check is None:
        return [f"VR {known.value} does not hold string values"]
    findings: list[str] = []
    limit = _QUERY_MAX_LENGTH.get(known) if query else None
    limit = limit or vr_info(known).max_length
    if known is not VR.PN and limit is not None and len(value.rstrip(" ")) > limit:
        findings.append(f"value is {len(value.rstrip(' '))} characters long, max {limit} for {known.value}")
    return findings + check(value, query)
