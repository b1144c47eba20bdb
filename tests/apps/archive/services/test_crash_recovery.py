"""A process killed between storing an instance's file and committing its rows.

``crash_ingest.py`` ingests in a real subprocess and ``os._exit``-s at the crash point;
``staging_reconcile`` (run by the serving and importing commands at start) then leaves the
archive as if the ingest had never started, or, if the rows did commit, complete. Where the
commit may not wait for the WAL flush (PostgreSQL with ``PACS_INDEX_ASYNC_COMMIT``, the
default) the journal rolls forward instead: a file stored under its key is indexed again,
since its answer may have gone out before a database crash lost its rows.
"""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import xxhash
from django.core.management import call_command
from django.db import connection
from pytest_django import Settings

from apps.archive.models import Instance, StorageLocation
from apps.archive.services import staging_reconcile, storage_verify
from apps.archive.storage.backend import journalled_key
from dicomkit.data import tags
from dicomkit.part10.reader import read_file
from tests.apps.archive.conftest import staging_files, stored_files
from tests.apps.dicom_net.conftest import manage_env
from tests.builders import write_ct

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).with_name("crash_ingest.py")
REPO_ROOT = Path(__file__).resolve().parents[4]


ROLLS_FORWARD = [
    pytest.param(False, id="synchronous-commit"),
    pytest.param(
        True,
        id="async-commit",
        marks=pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's commit"),
    ),
]


@pytest.fixture(params=ROLLS_FORWARD)
def rolls_forward(request: pytest.FixtureRequest, settings: Settings) -> bool:
    """Both settings of ``PACS_INDEX_ASYNC_COMMIT``, here and in the crashing process."""
    value = bool(request.param)
    settings.PACS_INDEX_ASYNC_COMMIT = value
    return value


def _journalling(files: list[Path]) -> list[Path]:
    """The staging files that journal a key (the crashed process also left the files its
    reserve kept ready: empty, journalling nothing, removed by ``staging_reconcile``)."""
    return [path for path in files if journalled_key(path) is not None]


def _crash_ingest(mode: str, root: Path, *sources: Path, rolls_forward: bool) -> None:
    env = manage_env(
        {
            "PACS_STORAGE_ROOT": str(root),
            "PACS_LOG_LEVEL": "WARNING",
            "PACS_INDEX_ASYNC_COMMIT": "1" if rolls_forward else "0",
        }
    )
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


def test_crash_after_the_link_before_the_commit_is_rolled_back_or_forward(
    storage_root: Path, tmp_path: Path, rolls_forward: bool
) -> None:
    write_ct(tmp_path / "ct.dcm")
    _crash_ingest("before-commit", storage_root, tmp_path / "ct.dcm", rolls_forward=rolls_forward)

    # The crash window: the file has its key, no row knows it, the journal names it.
    (orphan,) = stored_files(storage_root)
    key = orphan.relative_to(storage_root).as_posix()
    assert not Instance.objects.exists()
    assert storage_verify(grace_seconds=0).unknown_files == [key]
    (staged,) = _journalling(staging_files(storage_root))  # journalling the key
    assert journalled_key(staged) == key

    recovery = staging_reconcile()

    if rolls_forward:  # indexed again from its file, as a fresh ingest would have
        assert (recovery.restored, recovery.rolled_back, recovery.completed) == ([key], [], [])
        location = StorageLocation.objects.select_related("instance").get()
        sop_instance_uid = read_file(orphan).dataset.get_str(tags.SOPInstanceUID)
        assert location.key == key and location.instance.sop_instance_uid == sop_instance_uid
        assert location.checksum == f"xxh3-128:{xxhash.xxh3_128(orphan.read_bytes()).hexdigest()}"
        assert stored_files(storage_root) == [orphan]
    else:
        assert recovery.rolled_back == [key] and recovery.completed == [] and recovery.restored == []
        assert stored_files(storage_root) == []
    assert staging_files(storage_root) == []
    assert storage_verify(grace_seconds=0).ok
    call_command("verify_storage", "--grace-seconds", "0", stdout=StringIO())


def test_crash_after_the_commit_keeps_the_instance(
    storage_root: Path, tmp_path: Path, rolls_forward: bool
) -> None:
    write_ct(tmp_path / "ct.dcm")
    _crash_ingest("after-commit", storage_root, tmp_path / "ct.dcm", rolls_forward=rolls_forward)

    location = StorageLocation.objects.get()
    (staged,) = _journalling(staging_files(storage_root))
    assert journalled_key(staged) == location.key

    recovery = staging_reconcile()

    assert recovery.completed == [location.key] and recovery.rolled_back == []
    assert [p.relative_to(storage_root).as_posix() for p in stored_files(storage_root)] == [location.key]
    assert staging_files(storage_root) == []
    assert storage_verify(grace_seconds=0).ok


def test_verify_storage_command_settles_an_interrupted_ingest_first(
    storage_root: Path, tmp_path: Path, rolls_forward: bool
) -> None:
    write_ct(tmp_path / "ct.dcm")
    _crash_ingest("before-commit", storage_root, tmp_path / "ct.dcm", rolls_forward=rolls_forward)
    out = StringIO()
    call_command("verify_storage", "--grace-seconds", "0", stdout=out)
    settled = "0 completed, 0 rolled back, 1 indexed again" if rolls_forward else "0 completed, 1 rolled back"
    assert settled in out.getvalue()
    assert "0 missing, 0 unknown, 0 mismatched" in out.getvalue()
    assert len(stored_files(storage_root)) == (1 if rolls_forward else 0)
    assert staging_files(storage_root) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-round-trip path is PostgreSQL's")
@pytest.mark.parametrize(
    ("mode", "committed"),
    [("fast-before-call", False), ("fast-before-commit", False), ("fast-after-commit", True)],
)
def test_crash_around_the_one_round_trip_index_call(
    storage_root: Path, tmp_path: Path, mode: str, committed: bool, rolls_forward: bool
) -> None:
    write_ct(tmp_path / "first.dcm", StudyInstanceUID="1.7.1", SeriesInstanceUID="1.7.1.1")
    write_ct(tmp_path / "second.dcm", StudyInstanceUID="1.7.1", SeriesInstanceUID="1.7.1.1")
    _crash_ingest(
        mode, storage_root, tmp_path / "first.dcm", tmp_path / "second.dcm", rolls_forward=rolls_forward
    )

    assert len(stored_files(storage_root)) == 2
    (staged,) = _journalling(staging_files(storage_root))
    key = journalled_key(staged)
    assert key is not None and (storage_root / key).exists()
    assert Instance.objects.count() == (2 if committed else 1)

    recovery = staging_reconcile()

    if committed:
        expected: tuple[list[str], list[str], list[str]] = ([key], [], [])
    elif rolls_forward:
        expected = ([], [], [key])
    else:
        expected = ([], [key], [])
    assert (recovery.completed, recovery.rolled_back, recovery.restored) == expected
    assert Instance.objects.count() == (2 if committed or rolls_forward else 1)
    assert len(stored_files(storage_root)) == Instance.objects.count()
    assert staging_files(storage_root) == []
    assert storage_verify(grace_seconds=0).ok
