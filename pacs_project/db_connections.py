"""Database connection helpers shared by the apps' long-running threads (DIMSE handlers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

__all__ = ["begin_and_fetchone", "end_transaction", "replace_dropped_connection", "server_binding_cursor"]


def replace_dropped_connection() -> bool:
    """True if a query failed because the server dropped the connection, which is now closed.

    Django reconnects on the next query, so the caller can run its statement again.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.connection is None or not connection.errors_occurred or connection.is_usable():
        return False
    connection.close()
    return True


def server_binding_cursor() -> Any:
    """A Django cursor on the default (PostgreSQL) connection whose parameters are bound by
    the server rather than quoted into the SQL text in Python.

    Django's psycopg cursors bind on the client, which costs a hot statement with many
    parameters Python time and the server a parse and plan each time. This one sends them
    apart (extended protocol), so psycopg also prepares the statement once it repeats (its
    ``prepare_threshold``, which ``OPTIONS`` may turn off, as behind a pooler). The usual
    wrapper keeps Django's query log and error translation. Use it for fixed statements
    with plain parameters only; everything else keeps Django's cursors.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    raw: Any
    if connection.queries_logged:
        # Django logs a prepared statement's SQL as None: while queries are logged (DEBUG,
        # tests capturing them), statements are sent unprepared.
        raw = _UnpreparedCursor(connection.connection)
        return connection.make_debug_cursor(raw)
    raw = psycopg.Cursor(connection.connection)
    return connection.make_cursor(raw)


class _UnpreparedCursor(psycopg.Cursor[Any]):
    """A server-binding cursor that never prepares (its queries stay loggable)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=False, binary=binary)


def begin_and_fetchone(cursor: Any, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Open a transaction and run ``sql`` in it: BEGIN and the statement go out together and
    cost one round trip (psycopg's pipeline mode), where a transaction opened by Django (or
    psycopg) waits for its BEGIN first. Returns the statement's first row.

    ``cursor`` is a :func:`server_binding_cursor`; the connection must be in autocommit mode
    (no ``transaction.atomic`` around), and the caller ends the transaction with
    :func:`end_transaction` whatever happens. Errors come as Django's database errors.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    raw = connection.connection
    with connection.wrap_database_errors:
        if not psycopg.Pipeline.is_supported():  # libpq before 14: BEGIN on its own
            raw.execute("BEGIN")
            cursor.execute(sql, params)
            return cursor.fetchone()  # type: ignore[no-any-return]
        with raw.pipeline():
            raw.execute("BEGIN")
            cursor.execute(sql, params)
        return cursor.fetchone()  # type: ignore[no-any-return]


def end_transaction(*, commit: bool) -> None:
    """COMMIT (or ROLLBACK) the transaction :func:`begin_and_fetchone` opened.

    A failed ROLLBACK (the connection is gone) is not raised: the server ends the
    transaction with the connection, and ``replace_dropped_connection`` replaces it.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    raw = connection.connection
    if raw is None:
        return
    if commit:
        with connection.wrap_database_errors:
            raw.commit()
        return
    try:
        with connection.wrap_database_errors:
            raw.rollback()
    except DatabaseError:
        connection.errors_occurred = True
