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

from apps.archive.models import Instance, StorageLocation
from apps.archive.services import staging_reconcile, storage_verify
from tests.apps.archive.conftest import staging_files, stored_files
from tests.apps.dicom_net.conftest import manage_env
from tests.builders import write_ct

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).with_name("crash_ingest.py")
REPO_ROOT = Path(__file__).resolve().parents[4]


def _crash_ingest(mode: str, root: Path, source: Path) -> None:
    env = manage_env({"PACS_STORAGE_ROOT": str(root), "PACS_LOG_LEVEL": "WARNING"})
    done = subprocess.run(
        [sys.executable, str(SCRIPT), mode, str(source)],
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
    assert len(staging_files(storage_root)) == 2  # the staging file and its key journal

    recovery = staging_reconcile()

    assert recovery.rolled_back == [key] and recovery.completed == []
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []
    assert storage_verify(grace_seconds=0).ok
    call_command("verify_storage", "--grace-seconds", "0", stdout=StringIO())


def test_crash_after_the_commit_keeps_the_instance(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "ct.dcm")
    _crash_ingest("after-commit", storage_root, tmp_path / "ct.dcm")

    location = StorageLocation.objects.get()
    assert len(staging_files(storage_root)) == 2

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
