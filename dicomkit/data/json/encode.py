"""Data sets to DICOM JSON Model objects (PS3.18 F.2); the choices are listed in the package doc.

Layer: ``dicomkit.data.json``; reads :class:`~dicomkit.data.dataset.Dataset` values
(decoding raw ones on the way) and builds plain ``dict``/``list`` JSON values.
"""

from __future__ import annotations

import base64
import math

from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.pixel_byte_order import cell_size, is_native_ow_pixel_data, swap_pixel_cells
from dicomkit.data.value_codec import Scalar, swap_bytes
from dicomkit.data.vr import VALID_VRS, VRKind
from dicomkit.errors import DicomError, EncodeError

from .model import (
    BULK_DATA_VRS,
    ITEM_SIZE,
    KIND,
    MAX_SAFE_INTEGER,
    PN_GROUPS,
    BulkDataURIProvider,
    JSONValue,
    element_path,
)

__all__ = ["dataset_to_json"]


def dataset_to_json(
    ds: Dataset,
    *,
    bulk_data_threshold: int | None = None,
    bulk_data_uri: BulkDataURIProvider | None = None,
) -> dict[str, JSONValue]:
    """The DICOM JSON Model object of a data set (PS3.18 F.2).

    ``bulk_data_uri(element, path)`` is asked about every non-empty element of a VR
    that F.2.2 allows as bulk data and longer than ``bulk_data_threshold`` bytes (all
    of them when the threshold is None); a URI it returns replaces the value.

    Raises:
        EncodeError: an element whose VR is not a DICOM VR, or whose value does not fit it.
        DecodeError: a raw value that cannot be decoded (e.g. an FL value of 3 bytes).
    """
    return _Encoder(bulk_data_threshold, bulk_data_uri).dataset(ds, ())


class _Encoder:
    __slots__ = ("threshold", "uri")

    def __init__(self, threshold: int | None, uri: BulkDataURIProvider | None) -> None:
        self.threshold = threshold
        self.uri = uri

    def dataset(self, ds: Dataset, path: tuple[int, ...]) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {}
        for element in ds.elements():
            if element.tag & 0xFFFF == 0:
                continue  # group lengths are not part of the model (F.2.2)
            out[f"{element.tag:08X}"] = self.attribute(element, (*path, element.tag), ds)
        return out

    def attribute(self, element: Element, path: tuple[int, ...], ds: Dataset) -> dict[str, JSONValue]:
        vr = element.vr
        if vr not in VALID_VRS:
            raise EncodeError(f"{element_path(path)}: {vr!r} is not a DICOM VR")
        attribute: dict[str, JSONValue] = {"vr": vr}
        if vr == "SQ":
            items: list[JSONValue] = [
                self.dataset(item, (*path, index)) for index, item in enumerate(element.sequence)
            ]
            if items:
                attribute["Value"] = items
            return attribute
        if self.uri is not None and vr in BULK_DATA_VRS:
            length = _value_length(element)
            if length and (self.threshold is None or length > self.threshold):
                uri = self.uri(element, path)
                if uri is not None:
                    attribute["BulkDataURI"] = uri
                    return attribute
        try:
            return _with_value(attribute, element, ds)
        except EncodeError as exc:
            raise EncodeError(f"{element_path(path)}: {exc}") from None


def _with_value(attribute: dict[str, JSONValue], element: Element, ds: Dataset) -> dict[str, JSONValue]:
    vr = element.vr
    kind = KIND[vr]
    if kind is VRKind.BYTES:
        data = _little_endian_bytes(element, ds)
        if data:
            attribute["InlineBinary"] = base64.b64encode(data).decode("ascii")
        return attribute
    values = element.values
    if not values:
        return attribute
    encoded: list[JSONValue]
    if vr == "PN":
        encoded = [_pn(value) for value in values]
    elif kind is VRKind.TAG:
        encoded = [_tag(value) for value in values]
    elif kind is VRKind.NUMBER:
        encoded = [_number(vr, value) for value in values]
    elif vr in ("DS", "IS"):
        encoded = [_numeric_string(vr, value) for value in values]
    else:
        encoded = [_text(value) for value in values]
    if encoded != [None]:  # a single empty value: the attribute is empty (F.2.5)
        attribute["Value"] = encoded
    return attribute


def _value_length(element: Element) -> int:
    """Length of the value in bytes, without decoding raw or deferred values."""
    if element.is_raw:
        return element.length
    value = element.value
    if isinstance(value, bytes):
        return len(value)
    try:
        return element.length
    except DicomError:  # e.g. text the default repertoire cannot encode: count UTF-8 bytes
        return len("\\".join(str(v) for v in element.values).encode("utf-8"))


def _little_endian_bytes(element: Element, ds: Dataset) -> bytes:
    """The value in little endian, as our decoder would read it from its own byte order."""
    value = element.value
    if not isinstance(value, bytes):
        raise EncodeError(f"{element.vr} needs bytes, not {type(value).__name__}")
    size = ITEM_SIZE[element.vr]
    if element.little_endian or element.undefined_length or size <= 1:
        return value  # encapsulated data is little endian whatever the transfer syntax
    if is_native_ow_pixel_data(element):
        return swap_pixel_cells(value, cell_size(ds))  # 32/64-bit cells whole (pixel_byte_order)
    whole = len(value) - len(value) % size
    return swap_bytes(value[:whole], size) + value[whole:]


def _tag(value: Scalar | Dataset) -> JSONValue:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFFFF:
        return f"{value:08X}"
    raise EncodeError(f"AT cannot hold {value!r}")


def _text(value: Scalar | Dataset) -> JSONValue:
    if not isinstance(value, str):
        raise EncodeError(f"a text value must be str, not {type(value).__name__}")
    return value or None


def _pn(value: Scalar | Dataset) -> JSONValue:
    if not isinstance(value, str):
        raise EncodeError(f"a PN value must be str, not {type(value).__name__}")
    # The groups as written (not re-canonicalised) so that the text round-trips; a
    # fourth '=' (invalid) stays inside the phonetic group.
    groups = value.split("=", 2)
    name: dict[str, JSONValue] = {key: group for key, group in zip(PN_GROUPS, groups) if group}
    return name or None


def _number(vr: str, value: Scalar | Dataset) -> JSONValue:
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int) and not isinstance(value, bool):
        if vr in ("SV", "UV") and abs(value) > MAX_SAFE_INTEGER:
            return str(int(value))
        return int(value)
    raise EncodeError(f"{vr} cannot hold {value!r}")


def _numeric_string(vr: str, value: Scalar | Dataset) -> JSONValue:
    if isinstance(value, str):
        return value or None  # not a valid number: the text as it was (F.2.3)
    if isinstance(value, bool):
        raise EncodeError(f"{vr} cannot hold {value!r}")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and vr == "DS" and math.isfinite(value):
        return value
    raise EncodeError(f"{vr} cannot hold {value!r}")
