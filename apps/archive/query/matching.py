"""Matching types (PS3.4 C.2.2.2) as Django conditions on the index: one SQL WHERE clause.

Every :class:`~apps.archive.query.identifier.KeyMatch` becomes a ``Q`` on the model of the
query level, reaching keys of levels above through joins (``series__study__...``), so a
query is one SQL statement and nothing is filtered row by row in Python.

- Wild cards become ``LIKE`` with ``%`` and ``_`` (and the escape character) escaped, so
  only ``*`` and ``?`` are special; a left-anchored pattern (``DOE*``) can use the
  ``varchar_pattern_ops`` B-tree indexes.
- Person names (PN) compare the case- and accent-insensitive search key
  (``person_names.py``) unless ``PACS_QUERY_PN_CASE_INSENSITIVE`` is off. A name has up to
  three component groups (alphabetic=ideographic=phonetic). A query with ``=`` matches
  group by group; a query without ``=`` matches the alphabetic group, and also the
  ideographic and phonetic groups when it holds non-ASCII characters (``山田*``, ``김*``).
  Groups are matched with a regular expression (``[^=]`` keeps a wild card inside its
  group), next to a ``LIKE`` on the literal prefix that the B-tree index serves.
- Derived study keys (Modalities in Study, SOP Classes in Study) are matched through the
  indexed series and instance rows (``EXISTS``), not their joined text. A keyset page
  of a study-level query (``after``) bounds the subquery's study too: PostgreSQL does
  not carry ``study.id > n`` across the semi-join, and its merge join would otherwise
  read the series of every earlier study again for each page.
- Sequence Matching (C.2.2.2.6) looks for one stored item matching every key of the
  query's item (``EXISTS`` over the JSON array, PostgreSQL and SQLite).
- Empty Value Matching (``""``) matches empty strings and NULL; NULL never matches a value
  or range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import BooleanField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import Expression
from django.db.models.sql.compiler import SQLCompiler

from apps.archive.errors import QueryError, QueryFailure
from apps.archive.models import Instance, Series
from apps.archive.person_names import person_name_search_key
from apps.archive.query.attributes import Attribute, InformationModel, Level, ValueKind, attribute_at, path_to
from apps.archive.query.identifier import DateTimeBounds, KeyMatch, MatchKind, Query

__all__ = ["Like", "JsonItemsMatch", "like_pattern", "query_condition"]

_LIKE_SPECIAL = ("\\", "%", "_")
_REGEX_SPECIAL = frozenset(".^$*+?()[]{}|\\-/")


def like_pattern(text: str) -> str:
    """A DICOM wild card value as a LIKE pattern (escape character ``\\``)."""
    out: list[str] = []
    for char in text:
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char in _LIKE_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _literal_prefix(text: str) -> str:
    """The characters before the first wild card."""
    for index, char in enumerate(text):
        if char in "*?":
            return text[:index]
    return text


class Like(Expression):
    """``<column> LIKE <pattern> ESCAPE '\\'``, the same on PostgreSQL and SQLite."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, pattern: str) -> None:
        super().__init__()
        self.lhs: Any = F(column)
        self.rhs: Any = Value(pattern)

    def get_source_expressions(self) -> list[Any]:
        return [self.lhs, self.rhs]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.lhs, self.rhs = exprs

    def as_sql(self, compiler: SQLCompiler, connection: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        lhs, lhs_params = compiler.compile(self.lhs)
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


class JsonItemsMatch(Expression):
    """True when one item of a JSON array column matches every (key, condition) given.

    A condition is ``("in", [values])``, ``("like", pattern)`` or ``("empty", None)``;
    keys are the attribute keywords of our own map (never request text).
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, conditions: list[tuple[str, str, object]]) -> None:
        super().__init__()
        self.column: Any = F(column)
        self.conditions = conditions

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: SQLCompiler, connection: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        column, column_params = compiler.compile(self.column)
        params: list[Any] = list(column_params)
        if connection.vendor == "postgresql":
            array = f"CASE jsonb_typeof({column}) WHEN 'array' THEN {column} ELSE '[]'::jsonb END"
            source = f"jsonb_array_elements({array})"
            item = "(_item.value ->> '{key}')"
        else:
            source = f"json_each(CASE json_type({column}) WHEN 'array' THEN {column} ELSE '[]' END)"
            item = "json_extract(_item.value, '$.\"{key}\"')"
        clauses: list[str] = []
        for key, operator, operand in self.conditions:
            if not key.isidentifier():  # keywords only: they are written into the SQL
                raise ValueError(f"not an attribute keyword: {key!r}")
            value = item.format(key=key)
            if operator == "in":
                values = list(operand)  # type: ignore[call-overload]
                clauses.append(f"{value} IN ({', '.join(['%s'] * len(values))})")
                params.extend(values)
            elif operator == "like":
                clauses.append(f"{value} LIKE %s ESCAPE '\\'")
                params.append(operand)
            else:
                clauses.append(f"COALESCE({value}, '') = ''")
        where = " AND ".join(clauses) or "TRUE"
        return f"EXISTS (SELECT 1 FROM {source} AS _item WHERE {where})", params


def query_condition(query: Query, *, after: int | None = None) -> Q:
    """The WHERE clause of ``query`` on the model of its level (AND of its matched keys).

    ``after``: the rows of a keyset page, primary key above it (see the module docstring).
    """
    condition = Q() if after is None else Q(pk__gt=after)
    for key in query.keys:
        if key.matched and key.attribute is not None:
            condition &= key_condition(key, key.attribute, query, after=after)
    return condition


def key_condition(key: KeyMatch, attribute: Attribute, query: Query, *, after: int | None = None) -> Q:
    """One key's condition; the column is reached from the query level's model."""
    prefix = path_to(query.level, attribute.entity)
    column = prefix + attribute.column
    kind = attribute.kind
    if key.kind is MatchKind.EMPTY:
        if kind in (
            ValueKind.TEXT,
            ValueKind.UID,
            ValueKind.PERSON_NAME,
            ValueKind.MULTI_TEXT,
            ValueKind.MULTI_UID,
        ):
            return Q(**{column: ""}) | Q(**{f"{column}__isnull": True})
        if kind is ValueKind.SEQUENCE:
            return Q(**{column: []}) | Q(**{f"{column}__isnull": True})
        return Q(**{f"{column}__isnull": True})
    if attribute.child is not None:
        return _child_condition(key, attribute, query, after)
    if key.kind is MatchKind.SEQUENCE:
        return Q(JsonItemsMatch(column, _item_conditions(key)))
    if key.kind is MatchKind.RANGE:
        if key.combined is not None and attribute.pair is not None:
            time_column = prefix + _partner_column(attribute, query.model)
            return _combined_condition(column, time_column, key.combined)
        bounds = key.date_range or key.time_range
        assert bounds is not None
        condition = Q()
        low, high = bounds.lower_bound(), bounds.upper_bound()
        if low is not None:
            condition &= Q(**{f"{column}__gte": low})
        if high is not None:
            condition &= Q(**{f"{column}__lte": high})
        return condition
    if kind is ValueKind.INTEGER:
        return Q(**{f"{column}__in": list(key.integers)})
    if key.kind is MatchKind.UID_LIST:
        return Q(**{f"{column}__in": list(key.values)})
    if kind is ValueKind.PERSON_NAME:
        search = prefix + (attribute.search_column or attribute.column)
        use = search if query.pn_case_insensitive and attribute.search_column else column
        return _any_of(_person_name_condition(use, value, query.pn_case_insensitive) for value in key.values)
    return _any_of(_text_condition(column, value) for value in key.values)


def _any_of(conditions: Any) -> Q:
    result: Q | None = None
    for condition in conditions:
        result = condition if result is None else result | condition
    return result if result is not None else Q()


def _text_condition(column: str, value: str) -> Q:
    if "*" in value or "?" in value:
        return Q(Like(column, like_pattern(value)))
    return Q(**{column: value})


def _partner_column(attribute: Attribute, model: InformationModel) -> str:
    assert attribute.pair is not None
    found = attribute_at(attribute.pair, model=model)
    assert found is not None
    return found[0].column


def _combined_condition(date_column: str, time_column: str, bounds: DateTimeBounds) -> Q:
    """Date and time as one instant; a missing time counts as the whole day."""
    condition = Q()
    if bounds.lower is not None:
        day, time = bounds.lower.date(), bounds.lower.time()
        condition &= Q(**{f"{date_column}__gt": day}) | (
            Q(**{date_column: day})
            & (Q(**{f"{time_column}__gte": time}) | Q(**{f"{time_column}__isnull": True}))
        )
    if bounds.upper is not None:
        day, time = bounds.upper.date(), bounds.upper.time()
        condition &= Q(**{f"{date_column}__lt": day}) | (
            Q(**{date_column: day})
            & (Q(**{f"{time_column}__lte": time}) | Q(**{f"{time_column}__isnull": True}))
        )
    return condition


def _child_condition(key: KeyMatch, attribute: Attribute, query: Query, after: int | None) -> Q:
    """Modalities / SOP Classes in Study: some series or instance of the study has the value."""
    assert attribute.child is not None
    study_pk = path_to(query.level, Level.STUDY) + "pk" if query.level is not Level.STUDY else "pk"
    field = attribute.child.field
    study = "study_id" if attribute.child.model == "series" else "series__study_id"
    model = Series if attribute.child.model == "series" else Instance
    rows: QuerySet[Any] = model.objects.filter(**{study: OuterRef(study_pk)})
    if after is not None and query.level is Level.STUDY:
        rows = rows.filter(**{f"{study}__gt": after})  # implied by pk > after; index-served
    if key.kind is MatchKind.UID_LIST:
        return Q(Exists(rows.filter(**{f"{field}__in": list(key.values)})))
    return Q(Exists(rows.filter(_any_of(_text_condition(field, value) for value in key.values))))


def _item_conditions(key: KeyMatch) -> list[tuple[str, str, object]]:
    conditions: list[tuple[str, str, object]] = []
    for sub in key.items:
        if not sub.matched or sub.attribute is None:
            continue
        name = sub.attribute.column
        if sub.kind is MatchKind.EMPTY:
            conditions.append((name, "empty", None))
        elif sub.kind is MatchKind.WILDCARD and len(sub.values) == 1:
            conditions.append((name, "like", like_pattern(sub.values[0])))
        elif sub.kind is MatchKind.WILDCARD:
            _refuse_multiple_wildcards(sub)
        else:
            conditions.append((name, "in", list(sub.values)))
    return conditions


def _refuse_multiple_wildcards(key: KeyMatch) -> None:
    raise QueryError(
        QueryFailure.INVALID_KEY, f"Several wild card values in sequence key {key.tag}", offending_tag=key.tag
    )


def _escape_regex(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def _group_regex(group: str) -> str:
    """One component group of a PN query as a regular expression confined to a group."""
    out: list[str] = []
    for char in group:
        if char == "*":
            out.append("[^=]*")
        elif char == "?":
            out.append("[^=]")
        else:
            out.append(_escape_regex(char))
    return "".join(out)


def _person_name_condition(column: str, value: str, case_insensitive: bool) -> Q:
    text = person_name_search_key(value) if case_insensitive else value
    groups = text.split("=")[:3]
    first = groups[0]
    # Redundant with the regular expressions below, but index-served: a literal prefix of
    # the alphabetic group by the B-tree (varchar_pattern_ops), else the longest literal
    # run anywhere by the trigram index (whose cost estimates for LIKE beat those for ~).
    prefix = _literal_prefix(first)
    if prefix and (len(groups) > 1 or first.isascii()):
        condition = Q(Like(column, like_pattern(prefix) + "%"))
    else:
        run = max((_literal_runs(group) for group in groups), key=len)
        condition = Q(Like(column, f"%{like_pattern(run)}%")) if len(run) >= 3 else Q()
    if len(groups) == 1:
        anchor = "^" if first.isascii() else "(^|=)"
        return condition & Q(**{f"{column}__regex": f"{anchor}{_group_regex(first)}(=|$)"})
    for index, group in enumerate(groups):
        if not group or group == "*":
            continue
        lead = "^" + "[^=]*=" * index
        condition &= Q(**{f"{column}__regex": f"{lead}{_group_regex(group)}(=|$)"})
    return condition


def _literal_runs(text: str) -> str:
    """The longest run of characters without wild cards in ``text``."""
    return max(text.replace("?", "*").split("*"), key=len)
