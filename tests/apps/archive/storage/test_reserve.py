"""Unnamed files made ahead of need (``storage.reserve``) and the staging files named from them."""

from __future__ import annotations

import fcntl
import os
import stat
import time
from pathlib import Path

import pytest

from apps.archive.storage import LocalFileBackend, reserve
from apps.archive.storage.reserve import name_unnamed, take_unnamed

pytestmark = pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux O_TMPFILE")


def _take_ready(folder: Path) -> int:
    """The first ready file: the first ask only starts the refill."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        fd = take_unnamed(folder)
        if fd is not None:
            return fd
        time.sleep(0.01)
    raise AssertionError("no unnamed file became ready")


def test_ready_files_have_no_name_until_given_one(tmp_path: Path) -> None:
    fd = _take_ready(tmp_path)
    try:
        time.sleep(0.05)  # the refill has made the next ones meanwhile
        assert list(tmp_path.iterdir()) == []
        os.write(fd, b"received")
        name_unnamed(fd, tmp_path / "one.part")
    finally:
        os.close(fd)

    assert [p.name for p in tmp_path.iterdir()] == ["one.part"]
    assert (tmp_path / "one.part").read_bytes() == b"received"
    assert stat.S_IMODE((tmp_path / "one.part").stat().st_mode) == 0o640


def test_a_name_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "taken.part").write_bytes(b"first")
    fd = _take_ready(tmp_path)
    try:
        with pytest.raises(FileExistsError):
            name_unnamed(fd, tmp_path / "taken.part")
    finally:
        os.close(fd)
    assert (tmp_path / "taken.part").read_bytes() == b"first"


def test_a_missing_folder_is_served_the_ordinary_way(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    assert take_unnamed(missing) is None
    time.sleep(0.05)
    assert take_unnamed(missing) is None  # the refill could not make one there
    missing.mkdir()
    os.close(_take_ready(missing))  # served once it exists


def test_a_forked_child_does_not_use_its_parents_files(tmp_path: Path) -> None:
    os.close(_take_ready(tmp_path))
    time.sleep(0.05)  # the parent holds ready files now
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        os.write(write_end, b"none" if take_unnamed(tmp_path) is None else b"some")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 4)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"none"


def test_staging_files_from_the_reserve_are_named_and_locked(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    backend.create_staging_file().discard()  # starts the refill for this folder
    time.sleep(0.05)

    staged = backend.create_staging_file()
    try:
        assert staged.path.parent == backend.staging_dir and staged.path.name.endswith(".part")
        assert [p.name for p in backend.staging_dir.iterdir()] == [staged.path.name]
        other = os.open(staged.path, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
        staged.write(b"data")
        staged.sync()
        assert staged.path.read_bytes() == b"data"
    finally:
        staged.discard()
    assert list(backend.staging_dir.iterdir()) == []


def test_the_refill_thread_is_woken_only_when_few_files_are_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.close(_take_ready(tmp_path))
    ready = reserve._reserve._ready[str(tmp_path)]
    deadline = time.monotonic() + 10
    while len(ready) < reserve._DEPTH - 1:  # refilled (to the full depth, or one short)
        assert time.monotonic() < deadline, "the reserve was not refilled"
        time.sleep(0.01)
    time.sleep(0.05)  # the refill thread has finished and waits
    wakes: list[int] = []
    condition = reserve._reserve._lock
    real_notify = condition.notify

    def counting_notify(n: int = 1) -> None:
        wakes.append(n)
        real_notify(n)

    monkeypatch.setattr(condition, "notify", counting_notify)
    taken = [take_unnamed(tmp_path) for _ in range(len(ready) - reserve._LOW)]
    assert wakes == []  # enough left: taking them woke nobody
    taken.append(take_unnamed(tmp_path))
    assert wakes == [1]
    for fd in taken:
        assert fd is not None
        os.close(fd)
    os.close(_take_ready(tmp_path))  # and it refills
