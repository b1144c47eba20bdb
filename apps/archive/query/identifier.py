"""A C-FIND / QIDO-RS identifier parsed into a typed :class:`Query` (PS3.4 C.2.2.2, C.4.1.2).

The identifier is a dicomkit Dataset whose text values are already decoded from the
request's Specific Character Set, so every match here works on Unicode text. Each key gets
its matching type from its value (PS3.4 C.2.2.2):

=================  ==========================================================
zero length        Universal Matching: every entity matches, the value is returned
``""``             Empty Value Matching: only entities whose value is empty
UI values          List of UID Matching (a single UID is a list of one)
``*`` / ``?``      Wild Card Matching (a value of ``*`` alone is universal)
DA, TM with ``-``  Range Matching (``A-B``, ``A-``, ``-B``); a single DA/TM value
                   matches the span of its precision (``10`` as TM is 10:00-10:59)
SQ with one item   Sequence Matching over the item's keys
anything else      Single Value Matching; several values (``CT\\MR``) match any
=================  ==========================================================

Hierarchical queries (the baseline) need a unique key with a value for every level above
the Query/Retrieve Level; other keys of those levels are returned but not matched, and keys
of levels below are unknown at this level (returned zero length). Relational queries
(extended negotiation) match keys of any level at or above the query level. With combined
date-time matching negotiated (C.2.2.2.5.1), a DA key and its TM partner (Study Date and
Study Time, ...) are one date-time range.

Refusals raise :class:`~apps.archive.errors.QueryError`; nothing else escapes for a
malformed identifier.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from apps.archive.errors import QueryError, QueryFailure
from apps.archive.query.attributes import (
    Attribute,
    InformationModel,
    Level,
    ValueKind,
    attribute_at,
    model_levels,
    unique_key,
)
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.tag import Tag, is_private
from dicomkit.data.values.ranges import DateRange, TimeRange, parse_range
from dicomkit.errors import DicomError

__all__ = [
    "DateTimeBounds",
    "KeyMatch",
    "MatchKind",
    "Query",
    "pn_case_insensitive_default",
    "query_from_identifier",
]

# Keys that steer the query rather than select entities.
_CONTROL_TAGS = frozenset(
    {
        tags.QueryRetrieveLevel,
        tags.SpecificCharacterSet,
        tags.TimezoneOffsetFromUTC,
        tags.QueryRetrieveView,
    }
)
# Keys the engine fills itself (PS3.4 C.4.1.1.3.2 / C.6.1.1.5.1).
_SUPPLIED_TAGS = frozenset({tags.RetrieveAETitle, tags.InstanceAvailability})
_EMPTY_VALUE = '""'


class MatchKind(enum.Enum):
    """The matching types of PS3.4 C.2.2.2 (and what a key is when it is not matched)."""

    UNIVERSAL = "universal"
    SINGLE = "single"
    UID_LIST = "uid_list"
    WILDCARD = "wildcard"
    RANGE = "range"
    SEQUENCE = "sequence"
    EMPTY = "empty"
    NOT_MATCHED = "not_matched"  # returned only (unknown key, or above the level in hierarchical)


@dataclass(frozen=True, slots=True)
class DateTimeBounds:
    """A combined DA + TM range (C.2.2.2.5.1): naive instants, None for an open side."""

    lower: datetime.datetime | None
    upper: datetime.datetime | None


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """One key of the identifier: the attribute (None when unknown), how it is matched.

    ``values`` holds the text values for single value, list of UID and wild card matching
    (a value without ``*``/``?`` among wild card values matches exactly); ``integers`` the
    values of integer keys; ``date_range``/``time_range`` range matching;
    ``combined`` the date-time range of a DA key matched with its TM partner (which is
    then returned only); ``items`` the keys of a sequence's item.
    """

    tag: Tag
    vr: str
    attribute: Attribute | None
    kind: MatchKind
    values: tuple[str, ...] = ()
    integers: tuple[int, ...] = ()
    date_range: DateRange | None = None
    time_range: TimeRange | None = None
    combined: DateTimeBounds | None = None
    items: tuple[KeyMatch, ...] = ()
    has_item: bool = False  # SQ: the request held an item (its keys are what to return)

    @property
    def matched(self) -> bool:
        return self.kind not in (MatchKind.UNIVERSAL, MatchKind.NOT_MATCHED)


@dataclass(frozen=True, slots=True)
class Query:
    model: InformationModel
    level: Level
    relational: bool
    combined_datetime: bool
    pn_case_insensitive: bool
    keys: tuple[KeyMatch, ...] = field(default=())

    def key(self, tag: int) -> KeyMatch | None:
        return next((k for k in self.keys if k.tag == tag), None)


def pn_case_insensitive_default() -> bool:
    """``PACS_QUERY_PN_CASE_INSENSITIVE`` (default on: PN matching ignores case and accents)."""
    return bool(getattr(settings, "PACS_QUERY_PN_CASE_INSENSITIVE", True))


def query_from_identifier(
    *,
    identifier: Dataset,
    model: InformationModel,
    relational: bool = False,
    combined_datetime: bool = False,
    pn_case_insensitive: bool | None = None,
) -> Query:
    """Parse and check a C-FIND identifier (or a QIDO-RS query turned into one).

    Args:
        relational: relational queries were negotiated (extended negotiation byte 1).
        combined_datetime: combined date and time range matching was negotiated (byte 2).
        pn_case_insensitive: None reads ``PACS_QUERY_PN_CASE_INSENSITIVE``.

    Raises:
        QueryError: no or an unknown Query/Retrieve Level, a level the model lacks, a
            hierarchical query without the unique key of a level above, a sequence key
            with more than one item, a malformed date, time, range or number.
    """
    level = _level(identifier, model)
    keys: list[KeyMatch] = []
    for tag in identifier:
        if tag in _CONTROL_TAGS or is_private(tag) or (tag >> 16) in (0x0000, 0x0002):
            continue
        keys.append(_key(identifier, Tag(tag), level, model, relational))
    if not relational:
        _check_hierarchical(keys, level, model)
    if combined_datetime:
        keys = _combine_date_time(keys)
    return Query(
        model=model,
        level=level,
        relational=relational,
        combined_datetime=combined_datetime,
        pn_case_insensitive=pn_case_insensitive_default()
        if pn_case_insensitive is None
        else pn_case_insensitive,
        keys=tuple(keys),
    )


def _level(identifier: Dataset, model: InformationModel) -> Level:
    try:
        text = identifier.get_str(tags.QueryRetrieveLevel, "").strip()
    except DicomError:
        text = ""
    if not text:
        raise QueryError(
            QueryFailure.MISSING_LEVEL,
            "Query/Retrieve Level is missing",
            offending_tag=tags.QueryRetrieveLevel,
        )
    try:
        level = Level(text.upper())
    except ValueError:
        raise QueryError(
            QueryFailure.UNSUPPORTED_LEVEL,
            f"Unknown Query/Retrieve Level {text[:16]!r}",
            offending_tag=tags.QueryRetrieveLevel,
        ) from None
    if level not in model_levels(model):
        raise QueryError(
            QueryFailure.UNSUPPORTED_LEVEL,
            f"Level {level.value} is not in the Study Root model",
            offending_tag=tags.QueryRetrieveLevel,
        )
    return level


def _key(identifier: Dataset, tag: Tag, level: Level, model: InformationModel, relational: bool) -> KeyMatch:
    element = identifier[tag]
    vr = element.vr
    if tag in _SUPPLIED_TAGS:
        return KeyMatch(tag, vr, None, MatchKind.NOT_MATCHED)
    found = attribute_at(tag, model=model)
    if found is None or found[1].depth > level.depth:
        # Unknown to the index, or a key of a level below: returned zero length.
        return KeyMatch(tag, vr, None, MatchKind.NOT_MATCHED)
    attribute, key_level = found
    key = _match(element_values(identifier, tag), attribute)
    if key_level is not level and not relational and not attribute.unique:
        # Hierarchical: keys of levels above are returned, not matched (C.4.1.2.1).
        return KeyMatch(tag, vr, attribute, MatchKind.NOT_MATCHED, items=key.items, has_item=key.has_item)
    return key


def element_values(identifier: Dataset, tag: Tag) -> list[object]:
    """The decoded values of a key ([] for zero length), as QueryError when undecodable."""
    try:
        return list(identifier.get_values(tag))
    except DicomError as exc:
        raise QueryError(
            QueryFailure.INVALID_VALUE, f"Undecodable value of {tag}", offending_tag=tag
        ) from exc


def _match(values: Sequence[object], attribute: Attribute) -> KeyMatch:
    """The matching type and operands of one known key (C.2.2.2)."""
    tag, vr = attribute.tag, attribute.vr
    if attribute.kind is ValueKind.SEQUENCE:
        return _sequence_match(values, attribute)
    texts = [v.strip(" \x00") if isinstance(v, str) else v for v in values]
    texts = [v for v in texts if v != ""]
    if not texts:
        return KeyMatch(tag, vr, attribute, MatchKind.UNIVERSAL)
    if texts == [_EMPTY_VALUE]:
        return KeyMatch(tag, vr, attribute, MatchKind.EMPTY)
    kind = attribute.kind
    if kind is ValueKind.INTEGER:
        return KeyMatch(tag, vr, attribute, MatchKind.SINGLE, integers=tuple(_integer(v, tag) for v in texts))
    strings = tuple(str(v) for v in texts)
    if kind in (ValueKind.UID, ValueKind.MULTI_UID):
        return KeyMatch(tag, vr, attribute, MatchKind.UID_LIST, values=strings)
    if kind is ValueKind.DATE:
        return KeyMatch(tag, vr, attribute, MatchKind.RANGE, date_range=_date_range(strings, tag))
    if kind is ValueKind.TIME:
        return KeyMatch(tag, vr, attribute, MatchKind.RANGE, time_range=_time_range(strings, tag))
    if "*" in strings:
        return KeyMatch(tag, vr, attribute, MatchKind.UNIVERSAL)  # '*' alone matches everything
    if any("*" in s or "?" in s for s in strings):
        return KeyMatch(tag, vr, attribute, MatchKind.WILDCARD, values=strings)
    return KeyMatch(tag, vr, attribute, MatchKind.SINGLE, values=strings)


def _integer(value: object, tag: Tag) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise QueryError(
            QueryFailure.INVALID_VALUE, f"Not an integer for {tag}: {str(value)[:20]!r}", offending_tag=tag
        ) from None


def _date_range(strings: tuple[str, ...], tag: Tag) -> DateRange:
    text = _one(strings, tag)
    try:
        return parse_range(text, "DA")
    except DicomError:
        raise _malformed("DA", text, tag) from None


def _time_range(strings: tuple[str, ...], tag: Tag) -> TimeRange:
    text = _one(strings, tag)
    try:
        return parse_range(text, "TM")
    except DicomError:
        raise _malformed("TM", text, tag) from None


def _one(strings: tuple[str, ...], tag: Tag) -> str:
    if len(strings) != 1:
        raise QueryError(QueryFailure.INVALID_VALUE, f"{tag} takes one value or range", offending_tag=tag)
    return strings[0]


def _malformed(vr: str, text: str, tag: Tag) -> QueryError:
    comment = f"Malformed {vr} range {text[:24]!r} in {tag}"
    return QueryError(QueryFailure.INVALID_VALUE, comment, offending_tag=tag)


def _sequence_match(values: Sequence[object], attribute: Attribute) -> KeyMatch:
    items = [v for v in values if isinstance(v, Dataset)]
    if len(items) > 1:
        raise QueryError(
            QueryFailure.INVALID_KEY,
            f"Sequence key {attribute.tag} has more than one item",
            offending_tag=attribute.tag,
        )
    if not items:
        return KeyMatch(attribute.tag, "SQ", attribute, MatchKind.UNIVERSAL)
    known: dict[int, Attribute] = {a.tag: a for a in attribute.items}
    sub_keys: list[KeyMatch] = []
    for tag in items[0]:
        sub = known.get(tag)
        vr = items[0][tag].vr
        if sub is None or is_private(tag):
            sub_keys.append(KeyMatch(Tag(tag), vr, None, MatchKind.NOT_MATCHED))
            continue
        sub_keys.append(_match(element_values(items[0], Tag(tag)), sub))
    kind = MatchKind.SEQUENCE if any(k.matched for k in sub_keys) else MatchKind.UNIVERSAL
    return KeyMatch(attribute.tag, "SQ", attribute, kind, items=tuple(sub_keys), has_item=True)


def _check_hierarchical(keys: list[KeyMatch], level: Level, model: InformationModel) -> None:
    """Every level above the query level needs its unique key with a value (C.4.1.2.1)."""
    by_tag = {k.tag: k for k in keys}
    for upper in model_levels(model):
        if upper is level:
            return
        attribute = unique_key(upper)
        key = by_tag.get(attribute.tag)
        if key is None or not key.matched:
            raise QueryError(
                QueryFailure.MISSING_UNIQUE_KEY,
                f"{attribute.keyword} needs a value at level {level.value}",
                offending_tag=attribute.tag,
            )


def _combine_date_time(keys: list[KeyMatch]) -> list[KeyMatch]:
    """Merge each DA key with its TM partner into one date-time range (C.2.2.2.5.1)."""
    by_tag = {k.tag: k for k in keys}
    out: list[KeyMatch] = []
    for key in keys:
        attribute = key.attribute
        if attribute is None or attribute.pair is None or key.kind is not MatchKind.RANGE:
            out.append(key)
            continue
        partner = by_tag.get(attribute.pair)
        if partner is None or partner.kind is not MatchKind.RANGE:
            out.append(key)
            continue
        if key.date_range is not None and partner.time_range is not None:
            bounds = _bounds(key.date_range, partner.time_range)
            out.append(KeyMatch(key.tag, key.vr, attribute, MatchKind.RANGE, combined=bounds))
        else:  # the TM key: matched as part of its DA partner
            out.append(KeyMatch(key.tag, key.vr, attribute, MatchKind.NOT_MATCHED))
    return out


def _bounds(dates: DateRange, times: TimeRange) -> DateTimeBounds:
    low_date, high_date = dates.lower_bound(), dates.upper_bound()
    low_time = times.lower_bound() or datetime.time.min
    high_time = times.upper_bound() or datetime.time.max
    return DateTimeBounds(
        lower=None if low_date is None else datetime.datetime.combine(low_date, low_time),
        upper=None if high_date is None else datetime.datetime.combine(high_date, high_time),
    )
