"""The storage backend interface and its local filesystem implementation.

A backend keeps the bytes of stored instances under keys (``storage/keys.py``). Ingest
streams into a *staging file* the backend hands out (for the local backend: a file on the
archive volume itself, ``<root>/.staging/``), then :meth:`StorageBackend.store` makes it
durable under its key. Object storage tiers (S3, Azure Blob) will implement the same
Protocol: their staging file is a local scratch file, ``store`` an upload.

Guarantees of ``LocalFileBackend.store`` (the crash-safety of the ingest hot path):

1. the staged data is ``fsync``-ed before it gets its name;
2. the name appears atomically (hard link, else rename), never overwriting an existing key;
3. the parent directory is ``fsync``-ed, so the name survives a crash.

A staging file is ``flock``-ed by the process writing it for as long as it exists.
:meth:`LocalFileBackend.remove_stale_staging` removes only staging files nobody holds a lock
on (their writer died), so it is safe to run while other processes ingest into the same root.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from apps.archive.errors import InvalidKeyError, KeyExistsError, StorageError
from apps.archive.storage.keys import check_key

__all__ = ["STAGING_DIR", "LocalFileBackend", "StagingFile", "StorageBackend"]

STAGING_DIR = ".staging"
_STAGING_SUFFIX = ".part"


class StagingFile:
    """A temporary file being written; becomes a stored object through ``backend.store``.

    The writing process holds an exclusive ``flock`` on it until it is stored or discarded.
    """

    __slots__ = ("_file", "path")

    def __init__(self, path: Path, file: BinaryIO) -> None:
        self.path = path
        self._file = file

    @property
    def file(self) -> BinaryIO:
        return self._file

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._file.write(data)

    def sync(self) -> None:
        """Flush and ``fsync`` what was written."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close (releases the lock); the file itself stays where it is."""
        self._file.close()

    def discard(self) -> None:
        """Remove the file (if still there) and close it. Safe to call more than once."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._file.close()


class StorageBackend(Protocol):
    """What the archive needs from a storage tier."""

    name: str

    def create_staging_file(self) -> StagingFile:
        """A new, empty, locked staging file to stream an incoming instance into."""
        ...

    def store(self, staged: StagingFile, key: str) -> None:
        """Make ``staged`` durable under ``key`` and close it.

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
        """Remove staging files whose writer is gone; returns their names."""
        ...


class LocalFileBackend:
    """Objects as files below ``root`` (the local storage tier)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ----------------------------------------------------------------- paths

    @property
    def staging_dir(self) -> Path:
        return self.root / STAGING_DIR

    def path_for(self, key: str) -> Path:
        """The file of ``key``; raises InvalidKeyError if it would not lie below the root."""
        path = self.root.joinpath(*check_key(key).split("/"))
        # Defence in depth against symlinks planted inside the root.
        real_root = os.path.realpath(self.root)
        real_parent = os.path.realpath(path.parent)
        if os.path.commonpath([real_root, real_parent]) != real_root:
            raise InvalidKeyError(f"storage key {key!r} resolves outside the storage root")
        return path

    # --------------------------------------------------------------- staging

    def create_staging_file(self) -> StagingFile:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(10):
            name = f"{os.getpid()}-{os.urandom(8).hex()}{_STAGING_SUFFIX}"
            path = self.staging_dir / name
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640)
            except FileExistsError:  # pragma: no cover - 64 random bits
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)
            return StagingFile(path, os.fdopen(fd, "w+b"))
        raise StorageError("could not create a staging file")  # pragma: no cover

    def remove_stale_staging(self, *, min_age_seconds: float = 0.0) -> list[str]:
        """Remove staging files no live process holds (and older than ``min_age_seconds``)."""
        removed: list[str] = []
        try:
            entries = list(os.scandir(self.staging_dir))
        except FileNotFoundError:
            return removed
        now = time.time()
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < min_age_seconds:
                    continue
                fd = os.open(entry.path, os.O_RDWR | os.O_NOFOLLOW)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a live writer holds it
                continue
            try:
                os.unlink(entry.path)
                removed.append(entry.name)
            except FileNotFoundError:
                pass
            finally:
                os.close(fd)
        return removed

    # ----------------------------------------------------------------- store

    def store(self, staged: StagingFile, key: str) -> None:
        target = self.path_for(key)
        staged.sync()
        created = self._make_parents(target.parent)
        try:
            os.link(staged.path, target)
        except FileExistsError:
            raise KeyExistsError(f"storage key {key!r} is taken") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # No hard links on this filesystem: rename after a check (not race-free, but
            # concurrent stores of one key are already serialised by the index).
            if target.exists():
                raise KeyExistsError(f"storage key {key!r} is taken") from None
            os.rename(staged.path, target)
        else:
            os.unlink(staged.path)
        staged.close()
        _fsync_dir(target.parent)
        for directory in created:
            _fsync_dir(directory.parent)

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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
