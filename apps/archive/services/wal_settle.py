"""Ends the staging journal of stores whose index commit did not wait for the WAL flush.

With ``PACS_INDEX_ASYNC_COMMIT`` the index fast path commits without waiting for
PostgreSQL to flush its write-ahead log: the C-STORE answer then waits only for the file's
``fsync`` and the commit itself, not for a second disk flush. Until the log is flushed, a
crash of the database could lose those rows, so the store's staging journal (its
"roll-forward" mark included) must outlive the commit: :func:`discard_after_wal_flush`
takes the function that ends it (``StagingFile.discard_later``) and one thread per process
runs those functions a batch at a time, once PostgreSQL reports a flushed position at or
past the log position read after the batch was handed in. A crash before that leaves the
journal, and ``staging_reconcile`` indexes the stored file again where its rows are missing.

The stored name's folder may still wait for its ``fsync`` too (``LocalFileBackend.store``
leaves it to the journal's end on this path): each batch syncs every such folder once
before the journals go, so that stores into one series share one directory ``fsync``.

The thread asks on a database connection of its own, about four times a second while
stores arrive, and closes it when none are waiting. Each pending store holds one file
descriptor; a batch is asked for sooner once :data:`_BATCH` wait. If the database cannot be
asked, the batch waits for the next round (the journals stay, which is always safe).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

from django.db import DatabaseError, connection

from apps.archive.storage import JournalEnd

__all__ = ["discard_after_wal_flush", "settle_pending", "stop"]

logger = logging.getLogger(__name__)

_INTERVAL_S = 0.25
_BATCH = 64
_POLL_S = 0.02  # between looks at the flushed position (PostgreSQL's WAL writer: 200 ms)
_WAIT_MAX_S = 10.0  # a flush not seen by then: the batch waits for the next round


class _Settler:
    def __init__(self) -> None:
        self._pending: deque[JournalEnd] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one batch at a time (the thread, or a caller)
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, finish: JournalEnd) -> None:
        self._pending.append(finish)
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._stopping = False
                    self._thread = threading.Thread(target=self._run, name="wal-settle", daemon=True)
                    self._thread.start()
        if len(self._pending) >= _BATCH:
            self._wake.set()

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._wake.wait(_INTERVAL_S)
                self._wake.clear()
                if not self._pending:
                    connection.close()  # idle: no connection held between bursts
                    continue
                self._settle_logged()
            self._settle_logged()
        finally:
            connection.close()

    def _settle_logged(self) -> None:
        try:
            self.settle()
        except Exception:  # the thread goes on: the journals stay, which is always safe
            logger.exception("could not settle staging journals")

    def settle(self) -> bool:
        """Run the finish functions handed in so far once their commits are durable;
        False when the database could not tell (they stay pending)."""
        with self._lock:
            batch = len(self._pending)
            if not batch:
                return True
            try:
                durable = _wait_for_flush()
            except DatabaseError:
                logger.warning("could not read PostgreSQL's WAL position; retrying", exc_info=True)
                connection.close()
                return False
            if not durable:
                return False
            ends = [self._pending.popleft() for _ in range(batch)]
            unsynced = {id(end) for end in JournalEnd.sync_directories(ends)}  # one fsync per folder
            if unsynced:
                failed = {"count": len(unsynced)}
                logger.error("could not make stored names durable (recovery will)", extra=failed)
            for finish in ends:
                if id(finish) in unsynced:
                    finish.forget()  # the journal stays for recovery
                    continue
                try:
                    finish()
                except OSError:
                    logger.exception("could not end a staging journal (recovery will)")
            return True

    def stop(self, timeout: float = 5.0) -> None:
        """Settle what is pending and end the thread (its connection closed)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wake.set()
        thread.join(timeout)
        self._thread = None

    def after_fork(self) -> None:
        """A forked child closes its copies of the parent's pending descriptors."""
        while self._pending:  # the parent settles them: close the child's copies only
            self._pending.popleft().forget()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread = None
        self._stopping = False


def _wait_for_flush() -> bool:
    """Whether PostgreSQL flushed its log past every commit made before this call."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        row = cursor.fetchone()
        target = row[0] if row else None
        deadline = time.monotonic() + _WAIT_MAX_S
        while True:
            cursor.execute("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", [target])
            row = cursor.fetchone()
            if row and row[0]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(_POLL_S)


_settler = _Settler()
os.register_at_fork(after_in_child=_settler.after_fork)


def discard_after_wal_flush(finish: JournalEnd) -> None:
    """Run ``finish`` (``StagingFile.discard_later``'s) once PostgreSQL has flushed every
    commit made so far, on the settling thread."""
    _settler.add(finish)


def settle_pending() -> bool:
    """Settle everything handed in so far, now, on the calling thread (tests, shutdown)."""
    return _settler.settle()


def stop() -> None:
    """Settle what is pending and end the settling thread."""
    _settler.stop()
