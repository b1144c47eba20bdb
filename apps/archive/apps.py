"""App configuration: system checks, and the start-up cleanup of abandoned staging files."""

from __future__ import annotations

import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class ArchiveConfig(AppConfig):
    name = "apps.archive"
    label = "archive"
    verbose_name = "Archive"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.archive import checks
        from apps.archive.errors import StorageError
        from apps.archive.services.integrity import staging_cleanup

        checks.register()
        # Crash safety: staging files whose writer died are removed when a process starts.
        # Safe next to live writers (they hold a lock on theirs); never fails start-up.
        try:
            staging_cleanup()
        except (OSError, StorageError):
            logger.warning("staging cleanup failed", exc_info=True)
