"""The storage backend interface and its local filesystem implementation.

A backend keeps the bytes of stored instances under keys (``storage/keys.py``). Ingest
streams into a *staging file* the backend hands out (for the local backend: a file on the
archive volume itself, ``<root>/.staging/``), then :meth:`StorageBackend.store` makes it
durable under its key. Object storage tiers (S3, Azure Blob) will implement the same
Protocol: their staging file is a local scratch file, ``store`` an upload.

Guarantees of ``LocalFileBackend.store`` (the crash-safety of the ingest hot path):

1. the key it is about to get is journalled first, on the staging file itself: an extended
   attribute ``user.pacs.storage-key`` (where the filesystem has none, a sidecar file
   ``<staging>.key``, made durable with an ``fsync`` of itself and of the staging folder);
2. the staged data and that attribute are ``fsync``-ed together, before the file gets its
   name (one ``fsync``; nothing more when a caller already synced it and no journal changed);
3. the name appears atomically as a hard link, never overwriting an existing key;
4. the parent directory is ``fsync``-ed, so the name survives a crash; for a roll-forward
   store whose staging name is durable (a file from ``storage.reserve``) and whose journal
   is sealed (:meth:`StagingFile.seal`: the whole file's size and checksum, durable with
   the data), that ``fsync`` is left to the journal's end (``discard``, ``JournalEnd``):
   until then recovery links a lost name again from the staging file, if it matches the
   seal.

The staging file (its second name) stays, still locked by the writer and journalling the key,
until the index transaction has committed or the stored file was removed again; then
:meth:`StagingFile.discard` drops it (or, for a commit that did not wait for the database's
log flush, the function :meth:`StagingFile.discard_later` returns, once it has). A journal
marked *roll-forward* tells recovery to index a linked but unindexed file again rather than
remove it: its commit may have been answered and then lost with the database. A crash in
between leaves an unlocked journalled staging file: :meth:`LocalFileBackend.recover_staging`
asks the index whether that key was committed and removes the stored file if not (only if
it still is the very same file, a hard link of the staging file), or restores it (a
roll-forward journal). See ``services.integrity.staging_reconcile``. The stored file keeps
the attribute (its own key) until the journal sweeper drops it; nothing reads it there.

Invariants:

- a staging file is ``flock``-ed by the process writing it for as long as it is in use;
  the cleanups touch only unlocked ones, so they are safe next to live ingests;
- a journal (attribute or sidecar) exists from before the link until after the outcome is
  settled; a sidecar is removed before its staging file.

Power loss: a staging file made on demand has a name that is not ``fsync``-ed apart (with
the attribute journal). A journalling filesystem (ext4, XFS) commits metadata in order, so
when the link's directory ``fsync`` has made the stored name durable, the earlier staging
name is durable too. One from the reserve has a durable name (its folder was synced before
it was handed out), which is what lets a sealed store leave the directory ``fsync`` for later.

Not covered: filesystems without hard links. There ``store`` falls back to a rename, the
staging name disappears, and a crash between the rename and the commit leaves a stored file
without rows that ``verify_storage`` reports.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, ParamSpec, Protocol, TypeVar

from apps.archive.errors import InvalidKeyError, KeyExistsError, StorageError
from apps.archive.storage.checksums import parse_checksum, stream_checksum
from apps.archive.storage.direct_io import DirectWriter
from apps.archive.storage.io_threads import io_submit
from apps.archive.storage.journal_sweeper import drop_journal_later
from apps.archive.storage.keys import check_key
from apps.archive.storage.reserve import take_ready

__all__ = [
    "STAGING_DIR",
    "JournalEnd",
    "LocalFileBackend",
    "StagingFile",
    "StagingRecovery",
    "StorageBackend",
]

STAGING_DIR = ".staging"
_STAGING_SUFFIX = ".part"
_JOURNAL_SUFFIX = ".key"
_JOURNAL_XATTR = "user.pacs.storage-key"
# A second line in the journal: the index may commit this store without waiting for its WAL
# flush, so recovery indexes the file again when its rows are missing (see the docstring).
_ROLL_FORWARD = "roll-forward"
# A third line, "sealed <size> <checksum>": the whole file's size and checksum, journalled
# before the fsync that made the data durable (``StagingFile.seal``).
_SEALED = "sealed"
# What setxattr/getxattr raise where the filesystem keeps no user attributes.
_NO_XATTR = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.ENOSYS})

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _staging_name() -> str:
    """A fresh staging file name: the writer's process id, then 64 random bits."""
    return f"{os.getpid()}-{os.urandom(8).hex()}{_STAGING_SUFFIX}"


