"""A roll-forward store leaves its directory's ``fsync`` to the journal's end.

``LocalFileBackend.store`` of a sealed, roll-forward staging file with a durable name (one
the reserve made) links it under its key without syncing the key's folder; the journal's
end (``discard``, or ``JournalEnd``, batched by ``services.wal_settle``) syncs it before the
journal goes. Until then a lost name (a power failure) is linked again by recovery, from
the staging file, when its size and checksum match the seal; a file that does not match
stays unlinked.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
import xxhash

from apps.archive.storage import LocalFileBackend, StagingFile
from apps.archive.storage import backend as backend_module
from apps.archive.storage.backend import JournalEnd, journal_entry, journal_seal

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux O_TMPFILE"),
    pytest.mark.usefixtures("staging_reserve"),
]

KEY = "1.2/1.2.3/1.2.3.4.dcm"
DATA = b"acknowledged instance" * 100


def _checksum(data: bytes) -> str:
    return f"xxh3-128:{xxhash.xxh3_128(data).hexdigest()}"


def _durable_staging(backend: LocalFileBackend) -> StagingFile:
    """A staging file from the reserve (its name durable); the first ask starts the refill."""
    deadline = time.monotonic() + 10
    while True:
        staged = backend.create_staging_file()
        if staged._name_durable:
            return staged
        staged.discard()
        assert time.monotonic() < deadline, "the reserve made no file"
        time.sleep(0.01)


def _sealed(backend: LocalFileBackend, data: bytes = DATA) -> StagingFile:
    staged = _durable_staging(backend)
    staged.write(data)
    staged.journal(KEY, roll_forward=True)
    staged.seal(len(data), _checksum(data))
    staged.sync()
    return staged


@pytest.fixture
def synced_folders(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders ``fsync``-ed from now on, in order."""
    folders: list[Path] = []
    real = backend_module._fsync_dir

    def recording(directory: Path) -> None:
        folders.append(Path(directory))
        real(directory)

    monkeypatch.setattr(backend_module, "_fsync_dir", recording)
    return folders


