"""The archive's I/O threads: ``fsync`` and ``link`` work that runs beside other waits.

``fsync``, ``link`` and PostgreSQL's socket waits all release the GIL, so an ingest can
make its file durable while it parses the header or while its index call runs. One pool
per process, started on first use and again in a forked child (threads do not survive a
fork).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["io_submit"]

_THREADS = 16  # one or two per ingest in flight (the data's fsync, the link chained after it)

_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_R]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(_THREADS, thread_name_prefix="archive-io")
            return self._executor.submit(fn, *args, **kwargs)

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._executor = None


_pool = _Pool()
os.register_at_fork(after_in_child=_pool.after_fork)


def io_submit(fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_R]:
    """Run ``fn(*args, **kwargs)`` on one of the archive's I/O threads."""
    return _pool.submit(fn, *args, **kwargs)
