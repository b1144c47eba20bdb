"""``storage.direct_io``: staged instances written around the page cache, byte for byte."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from apps.archive.conf import storage_backend
from apps.archive.storage import LocalFileBackend, StagingFile
from apps.archive.storage.direct_io import ALIGNMENT, BUFFER_SIZE, DirectWriter


def _accepts_direct_io(folder: Path) -> bool:
    probe = folder / ".direct-probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    except OSError:
        return False
    os.close(fd)
    probe.unlink()
    return True


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    if not _accepts_direct_io(tmp_path):
        pytest.skip(f"{tmp_path} takes no O_DIRECT writes")
    return tmp_path


@pytest.fixture
def fd(folder: Path) -> Iterator[int]:
    descriptor = os.open(folder / "staged.part", os.O_RDWR | os.O_CREAT, 0o600)
    yield descriptor
    os.close(descriptor)


def _written(writer: DirectWriter, fd: int, pieces: list[bytes], flush_after: set[int]) -> bytes:
    for index, piece in enumerate(pieces):
        writer.write(piece)
        if index in flush_after:
            writer.flush()
    writer.flush()
    return os.pread(fd, writer.size + 1, 0)


@examples(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 300_000), max_size=12),
    flush_after=st.sets(st.integers(0, 11), max_size=4),
    seed=st.integers(0, 255),
)
def test_the_file_holds_exactly_what_was_written(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], flush_after: set[int], seed: int
) -> None:
    folder = tmp_path_factory.mktemp("direct")
    if not _accepts_direct_io(folder):
        pytest.skip("no O_DIRECT here")
    pieces = [bytes((seed + i + n) % 256 for i in range(n % 7)) * (n // 7 + 1) for n in sizes]
    descriptor = os.open(folder / "f.part", os.O_RDWR | os.O_CREAT, 0o600)
    writer = DirectWriter(descriptor)
    try:
        assert _written(writer, descriptor, pieces, flush_after) == b"".join(pieces)
        assert writer.direct
    finally:
        writer.release()
        os.close(descriptor)


def test_whole_buffers_go_to_disk_directly_and_the_tail_through_the_cache(fd: int) -> None:
    data = os.urandom(BUFFER_SIZE + 3 * ALIGNMENT + 100)
    writer = DirectWriter(fd)
    try:
        writer.write(data[:BUFFER_SIZE])  # a full buffer: written at once
        assert os.fstat(fd).st_size == BUFFER_SIZE
        writer.write(data[BUFFER_SIZE:])
        writer.flush()
        assert os.pread(fd, len(data) + 1, 0) == data
        assert writer.direct
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT  # the fd is left as it was
    finally:
        writer.release()


def test_writing_on_after_a_flush_rewrites_the_partial_block(fd: int) -> None:
    writer = DirectWriter(fd)
    try:
        writer.write(b"a" * 5000)
        writer.flush()  # 4096 bytes directly, 904 through the cache
        writer.write(b"b" * (BUFFER_SIZE + 10))
        writer.flush()
        assert os.pread(fd, 2 * BUFFER_SIZE, 0) == b"a" * 5000 + b"b" * (BUFFER_SIZE + 10)
    finally:
        writer.release()


def test_through_cache_keeps_what_is_held_and_writes_the_rest_plainly(fd: int) -> None:
    writer = DirectWriter(fd)
    try:
        writer.write(b"x" * 10_000)
        writer.through_cache()
        writer.write(b"y" * 20_000)
        writer.flush()
        assert not writer.direct
        assert os.pread(fd, 40_000, 0) == b"x" * 10_000 + b"y" * 20_000
    finally:
        writer.release()


def test_a_filesystem_refusing_direct_writes_gets_every_byte_through_the_cache(
    fd: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every local filesystem here takes O_DIRECT; some network ones answer EINVAL instead.
    real_pwrite = os.pwrite

    def refusing_pwrite(descriptor: int, data: memoryview, offset: int) -> int:
        if fcntl.fcntl(descriptor, fcntl.F_GETFL) & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(descriptor, data, offset)

    monkeypatch.setattr(os, "pwrite", refusing_pwrite)
    data = os.urandom(2 * BUFFER_SIZE + 1234)
    writer = DirectWriter(fd)
    try:
        writer.write(data[:1000])
        writer.write(data[1000:])
        writer.flush()
        assert not writer.direct
        assert os.pread(fd, len(data) + 1, 0) == data
    finally:
        writer.release()


def test_a_full_disk_is_an_error_not_a_silent_fallback() -> None:
    descriptor = os.open("/dev/full", os.O_WRONLY)
    writer = DirectWriter(descriptor)
    try:
        writer.write(b"\0" * 10_000)
        with pytest.raises(OSError) as failure:
            writer.flush()
        assert failure.value.errno == errno.ENOSPC
    finally:
        writer.release()
        os.close(descriptor)


def test_buffers_are_reused() -> None:
    first = DirectWriter(0)
    buffer = first._buffer
    first.release()
    second = DirectWriter(0)
    try:
        assert second._buffer is buffer
    finally:
        second.release()


# ------------------------------------------------------------------- the staging file


def _direct_staging(folder: Path) -> StagingFile:
    staged = LocalFileBackend(folder, direct_io=True).create_staging_file()
    assert staged._direct is not None
    return staged


def test_a_background_flush_is_waited_for_before_reading(folder: Path) -> None:
    staged = _direct_staging(folder)
    data = os.urandom(3 * BUFFER_SIZE // 2)
    try:
        staged.write(data)
        staged.sync_in_background()  # the rest is written on an I/O thread
        assert staged.read_at(len(data) - 10, 100) == data[-10:]
        staged.sync()
        assert staged.path.read_bytes() == data
    finally:
        staged.discard()


def test_a_background_flush_failure_reaches_flush_and_sync(tmp_path: Path) -> None:
    staged = StagingFile(tmp_path / "full.part", open("/dev/full", "wb", buffering=0), direct_io=True)  # noqa: SIM115
    staged.write(b"\0" * 10_000)
    staged.sync_in_background()
    with pytest.raises(OSError) as flushing:
        staged.flush()
    assert flushing.value.errno == errno.ENOSPC
    with pytest.raises(OSError):
        staged.sync()
    staged.discard()
    assert staged.closed


def test_the_backend_follows_the_setting(settings: Any) -> None:
    settings.PACS_STORAGE_DIRECT_IO = False
    assert storage_backend().direct_io is False  # type: ignore[attr-defined]
    settings.PACS_STORAGE_DIRECT_IO = True
    assert storage_backend().direct_io is True  # type: ignore[attr-defined]
