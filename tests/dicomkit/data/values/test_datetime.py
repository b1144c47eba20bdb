"""DA / TM / DT values and query ranges (PS3.5 Table 6.2-1, PS3.4 C.2.2.2.5)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pydicom.valuerep
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomkit.data.values import (
    DateRange,
    DateTimeRange,
    DicomDate,
    DicomDateTime,
    DicomTime,
    Precision,
    TimeRange,
    format_da,
    format_dt,
    format_tm,
    parse_da,
    parse_dt,
    parse_range,
    parse_tm,
)
from dicomkit.data.vr import VR
from dicomkit.errors import DecodeError, EncodeError

UTC = dt.UTC

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: dt.timedelta(minutes=m))
aware_datetimes = st.builds(
    lambda naive, offset: naive.replace(tzinfo=dt.timezone(offset)),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    offsets,
)


@st.composite
def dicom_times(draw: st.DrawFn) -> DicomTime:
    hour = draw(st.integers(0, 23))
    minute = draw(st.none() | st.integers(0, 59))
    second = None if minute is None else draw(st.none() | st.integers(0, 60))
    if second is None:
        return DicomTime(hour, minute, second)
    digits = draw(st.integers(0, 6))
    if digits == 0:
        return DicomTime(hour, minute, second)
    fraction = draw(st.integers(0, 10**digits - 1)) * 10 ** (6 - digits)
    return DicomTime(hour, minute, second, fraction, digits)


@st.composite
def dicom_datetimes(draw: st.DrawFn) -> DicomDateTime:
    date = draw(st.dates(min_value=dt.date(1, 1, 1)))
    precision = draw(st.sampled_from(list(Precision)))
    month = date.month if precision >= Precision.MONTH else None
    day = date.day if precision >= Precision.DAY else None
    time = draw(dicom_times()) if precision >= Precision.HOUR else None
    offset = draw(st.none() | offsets)
    if time is None:
        return DicomDateTime(date.year, month, day, utc_offset=offset)
    return DicomDateTime(
        date.year,
        month,
        day,
        time.hour,
        time.minute,
        time.second,
        time.microsecond,
        time.fraction_digits,
        utc_offset=offset,
    )


# ---------------------------------------------------------------- PS3.5 examples


def test_ps35_da_example_is_august_22_1993() -> None:
    assert parse_da("19930822") == dt.date(1993, 8, 22)


def test_ps35_tm_examples() -> None:
    assert parse_tm("070907.0705") == dt.time(7, 9, 7, 70500)
    assert parse_tm("1010") == dt.time(10, 10)
    with pytest.raises(DecodeError):
        parse_tm("021")


def test_dt_with_offset_is_an_aware_datetime() -> None:
    value = parse_dt("20200102101010.5-0130")
    assert value == dt.datetime(
        2020, 1, 2, 10, 10, 10, 500000, tzinfo=dt.timezone(-dt.timedelta(hours=1, minutes=30))
    )
    assert value.utcoffset() == -dt.timedelta(hours=1, minutes=30)


def test_dt_without_offset_is_naive() -> None:
    assert parse_dt("20200102").tzinfo is None


def test_padding_is_ignored() -> None:
    assert parse_da("19930822 ") == dt.date(1993, 8, 22)
    assert parse_tm("1010 ") == dt.time(10, 10)
    assert parse_dt("2020 ") == dt.datetime(2020, 1, 1)


# --------------------------------------------------------------- legacy forms


def test_legacy_acr_nema_forms_are_read_but_never_written() -> None:
    assert DicomDate.parse("1993.08.22") == DicomDate(1993, 8, 22)
    assert DicomDate.parse("1993.08.22").format() == "19930822"
    assert DicomTime.parse("07:09:07.0705") == DicomTime(7, 9, 7, 70500, 4)
    assert DicomTime.parse("07:09:07.0705").format() == "070907.0705"
    assert DicomTime.parse("10:10").format() == "1010"


def test_empty_fraction_is_read_as_no_fraction() -> None:
    assert DicomTime.parse("101010.") == DicomTime(10, 10, 10)
    assert DicomDateTime.parse("20200101101010.").format() == "20200101101010"


# ------------------------------------------------------------------- precision


def test_partial_da_needs_permission() -> None:
    with pytest.raises(DecodeError):
        DicomDate.parse("2020")
    assert DicomDate.parse("2020", allow_partial=True).precision is Precision.YEAR
    assert DicomDate.parse("202002", allow_partial=True).upper() == dt.date(2020, 2, 29)


def test_partial_values_know_their_bounds() -> None:
    assert DicomTime.parse("10").lower() == dt.time(10)
    assert DicomTime.parse("10").upper() == dt.time(10, 59, 59, 999999)
    assert DicomTime.parse("101010.5").upper() == dt.time(10, 10, 10, 599999)
    year = DicomDateTime.parse("2020+0100")
    tz = dt.timezone(dt.timedelta(hours=1))
    assert year.lower() == dt.datetime(2020, 1, 1, tzinfo=tz)
    assert year.upper() == dt.datetime(2020, 12, 31, 23, 59, 59, 999999, tzinfo=tz)
    assert year.precision is Precision.YEAR
    assert DicomDateTime.parse("2020010210").precision is Precision.HOUR


def test_leap_second_converts_to_the_last_microsecond_of_the_minute() -> None:
    leap = DicomTime.parse("235960")
    assert leap.second == 60
    assert leap.to_time() == dt.time(23, 59, 59, 999999)
    assert leap.format() == "235960"


def test_fraction_digits_are_preserved() -> None:
    value = DicomTime.parse("101010.50")
    assert value.fraction_digits == 2
    assert value.format() == "101010.50"
    assert value != DicomTime.parse("101010.5")


def test_dt_parts() -> None:
    value = DicomDateTime.parse("20200102101010.123+0900")
    assert value.date_part == DicomDate(2020, 1, 2)
    assert value.time_part == DicomTime(10, 10, 10, 123000, 3)
    assert DicomDateTime.parse("2020").time_part is None


# -------------------------------------------------------------------- rejection


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "2020013",
        "20201301",
        "20200230",
        "20190229",
        "00000101",
        "２０２００１０１",
        "2020-01-01",
        "20200101x",
    ],
)
def test_malformed_da_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_da(text)


@pytest.mark.parametrize(
    "text",
    ["", "1", "240000", "1060", "106161", "1010101", "101010.1234567", "10.5", "1010.5", "10:1", "1 10"],
)
def test_malformed_tm_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_tm(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "202",
        "2020010124",
        "20200101+1401",
        "20200101-1201",
        "20200101+0160",
        "20200101+01",
        "2020010110.5",
        "20200101101010.5 +0100",
    ],
)
def test_malformed_dt_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_dt(text)


def test_constructors_reject_invalid_parts() -> None:
    with pytest.raises(DecodeError):
        DicomDate(2020, None, 1)
    with pytest.raises(DecodeError):
        DicomTime(10, None, 5)
    with pytest.raises(DecodeError):
        DicomTime(10, 10, 10, 123456, 3)
    with pytest.raises(DecodeError):
        DicomDateTime(2020, 1, None, 10)
    with pytest.raises(DecodeError):
        DicomDateTime(2020, utc_offset=dt.timedelta(seconds=30))


def _parse_with_every_parser(text: str) -> None:
    for parse in (DicomDate.parse, DicomTime.parse, DicomDateTime.parse):
        with contextlib.suppress(DecodeError):
            parse(text)
    for vr in ("DA", "TM", "DT"):
        with contextlib.suppress(DecodeError):
            parse_range(text, vr)


@given(st.text(max_size=40))
def test_parsers_raise_only_decode_error(text: str) -> None:
    _parse_with_every_parser(text)


@given(st.text(alphabet="0123456789+-.: ", max_size=30))
def test_parsers_raise_only_decode_error_on_near_miss_text(text: str) -> None:
    _parse_with_every_parser(text)


# ------------------------------------------------------------------ round trips


@given(st.dates(min_value=dt.date(1, 1, 1)))
def test_dates_round_trip(value: dt.date) -> None:
    text = format_da(value)
    assert len(text) == 8
    assert parse_da(text) == value


@given(st.times())
def test_times_round_trip(value: dt.time) -> None:
    assert parse_tm(format_tm(value)) == value


@given(st.dates(min_value=dt.date(1, 1, 1)), st.times())
def test_format_da_and_tm_write_what_the_value_types_write(day: dt.date, time: dt.time) -> None:
    assert format_da(day) == DicomDate.from_date(day).format()
    assert format_tm(time) == DicomTime.from_time(time).format()


@given(st.datetimes(min_value=dt.datetime(1, 1, 1)))
def test_naive_datetimes_round_trip(value: dt.datetime) -> None:
    assert parse_dt(format_dt(value)) == value


@given(aware_datetimes)
def test_aware_datetimes_round_trip_with_their_offset(value: dt.datetime) -> None:
    text = format_dt(value)
    assert len(text) <= 26
    back = parse_dt(text)
    assert back == value
    assert back.utcoffset() == value.utcoffset()


def test_datetime_with_an_offset_dicom_cannot_hold_is_an_encode_error() -> None:
    with pytest.raises(EncodeError):
        format_dt(dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=15))))


@given(dicom_times())
def test_time_values_round_trip_at_their_precision(value: DicomTime) -> None:
    assert DicomTime.parse(value.format()) == value
    assert value.lower() <= value.to_time() <= value.upper()


@given(dicom_datetimes())
def test_datetime_values_round_trip_at_their_precision(value: DicomDateTime) -> None:
    assert DicomDateTime.parse(value.format()) == value
    assert value.lower() <= value.to_datetime() <= value.upper()


@given(
    st.datetimes(min_value=dt.datetime(1, 1, 1)),
    st.sampled_from([4, 6, 8, 10, 12, 14, 16, 17, 18, 19, 20, 21]),  # component boundaries
)
def test_truncated_text_denotes_a_span_containing_the_full_value(value: dt.datetime, cut: int) -> None:
    """Dropping trailing components widens the span; the original instant stays inside."""
    exact = value.replace(microsecond=value.microsecond or 1)
    text = format_dt(exact)
    assert len(text) == 21
    coarse = DicomDateTime.parse(text[:cut])
    assert coarse.lower() <= exact <= coarse.upper()


# ------------------------------------------------------------------------ ranges


def test_closed_and_open_date_ranges() -> None:
    closed = parse_range("20200101-20200131", "DA")
    assert closed == DateRange(DicomDate(2020, 1, 1), DicomDate(2020, 1, 31))
    assert closed.contains(dt.date(2020, 1, 31))
    assert not closed.contains(dt.date(2020, 2, 1))
    until = parse_range("-20200131", VR.DA)
    assert until.lower is None
    assert until.contains(dt.date(1900, 1, 1))
    since = parse_range("20200101-", "DA")
    assert since.upper is None
    assert since.contains(dt.date(9999, 12, 31))
    assert not since.contains(dt.date(2019, 12, 31))


def test_single_value_is_a_range_of_its_own_precision() -> None:
    single = parse_range("20200101", "DA")
    assert single.lower == single.upper == DicomDate(2020, 1, 1)
    minute = parse_range("1010", "TM")
    assert isinstance(minute, TimeRange)
    assert minute.contains(dt.time(10, 10, 59, 999999))
    assert not minute.contains(dt.time(10, 11))


def test_time_range_upper_bound_covers_its_precision() -> None:
    morning = parse_range("0700-0900", "TM")
    assert morning.lower_bound() == dt.time(7)
    assert morning.upper_bound() == dt.time(9, 0, 59, 999999)


def test_dt_range_separator_is_told_from_negative_offsets() -> None:
    both = parse_range("20200101-0500-20200102", "DT")
    assert isinstance(both, DateTimeRange)
    assert both.lower == DicomDateTime(2020, 1, 1, utc_offset=dt.timedelta(hours=-5))
    assert both.upper == DicomDateTime(2020, 1, 2)
    single = parse_range("20200101-0500", "DT")
    assert single.lower == single.upper
    open_upper = parse_range("2020-0500-", "DT")
    assert open_upper.upper is None
    assert parse_range("1990-2000", "DT").upper == DicomDateTime(2000)


def test_dt_range_compares_instants_across_offsets() -> None:
    window = parse_range("20200101100000+0100-20200101120000+0100", "DT")
    assert window.contains(dt.datetime(2020, 1, 1, 9, 30, tzinfo=UTC))
    assert not window.contains(dt.datetime(2020, 1, 1, 11, 30, tzinfo=UTC))
    # A naive value is placed at the query's local offset.
    assert window.contains(dt.datetime(2020, 1, 1, 11, 30), local_offset=dt.timedelta(hours=1))
    assert not window.contains(dt.datetime(2020, 1, 1, 11, 30))


@pytest.mark.parametrize(
    ("text", "vr"),
    [
        ("-", "DA"),
        ("", "DA"),
        ("20200131-20200101", "DA"),
        ("2020-", "DA"),
        ("20200101--20200102", "DA"),
        ("20200101-20200102-20200103", "DA"),
        ("1000-0900", "TM"),
        ("-", "TM"),
        ("2021-2020", "DT"),
        ("20200101", "DS"),
    ],
)
def test_malformed_ranges_are_decode_errors(text: str, vr: str) -> None:
    with pytest.raises(DecodeError):
        parse_range(text, vr)


@pytest.mark.parametrize(
    ("text", "vr"),
    [("20200101-20200131", "DA"), ("-20200131", "DA"), ("0700-", "TM"), ("2020-0500-20210101+0100", "DT")],
)
def test_ranges_format_back_to_their_text(text: str, vr: str) -> None:
    assert parse_range(text, vr).format() == text


@given(st.dates(min_value=dt.date(1, 1, 1)), st.dates(min_value=dt.date(1, 1, 1)))
def test_date_ranges_round_trip(a: dt.date, b: dt.date) -> None:
    low, high = sorted((a, b))
    found = parse_range(f"{format_da(low)}-{format_da(high)}", "DA")
    assert (found.lower_bound(), found.upper_bound()) == (low, high)


# -------------------------------------------------------------- pydicom oracle


@pytest.mark.parametrize("text", ["19930822", "20000229", "1993.08.22", "00010101", "99991231"])
def test_da_agrees_with_pydicom(text: str) -> None:
    assert parse_da(text) == pydicom.valuerep.DA(text)


@pytest.mark.parametrize("text", ["07", "0709", "070907", "070907.0705", "235959.999999", "000000.1"])
def test_tm_agrees_with_pydicom(text: str) -> None:
    assert parse_tm(text) == pydicom.valuerep.TM(text)


@pytest.mark.parametrize(
    "text",
    [
        "2020",
        "202002",
        "20200229",
        "2020022913",
        "202002291359",
        "20200229135959.5",
        "20200229135959+0900",
        "2020-0500",
    ],
)
def test_dt_agrees_with_pydicom(text: str) -> None:
    ours, theirs = parse_dt(text), pydicom.valuerep.DT(text)
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()


@given(aware_datetimes)
def test_formatted_dt_parses_the_same_in_pydicom(value: dt.datetime) -> None:
    text = format_dt(value)
    assert pydicom.valuerep.DT(text) == parse_dt(text)
