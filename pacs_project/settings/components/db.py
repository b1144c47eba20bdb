"""Database: PostgreSQL (psycopg 3) from ``DATABASE_URL``, else SQLite under ``var/``.

``DATABASE_URL`` uses the usual URL form, e.g. ``postgres://user:password@host:5432/pacs``.
``PACS_DB_CONN_MAX_AGE`` (seconds, default 0) enables persistent connections, with Django's
health checks so a connection dropped by the server is replaced rather than used.
psycopg prepares a statement bound on the server (the ingest's index call is one) once it
has run ``PREPARE_THRESHOLD`` times on a connection; Django turns that off unless
``OPTIONS`` names a threshold, so it is named here. ``PACS_DB_PREPARED_STATEMENTS=0`` turns
it off, for a transaction-mode pooler that cannot keep prepared statements.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import dj_database_url

from pacs_project.settings.env import Env, env_bool, env_int, env_str

SQLITE_FILENAME = "db.sqlite3"
PREPARE_THRESHOLD = 5  # psycopg's own default, which Django replaces with None (never)


def databases(env: Env, *, var_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``DATABASES`` setting."""
    url = env_str(env, "DATABASE_URL")
    if url:
        config: dict[str, Any] = dict(
            dj_database_url.parse(
                url,
                conn_max_age=env_int(env, "PACS_DB_CONN_MAX_AGE", default=0),
                conn_health_checks=True,
            )
        )
        prepared = env_bool(env, "PACS_DB_PREPARED_STATEMENTS", default=True)
        config.setdefault("OPTIONS", {})["prepare_threshold"] = PREPARE_THRESHOLD if prepared else None
        return {"default": config}
    # Embedded mode. Django creates the file but not its directory.
    var_dir.mkdir(parents=True, exist_ok=True)
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(var_dir / SQLITE_FILENAME),
            "OPTIONS": {
                # One writer at a time, and every transaction takes the write lock when it
                # begins, waiting up to 20 s for it. A transaction that began as a reader
                # could not become a writer while another one writes: SQLite fails that at
                # once, whatever the timeout, so parallel imports and associations failed.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                # Readers (the web admin, queries) go on while an ingest writes.
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }


def socket_database_url(url: str, socket_folder: str) -> str:
    """``url`` (a ``DATABASE_URL``) pointed at a local PostgreSQL's Unix socket in
    ``socket_folder``: the folder, percent-encoded, becomes the host; the credentials, the
    port (which names the socket file, ``.s.PGSQL.<port>``) and the database stay."""
    parts = urllib.parse.urlsplit(url)
    host = urllib.parse.quote(socket_folder, safe="")
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{host}" if credentials else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
