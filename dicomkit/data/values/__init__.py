"""Typed helpers for the values of string and binary VRs (PS3.5 §6.2).

- :mod:`.datetime`: DA, TM, DT values
- :mod:`.ranges`: their query ranges (PS3.4 C.2.2.2.5)
- :mod:`.person_name`: PN component groups and components (PS3.5 §6.2.1)
- :mod:`.numbers`: DS, IS, AS, and the binary VRs including AT
- :mod:`.strings`: per-VR validation of string values for strict writers
"""

from dicomkit.data.values.datetime import (
    DicomDate,
    DicomDateTime,
    DicomTime,
    Precision,
    format_da,
    format_dt,
    format_tm,
    parse_da,
    parse_dt,
    parse_tm,
)
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
from dicomkit.data.values.person_name import ComponentGroup, PersonName
from dicomkit.data.values.ranges import DateRange, DateTimeRange, TimeRange, parse_range
from dicomkit.data.values.strings import validate_value

__all__ = [
    "IS_MAX",
    "IS_MIN",
    "Age",
    "AgeUnit",
    "ComponentGroup",
    "DateRange",
    "DateTimeRange",
    "DicomDate",
    "DicomDateTime",
    "DicomTime",
    "PersonName",
    "Precision",
    "TimeRange",
    "format_as",
    "format_da",
    "format_ds",
    "format_dt",
    "format_is",
    "format_tm",
    "pack_numbers",
    "pack_tags",
    "parse_as",
    "parse_da",
    "parse_ds",
    "parse_ds_decimal",
    "parse_dt",
    "parse_is",
    "parse_range",
    "parse_tm",
    "unpack_floats",
    "unpack_ints",
    "unpack_tags",
    "validate_value",
]
