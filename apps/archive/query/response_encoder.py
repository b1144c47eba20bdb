"""C-FIND response identifiers encoded straight from index rows (PS3.4 C.4.1.1.3.2; PS3.5 §7.1).

What ``execute._response`` builds as a :class:`~dicomkit.data.dataset.Dataset` and the
writer then encodes, done in one step for the many matches of a C-FIND: the response's
elements (request keys, the level's unique key, Query/Retrieve Level, Specific Character
Set) are the same for every row of a query, so a :class:`ResponseEncoder` is built once
per query and transfer syntax, with one small converter per element (stored value ->
value bytes), and a :class:`~dicomkit.part10.template.DatasetTemplate` for the headers::

    row (values_list tuple) --converters(row, charset)--> value bytes --template--> identifier bytes

Invariant: the bytes equal ``encode_dataset(execute._response(...), transfer_syntax)``
for the same row, character set choice and errors included (the query tests compare
the two for every query they run). Queries this cannot encode (a sequence key, a
big endian or deflated transfer syntax) get no encoder: :func:`response_encoder` returns
None and the caller encodes the Dataset instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any, Final

from apps.archive.query.attributes import Attribute, ValueKind, unique_key
from apps.archive.query.identifier import KeyMatch, Query
from dicomkit.data import tags
from dicomkit.data.charset import DEFAULT_CHARSET, TEXT_VRS, Charset
from dicomkit.data.value_codec import encode_value
from dicomkit.data.values.datetime import format_da, format_tm
from dicomkit.errors import EncodeError
from dicomkit.part10.template import DatasetTemplate

__all__ = ["ResponseEncoder", "response_encoder"]

Row = Sequence[Any]
# Stored value -> value bytes, given the response's character set.
Converter = Callable[[Row, Charset], bytes]

INSTANCE_AVAILABILITY: Final = "ONLINE"  # every indexed instance is on a storage tier we serve
_IS_RANGE: Final = range(-(2**31), 2**31)


class ResponseEncoder:
    """Encodes the response identifier of each row of one query (see the module docstring).

    Args:
        template: the response's elements, ascending.
        converters: one per element of ``template``; the Specific Character Set's is None.
        charset_index: where the row holds the stored Specific Character Set.
        text_fields: (row index, VR) of the values that decide the response charset.
        response_charset: ``execute._response_charset`` (stored, texts) -> charset.
    """

    __slots__ = ("_charset_index", "_charsets", "_converters", "_response_charset", "_template", "_texts")

    def __init__(
        self,
        template: DatasetTemplate,
        converters: Sequence[Converter | None],
        *,
        charset_index: int,
        text_fields: Sequence[tuple[int, str]],
        response_charset: Callable[[str, list[tuple[str, str]]], str],
    ) -> None:
        self._template = template
        self._converters = tuple(converters)
        self._charset_index = charset_index
        self._texts = tuple(text_fields)
        self._response_charset = response_charset
        self._charsets: dict[str, tuple[Charset, bytes | None]] = {}

    def encode(self, row: Row) -> bytes:
        """The response identifier of ``row``.

        Raises:
            EncodeError: a stored value its VR or the response charset cannot hold.
        """
        stored = row[self._charset_index] or ""
        name = stored
        for index, _vr in self._texts:
            value = row[index]
            if value and not str(value).isascii():
                texts = [(str(row[i]), vr) for i, vr in self._texts if row[i]]
                name = self._response_charset(stored, texts)
                break
        known = self._charsets.get(name)
        if known is None:
            known = self._charsets[name] = _charset_named(name)
        charset, declared = known
        return self._template.encode(
            [declared if convert is None else convert(row, charset) for convert in self._converters]
        )


def response_encoder(
    query: Query,
    *,
    fields: Sequence[str],
    columns: dict[str, str],
    charset_field: str,
    transfer_syntax: str,
    retrieve_ae_title: str | None,
    response_charset: Callable[[str, list[tuple[str, str]]], str],
) -> ResponseEncoder | None:
    """The encoder of ``query``'s responses for rows of ``fields``, or None if it has none.

    ``columns`` maps each returned attribute keyword to its field (``execute._columns``).
    """
    index = {field: position for position, field in enumerate(fields)}
    elements: dict[int, tuple[str, Converter | None]] = {}
    texts: list[tuple[int, str]] = []
    for key in query.keys:
        if key.vr == "SQ" or (key.attribute is not None and key.attribute.kind is ValueKind.SEQUENCE):
            return None
        if key.attribute is None:
            elements[key.tag] = _supplied(key, retrieve_ae_title)
            continue
        attribute = key.attribute
        position = index[columns[attribute.keyword]]
        elements[key.tag] = (attribute.vr, _converter(attribute, position))
        if attribute.kind in (ValueKind.TEXT, ValueKind.PERSON_NAME, ValueKind.UID):
            texts.append((position, attribute.vr))
    level_key = unique_key(query.level)
    if level_key.tag not in elements:
        position = index[columns[level_key.keyword]]
        elements[level_key.tag] = (level_key.vr, _text(level_key.vr, position))
    elements[tags.QueryRetrieveLevel] = ("CS", _constant(encode_value("CS", query.level.value)))
    elements[tags.SpecificCharacterSet] = ("CS", None)
    ordered = sorted(elements.items())
    try:
        template = DatasetTemplate([(tag, vr) for tag, (vr, _c) in ordered], transfer_syntax)
    except EncodeError:
        return None
    return ResponseEncoder(
        template,
        [convert for _tag, (_vr, convert) in ordered],
        charset_index=index[charset_field],
        text_fields=texts,
        response_charset=response_charset,
    )


def _charset_named(name: str) -> tuple[Charset, bytes | None]:
    """The charset of a response and its (0008,0005) value bytes (None: not declared)."""
    if not name:
        return DEFAULT_CHARSET, None
    value: str | list[str] = name.split("\\") if "\\" in name else name
    return Charset.from_value(value), encode_value("CS", value)


def _supplied(key: KeyMatch, retrieve_ae_title: str | None) -> tuple[str, Converter]:
    """Keys the index does not keep: filled by us, or returned zero length in the request's VR."""
    if key.tag == tags.InstanceAvailability:
        return "CS", _constant(encode_value("CS", INSTANCE_AVAILABILITY))
    if key.tag == tags.RetrieveAETitle and retrieve_ae_title:
        return "AE", _constant(encode_value("AE", retrieve_ae_title))
    return key.vr, _constant(b"")


