"""Database connection helpers shared by the apps' long-running threads (DIMSE handlers)."""

from __future__ import annotations

from typing import Any

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
    import psycopg

    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    raw: Any = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)
