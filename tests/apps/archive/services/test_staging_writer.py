"""The staging writers: what arrives ends up in the file and the hash, in order, errors kept."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.archive.errors import IngestError, Refusal
from apps.archive.services.ingest import IngestSink, _Expected
from apps.archive.services.staging_writer import BackgroundHashingWriter, HashingWriter
from apps.archive.storage import LocalFileBackend, StagingFile


def _disk_full(tmp_path: Path) -> StagingFile:
    """A staging file over /dev/full: every write that reaches it fails with ENOSPC."""
    return StagingFile(tmp_path / "full.part", open("/dev/full", "wb", buffering=0))


@settings(max_examples=40, deadline=None)
@given(pieces=st.lists(st.binary(min_size=0, max_size=70_000), max_size=20))
def test_background_writer_leaves_the_same_file_and_hash_as_writing_in_place(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[bytes]
) -> None:
    backend = LocalFileBackend(tmp_path_factory.mktemp("root"))
    staged = backend.create_staging_file()
    try:
        writer = BackgroundHashingWriter(staged)
        for piece in pieces:
            writer.write(memoryview(piece))
        writer.finish()
        staged.file.flush()
        expected = b"".join(pieces)
        assert staged.path.read_bytes() == expected
        assert writer.sha256.hexdigest() == hashlib.sha256(expected).hexdigest()
        assert writer.size == len(expected)
    finally:
        staged.discard()


def test_the_caller_may_reuse_its_buffer_after_write(tmp_path: Path) -> None:
    staged = LocalFileBackend(tmp_path).create_staging_file()
    try:
        writer = BackgroundHashingWriter(staged)
        buffer = bytearray(b"a" * 200_000)
        writer.write(buffer)
        buffer[:] = b"b" * 200_000  # as a receive buffer is refilled by the next PDU
        writer.write(buffer)
        writer.finish()
        staged.file.flush()
        assert staged.path.read_bytes() == b"a" * 200_000 + b"b" * 200_000
    finally:
        staged.discard()


def test_many_pieces_waiting_hold_the_writer_back_until_written(tmp_path: Path) -> None:
    """More than the queue bound of pieces in flight: ``write`` waits, nothing is lost."""
    staged = LocalFileBackend(tmp_path).create_staging_file()
    gate = threading.Event()
    real_write = staged.write

    def slow_write(data: bytes | bytearray | memoryview) -> None:
        gate.wait(5)
        real_write(data)

    try:
        writer = BackgroundHashingWriter(staged)
        writer.staged = _SlowStaging(staged, slow_write)  # type: ignore[assignment]
        timer = threading.Timer(0.2, gate.set)
        timer.start()
        for index in range(12):
            writer.write(bytes([index]) * 128 * 1024)
        assert gate.is_set()  # the tenth piece had to wait for the disk
        writer.finish()
        timer.join()
        staged.file.flush()
        data = staged.path.read_bytes()
        assert data == b"".join(bytes([index]) * 128 * 1024 for index in range(12))
    finally:
        staged.discard()


class _SlowStaging:
    """A staging file whose writes wait for a gate (a disk slower than the network)."""

    def __init__(self, staged: StagingFile, write: object) -> None:
        self._staged = staged
        self.write = write


@pytest.mark.parametrize("writer_type", [HashingWriter, BackgroundHashingWriter])
def test_a_full_disk_is_reported_by_write_or_finish(tmp_path: Path, writer_type: type[HashingWriter]) -> None:
    writer = writer_type(_disk_full(tmp_path))
    with pytest.raises(OSError, match="No space left"):
        for _ in range(4):
            writer.write(b"x" * 200_000)
        writer.finish()
    writer.settle()  # nothing left running


def test_a_full_disk_refuses_the_data_set_with_out_of_resources(tmp_path: Path) -> None:
    staged = _disk_full(tmp_path)
    sink = IngestSink(
        backend=LocalFileBackend(tmp_path),
        staged=staged,
        expected=_Expected("1.2.3", "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1", dataset_offset=0),
        source_ae="STORESCU",
        actor=None,
    )
    for _ in range(8):  # the association goes on: the rest is accepted and dropped
        sink.write(b"\0" * 100_000)
    sink.close()
    with pytest.raises(IngestError) as refused:
        sink.commit()
    assert refused.value.reason is Refusal.OUT_OF_RESOURCES and refused.value.status == 0xA700
    assert staged.closed
