"""Running N DIMSE server processes on one port, and supervising them.

``run_dicom_server --workers N`` binds the listening sockets in the configured parent (a
taken port fails the start at once) and forks N workers that share them, each running
:func:`~apps.dicom_net.services.server.dicom_server_run`. The workers publish how many
associations each serves on a shared ``LoadBoard``, and a waiting connection goes to the
least loaded one (``dicomkit.net.aio.balance``): four long associations over two workers
are served 2:2, where SO_REUSEPORT's hash split them 3:1 or 4:0 more often than not. The
parent only supervises:

- a worker that exits while the server should be running is restarted, after a short
  back-off; more than ``MAX_RESTARTS`` crashes within ``RESTART_WINDOW`` seconds means
  something is wrong with every worker (the port is taken, the database refuses), so the
  parent stops all of them and exits non-zero instead of crash-looping;
- SIGTERM or SIGINT is forwarded (as SIGTERM) to every worker, which finishes its
  associations within the grace period; a worker still alive ``SHUTDOWN_MARGIN`` seconds
  after the grace period is killed;
- the exit status is 0 when no worker crashed during the run and every worker stopped
  cleanly, 1 otherwise (a restarted crash still counts: someone should look at it).

Waiting is event-driven: the parent blocks on the workers' sentinels and on a wake-up
socket that the signal module writes to, never on a polling sleep.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import ssl
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

from django.db import connections

from apps.dicom_net.errors import ServerStartError
from apps.dicom_net.services.cpu_pinning import pin_worker
from apps.dicom_net.services.server_config import ServerConfig
from dicomkit.net.aio.balance import LoadBoard, WorkerLoad, listening_sockets

logger = logging.getLogger(__name__)

MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
SHUTDOWN_MARGIN = 5.0
_BACKOFF_FIRST = 0.1
_BACKOFF_MAX = 5.0


@dataclass(frozen=True, slots=True)
class Listening:
    """What a worker serves on: the parent's listening sockets and its load board slot."""

    sockets: list[socket.socket]
    board: LoadBoard
    slot: int

    def claim(self) -> WorkerLoad:
        return self.board.claim(self.slot)


WorkerMain = Callable[[ServerConfig, ssl.SSLContext | None, Listening], int]


@dataclass(slots=True)
class _Slot:
    """One of the N worker positions: its current process and restart bookkeeping."""

    index: int
    process: BaseProcess | None = None
    restart_at: float | None = None
    consecutive_crashes: int = 0
    crash_times: deque[float] = field(default_factory=deque)


def _child(
    main: WorkerMain,
    config: ServerConfig,
    ssl_context: ssl.SSLContext | None,
    listening: Listening,
    wakeup_fds: tuple[int, int],
) -> None:
    """Entry point of a forked worker: undo the parent's signal set-up, then serve."""
    signal.set_wakeup_fd(-1)
    for fd in wakeup_fds:
        os.close(fd)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if config.pin_workers:
        pin_worker(listening.slot, config.workers)
    sys.exit(main(config, ssl_context, listening))


