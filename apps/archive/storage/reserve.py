"""Staging files made ahead of need, so that creating one is only taking it.

Allocating an inode is the slow part of creating a file on some filesystems: a network
filesystem asks its server, and ext4 without a journal scans the inodes freed in the last
minutes (``recently_deleted``; about 1 ms per file on a busy volume). The receive path of a
C-STORE should not wait for that. A background thread keeps a few files ready in each
recently used staging folder; :func:`take_ready` hands one out.

Each file is made unnamed (``O_TMPFILE``), ``flock``-ed, then named with a hard link of
``/proc/self/fd/N`` (so that no cleanup can take a named file before its lock), and the
folder is ``fsync``-ed once for the batch before any of them is handed out. A file taken
from the reserve thus has a durable name: recovery finds it after a power failure, which
lets ``LocalFileBackend.store`` leave the ``fsync`` of the stored name's directory for later
(see there). Where ``O_TMPFILE`` or ``/proc`` is missing the reserve turns itself off and
callers create files the ordinary way.

Files still ready when the process ends are plain empty staging files, unlocked: the
staging cleanup removes them (they journal no key). A forked child drops what it inherited
(its parent's files are not its own) and starts afresh.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path

__all__ = ["release_ready", "take_ready"]

_DEPTH = 4  # files kept ready per folder
# The refill thread is woken when fewer are left: it then makes a few files per wake (and
# one folder fsync for them), where waking it for each file taken cost the receiving
# thread a futex wake per C-STORE.
_LOW = 2
_MAX_FOLDERS = 4  # folders served at once (most recently used first)
_MODE = 0o640

_O_TMPFILE: int | None = getattr(os, "O_TMPFILE", None)
# What a filesystem without unnamed files answers O_TMPFILE with (older kernels: EISDIR).
_UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL})

Namer = Callable[[], str]  # a fresh file name (no folder) for the staging folder


class _Folder:
    """The ready files of one staging folder (descriptor and path) and how to name more."""

    __slots__ = ("namer", "ready")

    def __init__(self, namer: Namer) -> None:
        self.namer = namer
        self.ready: deque[tuple[int, str]] = deque()


class _Reserve:
    """The ready files of every served folder, and the thread that refills them."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._folders: OrderedDict[str, _Folder] = OrderedDict()
        self._thread: threading.Thread | None = None
        self._unsupported: set[str] = set()
        self.disabled = _O_TMPFILE is None or not os.path.isdir("/proc/self/fd")

    def take(self, folder: str, namer: Namer) -> tuple[int, str] | None:
        """A ready file in ``folder`` (descriptor, path; the caller owns both), or None
        (none ready yet, or unsupported)."""
        if self.disabled:
            return None
        with self._lock:
            if folder in self._unsupported:
                return None
            served = self._folders.get(folder)
            if served is None:
                served = self._folders[folder] = _Folder(namer)
                self._evict()
            else:
                self._folders.move_to_end(folder)
            taken = served.ready.popleft() if served.ready else None
            if len(served.ready) < _LOW:
                self._start()
                self._lock.notify()
        return taken

    def _evict(self) -> None:
        while len(self._folders) > _MAX_FOLDERS:
            _, stale = self._folders.popitem(last=False)
            _drop_files(stale.ready)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._refill, name="staging-reserve", daemon=True)
            self._thread.start()

    def _refill(self) -> None:
        while True:
            with self._lock:
                wanted = self._wanting()
                while wanted is None:
                    self._lock.wait()
                    wanted = self._wanting()
            folder, namer, count = wanted
            made: list[tuple[int, str]] = []
            try:
                folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    for _ in range(count):
                        made.append(_named_file(folder, folder_fd, namer))
                    os.fsync(folder_fd)  # the batch's names, durable before any is handed out
                finally:
                    os.close(folder_fd)
            except OSError as exc:
                _drop_files(made)
                self._drop(folder, unsupported=exc.errno in _UNSUPPORTED)
                continue
            with self._lock:
                served = self._folders.get(folder)
                if served is None:
                    _drop_files(made)  # evicted meanwhile
                else:
                    served.ready.extend(made)

    def _wanting(self) -> tuple[str, Namer, int] | None:
        for folder, served in reversed(self._folders.items()):
            if len(served.ready) < _DEPTH:
                return folder, served.namer, _DEPTH - len(served.ready)
        return None

    def _drop(self, folder: str, *, unsupported: bool) -> None:
        """Stop serving ``folder``: it is gone or full (served again when asked anew), or its
        filesystem has no unnamed files (never asked again)."""
        with self._lock:
            served = self._folders.pop(folder, None)
            if served is not None:
                _drop_files(served.ready)
            if unsupported:
                self._unsupported.add(folder)

    def drop_all(self) -> None:
        """Remove every ready file (the process is ending; the next take starts afresh)."""
        with self._lock:
            for served in self._folders.values():
                _drop_files(served.ready)
            self._folders.clear()

    def after_fork(self) -> None:
        for served in self._folders.values():
            for fd, _ in served.ready:
                os.close(fd)  # the parent's files: close this copy, leave the names
        self._folders.clear()
        self._lock = threading.Condition()
        self._thread = None


def _named_file(folder: str, folder_fd: int, namer: Namer) -> tuple[int, str]:
    """A new empty file in ``folder`` (open as ``folder_fd``), locked before it gets its name."""
    fd = os.open(".", os.O_RDWR | os.O_CLOEXEC | _O_TMPFILE, _MODE, dir_fd=folder_fd)  # type: ignore[operator]
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for _ in range(10):
            name = namer()
            try:
                # A directory fd makes CPython call linkat(AT_SYMLINK_FOLLOW); plain link()
                # would try to link the /proc symlink itself (EXDEV).
                os.link(f"/proc/self/fd/{fd}", name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            except FileExistsError:  # pragma: no cover - the namer's random part
                continue
            return fd, os.path.join(folder, name)
        raise OSError(errno.EEXIST, "no free staging file name")  # pragma: no cover
    except BaseException:
        os.close(fd)
        raise


def _drop_files(files: deque[tuple[int, str]] | list[tuple[int, str]]) -> None:
    """Unlink and close ready files (name first: the lock keeps cleanups off meanwhile)."""
    while files:
        fd, path = files.pop()
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


_reserve = _Reserve()
os.register_at_fork(after_in_child=_reserve.after_fork)
atexit.register(_reserve.drop_all)


def release_ready() -> None:
    """Remove the files kept ready (a server shutting down: forked workers end without
    ``atexit``). Left behind, they are plain empty staging files the next start removes."""
    _reserve.drop_all()


def take_ready(folder: Path, namer: Namer) -> tuple[int, Path] | None:
    """A ready staging file in ``folder``: an open, ``flock``-ed, empty file whose name is
    durable (the caller owns the descriptor), or None: create one. ``namer`` gives fresh
    file names for that folder (used from then on to make more)."""
    taken = _reserve.take(str(folder), namer)
    return None if taken is None else (taken[0], Path(taken[1]))
