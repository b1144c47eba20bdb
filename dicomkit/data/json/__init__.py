"""The DICOM JSON Model (PS3.18 Annex F): data sets to JSON objects and back.

Layer: ``dicomkit.data``, above :mod:`..dataset` and :mod:`..value_codec`; used by
``dump --json`` and by the DICOMweb services (QIDO-RS/WADO-RS metadata, STOW-RS input).
:mod:`.encode` builds JSON values, :mod:`.decode` reads them back, :mod:`.model` holds
what both share; this module adds the text forms (``dumps``/``loads``).

::

    {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎"}]},
     "7FE00010": {"vr": "OW", "BulkDataURI": "https://.../bulkdata/7FE00010"}}

Mapping (PS3.18 Table F.2.3-1) and the choices the standard leaves open:

* keys are the tag as eight uppercase hex digits, in ascending order; group lengths
  (gggg,0000) are left out (F.2.2). Each attribute has ``vr`` and at most one of
  ``Value``, ``InlineBinary`` or ``BulkDataURI``; an empty attribute has none (F.2.5),
  and an empty value inside a multi-valued attribute is ``null``.
* text VRs: JSON strings; AT: ``"GGGGEEEE"``; PN: one object per value with the
  non-empty component groups ``Alphabetic``, ``Ideographic``, ``Phonetic``; SQ: one
  object per item.
* IS, DS: JSON numbers. Text that is not a valid number (kept as ``str`` by the
  reader) stays a JSON string, which F.2.3 allows "to preserve the original format".
* FL, FD, SL, SS, UL, US: numbers. SV, UV: numbers up to 2^53 in magnitude, strings
  beyond (F.2.3 allows strings; JSON readers hold numbers as doubles). FL/FD values
  that JSON cannot hold (NaN, infinities) are the strings ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"``: standard JSON has no token for them.
* OB, OD, OF, OL, OV, OW, UN: ``InlineBinary``, the base64 of the value field in
  little endian byte order (F.2.7: PS3.5 byte ordering applies; JSON has no transfer
  syntax, so values read from big endian files are swapped; native OW Pixel Data
  with 32 or 64 bits allocated cell by cell, see :mod:`..pixel_byte_order`). No
  padding is added (CP-1920). Encapsulated pixel data is the base64 of its item
  stream (basic offset table and fragments, as in the file; F.2.7: the value
  field), or a BulkDataURI.
* BulkDataURI (F.2.6) replaces the value of DS, FL, FD, IS, LT, OB, OD, OF, OL, OV,
  OW, SL, SS, ST, SV, UC, UL, UN, US, UT, UV elements when ``bulk_data_uri`` returns a
  URI for them; it is asked about non-empty elements longer than
  ``bulk_data_threshold`` bytes (every one when the threshold is None), with the path
  of the element: ``(tag)`` at top level, ``(seq_tag, item_index, ..., tag)`` nested.

Reading (:func:`dataset_from_json`) checks the structure strictly and raises
:class:`~dicomkit.errors.DecodeError` whose reason names the element path. It does
not check VR repertoires or lengths (strict writers do: ``values.validate_value``).
A BulkDataURI needs a ``bulk_data_loader``; without one it is a DecodeError, since
the data model has no value that is only a reference. JSON text is Unicode: when a
data set has no Specific Character Set and some text is not ASCII, (0008,0005)
becomes ``ISO_IR 192`` so that writers can encode it. Encapsulated pixel data comes
back as plain bytes (JSON does not say a value is encapsulated); the caller that
knows the transfer syntax sets ``undefined_length``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from dicomkit.data.dataset import Dataset
from dicomkit.errors import DecodeError

from .decode import dataset_from_json
from .encode import dataset_to_json
from .model import BULK_DATA_VRS, BulkDataLoader, BulkDataURIProvider, JSONValue, json_type

__all__ = [
    "BULK_DATA_VRS",
    "BulkDataLoader",
    "BulkDataURIProvider",
    "JSONValue",
    "dataset_from_json",
    "dataset_to_json",
    "dumps",
    "dumps_array",
    "loads",
    "loads_array",
]


def dumps(
    ds: Dataset,
    *,
    bulk_data_threshold: int | None = None,
    bulk_data_uri: BulkDataURIProvider | None = None,
    indent: int | None = None,
) -> str:
    """The data set as DICOM JSON text: compact (unless ``indent``), keys in tag order."""
    obj = dataset_to_json(ds, bulk_data_threshold=bulk_data_threshold, bulk_data_uri=bulk_data_uri)
    return _dump(obj, indent)


def dumps_array(
    datasets: Sequence[Dataset],
    *,
    bulk_data_threshold: int | None = None,
    bulk_data_uri: BulkDataURIProvider | None = None,
    indent: int | None = None,
) -> str:
    """Several data sets as one JSON array (the multiple results structure, F.2.1)."""
    array: list[JSONValue] = [
        dataset_to_json(ds, bulk_data_threshold=bulk_data_threshold, bulk_data_uri=bulk_data_uri)
        for ds in datasets
    ]
    return _dump(array, indent)


def _dump(obj: JSONValue, indent: int | None) -> str:
    separators = (",", ":") if indent is None else (",", ": ")
    # allow_nan=False: non-finite floats are already strings; anything else is a bug.
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=separators, indent=indent)


def loads(text: str | bytes, *, bulk_data_loader: BulkDataLoader | None = None) -> Dataset:
    """A data set from DICOM JSON text (one object)."""
    return dataset_from_json(_expect_object(_parse(text), "the JSON text"), bulk_data_loader=bulk_data_loader)


def loads_array(text: str | bytes, *, bulk_data_loader: BulkDataLoader | None = None) -> list[Dataset]:
    """Data sets from a JSON array of DICOM JSON objects (F.2.1; e.g. STOW-RS metadata)."""
    array = _parse(text)
    if not isinstance(array, list):
        raise DecodeError(f"expected a JSON array of data sets, not {json_type(array)}")
    return [
        dataset_from_json(_expect_object(item, f"array item {index}"), bulk_data_loader=bulk_data_loader)
        for index, item in enumerate(array)
    ]


def _expect_object(value: JSONValue, what: str) -> Mapping[str, JSONValue]:
    if not isinstance(value, dict):
        raise DecodeError(f"{what} must be a JSON object (a data set), not {json_type(value)}")
    return value


def _unique_keys(pairs: list[tuple[str, JSONValue]]) -> dict[str, JSONValue]:
    obj: dict[str, JSONValue] = {}
    for key, value in pairs:
        if key in obj:
            raise DecodeError(f"duplicate member {key!r} in a JSON object")
        obj[key] = value
    return obj


def _parse(text: str | bytes) -> JSONValue:
    try:
        value: JSONValue = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"not JSON: {exc.msg} (line {exc.lineno} column {exc.colno})", offset=exc.pos
        ) from None
    except UnicodeDecodeError as exc:
        raise DecodeError(f"JSON bytes are not valid UTF-8/16/32: {exc.reason}", offset=exc.start) from None
    except (ValueError, RecursionError) as exc:  # e.g. integers of more than 4300 digits, deep nesting
        raise DecodeError(f"not usable JSON: {exc}") from None
    return value
