"""A forward-only window over the bytes being parsed (a file, a stream or bytes).

The reader works on absolute offsets. The window keeps only the bytes it needs:
it refills from the stream in large chunks, hands out value slices, reads very
large values straight from the stream, and skips deferred ones with ``seek``.
Every length is checked against what the input still holds before anything is
allocated, so a hostile length cannot make us allocate or read gigabytes.
"""

from __future__ import annotations

import io
import os

from dicomkit.errors import TruncatedError
from dicomkit.streams import SeekableByteReader

__all__ = ["CHUNK", "Source"]

CHUNK = 256 * 1024  # the least a read from a stream asks for, by default


class Source:
    """Bytes from ``start`` on, backed by ``buf`` and (optionally) a stream."""

    __slots__ = ("buf", "chunk", "fp", "path", "size", "start")

    def __init__(
        self,
        buf: bytes,
        *,
        fp: SeekableByteReader | None = None,
        path: str | None = None,
        start: int = 0,
        chunk: int = CHUNK,
    ) -> None:
        self.buf = buf
        self.start = start
        self.fp = fp
        self.path = path
        self.chunk = chunk  # the least a read from ``fp`` asks for
        self.size = start + len(buf) if fp is None else _stream_size(fp, start + len(buf))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Source:
        return cls(bytes(data))

    @classmethod
    def from_stream(cls, fp: SeekableByteReader, *, path: str | None = None, chunk: int = CHUNK) -> Source:
        """Read from ``fp`` at least ``chunk`` bytes at a time (smaller where most values will
        be skipped, deferred in the file: each read of the rest then costs less)."""
        offset = fp.tell() if fp.seekable() else 0
        return cls(fp.read(chunk), fp=fp, path=path, start=offset, chunk=chunk)

    @property
    def end(self) -> int:
        """Absolute offset just past the buffered bytes."""
        return self.start + len(self.buf)

    def remaining(self, pos: int) -> int:
        """How many bytes the input still holds from ``pos`` on (a bound, never a guess)."""
        return max(self.size - pos, 0)

    def ensure(self, pos: int, count: int) -> bool:
        """Make ``[pos, pos+count)`` buffered; False if the input ends first."""
        if pos + count <= self.start + len(self.buf):
            return True
        if self.fp is None or pos < self.start or pos + count > self.size:
            return False
        keep = self.buf[pos - self.start :] if pos < self.end else b""
        if pos > self.end:
            self.fp.seek(pos)
        want = max(count - len(keep), self.chunk)
        more = self.fp.read(want)
        self.buf = keep + more
        self.start = pos
        return len(self.buf) >= count

    def take(self, pos: int, count: int) -> bytes:
        """The ``count`` bytes at ``pos`` (raises TruncatedError if the input is shorter)."""
        buf_pos = pos - self.start
        if buf_pos >= 0 and pos + count <= self.start + len(self.buf):
            return self.buf[buf_pos : buf_pos + count]
        if count > self.remaining(pos):
            raise TruncatedError(f"value of {count} bytes but only {self.remaining(pos)} remain", offset=pos)
        if self.fp is None:
            raise TruncatedError(f"cannot read {count} bytes", offset=pos)
        if count >= self.chunk or pos < self.start:
            # Large value (or one behind us): read it straight into its own bytes object.
            self.fp.seek(pos)
            data = self.fp.read(count)
            self.buf = b""
            self.start = pos + len(data)
            if len(data) != count:
                raise TruncatedError(f"value of {count} bytes is cut short", offset=pos)
            return data
        if not self.ensure(pos, count):
            raise TruncatedError(f"value of {count} bytes is cut short", offset=pos)
        return self.buf[pos - self.start : pos - self.start + count]

    def skip_to(self, pos: int) -> None:
        """Forget everything before ``pos`` (used after deferring a large value)."""
        if pos > self.end and self.fp is not None:
            self.fp.seek(pos)
            self.buf = b""
            self.start = pos


def _stream_size(fp: SeekableByteReader, fallback: int) -> int:
    # A file knows its size without seeking; other streams lack fileno() or refuse it.
    fileno = getattr(fp, "fileno", None)
    try:
        if fileno is not None:
            return os.fstat(fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        pass
    if fp.seekable():
        here = fp.tell()
        size = fp.seek(0, os.SEEK_END)
        fp.seek(here)
        return size
    return fallback  # unseekable streams are read whole by the caller before parsing
