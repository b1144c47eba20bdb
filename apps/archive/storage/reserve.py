"""Unnamed files made ahead of need, so that creating a staging file is only naming one.

Allocating an inode is the slow part of creating a file on some filesystems: a network
filesystem asks its server, and ext4 without a journal scans the inodes freed in the last
minutes (``recently_deleted``; about 1 ms per file on a busy volume). The receive path of a
C-STORE should not wait for that. A background thread keeps a few unnamed files
(``O_TMPFILE``) open and ``flock``-ed in each recently used staging folder; :func:`take_unnamed`
hands one out, and the caller gives it a name with a hard link of ``/proc/self/fd/N``.

An unnamed file that is never named vanishes with the process: a crash leaves nothing
behind. Where ``O_TMPFILE`` or ``/proc`` is missing the reserve turns itself off and
callers create files the ordinary way.

A forked child drops what it inherited (its parent's open files are not its own) and
starts afresh.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections import OrderedDict, deque
from pathlib import Path

__all__ = ["name_unnamed", "take_unnamed"]

_DEPTH = 4  # files kept ready per folder
# The refill thread is woken when fewer are left: it then makes a few files per wake, where
# waking it for each file taken cost the receiving thread a futex wake per C-STORE.
_LOW = 2
_MAX_FOLDERS = 4  # folders served at once (most recently used first)
_MODE = 0o640

_O_TMPFILE: int | None = getattr(os, "O_TMPFILE", None)


class _Reserve:
    """The ready files of every served folder, and the thread that refills them."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._ready: OrderedDict[str, deque[int]] = OrderedDict()
        self._thread: threading.Thread | None = None
        self._unsupported: set[str] = set()
        self.disabled = _O_TMPFILE is None or not os.path.isdir("/proc/self/fd")

    def take(self, folder: str) -> int | None:
        """An open unnamed file in ``folder``, or None (none ready yet, or unsupported)."""
        if self.disabled:
            return None
        with self._lock:
            if folder in self._unsupported:
                return None
            ready = self._ready.get(folder)
            if ready is None:
                ready = self._ready[folder] = deque()
                self._evict()
            else:
                self._ready.move_to_end(folder)
            fd = ready.popleft() if ready else None
            if len(ready) < _LOW:
                self._start()
                self._lock.notify()
        return fd

    def _evict(self) -> None:
        while len(self._ready) > _MAX_FOLDERS:
            _, stale = self._ready.popitem(last=False)
            for fd in stale:
                os.close(fd)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._refill, name="staging-reserve", daemon=True)
            self._thread.start()

    def _refill(self) -> None:
        while True:
            with self._lock:
                folder = self._wanting()
                while folder is None:
                    self._lock.wait()
                    folder = self._wanting()
            try:
                fd = os.open(folder, os.O_RDWR | os.O_CLOEXEC | _O_TMPFILE, _MODE)  # type: ignore[operator]
            except OSError as exc:
                self._drop(folder, unsupported=exc.errno != errno.ENOENT)
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)  # locked before it can have a name
            with self._lock:
                ready = self._ready.get(folder)
                if ready is None:
                    os.close(fd)  # evicted meanwhile
                else:
                    ready.append(fd)

    def _wanting(self) -> str | None:
        for folder, ready in reversed(self._ready.items()):
            if len(ready) < _DEPTH:
                return folder
        return None

    def _drop(self, folder: str, *, unsupported: bool) -> None:
        """Stop serving ``folder``: it is gone (served again if it comes back), or its
        filesystem has no unnamed files (never asked again)."""
        with self._lock:
            for fd in self._ready.pop(folder, ()):
                os.close(fd)
            if unsupported:
                self._unsupported.add(folder)

    def after_fork(self) -> None:
        for ready in self._ready.values():
            for fd in ready:
                os.close(fd)
        self._ready.clear()
        self._lock = threading.Condition()
        self._thread = None


_reserve = _Reserve()
os.register_at_fork(after_in_child=_reserve.after_fork)


def take_unnamed(folder: Path) -> int | None:
    """An open, unnamed, ``flock``-ed file in ``folder`` (the caller owns the fd), or None:
    create one."""
    return _reserve.take(str(folder))


def name_unnamed(fd: int, path: Path) -> None:
    """Give the unnamed file ``fd`` the name ``path`` (fails if ``path`` exists).

    Raises:
        FileExistsError: ``path`` exists.
        OSError: it could not be named (the caller closes ``fd`` and creates the file).
    """
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # A directory fd makes CPython call linkat(AT_SYMLINK_FOLLOW); plain link() would
        # try to link the /proc symlink itself (EXDEV).
        os.link(f"/proc/self/fd/{fd}", path.name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)
