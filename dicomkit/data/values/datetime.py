"""Date and time values: DA, TM and DT (PS3.5 §6.2) and their query ranges (PS3.4 C.2.2.2.5).

Layer: ``dicomkit.data`` value helpers. They work on character strings that the
charset layer has already decoded; padding (trailing spaces, a trailing NUL) is
tolerated, as is leading space, which some writers emit.

::

    DA  YYYYMMDD                      (legacy ACR-NEMA YYYY.MM.DD is read, never written)
    TM  HH[MM[SS[.F{1,6}]]]           (legacy HH:MM[:SS[.F]] is read, never written)
    DT  YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]      & is '+' or '-'
    range (query context)   A-B   -B   A-     (A, B of the element's VR)

Invariants:

- A value object always holds a valid value: its constructor checks every part
  and raises :class:`~dicomkit.errors.DecodeError` otherwise, so ``to_date()``,
  ``lower()`` and ``upper()`` never fail.
- Components are only ever null from the right ("trailing null components"):
  ``month is None`` implies ``day is None``, and so on down to the fraction.
- A value holds its precision: ``lower()`` and ``upper()`` are the first and the
  last instant it denotes, which is what range matching compares against.
- Second 60 (a leap second, allowed by PS3.5) has no ``datetime`` counterpart; it
  converts to ``:59.999999`` so that ordering is preserved.
"""

from __future__ import annotations

import datetime as _dt
import enum
import itertools
import re
from dataclasses import dataclass

from dicomkit.errors import DecodeError, EncodeError

__all__ = [
    "DicomDate",
    "DicomDateTime",
    "DicomTime",
    "Precision",
    "format_da",
    "format_dt",
    "format_tm",
    "parse_da",
    "parse_dt",
    "parse_tm",
]


class Precision(enum.IntEnum):
    """The last non-null component of a date/time value."""

    YEAR = 1
    MONTH = 2
    DAY = 3
    HOUR = 4
    MINUTE = 5
    SECOND = 6
    FRACTION = 7


_DA = re.compile(r"([0-9]{4})(?:([0-9]{2})([0-9]{2})?)?")
_DA_LEGACY = re.compile(r"([0-9]{4})\.([0-9]{2})\.([0-9]{2})")
# An empty fraction ("101010.") is read as no fraction, as other toolkits do; it is never written.
_TM = re.compile(r"([0-9]{2})(?:([0-9]{2})(?:([0-9]{2})(?:\.([0-9]{0,6}))?)?)?")
_TM_LEGACY = re.compile(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{0,6}))?)?")
_DT = re.compile(
    r"([0-9]{4})(?:([0-9]{2})(?:([0-9]{2})(?:([0-9]{2})(?:([0-9]{2})(?:([0-9]{2})"
    r"(?:\.([0-9]{0,6}))?)?)?)?)?)?([+-][0-9]{4})?"
)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# PS3.5 Table 6.2-1, DT: "The range of the offset is -1200 to +1400".
_MIN_OFFSET = _dt.timedelta(hours=-12)
_MAX_OFFSET = _dt.timedelta(hours=14)


def _strip(text: str) -> str:
    return text.rstrip("\x00 ").lstrip(" ")


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def _opt(text: str | None) -> int | None:
    return None if text is None else int(text)


def _fraction(text: str | None) -> tuple[int | None, int]:
    """'5' -> (500000, 1); None or '' -> (None, 0)."""
    if not text:
        return None, 0
    return int(text.ljust(6, "0")), len(text)


def _check_date(year: int, month: int | None, day: int | None) -> None:
    if not 1 <= year <= 9999:
        raise DecodeError(f"year {year} out of range 0001-9999")
    if month is None:
        if day is not None:
            raise DecodeError("a day needs a month")
        return
    if not 1 <= month <= 12:
        raise DecodeError(f"month {month} out of range 01-12")
    if day is not None and not 1 <= day <= _days_in_month(year, month):
        raise DecodeError(f"day {day} out of range for {year:04d}-{month:02d}")


