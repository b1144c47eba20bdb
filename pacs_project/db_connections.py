"""Database connection helpers shared by the apps' long-running threads (DIMSE handlers)."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections

__all__ = ["replace_dropped_connection", "server_binding_cursor"]


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
