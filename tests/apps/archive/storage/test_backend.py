"""LocalFileBackend: durable no-clobber store, staging files and their crash-time cleanup."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.archive.errors import KeyExistsError
from apps.archive.storage import STAGING_DIR, LocalFileBackend, StagingFile, StagingRecovery, journal_sweeper
from apps.archive.storage.backend import journal_path, journalled_key

REPO_ROOT = Path(__file__).resolve().parents[4]


def _staged(backend: LocalFileBackend, data: bytes) -> StagingFile:
    staged = backend.create_staging_file()
    staged.write(data)
    return staged


def test_store_links_the_staged_file_to_its_key_and_journals_it_until_discard(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _staged(backend, b"payload")
    backend.store(staged, "1.2/1.2.3/1.2.3.4.dcm")
    assert (tmp_path / "1.2/1.2.3/1.2.3.4.dcm").read_bytes() == b"payload"
    assert list(backend.iter_keys()) == ["1.2/1.2.3/1.2.3.4.dcm"]
    assert backend.size("1.2/1.2.3/1.2.3.4.dcm") == 7
    # Until the index commits, the staging file stays, locked, with the key beside it.
    assert staged.path.exists() and not staged.closed
    assert journalled_key(staged.path) == "1.2/1.2.3/1.2.3.4.dcm"
    assert not journal_path(staged.path).exists()  # an extended attribute, no sidecar
    assert backend.remove_stale_staging() == []
    assert backend.recover_staging(is_indexed=lambda key: False) == StagingRecovery()
    staged.discard()
    assert list((tmp_path / STAGING_DIR).iterdir()) == [] and staged.closed
    assert (tmp_path / "1.2/1.2.3/1.2.3.4.dcm").read_bytes() == b"payload"


def _attributes(path: Path) -> list[str]:
    try:
        return os.listxattr(path)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            pytest.skip("this filesystem keeps no user extended attributes")
        raise


def test_the_stored_file_keeps_no_journal_once_discarded(tmp_path: Path) -> None:
    """The journal is the staging file's; the stored inode must not carry it for good
    (a long key takes a 4 KiB block of its own on ext4)."""
    backend = LocalFileBackend(tmp_path)
    uid = "1.2.826.0.1.3680043.8.498." + "1" * 38  # 64 characters, as UIDs can be
    key = f"{uid}/{uid}/{uid}.dcm"
    staged = _staged(backend, b"payload")
    backend.store(staged, key)
    assert "user.pacs.storage-key" in _attributes(tmp_path / key)  # journalled until discard
    staged.discard()
    journal_sweeper.sweep()  # what the sweeper's thread does a quarter second later at most
    assert "user.pacs.storage-key" not in _attributes(tmp_path / key)
    assert (tmp_path / key).read_bytes() == b"payload"
    assert list((tmp_path / STAGING_DIR).iterdir()) == []


def test_a_discarded_staging_file_that_was_never_stored_is_simply_removed(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _staged(backend, b"payload")
    staged.journal("1.2/1.2.3.dcm")
    staged.discard()
    assert list((tmp_path / STAGING_DIR).iterdir()) == [] and list(backend.iter_keys()) == []


def test_store_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    backend.store(_staged(backend, b"first"), "1.2/1.2.3.dcm")
    second = _staged(backend, b"second")
    with pytest.raises(KeyExistsError):
        backend.store(second, "1.2/1.2.3.dcm")
    assert (tmp_path / "1.2/1.2.3.dcm").read_bytes() == b"first"
    assert second.path.exists()  # the caller decides what to do with it
    second.discard()


def test_delete_removes_the_file_and_emptied_folders(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    backend.store(_staged(backend, b"x"), "1.2/1.2.3/1.2.3.4.dcm")
    assert backend.delete("1.2/1.2.3/1.2.3.4.dcm") is True
    assert backend.delete("1.2/1.2.3/1.2.3.4.dcm") is False
    assert [p.name for p in tmp_path.iterdir()] == [STAGING_DIR]


def test_cleanup_keeps_staging_files_a_live_writer_holds(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    live = _staged(backend, b"in flight")
    assert backend.remove_stale_staging() == []
    assert live.path.exists()
    live.discard()


def test_cleanup_removes_staging_files_of_a_writer_that_crashed(tmp_path: Path) -> None:
    # A real crash: a process writes a staging file and dies without cleaning up.
    script = (
        "import os, sys; from pathlib import Path\n"
        "from apps.archive.storage.backend import LocalFileBackend\n"
        "staged = LocalFileBackend(Path(sys.argv[1])).create_staging_file()\n"
        "staged.write(b'half an instance'); staged.flush()\n"
        "os._exit(9)\n"
    )
    crashed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO_ROOT, check=False)
    assert crashed.returncode == 9
    # The half-written one; the process's reserve may have left empty ready files too.
    leftovers = [p for p in (tmp_path / STAGING_DIR).iterdir() if p.stat().st_size]
    assert len(leftovers) == 1

    backend = LocalFileBackend(tmp_path)
    live = _staged(backend, b"someone else's ingest in flight")
    removed = backend.remove_stale_staging()
    assert leftovers[0].name in removed
    assert [p for p in (tmp_path / STAGING_DIR).iterdir()] == [live.path]
    live.discard()


def test_cleanup_spares_files_younger_than_the_minimum_age(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _staged(backend, b"x")
    staged.close()  # lock released, as after a crash
    assert backend.remove_stale_staging(min_age_seconds=3600) == []
    assert backend.remove_stale_staging() == [staged.path.name]


def _crashed_after_link(
    backend: LocalFileBackend, key: str, data: bytes = b"stored, not indexed"
) -> StagingFile:
    """A store whose writer died before the index answered: its lock is released."""
    staged = _staged(backend, data)
    backend.store(staged, key)
    staged.close()
    return staged


def test_recovery_removes_the_stored_file_when_the_index_does_not_have_its_key(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _crashed_after_link(backend, "1.2/1.2.3/1.2.3.4.dcm")
    asked: list[str] = []

    def is_indexed(key: str) -> bool:
        asked.append(key)
        return False

    recovery = backend.recover_staging(is_indexed=is_indexed)
    assert asked == ["1.2/1.2.3/1.2.3.4.dcm"]
    assert recovery.rolled_back == ["1.2/1.2.3/1.2.3.4.dcm"] and recovery.completed == []
    assert list(backend.iter_keys()) == []
    assert [p.name for p in tmp_path.iterdir()] == [STAGING_DIR]  # emptied folders pruned
    assert list((tmp_path / STAGING_DIR).iterdir()) == []
    assert not staged.path.exists()


def test_recovery_keeps_the_stored_file_when_the_index_committed_its_key(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    _crashed_after_link(backend, "1.2/1.2.3.dcm", b"acknowledged")
    recovery = backend.recover_staging(is_indexed=lambda key: True)
    assert recovery.completed == ["1.2/1.2.3.dcm"] and recovery.rolled_back == []
    assert (tmp_path / "1.2/1.2.3.dcm").read_bytes() == b"acknowledged"
    assert list((tmp_path / STAGING_DIR).iterdir()) == []


def test_recovery_never_removes_a_file_that_is_not_the_staged_one(tmp_path: Path) -> None:
    # The journal names a key another file holds (the link failed: key taken).
    backend = LocalFileBackend(tmp_path)
    first = _staged(backend, b"someone else's")
    backend.store(first, "1.2/1.2.3.dcm")
    first.discard()  # indexed
    loser = _staged(backend, b"mine")
    with pytest.raises(KeyExistsError):
        backend.store(loser, "1.2/1.2.3.dcm")
    loser.close()
    recovery = backend.recover_staging(is_indexed=lambda key: False)
    assert recovery.rolled_back == [] and recovery.removed == [loser.path.name]
    assert (tmp_path / "1.2/1.2.3.dcm").read_bytes() == b"someone else's"
    assert list((tmp_path / STAGING_DIR).iterdir()) == []


def test_recovery_and_cleanup_leave_a_live_writers_journal_alone(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    live = _staged(backend, b"in its commit")
    backend.store(live, "1.2/1.2.3.dcm")
    assert backend.recover_staging(is_indexed=lambda key: False) == StagingRecovery()
    assert backend.remove_stale_staging() == []
    assert live.path.exists() and journalled_key(live.path) == "1.2/1.2.3.dcm"
    assert (tmp_path / "1.2/1.2.3.dcm").exists()
    live.discard()


def test_startup_cleanup_leaves_journalled_staging_files_to_recovery(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _crashed_after_link(backend, "1.2/1.2.3.dcm")
    plain = _staged(backend, b"half an instance")
    plain.close()
    assert backend.remove_stale_staging() == [plain.path.name]
    assert staged.path.exists() and journalled_key(staged.path) == "1.2/1.2.3.dcm"
    assert backend.recover_staging(is_indexed=lambda key: False).rolled_back == ["1.2/1.2.3.dcm"]


@pytest.fixture
def without_xattrs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A filesystem that keeps no user extended attributes (tmpfs before Linux 6.6, NFS)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", refuse)
    monkeypatch.setattr(os, "getxattr", refuse)


def test_without_extended_attributes_the_key_is_journalled_in_a_sidecar(
    tmp_path: Path, without_xattrs: None
) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _staged(backend, b"payload")
    backend.store(staged, "1.2/1.2.3.dcm")
    assert journal_path(staged.path).read_text() == "1.2/1.2.3.dcm"
    assert journalled_key(staged.path) == "1.2/1.2.3.dcm"
    assert backend.remove_stale_staging() == []
    staged.discard()
    assert list((tmp_path / STAGING_DIR).iterdir()) == []


def test_without_extended_attributes_recovery_reads_the_sidecar(tmp_path: Path, without_xattrs: None) -> None:
    backend = LocalFileBackend(tmp_path)
    _crashed_after_link(backend, "1.2/1.2.3.dcm")
    recovery = backend.recover_staging(is_indexed=lambda key: False)
    assert recovery.rolled_back == ["1.2/1.2.3.dcm"]
    assert list(backend.iter_keys()) == []
    assert list((tmp_path / STAGING_DIR).iterdir()) == []


def test_a_second_store_attempt_journals_the_new_key(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    first = _staged(backend, b"first")
    backend.store(first, "1.2/1.2.3.dcm")
    first.discard()  # indexed
    second = _staged(backend, b"second")
    with pytest.raises(KeyExistsError):
        backend.store(second, "1.2/1.2.3.dcm")
    backend.store(second, "1.2/1.2.3-x.dcm")
    assert journalled_key(second.path) == "1.2/1.2.3-x.dcm"
    second.close()  # crash: recovery rolls back the second key only
    assert backend.recover_staging(is_indexed=lambda key: False).rolled_back == ["1.2/1.2.3-x.dcm"]
    assert (tmp_path / "1.2/1.2.3.dcm").read_bytes() == b"first"