def test_the_seal_holds_size_and_checksum_beside_the_key(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _sealed(backend)
    try:
        assert journal_entry(staged.path) == (KEY, True)
        assert journal_seal(staged.path) == (len(DATA), _checksum(DATA))
        assert staged.sealed and staged.recoverable_by_seal
    finally:
        staged.discard()


def test_only_a_roll_forward_journal_is_sealed(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _durable_staging(backend)
    try:
        staged.write(DATA)
        staged.seal(len(DATA), _checksum(DATA))  # nothing journalled yet
        staged.journal(KEY, roll_forward=False)
        staged.seal(len(DATA), _checksum(DATA))
        assert not staged.sealed and journal_seal(staged.path) is None
        staged.journal(KEY, roll_forward=True)
        staged.seal(len(DATA), _checksum(DATA))
        assert staged.sealed
        staged.journal("1.2/1.2.3/other.dcm", roll_forward=True)  # another key: a new entry
        assert not staged.sealed and journal_seal(staged.path) is None
    finally:
        staged.discard()


def test_a_sealed_store_leaves_the_folder_sync_to_the_journal_end(
    tmp_path: Path, synced_folders: list[Path]
) -> None:
    backend = LocalFileBackend(tmp_path)
    (tmp_path / "1.2" / "1.2.3").mkdir(parents=True)  # the series folder exists
    staged = _sealed(backend)
    synced_folders.clear()
    backend.store(staged, KEY, roll_forward=True)
    assert (tmp_path / KEY).read_bytes() == DATA
    assert synced_folders == []  # linked, not synced yet
    end = staged.discard_later()
    assert end.directory == tmp_path / "1.2" / "1.2.3"
    end()
    assert synced_folders == [tmp_path / "1.2" / "1.2.3"]
    assert not staged.path.exists()  # the journal ended after the sync


def test_discard_syncs_the_folder_before_the_journal_goes(tmp_path: Path, synced_folders: list[Path]) -> None:
    backend = LocalFileBackend(tmp_path)
    (tmp_path / "1.2" / "1.2.3").mkdir(parents=True)
    staged = _sealed(backend)
    backend.store(staged, KEY, roll_forward=True)
    synced_folders.clear()
    staged.discard()
    assert synced_folders == [tmp_path / "1.2" / "1.2.3"]


@pytest.mark.parametrize("why", ["plain journal", "unsealed", "new folders", "name not durable"])
def test_other_stores_sync_the_folder_at_once(tmp_path: Path, synced_folders: list[Path], why: str) -> None:
    backend = LocalFileBackend(tmp_path)
    if why != "new folders":
        (tmp_path / "1.2" / "1.2.3").mkdir(parents=True)
    if why == "name not durable":
        staged = backend.create_staging_file()
        staged._name_durable = False
    else:
        staged = _durable_staging(backend)
    staged.write(DATA)
    roll_forward = why != "plain journal"
    staged.journal(KEY, roll_forward=roll_forward)
    if why != "unsealed":
        staged.seal(len(DATA), _checksum(DATA))
    synced_folders.clear()
    backend.store(staged, KEY, roll_forward=roll_forward)
    assert tmp_path / "1.2" / "1.2.3" in synced_folders
    assert staged.discard_later().directory is None


def test_a_batch_of_journal_ends_syncs_each_folder_once(tmp_path: Path, synced_folders: list[Path]) -> None:
    backend = LocalFileBackend(tmp_path)
    folder = tmp_path / "1.2" / "1.2.3"
    folder.mkdir(parents=True)
    ends: list[JournalEnd] = []
    for index in range(3):
        staged = _durable_staging(backend)
        data = DATA + bytes([index])
        staged.write(data)
        key = f"1.2/1.2.3/1.2.3.{index}.dcm"
        staged.journal(key, roll_forward=True)
        staged.seal(len(data), _checksum(data))
        backend.store(staged, key, roll_forward=True)
        ends.append(staged.discard_later())
    synced_folders.clear()
    assert JournalEnd.sync_directories(ends) == []
    for end in ends:
        end()
    assert synced_folders == [folder]


def _power_failed(backend: LocalFileBackend, data: bytes = DATA) -> StagingFile:
    """A sealed roll-forward store whose writer died before the folder's fsync, and whose
    stored name the power failure took with it."""
    (backend.root / "1.2" / "1.2.3").mkdir(parents=True, exist_ok=True)
    staged = _sealed(backend, data)
    backend.store(staged, KEY, roll_forward=True)
    staged.close()  # the writer is gone: lock released, journal left
    (backend.root / KEY).unlink()  # the name that was never synced
    return staged


def test_recovery_links_a_whole_sealed_file_again_and_indexes_it(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _power_failed(backend)
    restored: list[str] = []

    def restore(key: str) -> bool:
        restored.append(key)
        return True

    recovery = backend.recover_staging(is_indexed=lambda key: False, restore=restore)

    assert (tmp_path / KEY).read_bytes() == DATA
    assert restored == [KEY] and recovery.restored == [KEY]
    assert not staged.path.exists()
    assert stat.S_ISREG((tmp_path / KEY).stat().st_mode)


def test_recovery_links_again_a_file_whose_rows_were_committed(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    _power_failed(backend)
    recovery = backend.recover_staging(is_indexed=lambda key: True)
    assert recovery.completed == [KEY] and (tmp_path / KEY).read_bytes() == DATA


def test_recovery_does_not_link_a_file_that_does_not_match_its_seal(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _power_failed(backend)
    with open(staged.path, "r+b") as damaged:  # a block that never reached the disk
        damaged.write(b"\0" * 64)

    recovery = backend.recover_staging(is_indexed=lambda key: False, restore=lambda key: True)

    assert not (tmp_path / KEY).exists()
    assert recovery.restored == [] and recovery.removed == [staged.path.name]
    assert not staged.path.exists()


def test_recovery_leaves_a_key_taken_by_another_file(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _power_failed(backend)
    (tmp_path / KEY).write_bytes(b"someone else's")
    recovery = backend.recover_staging(is_indexed=lambda key: False, restore=lambda key: True)
    assert (tmp_path / KEY).read_bytes() == b"someone else's"
    assert recovery.removed == [staged.path.name]


def test_a_folder_that_cannot_be_synced_keeps_its_journals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LocalFileBackend(tmp_path)
    (tmp_path / "1.2" / "1.2.3").mkdir(parents=True)
    staged = _sealed(backend)
    backend.store(staged, KEY, roll_forward=True)
    end = staged.discard_later()

    def failing(directory: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(backend_module, "_fsync_dir", failing)
    assert JournalEnd.sync_directories([end]) == [end]
    with pytest.raises(OSError):
        end()
    assert journal_entry(staged.path) == (KEY, True)  # left for recovery


def test_a_folder_removed_meanwhile_needs_no_sync(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    (tmp_path / "1.2" / "1.2.3").mkdir(parents=True)
    staged = _sealed(backend)
    backend.store(staged, KEY, roll_forward=True)
    end = staged.discard_later()
    backend.delete(KEY)  # deleted at once; its emptied folders pruned
    assert not (tmp_path / "1.2").exists()
    assert JournalEnd.sync_directories([end]) == []
    end()
    assert not staged.path.exists()
