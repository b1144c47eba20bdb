"""DICOM JSON Model objects to data sets (PS3.18 F.2), with strict structural checks.

Layer: ``dicomkit.data.json``; turns parsed JSON (``dict``/``list``/scalars) into a
:class:`~dicomkit.data.dataset.Dataset` whose values have the Python types of
:mod:`dicomkit.data.value_codec`. Every problem is a :class:`DecodeError` whose
reason starts with the element path (``(0008,1115)[0].(0020,000E): ...``) and whose
``tag`` is the innermost tag.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping

from dicomkit.data.charset import DEFAULT_CHARSET, TEXT_VRS, Charset
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.tag import Tag
from dicomkit.data.value_codec import ElementValue, decode_value
from dicomkit.data.values.numbers import format_ds, parse_ds, parse_is
from dicomkit.data.vr import VALID_VRS, VRKind
from dicomkit.errors import DecodeError

from .model import (
    BULK_DATA_VRS,
    CHARSET_TAG,
    INLINE_BINARY_VRS,
    KIND,
    NON_FINITE,
    PN_GROUPS,
    SINGLE_VALUED,
    BulkDataLoader,
    JSONValue,
    element_path,
    json_type,
)

__all__ = ["dataset_from_json"]

_ATTRIBUTE_KEYS = frozenset({"vr", "Value", "InlineBinary", "BulkDataURI"})
_VALUE_KEYS = ("Value", "InlineBinary", "BulkDataURI")
_UTF8 = "ISO_IR 192"
_INT_RANGE = {
    "US": (0, 2**16 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
}
_FLOAT32_MAX = 3.4028234663852886e38
_IS_LIMIT = 2**63  # the reader's bound for IS values (values.numbers.parse_is)
_KEY = re.compile(r"[0-9A-F]{8}")
_HEX_TAG = re.compile(r"[0-9A-Fa-f]{8}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
_MAX_DEPTH = 64  # sequence nesting, as ReadOptions.max_depth


def dataset_from_json(
    obj: Mapping[str, JSONValue],
    *,
    bulk_data_loader: BulkDataLoader | None = None,
) -> Dataset:
    """A data set from its DICOM JSON Model object (PS3.18 F.2).

    A BulkDataURI is resolved with ``bulk_data_loader`` (its bytes are the value field,
    little endian; text in the data set's Specific Character Set). When the object has
    no (0008,0005) and some text is not ASCII, (0008,0005) is set to ``ISO_IR 192``.

    Raises:
        DecodeError: anything that is not the DICOM JSON Model (bad keys, unknown VR,
            values of the wrong JSON type or range, bad base64, a BulkDataURI without a
            loader, loaded bytes that the VR cannot hold).
    """
    ds = _Decoder(bulk_data_loader).dataset(obj, (), 0, DEFAULT_CHARSET)
    if CHARSET_TAG not in ds and _has_non_ascii_text(ds):
        ds.set(CHARSET_TAG, _UTF8, "CS")
    _inherit_charsets(ds)
    return ds


class _Decoder:
    __slots__ = ("loader",)

    def __init__(self, loader: BulkDataLoader | None) -> None:
        self.loader = loader

    def dataset(self, obj: object, path: tuple[int, ...], depth: int, charset: Charset) -> Dataset:
        where = f"{element_path(path)}: " if path else ""
        if not isinstance(obj, Mapping):
            what = "a sequence item" if path else "a DICOM JSON data set"
            raise DecodeError(
                f"{where}{what} must be a JSON object, not {json_type(obj)}", tag=_last_tag(path)
            )
        if depth > _MAX_DEPTH:
            raise DecodeError(f"{where}sequences nested deeper than {_MAX_DEPTH}", tag=_last_tag(path))
        own_charset = obj.get(f"{CHARSET_TAG:08X}")
        if own_charset is not None:
            # Read first: text fetched through BulkDataURIs is encoded in this set.
            element = self.element(Tag(CHARSET_TAG), own_charset, (*path, CHARSET_TAG), depth, charset)
            charset = Charset.from_value([str(value) for value in element.values])
        ds = Dataset()
        for key, attribute in obj.items():
            if not isinstance(key, str) or _KEY.fullmatch(key) is None:
                reason = f"{where}key {key!r} is not a tag as 8 uppercase hex digits"
                raise DecodeError(reason, tag=_last_tag(path))
            tag = Tag(int(key, 16))
            if tag >> 16 == 0xFFFE:
                raise DecodeError(
                    f"{element_path((*path, tag))}: item delimiters are not attributes", tag=tag
                )
            ds.add(self.element(tag, attribute, (*path, tag), depth, charset))
        return ds

    def element(
        self, tag: Tag, attribute: object, path: tuple[int, ...], depth: int, charset: Charset
    ) -> Element:
        try:
            vr, value = self.attribute(attribute, path, depth, charset)
        except DecodeError as exc:
            if exc.tag is not None:
                raise  # from a nested item: its reason names its own path
            raise DecodeError(f"{element_path(path)}: {exc.reason}", tag=tag) from None
        return Element(tag, vr, value)

    def attribute(
        self, attribute: object, path: tuple[int, ...], depth: int, charset: Charset
    ) -> tuple[str, ElementValue]:
        if not isinstance(attribute, Mapping):
            raise DecodeError(f"an attribute must be a JSON object, not {json_type(attribute)}")
        extra = set(attribute) - _ATTRIBUTE_KEYS
        if extra:
            raise DecodeError(f"unexpected member(s) {sorted(map(str, extra))}")
        vr = attribute.get("vr")
        if not isinstance(vr, str) or vr not in VALID_VRS:
            raise DecodeError(f"'vr' {vr!r:.40} is not a DICOM VR")
        present = [name for name in _VALUE_KEYS if name in attribute]
        if len(present) > 1:
            raise DecodeError(f"only one of {' / '.join(present)} is allowed")
        if not present:
            return vr, _empty(vr)
        if present[0] == "Value":
            return vr, self.value(vr, attribute["Value"], path, depth, charset)
        if present[0] == "InlineBinary":
            return vr, _inline_binary(vr, attribute["InlineBinary"])
        return vr, self.bulk_data(vr, attribute["BulkDataURI"], charset)

    def value(
        self, vr: str, items: object, path: tuple[int, ...], depth: int, charset: Charset
    ) -> ElementValue:
        if not isinstance(items, list):
            raise DecodeError(f"'Value' must be an array, not {json_type(items)}")
        if vr == "SQ":
            return [
                self.dataset(item, (*path, index), depth + 1, charset) for index, item in enumerate(items)
            ]
        kind = KIND[vr]
        if kind is VRKind.BYTES:
            raise DecodeError(f"{vr} values are InlineBinary or BulkDataURI, not 'Value'")
        if len(items) > 1 and vr in SINGLE_VALUED:
            raise DecodeError(f"{vr} holds one value, the array has {len(items)}")
        if not items or items == [None]:
            return _empty(vr)
        if vr == "PN":
            return [_pn(item, index) for index, item in enumerate(items)]
        if kind is VRKind.TAG:
            return [_tag(item, index) for index, item in enumerate(items)]
        if kind is VRKind.NUMBER:
            numbers: list[float] = [_number(vr, item, index) for index, item in enumerate(items)]
            return numbers
        if vr in ("DS", "IS"):
            return _numeric_strings(vr, items)
        return [_text(item, index) for index, item in enumerate(items)]

    def bulk_data(self, vr: str, uri: object, charset: Charset) -> ElementValue:
        if vr not in BULK_DATA_VRS:
            raise DecodeError(f"a {vr} value cannot be a BulkDataURI")
        if not isinstance(uri, str):
            raise DecodeError(f"'BulkDataURI' must be a string, not {json_type(uri)}")
        if self.loader is None:
            raise DecodeError(f"BulkDataURI {uri!r:.200} but no bulk data loader was given")
        data = self.loader(uri)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise DecodeError(f"the bulk data loader gave {type(data).__name__}, not bytes, for {uri!r:.200}")
        return decode_value(vr, bytes(data), little_endian=True, charset=charset)


def _empty(vr: str) -> ElementValue:
    kind = KIND[vr]
    if kind is VRKind.SEQUENCE:
        return []
    if kind is VRKind.BYTES:
        return b""
    if kind in (VRKind.TEXT, VRKind.ASCII):
        return ""
    return None


def _inline_binary(vr: str, text: object) -> bytes:
    if vr not in INLINE_BINARY_VRS:
        raise DecodeError(f"a {vr} value cannot be InlineBinary")
    if not isinstance(text, str):
        raise DecodeError(f"'InlineBinary' must be a string, not {json_type(text)}")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise DecodeError("'InlineBinary' is not valid base64") from None


def _pn(item: object, index: int) -> str:
    if item is None:
        return ""
    if not isinstance(item, Mapping):
        raise DecodeError(f"PN value {index} must be an object of component groups, not {json_type(item)}")
    unknown = set(item) - set(PN_GROUPS)
    if unknown:
        raise DecodeError(f"PN value {index} has unknown member(s) {sorted(map(str, unknown))}")
    groups: list[str] = []
    for name in PN_GROUPS:
        group = item.get(name, "")
        if not isinstance(group, str):
            raise DecodeError(f"PN value {index} {name} must be a string, not {json_type(group)}")
        groups.append(group)
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(groups)


def _tag(item: object, index: int) -> Tag:
    if not isinstance(item, str) or _HEX_TAG.fullmatch(item) is None:
        shown = repr(item[:40]) if isinstance(item, str) else json_type(item)
        raise DecodeError(f"AT value {index} must be 8 hex digits 'GGGGEEEE', not {shown}")
    return Tag(int(item, 16))


def _number(vr: str, item: object, index: int) -> int | float:
    if vr in ("FL", "FD"):
        if isinstance(item, str) and item in NON_FINITE:
            return NON_FINITE[item]
        if not isinstance(item, int | float) or isinstance(item, bool):
            raise DecodeError(f"{vr} value {index} must be a number, not {json_type(item)}")
        try:
            number = float(item)
        except OverflowError:
            raise DecodeError(f"{vr} value {index} is out of range") from None
        if vr == "FL" and math.isfinite(number) and abs(number) > _FLOAT32_MAX:
            raise DecodeError(f"FL value {index} is beyond the 32-bit float range: {item!r}")
        return number
    if isinstance(item, float) and item.is_integer():
        item = int(item)
    elif isinstance(item, str) and vr in ("SV", "UV") and _INTEGER.fullmatch(item):
        item = int(item)  # F.2.3: SV and UV may be strings (beyond 2^53)
    if not isinstance(item, int) or isinstance(item, bool):
        shown = repr(item[:40]) if isinstance(item, str) else json_type(item)
        raise DecodeError(f"{vr} value {index} must be an integer, not {shown}")
    low, high = _INT_RANGE[vr]
    if not low <= item <= high:
        raise DecodeError(f"{vr} value {index} out of range {low}..{high}: {item}")
    return item


def _numeric_strings(vr: str, items: list[JSONValue]) -> ElementValue:
    """DS/IS values: numbers when all are valid (as the reader gives them), else the texts."""
    numbers: list[float] = []
    texts: list[str] = []
    all_numbers = True
    for index, item in enumerate(items):
        if item is None:
            all_numbers = False  # an empty value among others: only the text form holds it
            texts.append("")
        elif isinstance(item, str):
            texts.append(item)
            try:
                numbers.append(parse_ds(item) if vr == "DS" else parse_is(item))
            except DecodeError:
                all_numbers = False
        elif isinstance(item, int | float) and not isinstance(item, bool):
            number = _is_number(item, index) if vr == "IS" else _ds_number(item, index)
            numbers.append(number)
            texts.append(format_ds(number) if vr == "DS" else str(number))
        else:
            raise DecodeError(f"{vr} value {index} must be a number or string, not {json_type(item)}")
    if all_numbers:
        return numbers
    return texts


def _is_number(item: int | float, index: int) -> int:
    if isinstance(item, float):
        if not item.is_integer():
            raise DecodeError(f"IS value {index} is not an integer: {item!r}")
        item = int(item)
    if not -_IS_LIMIT <= item < _IS_LIMIT:
        raise DecodeError(f"IS value {index} out of range: {item}")
    return item


def _ds_number(item: int | float, index: int) -> float:
    try:
        number = float(item)
    except OverflowError:
        raise DecodeError(f"DS value {index} is out of range") from None
    if not math.isfinite(number):
        raise DecodeError(f"DS value {index} must be finite, not {item!r}")
    return number


def _text(item: object, index: int) -> str:
    if item is None:
        return ""
    if not isinstance(item, str):
        raise DecodeError(f"value {index} must be a string, not {json_type(item)}")
    return item


def _has_non_ascii_text(ds: Dataset) -> bool:
    for element in ds.elements():
        if element.vr == "SQ":
            if any(_has_non_ascii_text(item) for item in element.sequence):
                return True
        elif (
            element.vr in TEXT_VRS
            and not element.is_raw
            and any(isinstance(v, str) and not v.isascii() for v in element.values)
        ):
            return True
    return False


def _inherit_charsets(ds: Dataset) -> None:
    """Items inherit the character set in force where they are (as the reader does)."""
    charset = ds.charset
    for element in ds.elements():
        if element.vr == "SQ":
            for item in element.sequence:
                item.parent_charset = charset
                _inherit_charsets(item)


def _last_tag(path: tuple[int, ...]) -> int | None:
    tags = path[::2]
    return tags[-1] if tags else None
