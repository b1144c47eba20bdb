"""Query ranges of DA, TM and DT values (PS3.4 C.2.2.2.5): ``A-B``, ``-B``, ``A-``.

A single value is a range covering its own precision (``2024`` as DT is the whole year).
Bounds are the value objects of :mod:`dicomkit.data.values.datetime`; matching compares
against their ``lower()`` and ``upper()`` instants.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar, overload

from dicomkit.data.values.datetime import DicomDate, DicomDateTime, DicomTime
from dicomkit.data.vr import VR
from dicomkit.errors import DecodeError

__all__ = ["DateRange", "DateTimeRange", "TimeRange", "parse_range"]


def _aware(value: _dt.datetime, local_offset: _dt.timedelta) -> _dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone(local_offset))


@dataclass(frozen=True, slots=True)
class DateRange:
    """A DA query: ``A-B``, ``-B``, ``A-`` or a single date (``lower == upper``)."""

    lower: DicomDate | None
    upper: DicomDate | None

    def __post_init__(self) -> None:
        if self.lower is None and self.upper is None:
            raise DecodeError("a range needs at least one bound")
        if self.lower is not None and self.upper is not None and self.lower.lower() > self.upper.upper():
            raise DecodeError(f"range lower bound {self.lower} is after upper bound {self.upper}")

    def lower_bound(self) -> _dt.date | None:
        return None if self.lower is None else self.lower.lower()

    def upper_bound(self) -> _dt.date | None:
        return None if self.upper is None else self.upper.upper()

    def contains(self, value: _dt.date) -> bool:
        low, high = self.lower_bound(), self.upper_bound()
        return (low is None or low <= value) and (high is None or value <= high)

    def format(self) -> str:
        return _format_range(self.lower, self.upper)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A TM query: ``A-B``, ``-B``, ``A-`` or a single time (``lower == upper``).

    PS3.4 requires A <= B; a range that wraps past midnight is rejected.
    """

    lower: DicomTime | None
    upper: DicomTime | None

    def __post_init__(self) -> None:
        if self.lower is None and self.upper is None:
            raise DecodeError("a range needs at least one bound")
        if self.lower is not None and self.upper is not None and self.lower.lower() > self.upper.upper():
            raise DecodeError(f"range lower bound {self.lower} is after upper bound {self.upper}")

    def lower_bound(self) -> _dt.time | None:
        return None if self.lower is None else self.lower.lower()

    def upper_bound(self) -> _dt.time | None:
        return None if self.upper is None else self.upper.upper()

    def contains(self, value: _dt.time) -> bool:
        low, high = self.lower_bound(), self.upper_bound()
        return (low is None or low <= value) and (high is None or value <= high)

    def format(self) -> str:
        return _format_range(self.lower, self.upper)


@dataclass(frozen=True, slots=True)
class DateTimeRange:
    """A DT query: ``A-B``, ``-B``, ``A-`` or a single value (``lower == upper``).

    Bounds may be naive (no UTC offset) or aware; ``contains`` places every naive
    instant, bound or value, at ``local_offset`` (PS3.4: the Timezone Offset From
    UTC of the query, else the local time zone).
    """

    lower: DicomDateTime | None
    upper: DicomDateTime | None

    def __post_init__(self) -> None:
        if self.lower is None and self.upper is None:
            raise DecodeError("a range needs at least one bound")
        if self.lower is not None and self.upper is not None:
            low, high = self.lower.lower(), self.upper.upper()
            if (low.tzinfo is None) == (high.tzinfo is None) and low > high:
                raise DecodeError(f"range lower bound {self.lower} is after upper bound {self.upper}")

    def lower_bound(self) -> _dt.datetime | None:
        return None if self.lower is None else self.lower.lower()

    def upper_bound(self) -> _dt.datetime | None:
        return None if self.upper is None else self.upper.upper()

    def contains(self, value: _dt.datetime, *, local_offset: _dt.timedelta = _dt.timedelta(0)) -> bool:
        instant = _aware(value, local_offset)
        low, high = self.lower_bound(), self.upper_bound()
        return (low is None or _aware(low, local_offset) <= instant) and (
            high is None or instant <= _aware(high, local_offset)
        )

    def format(self) -> str:
        return _format_range(self.lower, self.upper)


_Value = DicomDate | DicomTime | DicomDateTime
_V = TypeVar("_V", DicomDate, DicomTime, DicomDateTime)
_R = TypeVar("_R", DateRange, TimeRange, DateTimeRange)


def _format_range(lower: _Value | None, upper: _Value | None) -> str:
    if lower is not None and lower == upper:
        return lower.format()
    low = "" if lower is None else lower.format()
    high = "" if upper is None else upper.format()
    return f"{low}-{high}"


def _parse_range(text: str, parse: Callable[[str], _V], make: Callable[[_V | None, _V | None], _R]) -> _R:
    value = text.rstrip("\x00 ").lstrip(" ")
    try:  # also catches a DT whose negative UTC offset contains '-'
        single = parse(value)
        return make(single, single)
    except DecodeError:
        if "-" not in value:
            raise
    # Each '-' may be the separator; the first split whose halves are valid bounds wins.
    reason = "no valid bounds"
    for index, char in enumerate(value):
        if char != "-":
            continue
        left, right = value[:index], value[index + 1 :]
        try:
            return make(parse(left) if left else None, parse(right) if right else None)
        except DecodeError as exc:
            reason = exc.reason
    raise DecodeError(f"not a value or range: {text!r} ({reason})")


@overload
def parse_range(text: str, vr: Literal["DA", VR.DA]) -> DateRange: ...
@overload
def parse_range(text: str, vr: Literal["TM", VR.TM]) -> TimeRange: ...
@overload
def parse_range(text: str, vr: Literal["DT", VR.DT]) -> DateTimeRange: ...
@overload
def parse_range(text: str, vr: str) -> DateRange | TimeRange | DateTimeRange: ...


def parse_range(text: str, vr: str) -> DateRange | TimeRange | DateTimeRange:
    """Parse a query value of VR DA, TM or DT into a range (PS3.4 C.2.2.2.5.1).

    A single value is the range of its own precision (``2020`` as DT is the whole
    year); ``A-`` and ``-B`` are open. Raises DecodeError when malformed, when both
    bounds are missing, when A is after B, or when ``vr`` is not DA/TM/DT.
    """
    if vr == "DA":
        return _parse_range(text, DicomDate.parse, DateRange)
    if vr == "TM":
        return _parse_range(text, DicomTime.parse, TimeRange)
    if vr == "DT":
        return _parse_range(text, DicomDateTime.parse, DateTimeRange)
    raise DecodeError(f"range matching is defined for DA, TM and DT, not {vr!r}")
