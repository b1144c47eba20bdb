"""Crash safety and integrity: stale staging files, and index vs. storage consistency.

- :func:`staging_cleanup` removes staging files whose writer is gone (crashed mid-ingest).
  It runs at start-up (``ArchiveConfig.ready``, no database access) and is safe next to live
  ingests: a staging file is ``flock``-ed by its writer for as long as it is in use. It
  leaves staging files that journal a key alone.
- :func:`staging_reconcile` settles those: an ingest that crashed after its file got its key
  but before its rows committed. If the index has the key, the instance is complete and only
  the staging file goes; if not, the stored file goes too (it was never acknowledged: the
  success answer follows the commit), unless its journal rolls forward: then the commit may
  have been acknowledged before PostgreSQL flushed it (``PACS_INDEX_ASYNC_COMMIT``) and was
  lost with the database, so the file is indexed again (``services.ingest.instance_restore``).
  It reads the index, so it runs when the commands that
  serve or import start (``run_dicom_server``, ``import_dicom``, ``verify_storage``), not at
  import time.
- :func:`storage_verify` (``manage.py verify_storage``) reports the three ways index and
  storage can disagree: rows whose file is missing, files no row knows (left by a crash
  after rows were deleted but before the file was, by an interrupted ingest not yet
  reconciled, or on a filesystem without hard links), and files whose checksum (with the
  algorithm the row names) or size differ from the row's.

Files younger than ``grace_seconds`` are not reported as unknown: an ingest running right
now stores its file a moment before its transaction commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from apps.archive.conf import storage_backend, storage_backend_named
from apps.archive.errors import StorageError
from apps.archive.models import StorageLocation
from apps.archive.services.ingest import instance_restore
from apps.archive.storage import StagingRecovery
from apps.archive.storage.checksums import ChecksumAlgorithm, parse_checksum, stream_checksum

__all__ = ["IntegrityReport", "LocationProblem", "staging_cleanup", "staging_reconcile", "storage_verify"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LocationProblem:
    sop_instance_uid: str
    backend: str
    key: str
    detail: str = ""


@dataclass(slots=True)
class IntegrityReport:
    checked_rows: int = 0
    checked_files: int = 0
    missing_files: list[LocationProblem] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)
    checksum_mismatches: list[LocationProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing_files or self.unknown_files or self.checksum_mismatches)


def staging_cleanup(*, min_age_seconds: float = 0.0) -> list[str]:
    """Remove abandoned staging files of the storage backend; returns their names."""
    removed = storage_backend().remove_stale_staging(min_age_seconds=min_age_seconds)
    if removed:
        logger.warning("removed stale staging files", extra={"count": len(removed)})
    return removed


def staging_reconcile() -> StagingRecovery:
    """Settle ingests interrupted between storing their file and committing its rows, then
    remove the other abandoned staging files (see the module docstring). Needs the database.
    """
    backend = storage_backend()

    def is_indexed(key: str) -> bool:
        return StorageLocation.objects.filter(backend=backend.name, key=key).exists()

    recovery = backend.recover_staging(is_indexed=is_indexed, restore=instance_restore)
    recovery.removed.extend(backend.remove_stale_staging())
    if recovery.completed or recovery.rolled_back or recovery.restored:
        logger.warning(
            "settled interrupted ingests",
            extra={
                "completed": len(recovery.completed),
                "rolled_back": len(recovery.rolled_back),
                "restored": len(recovery.restored),
            },
        )
    return recovery


def _file_checksum(backend_name: str, key: str, algorithm: ChecksumAlgorithm) -> tuple[str, int]:
    with storage_backend_named(backend_name).open(key) as stream:
        return stream_checksum(stream, algorithm)


def _locations() -> Iterator[tuple[str, str, str, int, str]]:
    return (
        StorageLocation.objects.order_by("pk")
        .values_list("instance__sop_instance_uid", "backend", "key", "size_bytes", "checksum")
        .iterator(chunk_size=2000)
    )


def _checksum_problem(backend_name: str, key: str, checksum: str, size: int) -> str | None:
    """What differs between the file and its row's checksum and size; None: nothing.

    A row whose checksum names no known algorithm has its file's size checked only, and
    says so.
    """
    try:
        algorithm, expected = parse_checksum(checksum)
    except ValueError as exc:
        actual_size = storage_backend_named(backend_name).size(key)
        if actual_size != size:
            return f"{actual_size} bytes; index: {size} bytes"
        return f"checksum not checkable ({exc})"
    actual, actual_size = _file_checksum(backend_name, key, algorithm)
    if actual != f"{algorithm.value}:{expected}" or actual_size != size:
        return f"{actual}, {actual_size} bytes; index: {checksum}, {size} bytes"
    return None


def storage_verify(
    *,
    checksums: bool = True,
    grace_seconds: float = 60.0,
    progress: Callable[[int], None] | None = None,
) -> IntegrityReport:
    """Compare the index with the storage (see the module docstring).

    ``checksums=False`` checks presence and size only (fast). ``progress`` is called with
    the number of rows checked so far, every 100 rows.
    """
    report = IntegrityReport()
    known: set[tuple[str, str]] = set()
    for sop_uid, backend_name, key, size, checksum in _locations():
        known.add((backend_name, key))
        report.checked_rows += 1
        if progress is not None and report.checked_rows % 100 == 0:
            progress(report.checked_rows)
        backend = storage_backend_named(backend_name)
        try:
            if not backend.exists(key):
                report.missing_files.append(LocationProblem(sop_uid, backend_name, key))
                continue
            if checksums:
                problem = _checksum_problem(backend_name, key, checksum, size)
                if problem is not None:
                    report.checksum_mismatches.append(LocationProblem(sop_uid, backend_name, key, problem))
            elif backend.size(key) != size:
                detail = f"{backend.size(key)} bytes; index: {size} bytes"
                report.checksum_mismatches.append(LocationProblem(sop_uid, backend_name, key, detail))
        except (OSError, StorageError) as exc:
            report.missing_files.append(LocationProblem(sop_uid, backend_name, key, str(exc)))
    backend = storage_backend()
    now = time.time()
    for key in backend.iter_keys():
        report.checked_files += 1
        if (backend.name, key) in known:
            continue
        try:
            if now - backend.modified_at(key) < grace_seconds:
                continue
        except FileNotFoundError:
            continue  # removed while we were walking
        except (OSError, StorageError):
            pass  # e.g. a name no key can have: unknown all the more
        if StorageLocation.objects.filter(backend=backend.name, key=key).exists():
            continue  # stored while we were walking
        report.unknown_files.append(key)
    return report