def _check_time(
    hour: int | None, minute: int | None, second: int | None, microsecond: int | None, digits: int
) -> None:
    parts = (hour, minute, second, microsecond)
    for outer, inner in itertools.pairwise(parts):
        if outer is None and inner is not None:
            raise DecodeError("only trailing components of a time may be null")
    if hour is not None and not 0 <= hour <= 23:
        raise DecodeError(f"hour {hour} out of range 00-23")
    if minute is not None and not 0 <= minute <= 59:
        raise DecodeError(f"minute {minute} out of range 00-59")
    if second is not None and not 0 <= second <= 60:
        raise DecodeError(f"second {second} out of range 00-60")
    if microsecond is not None:
        if not 1 <= digits <= 6:
            raise DecodeError(f"a fraction has 1 to 6 digits, not {digits}")
        if not 0 <= microsecond <= 999_999 or microsecond % 10 ** (6 - digits):
            raise DecodeError(f"microsecond {microsecond} does not fit {digits} fraction digit(s)")


def _time_bound(
    hour: int, minute: int | None, second: int | None, microsecond: int | None, digits: int, *, upper: bool
) -> tuple[int, int, int, int]:
    """(hour, minute, second, microsecond) of the first or last instant a partial time denotes."""
    fill = 59 if upper else 0
    m = fill if minute is None else minute
    s = fill if second is None else second
    if microsecond is None:
        us = 999_999 if upper else 0
    else:
        us = microsecond + (10 ** (6 - digits) - 1 if upper else 0)
    if s == 60:  # leap second: keep ordering, datetime cannot hold it
        s, us = 59, 999_999
    return hour, m, s, us


def _format_time(
    hour: int, minute: int | None, second: int | None, microsecond: int | None, digits: int
) -> str:
    text = f"{hour:02d}"
    if minute is not None:
        text += f"{minute:02d}"
    if second is not None:
        text += f"{second:02d}"
    if microsecond is not None:
        text += "." + f"{microsecond:06d}"[:digits]
    return text


def _time_precision(minute: int | None, second: int | None, microsecond: int | None) -> Precision:
    if microsecond is not None:
        return Precision.FRACTION
    if second is not None:
        return Precision.SECOND
    return Precision.MINUTE if minute is not None else Precision.HOUR


# ------------------------------------------------------------------------------- DA


