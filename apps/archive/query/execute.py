"""Run a :class:`~apps.archive.query.identifier.Query` and stream response identifiers.

PS3.4 C.4.1.1.3.2 (C-FIND responses) and C.2.2.1 (return keys). One SQL statement per
page: the WHERE clause of ``matching.py`` plus keyset pagination on the primary key
(``pk > last ORDER BY pk LIMIT n``), so a broad query streams in constant memory without
OFFSET and without holding a transaction or a cursor open between pages; ``cancelled`` is
asked before every page and every response, so a C-CANCEL stops the stream at once.

Each response holds every key of the request: the value the index keeps, computed ones
included (number of related series and instances, Modalities / SOP Classes in Study),
zero length for keys the index does not know or levels below the query level; plus the
Query/Retrieve Level, the unique key of the level, Instance Availability and Retrieve AE
Title when asked for. Specific Character Set (0008,0005) is the one the study was stored
in (patient level: the patient's first study), so the response can be encoded as the
instance was; when a value does not fit it (or none was stored and a value is not ASCII)
the response says ISO_IR 192 (UTF-8) instead.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.db import DatabaseError
from django.db.models import Model, OuterRef, QuerySet, Subquery

from apps.archive.errors import QueryError, QueryFailure
from apps.archive.models import Instance, Patient, Series, Study
from apps.archive.models.study import MULTI_VALUE_SEPARATOR
from apps.archive.query.attributes import Attribute, Level, ValueKind, path_to, unique_key
from apps.archive.query.identifier import KeyMatch, Query
from apps.archive.query.matching import query_condition
from apps.archive.query.response_encoder import INSTANCE_AVAILABILITY, response_encoder
from dicomkit.data import tags
from dicomkit.data.charset import Charset
from dicomkit.data.dataset import Dataset
from dicomkit.data.values.datetime import format_da, format_tm
from dicomkit.errors import DicomError
from dicomkit.part10.writer import encode_dataset

__all__ = ["DEFAULT_PAGE_SIZE", "query_execute", "query_execute_encoded", "query_queryset"]

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 200
_MODELS: dict[Level, type[Model]] = {
    Level.PATIENT: Patient,
    Level.STUDY: Study,
    Level.SERIES: Series,
    Level.IMAGE: Instance,
}
_CHARSET = "_charset"
_UTF8 = "ISO_IR 192"


def query_queryset(query: Query, *, after: int | None = None) -> QuerySet[Any]:
    """The rows matching ``query`` (one SQL statement; used by ``query_execute`` and EXPLAIN).

    ``after``: only those of a keyset page, primary key above it.
    """
    model = _MODELS[query.level]
    return model._default_manager.filter(query_condition(query, after=after))


def query_execute(
    *,
    query: Query,
    page_size: int = DEFAULT_PAGE_SIZE,
    cancelled: Callable[[], bool] | None = None,
    retrieve_ae_title: str | None = None,
) -> Iterator[Dataset]:
    """Yield one response identifier per matching entity (unencoded dicomkit Datasets).

    Args:
        page_size: rows fetched per SQL statement.
        cancelled: asked before each page and each response; True stops the stream.
        retrieve_ae_title: the value of Retrieve AE Title (0008,0054) when it is asked for.

    Raises:
        QueryError: (PROCESSING_FAILURE) the index could not be read.
    """
    fields, columns, charset = _fields(query)
    for row in _rows(query, fields, page_size, cancelled):
        yield _response(
            query, dict(zip(fields, row, strict=True)), columns, row[charset] or "", retrieve_ae_title
        )


def query_execute_encoded(
    *,
    query: Query,
    transfer_syntax: str,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_page_size: int | None = None,
    cancelled: Callable[[], bool] | None = None,
    retrieve_ae_title: str | None = None,
) -> Iterator[bytes]:
    """:func:`query_execute`'s responses, each encoded in ``transfer_syntax`` (what C-FIND sends).

    The same bytes as ``encode_dataset`` of each Dataset, made straight from the row by a
    per-query :class:`~apps.archive.query.response_encoder.ResponseEncoder` (about ten
    times cheaper); queries it cannot encode go through the Dataset.

    ``max_page_size``: pages after the first double in size up to this many rows, so a
    broad query's first matches come after a small statement and the rest in few (each
    statement costs about a millisecond to build, plan and start). None: ``page_size``.

    Raises:
        QueryError: (PROCESSING_FAILURE) the index could not be read.
        EncodeError: a stored value the response cannot hold (as the writer raises it).
    """
    fields, columns, charset = _fields(query)
    rows = _rows(query, fields, page_size, cancelled, max_page_size=max_page_size)
    encoder = response_encoder(
        query,
        fields=fields,
        columns=columns,
        charset_field=fields[charset],
        transfer_syntax=transfer_syntax,
        retrieve_ae_title=retrieve_ae_title,
        response_charset=_response_charset,
    )
    if encoder is None:
        for row in rows:
            response = _response(
                query, dict(zip(fields, row, strict=True)), columns, row[charset] or "", retrieve_ae_title
            )
            yield encode_dataset(response, transfer_syntax)
        return
    encode = encoder.encode
    for row in rows:
        yield encode(row)


def _fields(query: Query) -> tuple[list[str], dict[str, str], int]:
    """The row fields a query reads (primary key first), its columns, where the charset is."""
    columns = _columns(query)
    if query.level is Level.PATIENT:
        charset_field = _CHARSET
    else:
        charset_field = path_to(query.level, Level.STUDY) + "specific_character_set"
    fields = ["pk", *sorted(set(columns.values()) | {charset_field})]
    return fields, columns, fields.index(charset_field)


def _rows(
    query: Query,
    fields: list[str],
    page_size: int,
    cancelled: Callable[[], bool] | None,
    *,
    max_page_size: int | None = None,
) -> Iterator[tuple[Any, ...]]:
    """The matching rows as ``fields`` tuples, one SQL statement per page (keyset on pk)."""
    if page_size < 1:
        raise ValueError("page_size must be positive")
    largest = max(page_size, max_page_size or page_size)
    stop = cancelled or (lambda: False)
    last: int | None = None
    while not stop():
        page = query_queryset(query, after=last)
        if query.level is Level.PATIENT:
            first_study = Study.objects.filter(patient=OuterRef("pk")).order_by("pk")
            page = page.annotate(**{_CHARSET: Subquery(first_study.values("specific_character_set")[:1])})
        try:
            batch = list(page.order_by("pk").values_list(*fields)[:page_size])
        except DatabaseError as exc:
            logger.exception("query failed", extra={"level": query.level.value})
            raise QueryError(QueryFailure.PROCESSING_FAILURE, "The index could not be read") from exc
        for row in batch:
            if stop():
                return
            yield row
        if len(batch) < page_size:
            return
        last = batch[-1][0]
        page_size = min(page_size * 2, largest)


def _columns(query: Query) -> dict[str, str]:
    """Row field of each returned attribute keyword (known keys at or above the level)."""
    columns: dict[str, str] = {}
    for attribute in _returned_attributes(query):
        columns[attribute.keyword] = path_to(query.level, attribute.entity) + attribute.column
    return columns


def _returned_attributes(query: Query) -> Iterator[Attribute]:
    seen: set[int] = set()
    for key in query.keys:
        if key.attribute is not None:
            seen.add(key.tag)
            yield key.attribute
    level_key = unique_key(query.level)
    if level_key.tag not in seen:
        yield level_key


def _response(
    query: Query, row: dict[str, Any], columns: dict[str, str], stored_charset: str, retrieve_ae: str | None
) -> Dataset:
    response = Dataset()
    texts: list[tuple[str, str]] = []
    for key in query.keys:
        _set_key(response, key, row, columns, texts, retrieve_ae)
    level_key = unique_key(query.level)
    if level_key.tag not in response:
        value = row[columns[level_key.keyword]]
        response.set(level_key.tag, value or "", level_key.vr)
    response.set(tags.QueryRetrieveLevel, query.level.value, "CS")
    charset = _response_charset(stored_charset, texts)
    if charset:
        response.set(tags.SpecificCharacterSet, charset.split("\\") if "\\" in charset else charset, "CS")
    return response


def _set_key(
    response: Dataset,
    key: KeyMatch,
    row: dict[str, Any],
    columns: dict[str, str],
    texts: list[tuple[str, str]],
    retrieve_ae: str | None,
) -> None:
    attribute = key.attribute
    if attribute is None:
        if key.tag == tags.InstanceAvailability:
            response.set(key.tag, INSTANCE_AVAILABILITY, "CS")
        elif key.tag == tags.RetrieveAETitle and retrieve_ae:
            response.set(key.tag, retrieve_ae, "AE")
        else:
            response.set(key.tag, [] if key.vr == "SQ" else None, key.vr)
        return
    raw = row[columns[attribute.keyword]]
    if attribute.kind is ValueKind.SEQUENCE:
        response.set(key.tag, _items(key, raw, texts), "SQ")
        return
    value = _value(attribute, raw)
    if isinstance(value, str) and value:
        texts.append((value, attribute.vr))
    response.set(key.tag, value, attribute.vr)


def _value(attribute: Attribute, raw: object) -> str | int | list[str] | None:
    if raw is None:
        return None
    kind = attribute.kind
    if kind is ValueKind.DATE and isinstance(raw, datetime.date):
        return format_da(raw)
    if kind is ValueKind.TIME and isinstance(raw, datetime.time):
        return format_tm(raw)
    if kind is ValueKind.INTEGER:
        return int(raw)  # type: ignore[call-overload,no-any-return]
    if kind in (ValueKind.MULTI_TEXT, ValueKind.MULTI_UID):
        text = str(raw)
        return text.split(MULTI_VALUE_SEPARATOR) if text else None
    return str(raw)


def _items(key: KeyMatch, raw: object, texts: list[tuple[str, str]]) -> list[Dataset]:
    """The stored items, each with the keys of the request's item (all known ones if none)."""
    attribute = key.attribute
    assert attribute is not None
    stored = raw if isinstance(raw, list) else []
    wanted = key.items if key.has_item else ()
    known = {a.tag: a for a in attribute.items}
    out: list[Dataset] = []
    for entry in stored:
        if not isinstance(entry, dict):
            continue
        item = Dataset()
        for sub in wanted or tuple(KeyMatch(a.tag, a.vr, a, key.kind) for a in attribute.items):
            sub_attribute = known.get(sub.tag)
            value = str(entry.get(sub_attribute.column) or "") if sub_attribute is not None else ""
            if value:
                texts.append((value, sub.vr))
            item.set(sub.tag, value, sub.vr)
        out.append(item)
    return out


def _response_charset(stored: str, texts: list[tuple[str, str]]) -> str:
    """The stored Specific Character Set if it can encode every value, else UTF-8."""
    if all(text.isascii() for text, _vr in texts):
        return stored
    if not stored.strip("\\ "):
        return _UTF8
    try:
        charset = Charset.from_value(stored)
        for text, vr in texts:
            charset.encode(text, vr)
    except DicomError:
        return _UTF8
    return stored
