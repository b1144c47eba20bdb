"""Database connection hygiene of the DIMSE handler threads: Django's request-cycle checks, rate-limited.

The server's pool threads keep their database connections between DIMSE messages
(``run_dicom_server`` sets ``CONN_MAX_AGE``). Django's ``close_old_connections``, what a
request runs at its start and end, closes a connection past its age or broken, and
re-arms the health check: a ``SELECT 1`` round trip before the next query. Per C-STORE or
selective C-FIND that round trip is a good share of the work, so :func:`connection_hygiene`
runs it at most once a second per thread, and at once after a query failed.

A connection the database server dropped in between then fails the next query instead of
the health check; :func:`replace_dropped_connection` tells whether that is what happened
(and closes it), so the caller can run the query again on a fresh connection.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Final

from django.db import close_old_connections, connections

from pacs_project.db_connections import replace_dropped_connection

__all__ = ["connection_hygiene", "replace_dropped_connection"]

_INTERVAL_S: Final = 1.0
_last = threading.local()  # per handler thread: when it last ran the checks


def connection_hygiene() -> None:
    """``close_old_connections``, at most once a second per thread unless a query failed."""
    now = time.monotonic()
    last = getattr(_last, "at", -math.inf)
    failed = any(connection.errors_occurred for connection in connections.all(initialized_only=True))
    if failed or now - last >= _INTERVAL_S:
        _last.at = now
        close_old_connections()
