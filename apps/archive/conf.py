"""The one typed accessor for this app's settings, and the storage backend built from them.

``settings.PACS_ARCHIVE`` (an :class:`ArchiveSettings`, see
``pacs_project/settings/components/storage.py``) holds the ingest policies and
``settings.PACS_STORAGE_ROOT`` the root of the local tier. Tests override either with the
``settings`` fixture (``dataclasses.replace`` for the former).
"""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.archive.storage.backend import LocalFileBackend, StorageBackend
from pacs_project.settings.components.storage import (
    ArchiveSettings,
    DuplicatePolicy,
    KeyLayout,
    PatientConflictPolicy,
)

__all__ = [
    "ArchiveSettings",
    "DuplicatePolicy",
    "KeyLayout",
    "PatientConflictPolicy",
    "archive_settings",
    "index_async_commit",
    "storage_backend",
    "storage_backend_named",
    "storage_root",
    "temp_dir",
]


def archive_settings() -> ArchiveSettings:
    """``settings.PACS_ARCHIVE``, checked to be what ``pacs_project.settings`` builds."""
    value = getattr(settings, "PACS_ARCHIVE", None)
    if not isinstance(value, ArchiveSettings):
        raise ImproperlyConfigured(
            f"settings.PACS_ARCHIVE must be an ArchiveSettings, got {type(value).__name__}"
        )
    return value


def storage_root() -> Path:
    """``settings.PACS_STORAGE_ROOT`` as a Path."""
    return Path(settings.PACS_STORAGE_ROOT)


def temp_dir() -> Path | None:
    """``settings.PACS_TMP_DIR`` as a Path; None: the system's temporary directory."""
    configured = getattr(settings, "PACS_TMP_DIR", None)
    return Path(configured) if configured else None


def storage_backend() -> StorageBackend:
    """The backend new instances are stored in (today: the local filesystem tier)."""
    return _local_backend(str(settings.PACS_STORAGE_ROOT), _direct_io())


def index_async_commit() -> bool:
    """``settings.PACS_INDEX_ASYNC_COMMIT``: whether the index fast path commits without
    waiting for PostgreSQL's WAL flush (``services.wal_settle`` covers the gap)."""
    return bool(getattr(settings, "PACS_INDEX_ASYNC_COMMIT", True))


def _direct_io() -> bool:
    return bool(getattr(settings, "PACS_STORAGE_DIRECT_IO", True))


@functools.lru_cache(maxsize=4)
def _local_backend(root: str, direct_io: bool) -> LocalFileBackend:
    """One backend object per root and write mode (it holds no other state): every C-STORE
    and every read asks."""
    return LocalFileBackend(Path(root), direct_io=direct_io)


def storage_backend_named(name: str) -> StorageBackend:
    """The backend a stored location names (``StorageLocation.backend``).

    Raises:
        ImproperlyConfigured: no backend of that name is configured.
    """
    if name == LocalFileBackend.name:
        return _local_backend(str(settings.PACS_STORAGE_ROOT), _direct_io())
    raise ImproperlyConfigured(f"no storage backend named {name!r} is configured")
