"""Filesystem locations: the repository root and ``var/``, where embedded-mode state lives.

``var/`` holds the SQLite database, the local archive storage and collected static files when
no external service is configured. ``PACS_VAR_DIR`` moves it (e.g. to a mounted volume).
"""

from __future__ import annotations

from pathlib import Path

from pacs_project.settings.env import Env, env_str

BASE_DIR = Path(__file__).resolve().parents[3]


def resolve_path(raw: str) -> Path:
    """An absolute path; a relative one is taken relative to the repository root."""
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (BASE_DIR / path).resolve()


def var_dir(env: Env) -> Path:
    """Where embedded-mode state lives (``PACS_VAR_DIR``, default ``<repo>/var``)."""
    return resolve_path(env_str(env, "PACS_VAR_DIR", default=str(BASE_DIR / "var")))