def _constant(value: bytes) -> Converter:
    return lambda row, charset: value


def _converter(attribute: Attribute, position: int) -> Converter:
    """Stored value -> value bytes, as ``execute._value`` then the writer would make them."""
    kind, vr = attribute.kind, attribute.vr
    if kind is ValueKind.DATE:
        return _formatted(vr, position, datetime.date, format_da)
    if kind is ValueKind.TIME:
        return _formatted(vr, position, datetime.time, format_tm)
    if kind is ValueKind.INTEGER:
        return _integer(vr, position)
    # Text, names, UIDs; multi-valued ones are stored backslash-joined, which is how
    # their values are encoded (PS3.5 §6.4).
    return _text(vr, position)


def _text(vr: str, position: int) -> Converter:
    """A text value (None: zero length) in the response charset, or ASCII for non-text VRs."""
    if vr in TEXT_VRS:

        def text(row: Row, charset: Charset) -> bytes:
            value = row[position]
            return b"" if value is None else charset.encode(str(value), vr)

        return text

    def ascii_text(row: Row, charset: Charset) -> bytes:
        value = row[position]
        if value is None:
            return b""
        try:
            return str(value).encode("ascii")
        except UnicodeEncodeError:
            return encode_value(vr, str(value))  # raises the writer's EncodeError

    return ascii_text


def _formatted(
    vr: str,
    position: int,
    kind: type[datetime.date] | type[datetime.time],
    format_value: Callable[[Any], str],
) -> Converter:
    def formatted(row: Row, charset: Charset) -> bytes:
        value = row[position]
        if value is None:
            return b""
        text = format_value(value) if isinstance(value, kind) else str(value)
        return encode_value(vr, text) if not text.isascii() else text.encode("ascii")

    return formatted


def _integer(vr: str, position: int) -> Converter:
    def integer(row: Row, charset: Charset) -> bytes:
        value = row[position]
        if value is None:
            return b""
        number = int(value)
        if vr == "IS" and number in _IS_RANGE:
            return str(number).encode("ascii")
        return encode_value(vr, number)

    return integer
