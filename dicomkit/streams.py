"""The binary streams dicomkit reads from, as structural types.

Bottom layer, beside ``errors``: it imports nothing else from dicomkit. Readers ask for
the least they call, so any stream works: a file, ``BytesIO``, a pipe, a socket's
``makefile("rb")`` or a small class of the caller's own. Nothing has to subclass
``io.IOBase`` or claim to be a ``typing.BinaryIO``.

- :class:`ByteReader`: ``read`` only (``fragment_stream``; ``read_file`` of a stream
  that cannot seek, which is read whole).
- :class:`SeekableByteReader`: also ``seekable``/``seek``/``tell``, checked at run time,
  so ``read_file`` reads a seekable stream in chunks and skips deferred values.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ByteReader", "SeekableByteReader"]


class ByteReader(Protocol):
    """A binary stream: ``read(n)`` gives up to ``n`` bytes, ``b""`` at the end.

    A short read is not the end (pipes and sockets return what has arrived);
    ``read()`` or ``read(-1)`` gives the rest of the stream.
    """

    def read(self, size: int = -1, /) -> bytes: ...


@runtime_checkable
class SeekableByteReader(ByteReader, Protocol):
    """A :class:`ByteReader` that can also move, when ``seekable()`` says so (as in ``io``)."""

    def seekable(self) -> bool: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...
