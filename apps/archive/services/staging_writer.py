"""Writers that fill a staging file while counting and hashing (SHA-256) what goes in.

:class:`HashingWriter` writes and hashes in the caller's thread (import, STOW-RS, the File
Meta rewrite). :class:`BackgroundHashingWriter` is the DIMSE sink's: the event loop that
receives P-DATA only copies each fragment into a buffer and hands every 128 KiB to an I/O
thread, which writes and hashes it (both release the GIL) while the loop goes on decoding
the next PDUs. On a 512 KiB image that takes the page-cache copy and the hash, about half
of the receive work, off the event loop. A write error is kept and raised by the next
``write`` or by ``finish``, which waits until everything is in the file and the hash.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from concurrent.futures import Future

from apps.archive.storage import StagingFile
from apps.archive.storage.io_threads import io_submit

__all__ = ["BackgroundHashingWriter", "HashingWriter"]

_HANDOFF = 128 * 1024  # bytes gathered before a piece goes to the I/O thread
_MAX_QUEUED = 8  # pieces waiting at most (1 MiB); beyond, ``write`` waits for the disk


class HashingWriter:
    """Writes to a staging file in the caller's thread, counting and hashing."""

    __slots__ = ("sha256", "size", "staged")

    def __init__(self, staged: StagingFile) -> None:
        self.staged = staged
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.staged.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def hand_off_rest(self) -> None:
        """Start writing what is buffered, without waiting (nothing is buffered here)."""

    def finish(self) -> None:
        """Everything written is in the file and the hash (it already is here)."""

    def settle(self) -> None:
        """No write is running on another thread any more (none ever does here)."""


class BackgroundHashingWriter(HashingWriter):
    """Writes and hashes on an I/O thread, in the order written; see the module docstring.

    ``write``, ``finish`` and ``settle`` are called from one thread (the receiver's); the
    staging file and the hash belong to the I/O thread until ``finish`` or ``settle``
    returns.
    """

    __slots__ = ("_buffer", "_draining", "_error", "_job", "_lock", "_queue")

    def __init__(self, staged: StagingFile) -> None:
        super().__init__(staged)
        self._buffer = bytearray()
        self._queue: deque[bytearray] = deque()
        self._lock = threading.Lock()
        self._draining = False
        self._job: Future[None] | None = None
        self._error: OSError | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._error is not None:
            raise self._error
        self._buffer += data  # a copy: the caller may reuse ``data``'s memory
        self.size += len(data)
        if len(self._buffer) >= _HANDOFF:
            self._hand_off()

    def hand_off_rest(self) -> None:
        if self._buffer and self._error is None:
            self._hand_off()

    def finish(self) -> None:
        """Write and hash what is buffered, wait for the I/O thread, raise its error if any."""
        self.hand_off_rest()
        self.settle()
        if self._error is not None:
            raise self._error

    def settle(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.result()  # ``_drain`` keeps its errors; only its end is awaited here

    def _hand_off(self) -> None:
        piece, self._buffer = self._buffer, bytearray()
        with self._lock:
            self._queue.append(piece)
            queued = len(self._queue)
            start = not self._draining
            self._draining = True
        if start:
            self._job = io_submit(self._drain)
        elif queued > _MAX_QUEUED:
            self.settle()  # the disk is slower than the network: wait rather than buffer more

    def _drain(self) -> None:
        """On the I/O thread: write and hash the queued pieces until none is left."""
        while True:
            with self._lock:
                if not self._queue:
                    self._draining = False
                    return
                piece = self._queue.popleft()
            if self._error is not None:
                continue  # the file is broken: drop the rest, the sink refuses the data set
            try:
                self.staged.write(piece)
            except OSError as exc:
                self._error = exc
                continue
            self.sha256.update(piece)
