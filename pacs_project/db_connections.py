"""Database connection helpers shared by the apps' long-running threads (DIMSE handlers)."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

__all__ = ["replace_dropped_connection"]


def replace_dropped_connection() -> bool:
    """True if a query failed because the server dropped the connection, which is now closed.

    Django reconnects on the next query, so the caller can run its statement again.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.connection is None or not connection.errors_occurred or connection.is_usable():
        return False
    connection.close()
    return True
