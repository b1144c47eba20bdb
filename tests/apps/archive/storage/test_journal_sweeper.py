"""The journal sweeper: removes an attribute from stored files, later, and closes their fds."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from apps.archive.storage import journal_sweeper

ATTRIBUTE = "user.pacs.test-journal"


def _file_with_attribute(path: Path) -> int:
    path.write_bytes(b"data")
    try:
        os.setxattr(path, ATTRIBUTE, b"k" * 200)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            pytest.skip("this filesystem keeps no user extended attributes")
        raise
    return os.open(path, os.O_RDONLY)


def _still_open(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the descriptor of ``path`` (a closed number may be reused)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith(str(path))
    except OSError:
        return False


def test_the_thread_removes_the_attribute_and_closes_the_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "stored.dcm"
    fd = _file_with_attribute(path)
    journal_sweeper.drop_journal_later(fd, ATTRIBUTE)
    deadline = time.monotonic() + 10
    while ATTRIBUTE in os.listxattr(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ATTRIBUTE not in os.listxattr(path)
    assert path.read_bytes() == b"data"
    deadline = time.monotonic() + 10
    while _still_open(fd, path) and time.monotonic() < deadline:  # closed right after the removal
        time.sleep(0.02)
    assert not _still_open(fd, path)


def test_a_file_deleted_meanwhile_is_only_closed(tmp_path: Path) -> None:
    path = tmp_path / "stored.dcm"
    fd = _file_with_attribute(path)
    path.unlink()
    journal_sweeper.drop_journal_later(fd, ATTRIBUTE)
    journal_sweeper.sweep()
    assert not _still_open(fd, path)


def test_a_file_without_the_attribute_is_only_closed(tmp_path: Path) -> None:
    path = tmp_path / "stored.dcm"
    fd = _file_with_attribute(path)
    os.removexattr(path, ATTRIBUTE)
    journal_sweeper.drop_journal_later(fd, ATTRIBUTE)
    journal_sweeper.sweep()
    assert not _still_open(fd, path) and path.read_bytes() == b"data"
