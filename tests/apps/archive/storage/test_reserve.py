"""Staging files made ahead of need (``storage.reserve``): named, locked, their folder synced."""

from __future__ import annotations

import fcntl
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.archive.storage import LocalFileBackend, reserve
from apps.archive.storage.reserve import take_ready

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux O_TMPFILE"),
    pytest.mark.usefixtures("staging_reserve"),
]


def _namer() -> Iterator[str]:
    index = 0
    while True:
        index += 1
        yield f"f{index}-{os.urandom(4).hex()}.part"


def _take_ready(folder: Path) -> tuple[int, Path]:
    """The first ready file: the first ask only starts the refill."""
    names = _namer()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        taken = take_ready(folder, lambda: next(names))
        if taken is not None:
            return taken
        time.sleep(0.01)
    raise AssertionError("no file became ready")


def _is_locked(path: Path) -> bool:
    other = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(other)
    return False


def test_ready_files_are_named_locked_and_empty(tmp_path: Path) -> None:
    fd, path = _take_ready(tmp_path)
    try:
        assert path.parent == tmp_path
        assert path.stat().st_size == 0
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        assert _is_locked(path)  # by the taker now: no cleanup can take it
        os.write(fd, b"received")
        assert path.read_bytes() == b"received"
    finally:
        os.close(fd)


def test_a_ready_file_is_named_before_the_folder_is_synced_and_handed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[list[str]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode) and os.path.samestat(os.fstat(fd), tmp_path.stat()):
            synced.append(sorted(os.listdir(tmp_path)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    fd, path = _take_ready(tmp_path)
    os.close(fd)
    # The taken file's name was there when its batch's folder fsync ran.
    assert any(path.name in names for names in synced)


def test_a_missing_folder_is_served_the_ordinary_way(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    names = _namer()
    assert take_ready(missing, lambda: next(names)) is None
    time.sleep(0.05)
    assert take_ready(missing, lambda: next(names)) is None  # the refill could not make one there
    missing.mkdir()
    os.close(_take_ready(missing)[0])  # served once it exists


def test_a_forked_child_does_not_use_its_parents_files(tmp_path: Path) -> None:
    os.close(_take_ready(tmp_path)[0])
    time.sleep(0.05)  # the parent holds ready files now
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        os.write(write_end, b"none" if take_ready(tmp_path, lambda: "child.part") is None else b"some")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 4)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"none"


def test_ready_files_left_at_the_end_are_removed(tmp_path: Path) -> None:
    os.close(_take_ready(tmp_path)[0])
    deadline = time.monotonic() + 10
    while len(os.listdir(tmp_path)) < 2:  # the taken one and at least one ready
        assert time.monotonic() < deadline, "the reserve was not refilled"
        time.sleep(0.01)
    taken = {name for name in os.listdir(tmp_path) if not _is_locked(tmp_path / name)}
    reserve.release_ready()  # what a server does at shutdown (and any process at exit)
    assert set(os.listdir(tmp_path)) == taken


def test_staging_files_from_the_reserve_have_durable_names(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    backend.create_staging_file().discard()  # made the ordinary way; starts the refill
    deadline = time.monotonic() + 10
    while True:
        staged = backend.create_staging_file()
        if staged._name_durable:
            break
        staged.discard()
        assert time.monotonic() < deadline, "the reserve was not refilled"
        time.sleep(0.01)
    try:
        assert staged.path.parent == backend.staging_dir and staged.path.name.endswith(".part")
        assert staged.path.name.startswith(f"{os.getpid()}-")
        assert _is_locked(staged.path)
        staged.write(b"data")
        staged.sync()
        assert staged.path.read_bytes() == b"data"
    finally:
        staged.discard()
    assert not staged.path.exists()


def test_the_refill_thread_is_woken_only_when_few_files_are_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.close(_take_ready(tmp_path)[0])
    ready = reserve._reserve._folders[str(tmp_path)].ready
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
    names = _namer()
    taken = [take_ready(tmp_path, lambda: next(names)) for _ in range(len(ready) - reserve._LOW)]
    assert wakes == []  # enough left: taking them woke nobody
    taken.append(take_ready(tmp_path, lambda: next(names)))
    assert wakes == [1]
    for item in taken:
        assert item is not None
        os.close(item[0])
    os.close(_take_ready(tmp_path)[0])  # and it refills
