"""Removes the staging key journal from stored files, in batches, off the C-STORE's path.

A staging file journals the key it is stored under in an extended attribute, and the
stored file is the same inode (a hard link), so the attribute would stay on every archived
file. A UID key (about 200 bytes) does not fit the free room of an ext4 256-byte inode,
so there it holds a 4 KiB block of its own: twice the size of a few-KiB structured report.
Removing the attribute frees that block, but waits on a metadata write (about 80 µs on
ext4), and handing each removal to an I/O thread would cost a thread wake-up per C-STORE.
So a staging file, once its journal entry ended, leaves a duplicate of its descriptor
here, and one thread removes the attributes a batch at a time: every quarter second, or
sooner once :data:`_BATCH` wait.

Nothing here needs to be durable: once the index committed the key, the journal is not
read again, whether the attribute is there or not. A crash or exit before a batch leaves
the attribute on those few files, as before.
"""

from __future__ import annotations

import os
import threading
from collections import deque

__all__ = ["drop_journal_later", "sweep"]

_INTERVAL_S = 0.25
_BATCH = 32  # descriptors held at most about this many (they count against the fd limit)


class _Sweeper:
    def __init__(self) -> None:
        self._pending: deque[tuple[int, str]] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, fd: int, attribute: str) -> None:
        self._pending.append((fd, attribute))
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="journal-sweeper", daemon=True)
                    self._thread.start()
        if len(self._pending) >= _BATCH:
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(_INTERVAL_S)
            self._wake.clear()
            self.sweep()

    def sweep(self) -> None:
        while True:
            try:
                fd, attribute = self._pending.popleft()
            except IndexError:
                return
            try:
                if os.fstat(fd).st_nlink:  # still stored (not deleted again meanwhile)
                    os.removexattr(fd, attribute)
            except OSError:
                pass  # gone already: nothing to free
            finally:
                os.close(fd)

    def after_fork(self) -> None:
        """A forked child closes its copies of the parent's pending descriptors."""
        while self._pending:
            os.close(self._pending.popleft()[0])
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = None


_sweeper = _Sweeper()
os.register_at_fork(after_in_child=_sweeper.after_fork)


def drop_journal_later(fd: int, attribute: str) -> None:
    """Take ``fd`` (a descriptor of a stored file, now ours to close) and remove its
    extended ``attribute`` with the next batch."""
    _sweeper.add(fd, attribute)


def sweep() -> None:
    """Remove the attributes of every file waiting now (tests; the thread does it anyway)."""
    _sweeper.sweep()
