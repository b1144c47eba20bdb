"""``StagingFile.sync`` and ``sync_in_background``: one fsync per change, failures stick."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from apps.archive.storage import LocalFileBackend, StagingFile


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