class WorkerSupervisor:
    """Starts, restarts and stops the worker processes; :meth:`run` returns the exit status."""

    def __init__(self, *, config: ServerConfig, ssl_context: ssl.SSLContext | None, main: WorkerMain) -> None:
        self._config = config
        self._ssl_context = ssl_context
        self._main = main
        self._context = multiprocessing.get_context("fork")
        self._slots = [_Slot(index) for index in range(config.workers)]
        self._stopping = False
        self._signal: int | None = None
        self._failed = False
        self._wakeup_read, self._wakeup_write = socket.socketpair()
        self._board = LoadBoard(config.workers)
        self._sockets: list[socket.socket] = []

    # --- life cycle ---------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; the exit status.

        Raises:
            ServerStartError: the address could not be bound.
        """
        try:
            self._sockets = listening_sockets(self._config.host, self._config.port)
        except OSError as exc:
            raise ServerStartError.cannot_listen(self._config.host, self._config.port, exc) from exc
        try:
            return self._supervise()
        finally:
            for sock in self._sockets:
                sock.close()

    def _supervise(self) -> int:
        self._wakeup_read.setblocking(False)
        self._wakeup_write.setblocking(False)
        previous_fd = signal.set_wakeup_fd(self._wakeup_write.fileno())
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            # Forked children must not share the parent's database sockets.
            connections.close_all()
            for slot in self._slots:
                self._start(slot)
            while not self._stopping:
                self._wait_once(timeout=self._next_restart_delay())
                self._reap_and_restart()
            return self._shutdown()
        finally:
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._wakeup_read.close()
            self._wakeup_write.close()

    def _on_signal(self, signum: int, frame: object) -> None:
        # Only flags here; the loop logs and acts (logging inside a handler can re-enter).
        self._signal = signum
        self._stopping = True

    def _wakeup_fds(self) -> tuple[int, int]:
        return (self._wakeup_read.fileno(), self._wakeup_write.fileno())

    def _start(self, slot: _Slot) -> None:
        process = self._context.Process(
            target=_child,
            args=(
                self._main,
                self._config,
                self._ssl_context,
                Listening(self._sockets, self._board, slot.index),
                self._wakeup_fds(),
            ),
            name=f"dicom-worker-{slot.index}",
            daemon=False,
        )
        process.start()
        slot.process = process
        slot.restart_at = None
        logger.info("dicom worker started", extra={"worker": slot.index, "worker_pid": process.pid})

    # --- supervision --------------------------------------------------------------------------

    def _live(self) -> list[BaseProcess]:
        return [slot.process for slot in self._slots if slot.process is not None and slot.process.is_alive()]

    def _wait_once(self, *, timeout: float | None) -> None:
        """Blocks until a worker exits, a signal arrives or ``timeout`` passes."""
        # Every process not yet reaped, alive or not: one that died since the last reap must
        # wake us at once (its sentinel is ready), not be left out of the wait.
        sentinels: list[object] = [slot.process.sentinel for slot in self._slots if slot.process is not None]
        wait([*sentinels, self._wakeup_read], timeout=timeout)  # type: ignore[list-item]
        try:
            while self._wakeup_read.recv(64):
                pass
        except BlockingIOError:
            pass

    def _next_restart_delay(self) -> float | None:
        pending = [slot.restart_at for slot in self._slots if slot.restart_at is not None]
        if not pending:
            return None
        return max(0.0, min(pending) - time.monotonic())

    def _reap_and_restart(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            process = slot.process
            if process is not None and not process.is_alive():
                process.join()
                slot.process = None
                self._board.vacate(slot.index)  # its connections are gone with it
                if self._stopping:
                    continue
                self._record_crash(slot, process, now)
            if (
                slot.process is None
                and slot.restart_at is not None
                and slot.restart_at <= now
                and not self._stopping
            ):
                self._start(slot)

    def _record_crash(self, slot: _Slot, process: BaseProcess, now: float) -> None:
        self._failed = True
        slot.crash_times.append(now)
        while slot.crash_times and slot.crash_times[0] < now - RESTART_WINDOW:
            slot.crash_times.popleft()
        if len(slot.crash_times) > MAX_RESTARTS:
            logger.error(
                "dicom worker keeps crashing, stopping the server",
                extra={"worker": slot.index, "worker_pid": process.pid, "exitcode": process.exitcode},
            )
            self._stopping = True
            return
        delay = min(_BACKOFF_MAX, _BACKOFF_FIRST * 2 ** (len(slot.crash_times) - 1))
        slot.restart_at = now + delay
        logger.error(
            "dicom worker exited unexpectedly, restarting",
            extra={
                "worker": slot.index,
                "worker_pid": process.pid,
                "exitcode": process.exitcode,
                "delay": delay,
            },
        )

    # --- shutdown -----------------------------------------------------------------------------

    def _shutdown(self) -> int:
        if self._signal is not None:
            logger.info("dicom server stopping", extra={"signal": signal.Signals(self._signal).name})
        for process in self._live():
            if process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._config.shutdown_grace + SHUTDOWN_MARGIN
        # A process that dies between the filter and the wait is still in the list, so
        # its ready sentinel ends the wait at once; dead ones are dropped each round.
        while (running := self._live()) and time.monotonic() < deadline:
            wait([process.sentinel for process in running], timeout=max(0.0, deadline - time.monotonic()))
        clean = not self._failed
        for slot in self._slots:
            if slot.process is None:
                continue
            process = slot.process
            if process.is_alive():
                logger.error(
                    "dicom worker did not stop in time, killing it", extra={"worker_pid": process.pid}
                )
                process.kill()
                clean = False
            process.join()
            # Killed by our SIGTERM before its handler was installed counts as stopped.
            if process.exitcode not in (0, -signal.SIGTERM):
                logger.error(
                    "dicom worker failed", extra={"worker_pid": process.pid, "exitcode": process.exitcode}
                )
                clean = False
        logger.info("dicom server stopped", extra={"clean": clean})
        return 0 if clean else 1


def dicom_server_supervise(
    *, config: ServerConfig, ssl_context: ssl.SSLContext | None, main: WorkerMain
) -> int:
    """Runs ``config.workers`` processes of ``main`` until SIGTERM/SIGINT; the exit status."""
    return WorkerSupervisor(config=config, ssl_context=ssl_context, main=main).run()