def journal_path(staging_path: Path) -> Path:
    """The sidecar that records the key a staging file is being stored under."""
    return staging_path.with_name(staging_path.name + _JOURNAL_SUFFIX)


@dataclass(slots=True)
class StagingRecovery:
    """What :meth:`LocalFileBackend.recover_staging` did, by staging file name / key."""

    completed: list[str] = field(default_factory=list)  # key indexed: only staging dropped
    rolled_back: list[str] = field(default_factory=list)  # key not indexed: stored file removed
    restored: list[str] = field(default_factory=list)  # roll-forward journal: indexed again
    removed: list[str] = field(default_factory=list)  # staging files without a journalled key


class StagingFile:
    """A temporary file being written; becomes a stored object through ``backend.store``.

    The writing process holds an exclusive ``flock`` on it until it is stored or discarded.
    It counts its changes (writes, the key journal) and remembers which of them an ``fsync``
    made durable, so that a second ``sync`` (the caller's, then ``store``'s) costs no second
    ``fsync``. :meth:`sync_in_background` starts the ``fsync`` early, on an I/O thread, while
    the caller goes on (parsing the header); ``sync`` then waits for it. Once an ``fsync``
    has failed, every later ``sync`` fails too: a retry could report success for data the
    kernel already dropped.
    """

    __slots__ = (
        "_background",
        "_changes",
        "_direct",
        "_directory_unsynced",
        "_eager_sync",
        "_failure",
        "_file",
        "_flush_failure",
        "_flushed",
        "_handed_over",
        "_journalled",
        "_linked",
        "_name_durable",
        "_sealed",
        "_sidecar",
        "_synced",
        "path",
    )

    def __init__(
        self, path: Path, file: BinaryIO, *, direct_io: bool = False, name_durable: bool = False
    ) -> None:
        self.path = path
        self._file = file
        # Writes around the page cache (``storage.direct_io``); else through ``file``.
        self._direct = DirectWriter(file.fileno()) if direct_io else None
        self._changes = 1  # bumped by every change; ``_synced``: the count an fsync covered
        self._synced = 0
        self._background: Future[int] | None = None
        self._failure: OSError | None = None
        # Set once the background job's flush is done (direct writes flush there too).
        self._flushed: threading.Event | None = None
        self._flush_failure: OSError | None = None
        self._sidecar = False  # a key journal was written beside it (no xattr support)
        self._journalled: str | None = None
        self._sealed = False  # the journal also holds the size and checksum of the whole file
        self._name_durable = name_durable  # the staging folder was fsync-ed since it got its name
        # The stored name's folder, when ``store`` left its fsync for the journal's end.
        self._directory_unsynced: Path | None = None
        self._linked = False  # stored under a key by a hard link: the stored file is this inode
        self._handed_over = False  # ``discard_later``: the name and journal are not ours now
        self._eager_sync = True  # ``sync_in_background`` starts the fsync ahead of ``sync``

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._changes += 1
        if self._direct is not None:
            self._direct.write(data)
        else:
            self._file.write(data)

    def flush(self) -> None:
        """Hand what ``write`` buffered to the kernel (no new change: ``write`` counted it);
        if the background job does that, wait until it has."""
        if self._flushed is not None:
            self._flushed.wait()
            if self._flush_failure is not None:
                raise self._flush_failure
        elif self._direct is not None:
            self._direct.flush()
        else:
            self._file.flush()

    def sync(self) -> None:
        """Flush and ``fsync`` what was written (nothing to do if an ``fsync`` since the last
        change did, or the background one does)."""
        self._settle_background()
        if self._failure is not None:
            raise self._failure
        if self._synced == self._changes:
            return
        changes = self._changes
        self.flush()
        try:
            os.fsync(self._file.fileno())
        except OSError as exc:
            self._failure = exc
            raise
        self._synced = changes

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` of what was written (flushed first; the write
        position stays)."""
        self.flush()
        return os.pread(self._file.fileno(), size, offset)

    def sync_in_background(self) -> None:
        """Flush, and start the ``fsync`` on an I/O thread; do not write until ``sync``.

        Written directly (``storage.direct_io``), the flush is a disk write itself: it runs
        on that thread too, ahead of the ``fsync``, and :meth:`flush` waits for it.
        """
        if not self._eager_sync:
            self.flush()
            return
        if self._background is not None or self._synced == self._changes:
            return
        if self._direct is None:
            self.flush()
            self._background = io_submit(_fsync_fd, self._file.fileno(), self._changes)
            return
        self._flushed, self._flush_failure = threading.Event(), None
        self._background = io_submit(self._flush_and_fsync, self._direct, self._flushed, self._changes)

    def _flush_and_fsync(self, direct: DirectWriter, flushed: threading.Event, changes: int) -> int:
        """The background job of :meth:`sync_in_background` for direct writes."""
        try:
            direct.flush()
        except OSError as exc:
            self._flush_failure = exc
            raise
        finally:
            flushed.set()
        os.fsync(self._file.fileno())
        return changes

    def after_sync(self, fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_R]:
        """Run ``fn`` on an I/O thread once the background flush and ``fsync`` are done.

        It runs on the thread that did them, right after: no second thread has to be woken
        for it, which costs as much as a small ``fsync`` on a virtual machine. With no
        background job pending (or one already done) it is an I/O job of its own. Until the
        returned future is done, nothing else may use this file.
        """
        background = self._background
        if background is None or background.done():
            return io_submit(fn, *args, **kwargs)
        outcome: Future[_R] = Future()
        caller = threading.get_ident()

        def run(_: Future[int]) -> None:
            if threading.get_ident() == caller:  # done meanwhile: the callback came at once
                _copy_outcome(io_submit(fn, *args, **kwargs), outcome)
                return
            try:
                outcome.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                outcome.set_exception(exc)

        background.add_done_callback(run)
        return outcome

    def sync_when_needed(self) -> None:
        """The file will most likely be discarded unstored (a re-sent instance whose key is
        taken): start no ``fsync`` ahead, and write through the page cache. Unlinked before
        the kernel writes it back, it costs no disk writes at all; ``sync`` (and so
        ``store``) still makes it durable."""
        self._eager_sync = False
        if self._direct is not None:
            self._direct.through_cache()

    @property
    def syncs_ahead(self) -> bool:
        """Whether an ``fsync`` ahead of ``sync`` is worth it (False after ``sync_when_needed``)."""
        return self._eager_sync

    def _settle_background(self) -> None:
        """Wait for the background ``fsync``, if one was started, and take its outcome."""
        pending, self._background = self._background, None
        if pending is None:
            return
        self._flushed = None  # what the job flushed is on file either way
        try:
            self._synced = max(self._synced, pending.result())
        except OSError as exc:
            self._failure = exc

    def close(self) -> None:
        """Close (releases the lock); the file itself stays where it is."""
        self._settle_background()  # its flush uses the buffer, its fsync the fd
        self._release_buffer()
        self._file.close()

    def _release_buffer(self) -> None:
        if self._direct is not None:
            self._direct.release()

    def journal(self, key: str, *, roll_forward: bool = False) -> None:
        """Record ``key`` as the one this file is about to be stored under.

        ``roll_forward``: the index may commit the store without waiting for its WAL flush
        (``PACS_INDEX_ASYNC_COMMIT``), so a recovery that finds the key linked but not
        indexed indexes the file again instead of removing it.

        The extended attribute becomes durable with the next :meth:`sync`; the sidecar
        (filesystems without user attributes) is made durable here. Journalling the entry
        already journalled changes nothing (and needs no new ``fsync``).
        """
        entry = f"{key}\n{_ROLL_FORWARD}" if roll_forward else key
        if entry == self._journalled:
            return
        try:
            os.setxattr(self._file.fileno(), _JOURNAL_XATTR, entry.encode("utf-8"))
        except OSError as exc:
            if exc.errno not in _NO_XATTR:
                raise
        else:
            self._changes += 1
            self._journalled = entry
            self._sealed = False
            return
        with open(journal_path(self.path), "wb") as sidecar:
            sidecar.write(entry.encode("utf-8"))
            sidecar.flush()
            os.fsync(sidecar.fileno())
        self._sidecar = True
        # Makes the sidecar's name (and the staging file's) durable before the link's.
        _fsync_dir(self.path.parent)
        self._journalled = entry

    def seal(self, size: int, checksum: str) -> None:
        """Add the size and checksum of the whole file to a roll-forward journal, before
        the ``fsync`` that makes both durable.

        Call once nothing more will be written. With the seal, recovery can tell a staging
        file that is whole from one cut short, and link a whole one under its key again
        where the link itself was lost with the directory it was made in (a store whose
        directory ``fsync`` was left for later, see :meth:`LocalFileBackend.store`). Only
        an attribute journal is sealed (a sidecar would need ``fsync`` calls of its own);
        without a roll-forward journal there is nothing to seal.
        """
        entry = self._journalled
        if entry is None or self._sidecar or self._sealed or not entry.endswith(_ROLL_FORWARD):
            return
        sealed = f"{entry}\n{_SEALED} {size} {checksum}"
        os.setxattr(self._file.fileno(), _JOURNAL_XATTR, sealed.encode("utf-8"))
        self._changes += 1
        self._sealed = True

    @property
    def sealed(self) -> bool:
        """Whether the journal holds the file's size and checksum (:meth:`seal`)."""
        return self._sealed

    @property
    def recoverable_by_seal(self) -> bool:
        """Whether recovery could link this file under its key again after a power failure:
        its staging name is durable (made by the reserve) and its sealed journal and data
        were made durable by one ``fsync`` (taken, not pending, since the last change)."""
        return self._sealed and self._name_durable and self._synced == self._changes

    def discard(self) -> None:
        """Remove the staging file and its key journal (if there) and close it.

        After ``store`` this is the end of the journal entry: call it once the index
        committed (or the stored copy was deleted again); the stored copy is another name
        of the same file and stays. Safe to call more than once. After :meth:`discard_later`
        it only closes the file.
        """
        if self._handed_over:
            self._release_buffer()
            self._file.close()
            return
        self._settle_background()  # its fsync must not meet a closed (or reused) fd
        fd = None if self._file.closed else self._file.fileno()
        directory, self._directory_unsynced = self._directory_unsynced, None
        try:
            if directory is not None:
                _fsync_stored_folder(directory)  # the stored name is durable before its journal goes
        except OSError:
            logger.error("could not make a stored name durable (recovery will)", exc_info=True)
            self._handed_over = True  # the journal stays for recovery: a later discard only closes
        else:
            _end_journal(fd, self.path, sidecar=self._sidecar, linked=self._linked)
        self._linked = False
        self._release_buffer()
        self._file.close()

    def discard_later(self) -> JournalEnd:
        """Close the file now, and return what ends its journal entry later.

        For a store whose index commit is not durable yet (``services.wal_settle`` calls the
        result once it is): until then the staging name, its journal and its lock stay (a
        duplicate descriptor keeps the ``flock``), so a crash meanwhile leaves the journal
        for recovery. The file's buffer and descriptor go now; a later :meth:`discard` only
        closes. Call it once the file is stored and committed.
        """
        self._settle_background()
        end = JournalEnd(
            os.dup(self._file.fileno()),
            self.path,
            sidecar=self._sidecar,
            linked=self._linked,
            directory=self._directory_unsynced,
        )
        self._directory_unsynced = None
        self._handed_over = True
        self._linked = False
        self._release_buffer()
        self._file.close()
        return end


class JournalEnd:
    """The end of a stored staging file's journal entry, run later (``discard_later``).

    ``directory``: the stored name's folder, when ``store`` left its ``fsync`` to this end;
    it is made durable before the journal goes (:meth:`sync_directories` does that for a
    batch of ends at once, one ``fsync`` per folder).
    """

    __slots__ = ("_fd", "_linked", "_path", "_sidecar", "directory")

    def __init__(
        self, fd: int, path: Path, *, sidecar: bool, linked: bool, directory: Path | None = None
    ) -> None:
        self._fd: int | None = fd  # holds the staging file's lock until the end
        self._path = path
        self._sidecar = sidecar
        self._linked = linked
        self.directory = directory

    def __call__(self) -> None:
        """Make the stored name durable (unless that was done), drop the journal and the
        staging name (sidecar first), then the lock.

        Raises:
            OSError: the folder's ``fsync`` failed: the journal stays (recovery settles it).
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            directory, self.directory = self.directory, None
            if directory is not None:
                _fsync_stored_folder(directory)
            _end_journal(fd, self._path, sidecar=self._sidecar, linked=self._linked)
        finally:
            os.close(fd)

    @staticmethod
    def sync_directories(ends: list[JournalEnd]) -> list[JournalEnd]:
        """``fsync`` each folder the ``ends`` wait for once; returns the ends whose folder
        could not be synced (their journals must stay), the others need no sync now."""
        folders: dict[Path, list[JournalEnd]] = {}
        for end in ends:
            if end.directory is not None:
                folders.setdefault(end.directory, []).append(end)
        failed: list[JournalEnd] = []
        for folder, waiting in folders.items():
            try:
                _fsync_stored_folder(folder)
            except OSError:
                failed.extend(waiting)
                continue
            for end in waiting:
                end.directory = None
        return failed

    def forget(self) -> None:
        """Close the descriptor and change nothing (a forked child's copy)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _end_journal(fd: int | None, path: Path, *, sidecar: bool, linked: bool) -> None:
    """Drop a staging file's journal entry and its name (``fd``: the open staging file).

    Linked, the stored file is the same inode, so its journal attribute goes too (later, by
    the sweeper, on a duplicate of ``fd``). The sidecar goes first: a staging file without
    one is plain garbage to any cleanup.
    """
    if linked and not sidecar and fd is not None:
        drop_journal_later(os.dup(fd), _JOURNAL_XATTR)
    if sidecar:
        with contextlib.suppress(FileNotFoundError):
            journal_path(path).unlink()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class StorageBackend(Protocol):
    """What the archive needs from a storage tier."""

    name: str

    def create_staging_file(self) -> StagingFile:
        """A new, empty, locked staging file to stream an incoming instance into."""
        ...

    def store(self, staged: StagingFile, key: str, *, roll_forward: bool = False) -> None:
        """Make ``staged`` durable under ``key``, journalled until ``staged.discard()``
        (``roll_forward``: see :meth:`StagingFile.journal`).

        The caller discards ``staged`` once the index has committed the key, or after it
        deleted the key again; a crash before that is settled by ``recover_staging``.

        Raises:
            KeyExistsError: ``key`` is taken (nothing is overwritten; ``staged`` stays).
            InvalidKeyError: ``key`` is not a safe key.
            StorageError: anything else (``staged`` stays, the caller discards it).
        """
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored bytes for reading (raises FileNotFoundError when absent)."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> bool:
        """Remove the object; False if it was not there."""
        ...

    def iter_keys(self) -> Iterator[str]:
        """Every stored key (staging files excluded)."""
        ...

    def modified_at(self, key: str) -> float:
        """When the object was stored (POSIX time)."""
        ...

    def remove_stale_staging(self, *, min_age_seconds: float = 0.0) -> list[str]:
        """Remove staging files whose writer is gone and that journal no key; their names."""
        ...

    def recover_staging(
        self, *, is_indexed: Callable[[str], bool], restore: Callable[[str], bool] | None = None
    ) -> StagingRecovery:
        """Settle stores interrupted between link and commit (see the module docstring);
        ``restore(key)`` indexes a roll-forward journal's stored file again (True: done)."""
        ...


def _any_link_below(root: Path, folders: list[str]) -> bool:
    """Whether one of ``root/folders[0]``, ``root/folders[0]/folders[1]``, ... is a symlink
    (folders not made yet are not)."""
    current = os.fspath(root)
    for folder in folders:
        current = os.path.join(current, folder)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False  # nothing below can be a link; storing or reading there fails on its own
    return False


class LocalFileBackend:
    """Objects as files below ``root`` (the local storage tier)."""

    name = "local"

    def __init__(self, root: Path, *, direct_io: bool = False) -> None:
        self.root = Path(root)
        self.direct_io = direct_io  # staging files written around the page cache

    # ----------------------------------------------------------------- paths

    @property
    def staging_dir(self) -> Path:
        return self.root / STAGING_DIR

    def path_for(self, key: str) -> Path:
        """The file of ``key``; raises InvalidKeyError if it would not lie below the root."""
        parts = check_key(key).split("/")
        path = self.root.joinpath(*parts)
        # Defence in depth against symlinks planted inside the root. Its folders are plain
        # directories (or not made yet) in all but planted cases: a couple of lstat calls
        # show it, where resolving both paths costs a dozen (every C-STORE and read asks).
        if not _any_link_below(self.root, parts[:-1]):
            return path
        real_root = os.path.realpath(self.root)
        real_parent = os.path.realpath(path.parent)
        if os.path.commonpath([real_root, real_parent]) != real_root:
            raise InvalidKeyError(f"storage key {key!r} resolves outside the storage root")
        return path

    # --------------------------------------------------------------- staging

    def create_staging_file(self) -> StagingFile:
        """A new staging file: one made ahead (``storage.reserve``: locked already, its name
        durable), or else one created here."""
        try:
            return self._new_staging_file()
        except FileNotFoundError:  # the first one: no staging folder yet
            self.staging_dir.mkdir(parents=True, exist_ok=True)
            return self._new_staging_file()

    def _new_staging_file(self) -> StagingFile:
        ready = take_ready(self.staging_dir, _staging_name)
        if ready is not None:
            fd, path = ready
            return StagingFile(path, os.fdopen(fd, "w+b"), direct_io=self.direct_io, name_durable=True)
        for _ in range(10):
            path = self.staging_dir / _staging_name()
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640)
            except FileExistsError:  # pragma: no cover - 64 random bits
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)
            return StagingFile(path, os.fdopen(fd, "w+b"), direct_io=self.direct_io)
        raise StorageError("could not create a staging file")  # pragma: no cover

    def remove_stale_staging(self, *, min_age_seconds: float = 0.0) -> list[str]:
        """Remove staging files no live process holds (and older than ``min_age_seconds``).

        Staging files with a key journal are left to :meth:`recover_staging`: whether their
        stored copy stays depends on the index, which this (start-up, database-free)
        cleanup does not read.
        """
        removed: list[str] = []
        now = time.time()
        for path in self._staging_files():
            if journalled_key(path) is not None:
                continue
            try:
                if now - path.stat(follow_symlinks=False).st_mtime < min_age_seconds:
                    continue
            except FileNotFoundError:
                continue
            fd = _lock_if_stale(path)
            if fd is None:
                continue
            try:
                if journalled_key(path) is None:  # journalled meanwhile: not ours to judge
                    path.unlink()
                    removed.append(path.name)
            except FileNotFoundError:
                pass
            finally:
                os.close(fd)
        return removed

    def recover_staging(
        self, *, is_indexed: Callable[[str], bool], restore: Callable[[str], bool] | None = None
    ) -> StagingRecovery:
        """Settle stores whose writer died between the link to the key and the commit.

        For each unlocked staging file whose journal names a key: if the key's file is that
        very staging file (same inode) and ``is_indexed(key)`` is false, either the journal
        rolls forward (the commit may have been acknowledged before its WAL flush) and
        ``restore(key)`` indexes the stored file again, or the instance was never
        acknowledged and its stored file is removed; otherwise only the staging file and
        sidecar go. Sidecars left without a staging file (the rename fallback) are
        dropped. Staging files without a sidecar are :meth:`remove_stale_staging`'s.
        """
        recovery = StagingRecovery()
        for path in self._staging_files():
            if journalled_key(path) is None:
                continue
            fd = _lock_if_stale(path)
            if fd is None:
                continue
            try:
                self._settle(path, fd, is_indexed, restore, recovery)
            finally:
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.staging_dir):
                if entry.name.endswith(_JOURNAL_SUFFIX):
                    staging = Path(entry.path[: -len(_JOURNAL_SUFFIX)])
                    if not staging.exists():
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.path)
                        recovery.removed.append(entry.name)
        return recovery

    def _settle(
        self,
        path: Path,
        fd: int,
        is_indexed: Callable[[str], bool],
        restore: Callable[[str], bool] | None,
        recovery: StagingRecovery,
    ) -> None:
        """One stale journalled staging file (locked by us): decide, then drop the journal."""
        journal = journal_path(path)
        entry = journal_entry(path)
        key = entry[0] if entry else ""  # "": settled by its writer after we listed it
        if key and entry is not None and entry[1]:
            self._link_again_if_whole(path, key)
        if key and self._is_link_of(key, fd):
            if is_indexed(key):
                recovery.completed.append(key)
            elif entry is not None and entry[1] and restore is not None:
                try:
                    restored = restore(key)
                except Exception:
                    # The database or the file could not be read: keep the journal for the
                    # next recovery (the file may hold an acknowledged instance).
                    logger.exception("could not index a stored file again", extra={"key": key})
                    return
                if restored:
                    recovery.restored.append(key)
                else:
                    self._delete_durably(key)
                    recovery.rolled_back.append(key)
            else:
                self._delete_durably(key)
                recovery.rolled_back.append(key)
        else:
            recovery.removed.append(path.name)
        with contextlib.suppress(FileNotFoundError):
            journal.unlink()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def _link_again_if_whole(self, path: Path, key: str) -> None:
        """Link a sealed staging file under its key again where that name is missing: the
        store left its directory's ``fsync`` for later and the name was lost (a power
        failure). Only a file whose size and checksum match the seal is linked: one cut
        short, or whose blocks did not all reach the disk, stays unlinked (and goes)."""
        seal = journal_seal(path)
        if seal is None:
            return
        try:
            target = self.path_for(key)
            if os.path.lexists(target):
                return
            algorithm, _ = parse_checksum(seal[1])
            with open(path, "rb") as stream:
                checksum, size = stream_checksum(stream, algorithm)
        except (OSError, InvalidKeyError, ValueError):
            return
        if (size, checksum) != seal:
            logger.warning("a sealed staging file does not match its seal", extra={"key": key})
            return
        created = self._make_parents(target.parent)
        try:
            os.link(path, target)
        except FileExistsError:
            return
        _fsync_new_name(target.parent, created)
        logger.warning("linked a stored file again after its name was lost", extra={"key": key})

    def _is_link_of(self, key: str, fd: int) -> bool:
        """Whether ``key``'s file is the open staging file ``fd`` (the link was made)."""
        try:
            stored = os.stat(self.path_for(key), follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError, InvalidKeyError):
            return False
        staged = os.fstat(fd)
        return (stored.st_dev, stored.st_ino) == (staged.st_dev, staged.st_ino)

    def _delete_durably(self, key: str) -> None:
        """Remove ``key`` and make the removal durable before its journal goes."""
        path = self.path_for(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        _fsync_dir(path.parent)
        self._prune_empty_parents(path.parent)

    def _staging_files(self) -> list[Path]:
        """The staging files (not sidecars) currently in the staging folder."""
        try:
            entries = list(os.scandir(self.staging_dir))
        except FileNotFoundError:
            return []
        return [
            Path(entry.path)
            for entry in entries
            if entry.name.endswith(_STAGING_SUFFIX) and entry.is_file(follow_symlinks=False)
        ]

    # ----------------------------------------------------------------- store

    def store(self, staged: StagingFile, key: str, *, roll_forward: bool = False) -> None:
        target = self.path_for(key)
        staged.journal(key, roll_forward=roll_forward)
        staged.sync()
        created = self._make_parents(target.parent)
        try:
            os.link(staged.path, target)
            staged._linked = True
        except FileExistsError:
            raise KeyExistsError(f"storage key {key!r} is taken") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # No hard links on this filesystem: rename after a check (not race-free, but
            # concurrent stores of one key are already serialised by the index). The staging
            # name is gone, so there is nothing left to journal (not crash-covered).
            if target.exists():
                raise KeyExistsError(f"storage key {key!r} is taken") from None
            os.rename(staged.path, target)
            with contextlib.suppress(FileNotFoundError):
                journal_path(staged.path).unlink()
            with contextlib.suppress(OSError):
                os.removexattr(target, _JOURNAL_XATTR)
        else:
            if roll_forward and not created and staged.recoverable_by_seal:
                # Left for the journal's end (``JournalEnd``): until then a lost name is
                # linked again by recovery, from the durable staging name and its seal.
                staged._directory_unsynced = target.parent
                return
        _fsync_new_name(target.parent, created)

    def _make_parents(self, directory: Path) -> list[Path]:
        """``mkdir -p`` that returns the directories it created, deepest last."""
        missing: list[Path] = []
        current = directory
        while not current.exists() and current != self.root:
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o750)
        return list(reversed(missing))

    # ------------------------------------------------------------------ read

    def open(self, key: str) -> BinaryIO:
        return self.path_for(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        return self.path_for(key).stat().st_size

    def modified_at(self, key: str) -> float:
        return self.path_for(key).stat().st_mtime

    def delete(self, key: str) -> bool:
        path = self.path_for(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        self._prune_empty_parents(path.parent)
        return True

    def _prune_empty_parents(self, directory: Path) -> None:
        """Remove folders emptied by a delete, up to (not including) the root."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def iter_keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for folder, dirnames, filenames in os.walk(self.root):
            if folder == str(self.root):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            relative = os.path.relpath(folder, self.root)
            for filename in filenames:
                key = filename if relative == "." else f"{relative}/{filename}".replace(os.sep, "/")
                yield key


def journalled_key(staging_path: Path) -> str | None:
    """The key a staging file journals (attribute or sidecar), or None."""
    entry = journal_entry(staging_path)
    return entry[0] if entry else None


def journal_entry(staging_path: Path) -> tuple[str, bool] | None:
    """The key a staging file journals and whether its journal rolls forward, or None."""
    try:
        value = os.getxattr(staging_path, _JOURNAL_XATTR, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None  # the staging file is gone
    else:
        return _decoded_entry(value)
    try:
        return _decoded_entry(journal_path(staging_path).read_bytes())
    except OSError:
        return None


def _decoded_entry(value: bytes) -> tuple[str, bool] | None:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None  # torn write: the link was never attempted for this content
    key, *flags = (line.strip() for line in text.split("\n"))
    return (key, _ROLL_FORWARD in flags) if key else None


def journal_seal(staging_path: Path) -> tuple[int, str] | None:
    """The size and checksum a staging file's journal was sealed with, or None
    (attribute journals only: a sidecar is never sealed)."""
    try:
        value = os.getxattr(staging_path, _JOURNAL_XATTR, follow_symlinks=False)
        lines = value.decode("utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines[1:]:
        word, _, rest = line.strip().partition(" ")
        size, _, checksum = rest.partition(" ")
        if word == _SEALED and size.isdigit() and checksum:
            return int(size), checksum
    return None


def _lock_if_stale(path: Path) -> int | None:
    """An fd of ``path`` holding its lock, or None if a live writer holds it (or it is gone)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)  # a live writer holds it
        return None
    return fd


def _copy_outcome(source: Future[_R], target: Future[_R]) -> None:
    """Settle ``target`` as ``source`` ends."""

    def copy(done: Future[_R]) -> None:
        exc = done.exception()
        if exc is not None:
            target.set_exception(exc)
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)


def _fsync_fd(fd: int, changes: int) -> int:
    """``fsync`` ``fd``; returns ``changes``, the count of changes it made durable."""
    os.fsync(fd)
    return changes


def _fsync_new_name(folder: Path, created: list[Path]) -> None:
    """Make a name just linked in ``folder`` durable, and the folders ``created`` for it."""
    _fsync_dir(folder)
    for directory in created:
        _fsync_dir(directory.parent)


def _fsync_stored_folder(directory: Path) -> None:
    """``fsync`` the folder a store left unsynced; a folder removed since (the instance was
    deleted, its empty folders pruned) has nothing left to make durable."""
    with contextlib.suppress(FileNotFoundError):
        _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
