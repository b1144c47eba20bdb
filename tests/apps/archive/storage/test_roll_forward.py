"""Roll-forward journals and a journal ended later (``PACS_INDEX_ASYNC_COMMIT``'s storage side).

A store whose index commit may be acknowledged before the database flushed it is journalled
as rolling forward: a recovery that finds its key linked but not indexed hands the key to
``restore`` instead of removing the file. Its staging name, journal and lock outlive the
commit (``StagingFile.discard_later``) until ``services.wal_settle`` ends them.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from apps.archive.storage import STAGING_DIR, LocalFileBackend, StagingFile, StagingRecovery, journal_sweeper
from apps.archive.storage.backend import journal_entry, journal_path, journalled_key
from tests.apps.archive.conftest import locked_by_someone

KEY = "1.2/1.2.3/1.2.3.4.dcm"


def _stored(backend: LocalFileBackend, *, roll_forward: bool, data: bytes = b"acknowledged?") -> StagingFile:
    staged = backend.create_staging_file()
    staged.write(data)
    backend.store(staged, KEY, roll_forward=roll_forward)
    return staged


def _crashed(backend: LocalFileBackend, *, roll_forward: bool) -> StagingFile:
    """A store whose writer died before its commit was known durable (lock released)."""
    staged = _stored(backend, roll_forward=roll_forward)
    staged.close()
    return staged


def test_the_journal_says_whether_it_rolls_forward(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    forward = _stored(backend, roll_forward=True)
    assert journal_entry(forward.path) == (KEY, True)
    assert journalled_key(forward.path) == KEY
    forward.discard()
    backend.delete(KEY)
    plain = _stored(backend, roll_forward=False)
    assert journal_entry(plain.path) == (KEY, False)
    plain.discard()


def test_the_same_entry_journalled_ahead_costs_no_second_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header read ahead journals the key as the store will: the data's fsync covers it."""
    backend = LocalFileBackend(tmp_path)
    staged = backend.create_staging_file()
    staged.write(b"data")
    staged.journal(KEY, roll_forward=True)
    staged.sync()
    syncs: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):  # files only, not the directories
            syncs.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    backend.store(staged, KEY, roll_forward=True)
    assert syncs == []
    staged.journal(KEY, roll_forward=False)  # a changed entry is a change
    staged.sync()
    assert len(syncs) == 1
    staged.discard()


def test_recovery_indexes_a_roll_forward_store_again(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _crashed(backend, roll_forward=True)
    restored: list[str] = []

    def restore(key: str) -> bool:
        restored.append(key)
        assert (tmp_path / key).read_bytes() == b"acknowledged?"  # still there to be read
        return True

    recovery = backend.recover_staging(is_indexed=lambda key: False, restore=restore)
    assert restored == [KEY]
    assert recovery == StagingRecovery(restored=[KEY])
    assert (tmp_path / KEY).read_bytes() == b"acknowledged?"
    assert not staged.path.exists() and list((tmp_path / STAGING_DIR).iterdir()) == []


def test_recovery_removes_a_roll_forward_store_its_restore_refuses(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    _crashed(backend, roll_forward=True)
    recovery = backend.recover_staging(is_indexed=lambda key: False, restore=lambda key: False)
    assert recovery == StagingRecovery(rolled_back=[KEY])
    assert list(backend.iter_keys()) == [] and list((tmp_path / STAGING_DIR).iterdir()) == []


def test_recovery_keeps_the_journal_when_restore_fails(tmp_path: Path) -> None:
    """The database is down: the file may hold an acknowledged instance, so nothing goes and
    the next recovery tries again."""
    backend = LocalFileBackend(tmp_path)
    staged = _crashed(backend, roll_forward=True)

    def restore(key: str) -> bool:
        raise OSError(errno.EIO, "database unreachable")

    assert backend.recover_staging(is_indexed=lambda key: False, restore=restore) == StagingRecovery()
    assert staged.path.exists() and journal_entry(staged.path) == (KEY, True)
    assert (tmp_path / KEY).exists()
    recovery = backend.recover_staging(is_indexed=lambda key: False, restore=lambda key: True)
    assert recovery.restored == [KEY] and not staged.path.exists()


def test_recovery_rolls_a_plain_journal_back_without_asking_restore(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    _crashed(backend, roll_forward=False)
    asked: list[str] = []

    def restore(key: str) -> bool:
        asked.append(key)
        return True

    recovery = backend.recover_staging(is_indexed=lambda key: False, restore=restore)
    assert asked == [] and recovery == StagingRecovery(rolled_back=[KEY])
    assert list(backend.iter_keys()) == []


def test_recovery_without_a_restore_rolls_back(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    _crashed(backend, roll_forward=True)
    assert backend.recover_staging(is_indexed=lambda key: False) == StagingRecovery(rolled_back=[KEY])


def test_a_journal_ended_later_keeps_name_journal_and_lock_until_then(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _stored(backend, roll_forward=True)
    end = staged.discard_later()
    assert staged.closed
    staged.discard()  # the owner's usual cleanup: changes nothing now
    assert staged.path.exists() and journal_entry(staged.path) == (KEY, True)
    assert locked_by_someone(staged.path)
    # Neither cleanup nor recovery touches it meanwhile.
    assert backend.remove_stale_staging() == []
    assert backend.recover_staging(is_indexed=lambda key: False) == StagingRecovery()
    assert (tmp_path / KEY).exists()

    end()

    assert list((tmp_path / STAGING_DIR).iterdir()) == []
    assert (tmp_path / KEY).read_bytes() == b"acknowledged?"
    journal_sweeper.sweep()
    try:
        assert os.listxattr(tmp_path / KEY) == []  # the stored inode keeps no journal
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    end()  # a second call changes nothing


def test_a_forgotten_end_changes_nothing_but_releases_the_lock(tmp_path: Path) -> None:
    """A forked child's copy: the parent ends the journal, the child only closes."""
    backend = LocalFileBackend(tmp_path)
    staged = _stored(backend, roll_forward=True)
    end = staged.discard_later()
    end.forget()
    assert staged.path.exists() and journal_entry(staged.path) == (KEY, True)
    assert not locked_by_someone(staged.path)
    end()  # nothing left to do
    assert staged.path.exists()


def test_a_sidecar_journal_rolls_forward_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without user extended attributes the entry goes to the sidecar, flag included."""

    def no_xattr(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOTSUP, "no user attributes")

    monkeypatch.setattr(os, "setxattr", no_xattr)
    monkeypatch.setattr(os, "getxattr", no_xattr)
    backend = LocalFileBackend(tmp_path)
    staged = _stored(backend, roll_forward=True)
    assert journal_path(staged.path).exists() and journal_entry(staged.path) == (KEY, True)
    end = staged.discard_later()
    end()
    assert list((tmp_path / STAGING_DIR).iterdir()) == []
