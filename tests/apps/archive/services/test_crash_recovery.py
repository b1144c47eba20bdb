"""A process killed between storing an instance's file and committing its rows.

``crash_ingest.py`` ingests in a real subprocess and ``os._exit``-s at the crash point;
``staging_reconcile`` (run by the serving and importing commands at start) then leaves the
archive as if the ingest had never started, or, if the rows did commit, complete.
"""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from apps.archive.models import Instance, StorageLocation
from apps.archive.services import staging_reconcile, storage_verify
from apps.archive.storage.backend import journalled_key
from tests.apps.archive.conftest import staging_files, stored_files
from tests.apps.dicom_net.conftest import manage_env
from tests.builders import write_ct

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).with_name("crash_ingest.py")
REPO_ROOT = Path(__file__).resolve().parents[4]


def _crash_ingest(mode: str, root: Path, *sources: Path) -> None:
    env = manage_env({"PACS_STORAGE_ROOT": str(root), "PACS_LOG_LEVEL": "WARNING"})
    done = subprocess.run(
        [sys.executable, str(SCRIPT), mode, *map(str, sources)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 9, done.stdout + done.stderr


def test_crash_after_the_link_before_the_commit_leaves_no_file_after_reconcile(
    storage_root: Path, tmp_path: Path
) -> None:
    write_ct(tmp_path / "ct.dcm")
    _crash_ingest("before-commit", storage_root, tmp_path / "ct.dcm")

    # The crash window: the file has its key, no row knows it, the journal names it.
    (orphan,) = stored_files(storage_root)
    key = orphan.relative_to(storage_root).as_posix()
    assert not Instance.objects.exists()
    assert storage_verify(grace_seconds=0).unknown_files == [key]
    (staged,) = staging_files(storage_root)  # journalling the key
    assert journalled_key(staged) == key

    recovery = staging_reconcile()

    assert recovery.rolled_back == [key] and recovery.completed == []
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []
    assert storage_verify(grace_seconds=0).ok
    call_command("verify_storage", "--grace-seconds", "0", stdout=StringIO())


def test_crash_after_the_commit_keeps_the_instance(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "ct.dcm")
    _crash_ingest("after-commit", storage_root, tmp_path / "ct.dcm")

    location = StorageLocation.objects.get()
    (staged,) = staging_files(storage_root)
    assert journalled_key(staged) == location.key

    recovery = staging_reconcile()

    assert recovery.completed == [location.key] and recovery.rolled_back == []
    assert [p.relative_to(storage_root).as_posix() for p in stored_files(storage_root)] == [location.key]
    assert staging_files(storage_root) == []
    assert storage_verify(grace_seconds=0).ok


def test_verify_storage_command_settles_an_interrupted_ingest_first(
    storage_root: Path, tmp_path: Path
) -> None:
    write_ct(tmp_path / "ct.dcm")
    _crash_ingest("before-commit", storage_root, tmp_path / "ct.dcm")
    out = StringIO()
    call_command("verify_storage", "--grace-seconds", "0", stdout=out)
    assert "0 completed, 1 rolled back" in out.getvalue()
    assert "0 missing, 0 unknown, 0 mismatched" in out.getvalue()
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-round-trip path is PostgreSQL's")
@pytest.mark.parametrize(
    ("mode", "committed"),
    [("fast-before-call", False), ("fast-before-commit", False), ("fast-after-commit", True)],
)
def test_crash_around_the_one_round_trip_index_call(
    storage_root: Path, tmp_path: Path, mode: str, committed: bool
) -> None:
    write_ct(tmp_path / "first.dcm", StudyInstanceUID="1.7.1", SeriesInstanceUID="1.7.1.1")
    write_ct(tmp_path / "second.dcm", StudyInstanceUID="1.7.1", SeriesInstanceUID="1.7.1.1")
    _crash_ingest(mode, storage_root, tmp_path / "first.dcm", tmp_path / "second.dcm")

    assert len(stored_files(storage_root)) == 2
    (staged,) = staging_files(storage_root)
    key = journalled_key(staged)
    assert key is not None and (storage_root / key).exists()
    assert Instance.objects.count() == (2 if committed else 1)

    recovery = staging_reconcile()

    assert (recovery.completed, recovery.rolled_back) == (([key], []) if committed else ([], [key]))
    assert len(stored_files(storage_root)) == Instance.objects.count()
    assert staging_files(storage_root) == []
    assert storage_verify(grace_seconds=0).ok
