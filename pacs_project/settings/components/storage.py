"""Where files go: the archive's local storage root and collected static files.

``PACS_STORAGE_ROOT`` is the root of the local-filesystem storage tier (default ``var/storage``).
Object storage tiers (S3, Azure Blob) are configured by the archive app on top of this.
"""

from __future__ import annotations

from pathlib import Path

from pacs_project.settings.components.paths import resolve_path
from pacs_project.settings.env import Env, env_str


def storage_root(env: Env, *, var_dir: Path) -> Path:
    """``PACS_STORAGE_ROOT`` (default ``var/storage``); not created here: a system check owns that."""
    return resolve_path(env_str(env, "PACS_STORAGE_ROOT", default=str(var_dir / "storage")))


def static_root(env: Env, *, var_dir: Path) -> Path:
    """Target of ``collectstatic`` (``DJANGO_STATIC_ROOT``, default ``var/static``)."""
    return resolve_path(env_str(env, "DJANGO_STATIC_ROOT", default=str(var_dir / "static")))