@dataclass(frozen=True, slots=True)
class DicomDate:
    """A DA value, possibly partial (``YYYY``, ``YYYYMM``) where a context allows it."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        _check_date(self.year, self.month, self.day)

    @classmethod
    def parse(cls, text: str, *, allow_partial: bool = False) -> DicomDate:
        """Parse ``YYYYMMDD`` (or legacy ``YYYY.MM.DD``); ``YYYY``/``YYYYMM`` only if allowed."""
        value = _strip(text)
        match = _DA.fullmatch(value) or _DA_LEGACY.fullmatch(value)
        if match is None:
            raise DecodeError(f"not a DA value: {text!r}")
        result = cls(int(match[1]), _opt(match[2]), _opt(match[3]))
        if result.day is None and not allow_partial:
            raise DecodeError(f"DA value is not a full date: {text!r}")
        return result

    @classmethod
    def from_date(cls, value: _dt.date) -> DicomDate:
        return cls(value.year, value.month, value.day)

    @property
    def precision(self) -> Precision:
        if self.day is not None:
            return Precision.DAY
        return Precision.MONTH if self.month is not None else Precision.YEAR

    def format(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"{self.month:02d}"
        if self.day is not None:
            text += f"{self.day:02d}"
        return text

    def lower(self) -> _dt.date:
        """The first day this value denotes."""
        return _dt.date(self.year, self.month or 1, self.day or 1)

    def upper(self) -> _dt.date:
        """The last day this value denotes."""
        month = self.month or 12
        return _dt.date(self.year, month, self.day or _days_in_month(self.year, month))

    def to_date(self) -> _dt.date:
        """The date; null trailing components take their first value (``2020`` is 1 January)."""
        return self.lower()

    def __str__(self) -> str:
        return self.format()


# ------------------------------------------------------------------------------- TM


@dataclass(frozen=True, slots=True)
class DicomTime:
    """A TM value; ``fraction_digits`` (1-6) records how many fraction digits were given."""

    hour: int
    minute: int | None = None
    second: int | None = None
    microsecond: int | None = None
    fraction_digits: int = 6

    def __post_init__(self) -> None:
        if self.microsecond is None:
            object.__setattr__(self, "fraction_digits", 0)
        _check_time(self.hour, self.minute, self.second, self.microsecond, self.fraction_digits)

    @classmethod
    def parse(cls, text: str) -> DicomTime:
        """Parse ``HH[MM[SS[.F{1,6}]]]`` or the legacy ``HH:MM[:SS[.F]]``."""
        value = _strip(text)
        match = _TM.fullmatch(value) or _TM_LEGACY.fullmatch(value)
        if match is None:
            raise DecodeError(f"not a TM value: {text!r}")
        microsecond, digits = _fraction(match[4])
        return cls(int(match[1]), _opt(match[2]), _opt(match[3]), microsecond, digits)

    @classmethod
    def from_time(cls, value: _dt.time) -> DicomTime:
        """Full precision; a fraction only when the time has microseconds."""
        return cls(value.hour, value.minute, value.second, value.microsecond or None)

    @property
    def precision(self) -> Precision:
        return _time_precision(self.minute, self.second, self.microsecond)

    def format(self) -> str:
        return _format_time(self.hour, self.minute, self.second, self.microsecond, self.fraction_digits)

    def _bound(self, *, upper: bool) -> _dt.time:
        parts = (self.hour, self.minute, self.second, self.microsecond, self.fraction_digits)
        return _dt.time(*_time_bound(*parts, upper=upper))

    def lower(self) -> _dt.time:
        """The first instant this value denotes (``10`` is 10:00:00)."""
        return self._bound(upper=False)

    def upper(self) -> _dt.time:
        """The last instant this value denotes (``10`` is 10:59:59.999999)."""
        return self._bound(upper=True)

    def to_time(self) -> _dt.time:
        """The time; null trailing components are zero."""
        return self.lower()

    def __str__(self) -> str:
        return self.format()


# ------------------------------------------------------------------------------- DT


@dataclass(frozen=True, slots=True)
class DicomDateTime:
    """A DT value: a possibly partial date and time, and an optional UTC offset.

    ``utc_offset`` is "local time minus UTC", a whole number of minutes in
    -12:00..+14:00; a value without it is in the creator's local time zone.
    """

    year: int
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    microsecond: int | None = None
    fraction_digits: int = 6
    utc_offset: _dt.timedelta | None = None

    def __post_init__(self) -> None:
        if self.microsecond is None:
            object.__setattr__(self, "fraction_digits", 0)
        _check_date(self.year, self.month, self.day)
        if self.day is None and self.hour is not None:
            raise DecodeError("only trailing components of a date-time may be null")
        _check_time(self.hour, self.minute, self.second, self.microsecond, self.fraction_digits)
        offset = self.utc_offset
        if offset is not None:
            if offset % _dt.timedelta(minutes=1):
                raise DecodeError("UTC offset is not a whole number of minutes")
            if not _MIN_OFFSET <= offset <= _MAX_OFFSET:
                raise DecodeError("UTC offset out of range -1200..+1400")

    @classmethod
    def parse(cls, text: str) -> DicomDateTime:
        """Parse ``YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]``."""
        match = _DT.fullmatch(_strip(text))
        if match is None:
            raise DecodeError(f"not a DT value: {text!r}")
        microsecond, digits = _fraction(match[7])
        offset = None
        if match[8]:
            hours, minutes = int(match[8][1:3]), int(match[8][3:5])
            if minutes > 59:
                raise DecodeError(f"UTC offset minutes out of range: {text!r}")
            offset = _dt.timedelta(hours=hours, minutes=minutes)
            if match[8][0] == "-":
                offset = -offset
        year, month, day, hour, minute, second = (_opt(match[i]) for i in range(1, 7))
        assert year is not None  # the pattern requires it
        return cls(year, month, day, hour, minute, second, microsecond, digits, offset)

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> DicomDateTime:
        """Full precision; the offset of an aware datetime is kept (EncodeError if DICOM cannot hold it)."""
        try:
            return cls(
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond or None,
                utc_offset=value.utcoffset(),
            )
        except DecodeError as exc:
            raise EncodeError(f"cannot encode {value!r} as DT: {exc.reason}") from None

    @property
    def precision(self) -> Precision:
        if self.hour is not None:
            return _time_precision(self.minute, self.second, self.microsecond)
        return self.date_part.precision

    @property
    def date_part(self) -> DicomDate:
        return DicomDate(self.year, self.month, self.day)

    @property
    def time_part(self) -> DicomTime | None:
        if self.hour is None:
            return None
        return DicomTime(self.hour, self.minute, self.second, self.microsecond, self.fraction_digits)

    @property
    def tzinfo(self) -> _dt.timezone | None:
        return None if self.utc_offset is None else _dt.timezone(self.utc_offset)

    def format(self) -> str:
        text = self.date_part.format()
        if self.hour is not None:
            text += _format_time(self.hour, self.minute, self.second, self.microsecond, self.fraction_digits)
        if self.utc_offset is not None:
            minutes = int(self.utc_offset.total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            text += f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        return text

    def _bound(self, *, upper: bool) -> _dt.datetime:
        date = self.date_part.upper() if upper else self.date_part.lower()
        if self.hour is None:
            clock = (23, 59, 59, 999_999) if upper else (0, 0, 0, 0)
        else:
            parts = (self.hour, self.minute, self.second, self.microsecond, self.fraction_digits)
            clock = _time_bound(*parts, upper=upper)
        return _dt.datetime(date.year, date.month, date.day, *clock, tzinfo=self.tzinfo)

    def lower(self) -> _dt.datetime:
        """The first instant denoted; aware when the value has a UTC offset."""
        return self._bound(upper=False)

    def upper(self) -> _dt.datetime:
        """The last instant denoted; aware when the value has a UTC offset."""
        return self._bound(upper=True)

    def to_datetime(self) -> _dt.datetime:
        """The datetime; null trailing components take their first value."""
        return self.lower()

    def __str__(self) -> str:
        return self.format()


# -------------------------------------------------------------- module-level shortcuts


def parse_da(text: str) -> _dt.date:
    """A full DA value as a ``date``; DecodeError if malformed or partial."""
    return DicomDate.parse(text).to_date()


def parse_tm(text: str) -> _dt.time:
    """A TM value as a ``time`` (null trailing components are zero)."""
    return DicomTime.parse(text).to_time()


def parse_dt(text: str) -> _dt.datetime:
    """A DT value as a ``datetime``, aware when it carries a UTC offset."""
    return DicomDateTime.parse(text).to_datetime()


def format_da(value: _dt.date) -> str:
    """``YYYYMMDD`` (what ``DicomDate.from_date(value).format()`` gives, without the object:
    C-FIND writes one per date key of every match)."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def format_tm(value: _dt.time) -> str:
    """``HHMMSS``, with ``.FFFFFF`` when there are microseconds (as ``DicomTime.from_time``)."""
    text = f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
    return f"{text}.{value.microsecond:06d}" if value.microsecond else text


def format_dt(value: _dt.datetime) -> str:
    return DicomDateTime.from_datetime(value).format()


# ------------------------------------------------------------- ranges (PS3.4 C.2.2.2.5)
