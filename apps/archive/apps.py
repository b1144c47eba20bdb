"""App configuration: system checks, the temporary directory, and the start-up cleanup of
abandoned staging files."""

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
        from apps.archive.temp_dir import use_configured_temp_dir

        checks.register()
        # Temporary files (conversion spools, uploads) where PACS_TMP_DIR says, not /tmp.
        use_configured_temp_dir()
        # Crash safety: staging files whose writer died are removed when a process starts.
        # Safe next to live writers (they hold a lock on theirs); never fails start-up.
        try:
            staging_cleanup()
        except (OSError, StorageError):
            logger.warning("staging cleanup failed", exc_info=True)
