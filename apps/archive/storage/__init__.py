"""Storage tiers of the archive: the backend interface, the local filesystem, key layouts."""

from apps.archive.storage.backend import (
    STAGING_DIR,
    JournalEnd,
    LocalFileBackend,
    StagingFile,
    StagingRecovery,
    StorageBackend,
)
from apps.archive.storage.keys import alternate_key, check_key, instance_key

__all__ = [
    "STAGING_DIR",
    "JournalEnd",
    "LocalFileBackend",
    "StagingFile",
    "StagingRecovery",
    "StorageBackend",
    "alternate_key",
    "check_key",
    "instance_key",
]
