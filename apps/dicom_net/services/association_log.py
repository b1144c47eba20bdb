"""Writing the association log (``AssociationLog``), and doing it off the event loop.

:func:`association_log_record` is the plain synchronous service. :class:`AssociationLogWriter`
is the asyncio server's observer hook (``DicomServer(observer=writer.observe)``): for each
ended association it turns dicomkit's frozen ``AssociationRecord`` into an
:class:`AssociationLogEntry` and hands it to a dedicated thread
(with its own database connection) and returns at once, so a slow or unavailable database
never blocks the loop or an association. A failed write is logged and dropped; so is an
entry beyond ``max_pending`` (a bound on memory while the database is down). ``drain()``
waits for the writes in flight at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import close_old_connections, connections

from apps.dicom_net.models import AssociationLog, AssociationOutcome
from dicomkit.net.aio.server import AssociationRecord, Outcome, Phase

logger = logging.getLogger(__name__)

_AE_LENGTH = 16
_TEXT_LENGTH = 255
DEFAULT_MAX_PENDING = 1000


@dataclass(frozen=True, slots=True)
class AssociationLogEntry:
    """What one association log row says; built from dicomkit's association record."""

    started_at: datetime
    duration: timedelta
    calling_ae_title: str
    called_ae_title: str
    peer_host: str
    peer_port: int | None
    outcome: AssociationOutcome
    tls: bool = False
    detail: str = ""
    contexts: tuple[Mapping[str, object], ...] = field(default=())
    messages: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    server_pid: int | None = None


_OUTCOMES: dict[Outcome, AssociationOutcome] = {
    Outcome.RELEASED: AssociationOutcome.RELEASED,
    Outcome.REJECTED: AssociationOutcome.REJECTED,
    Outcome.ABORTED_BY_PEER: AssociationOutcome.ABORTED_BY_PEER,
    Outcome.ABORTED_LOCALLY: AssociationOutcome.ABORTED_LOCALLY,
    Outcome.PROVIDER_ABORT: AssociationOutcome.PROVIDER_ABORT,
    Outcome.CLOSED: AssociationOutcome.CLOSED,
}


def association_log_entry(record: AssociationRecord, *, server_pid: int) -> AssociationLogEntry | None:
    """The log entry for an ended association; None for other phases and for bare probes.

    A connection closed without sending a byte (a load balancer's health check, a port
    scan, our own readiness poll) is not an association and would flood the log.
    """
    if record.phase is not Phase.ENDED or record.outcome is None:
        return None
    if record.outcome is Outcome.CLOSED and record.bytes_in == 0:
        return None
    return AssociationLogEntry(
        started_at=datetime.fromtimestamp(record.started_at, tz=UTC),
        duration=timedelta(seconds=record.duration),
        calling_ae_title=record.calling_ae_title,
        called_ae_title=record.called_ae_title,
        peer_host=record.peer_host,
        peer_port=record.peer_port,
        outcome=_OUTCOMES[record.outcome],
        tls=record.tls,
        detail=record.detail,
        contexts=tuple(
            {
                "id": context.context_id,
                "abstract_syntax": context.abstract_syntax,
                "transfer_syntax": context.transfer_syntax,
            }
            for context in record.contexts
        ),
        messages=record.messages,
        bytes_received=record.bytes_in,
        bytes_sent=record.bytes_out,
        server_pid=server_pid,
    )


def association_log_record(*, entry: AssociationLogEntry) -> AssociationLog:
    """Stores one association log row; peer-supplied text is cut to the column sizes."""
    return AssociationLog.objects.create(
        started_at=entry.started_at,
        duration=entry.duration,
        calling_ae_title=entry.calling_ae_title[:_AE_LENGTH],
        called_ae_title=entry.called_ae_title[:_AE_LENGTH],
        peer_host=entry.peer_host[:_TEXT_LENGTH],
        peer_port=entry.peer_port,
        tls=entry.tls,
        outcome=entry.outcome,
        detail=entry.detail[:_TEXT_LENGTH],
        contexts=[dict(context) for context in entry.contexts],
        messages=entry.messages,
        bytes_received=entry.bytes_received,
        bytes_sent=entry.bytes_sent,
        server_pid=entry.server_pid,
    )


def _write(entry: AssociationLogEntry) -> None:
    """Runs in the writer thread: one row, with Django's per-request connection hygiene."""
    close_old_connections()
    try:
        association_log_record(entry=entry)
    except Exception:
        # The association is over and answered; losing its log row must not take the
        # server down. Logged with the AE titles only (no PHI in these rows).
        logger.exception(
            "association log write failed",
            extra={"calling_ae_title": entry.calling_ae_title, "called_ae_title": entry.called_ae_title},
        )
    finally:
        close_old_connections()


class AssociationLogWriter:
    """Writes log entries in a background thread; :meth:`submit` never blocks the event loop."""

    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="association-log")
        self._pending: set[asyncio.Future[None]] = set()
        self._max_pending = max_pending
        self.dropped = 0

    def observe(self, record: AssociationRecord) -> None:
        """dicomkit's observer hook: runs on the event loop, queues ended associations."""
        entry = association_log_entry(record, server_pid=os.getpid())
        if entry is None:
            return
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "association ended",
                extra={
                    "calling_ae_title": entry.calling_ae_title,
                    "called_ae_title": entry.called_ae_title,
                    "peer": f"{entry.peer_host}:{entry.peer_port}",
                    "outcome": entry.outcome.value,
                    "detail": entry.detail,
                    "messages": entry.messages,
                    "bytes_in": entry.bytes_received,
                    "bytes_out": entry.bytes_sent,
                    "duration_ms": round(entry.duration.total_seconds() * 1000, 1),
                    "tls": entry.tls,
                    "pid": entry.server_pid,
                },
            )
        self.submit(entry)

    def submit(self, entry: AssociationLogEntry) -> None:
        """Queues ``entry`` for writing; call from the event loop."""
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            logger.warning(
                "association log backlog full, entry dropped",
                extra={"pending": len(self._pending), "dropped": self.dropped},
            )
            return
        future = asyncio.get_running_loop().run_in_executor(self._executor, _write, entry)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def drain(self, timeout: float) -> None:
        """Waits up to ``timeout`` seconds for the writes in flight."""
        if self._pending:
            _, unfinished = await asyncio.wait(set(self._pending), timeout=timeout)
            if unfinished:
                logger.warning(
                    "association log writes unfinished at shutdown", extra={"pending": len(unfinished)}
                )

    def close(self) -> None:
        """Closes the writer thread's database connection and stops the thread."""
        self._executor.submit(connections.close_all)
        self._executor.shutdown(wait=True, cancel_futures=False)
