"""System checks of the archive (``manage.py check``), ids ``archive.E0xx``.

E001: the storage root (``PACS_STORAGE_ROOT``) exists or can be created, is a directory and
      is writable (a staging file can be created and removed there).
E002: ``settings.PACS_ARCHIVE`` is an ``ArchiveSettings`` (tests and deployments that
      replace it must keep the type).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from apps.archive.conf import archive_settings, storage_root, temp_dir


def check_storage_root(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E001: the storage root is a writable directory (created when missing)."""
    root = storage_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-check"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        return [
            checks.Error(
                f"The archive storage root {root} is not a writable directory: {exc.strerror or exc}.",
                hint="Set PACS_STORAGE_ROOT to a directory this process can write to.",
                id="archive.E001",
            )
        ]
    return []


def check_temp_dir(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E003: ``PACS_TMP_DIR``, when set, is a writable directory (created when missing)."""
    from apps.archive.temp_dir import prepare_temp_dir

    path = temp_dir()
    if path is None:
        return []
    try:
        prepare_temp_dir(path)
    except OSError as exc:
        return [
            checks.Error(
                f"The temporary directory {path} is not a writable directory: {exc.strerror or exc}.",
                hint="Set PACS_TMP_DIR to a directory this process can write to, or unset it.",
                id="archive.E003",
            )
        ]
    return []


def check_archive_settings(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E002: ``PACS_ARCHIVE`` has the expected type."""
    try:
        archive_settings()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="archive.E002")]
    return []


def register() -> None:
    """Called once from ``ArchiveConfig.ready``."""
    checks.register(check_storage_root)
    checks.register(check_temp_dir)
    checks.register(check_archive_settings)
