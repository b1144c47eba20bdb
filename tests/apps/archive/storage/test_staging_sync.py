"""``StagingFile.sync``, ``sync_in_background`` and ``after_sync``: one fsync per change,
failures stick, work chained after the fsync runs on its thread."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from apps.archive.storage import LocalFileBackend, StagingFile
from apps.archive.storage import backend as backend_module


def _unsyncable(tmp_path: Path) -> StagingFile:
    """A staging file over a pipe: writes work, ``fsync`` fails (EINVAL) as on a dead disk."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    return StagingFile(tmp_path / "pipe.part", os.fdopen(write_end, "wb"))


def test_background_sync_then_sync_leaves_the_data_in_the_file(tmp_path: Path) -> None:
    staged = LocalFileBackend(tmp_path).create_staging_file()
    try:
        staged.write(b"pixel data")
        staged.sync_in_background()
        staged.sync()
        staged.sync()  # nothing changed since: returns at once
        assert staged.path.read_bytes() == b"pixel data"
    finally:
        staged.discard()
    assert list((tmp_path / ".staging").iterdir()) == []


def test_a_failed_background_sync_fails_every_later_sync(tmp_path: Path) -> None:
    staged = _unsyncable(tmp_path)
    staged.write(b"x")
    staged.sync_in_background()

    for _ in range(2):  # a retried fsync could report success for data already lost
        with pytest.raises(OSError) as failure:
            staged.sync()
        assert failure.value.errno == errno.EINVAL
    staged.discard()


def test_a_failed_sync_fails_every_later_sync(tmp_path: Path) -> None:
    staged = _unsyncable(tmp_path)
    staged.write(b"x")
    with pytest.raises(OSError):
        staged.sync()
    with pytest.raises(OSError):
        staged.sync()
    staged.discard()


def test_discard_waits_for_a_background_sync(tmp_path: Path) -> None:
    staged = _unsyncable(tmp_path)
    staged.write(b"x")
    staged.sync_in_background()
    staged.discard()  # settles the failed fsync quietly, then closes
    assert staged.closed


class _HeldFsync:
    """Stands in for the background ``fsync``: waits until released, notes its thread."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.thread: int | None = None

    def __call__(self, fd: int, changes: int) -> int:
        self.thread = threading.get_ident()
        assert self.release.wait(10)
        return changes


def test_after_sync_runs_on_the_fsync_thread_once_it_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _HeldFsync()
    monkeypatch.setattr(backend_module, "_fsync_fd", held)
    staged = LocalFileBackend(tmp_path).create_staging_file()
    try:
        staged.write(b"x")
        staged.sync_in_background()
        ran: list[int] = []

        def then(value: str) -> str:
            ran.append(threading.get_ident())
            return value * 2

        outcome = staged.after_sync(then, "ab")
        assert not outcome.done() and not ran  # the fsync is still held
        held.release.set()
        assert outcome.result(10) == "abab"
        assert ran == [held.thread] and held.thread != threading.get_ident()
    finally:
        held.release.set()
        staged.discard()


def test_after_sync_without_a_pending_fsync_is_a_job_of_its_own(tmp_path: Path) -> None:
    staged = LocalFileBackend(tmp_path).create_staging_file()
    try:
        outcome = staged.after_sync(threading.get_ident)
        assert outcome.result(10) != threading.get_ident()
    finally:
        staged.discard()


def test_after_sync_passes_on_what_its_function_raises(tmp_path: Path) -> None:
    staged = _unsyncable(tmp_path)
    staged.write(b"x")
    staged.sync_in_background()

    outcome = staged.after_sync(staged.sync)  # the fsync failed: so does every later sync
    with pytest.raises(OSError) as failure:
        outcome.result(10)
    assert failure.value.errno == errno.EINVAL
    staged.discard()
