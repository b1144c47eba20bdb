"""An index commit that does not wait for the WAL flush (``PACS_INDEX_ASYNC_COMMIT``).

The fast path's transaction turns ``synchronous_commit`` off; its store's staging journal,
marked as rolling forward, stays (locked) until ``services.wal_settle`` has seen PostgreSQL
flush the log past the commit. Ingests run outside any transaction, as the DIMSE server's do.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from apps.archive.models import Instance, StorageLocation
from apps.archive.services import wal_settle
from apps.archive.services.ingest import instance_ingest
from apps.archive.storage.backend import journal_entry
from tests.apps.archive.conftest import locked_by_someone, stored_files
from tests.builders import write_ct

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's commit"),
]


def _series(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        path = tmp_path / f"ct{index}.dcm"
        write_ct(
            path, StudyInstanceUID="1.5.1", SeriesInstanceUID="1.5.1.1", SOPInstanceUID=f"1.5.1.1.{index}"
        )
        paths.append(path)
    return paths


def _staging(root: Path) -> list[Path]:
    """The staging folder as it is (``conftest.staging_files`` settles first)."""
    folder = root / ".staging"
    return sorted(folder.iterdir()) if folder.exists() else []


def _ingest_fast(path: Path) -> str:
    """Ingest on the one-round-trip path; the statement it sent."""
    with CaptureQueriesContext(connection) as queries:
        instance_ingest(source=path, source_ae="CT1")
    (statement,) = [q["sql"] for q in queries.captured_queries if "archive_index_instance(" in q["sql"]]
    return statement


def test_the_journal_outlives_the_commit_until_the_wal_is_flushed(storage_root: Path, tmp_path: Path) -> None:
    first, second = _series(tmp_path, 2)
    instance_ingest(source=first)  # a new series: the general path, its commit waits
    assert _staging(storage_root) == []
    wal_settle.stop()  # no thread: what the ingest leaves pending stays pending

    statement = _ingest_fast(second)

    assert "set_config('synchronous_commit', 'off', true)" in statement
    location = StorageLocation.objects.get(instance__sop_instance_uid="1.5.1.1.1")
    (staged,) = _staging(storage_root)
    assert journal_entry(staged) == (location.key, True)
    assert locked_by_someone(staged)  # still ours: neither cleanup nor recovery may take it

    assert wal_settle.settle_pending()

    assert _staging(storage_root) == []
    assert len(stored_files(storage_root)) == Instance.objects.count() == 2


def test_the_settling_thread_ends_journals_on_its_own(storage_root: Path, tmp_path: Path) -> None:
    paths = _series(tmp_path, 4)
    for path in paths:
        instance_ingest(source=path)
    deadline = time.monotonic() + 10
    while _staging(storage_root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _staging(storage_root) == []
    assert Instance.objects.count() == 4


def test_a_synchronous_commit_ends_the_journal_at_once(
    storage_root: Path, tmp_path: Path, settings: Settings
) -> None:
    settings.PACS_INDEX_ASYNC_COMMIT = False
    first, second = _series(tmp_path, 2)
    instance_ingest(source=first)

    statement = _ingest_fast(second)

    assert "synchronous_commit" not in statement
    assert _staging(storage_root) == []
    assert Instance.objects.count() == 2


def test_a_journal_whose_flush_cannot_be_confirmed_stays(
    storage_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database cannot say: the journal stays pending (always safe) until it can."""
    first, second = _series(tmp_path, 2)
    instance_ingest(source=first)
    wal_settle.stop()
    _ingest_fast(second)
    monkeypatch.setattr(wal_settle, "_WAIT_MAX_S", 0.0)
    monkeypatch.setattr(wal_settle, "_wait_for_flush", lambda: False)
    assert not wal_settle.settle_pending()
    assert len(_staging(storage_root)) == 1
    monkeypatch.undo()
    assert wal_settle.settle_pending()
    assert _staging(storage_root) == []
