"""Running the DIMSE server: one process in-process, or N supervised worker processes.

:func:`dicom_server_serve` is what ``run_dicom_server`` calls. It builds the TLS context
once, logs the structured start-up line, and either serves in this process
(:func:`dicom_server_run`) or hands over to the supervisor in ``services.workers``, whose
forked workers run :func:`dicom_server_worker` on the listening sockets it bound, each
accepting while it is the least loaded.

In each serving process dicomkit's :class:`~dicomkit.net.aio.server.DicomServer` (PS3.8
association acceptor) runs on asyncio; SIGTERM or SIGINT starts a graceful shutdown:
stop accepting, let messages in flight finish for the grace period, abort what is left,
then wait for the association log writes. Exit status 0 after a clean shutdown; 1 when a
handler thread was still at work ``HANDLER_EXIT_MARGIN`` seconds after the grace (it
cannot be interrupted), which ends the process without it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import NoReturn

from django.db import connections

from apps.archive.services import wal_settle
from apps.archive.storage.reserve import release_ready
from apps.dicom_net.errors import ServerStartError
from apps.dicom_net.handlers import service_handlers
from apps.dicom_net.services.association_log import AssociationLogWriter
from apps.dicom_net.services.batch_scheduling import use_batch_scheduling
from apps.dicom_net.services.server_config import ServerConfig, server_ssl_context_build
from apps.dicom_net.services.workers import SHUTDOWN_MARGIN, Listening, dicom_server_supervise
from dicomkit.net.aio.server import DicomServer

logger = logging.getLogger(__name__)

# How long shutdown waits for association log rows still being written, past the grace.
LOG_DRAIN_MARGIN = 5.0
# Threads for blocking handler work (Responder.run_blocking: ORM, storage).
MAX_HANDLER_THREADS = 32
# How long shutdown waits, past the grace, for handler threads still at work (a commit
# waiting for a lock): they cannot be interrupted. Less than the supervisor's margin, so a
# worker ends itself, and says why, before it is killed.
HANDLER_EXIT_MARGIN = SHUTDOWN_MARGIN - 1.0


async def _serve(
    config: ServerConfig, ssl_context: ssl.SSLContext | None, listening: Listening | None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    writer = AssociationLogWriter()
    executor = ThreadPoolExecutor(
        max_workers=min(MAX_HANDLER_THREADS, config.ae.max_associations), thread_name_prefix="dimse-handler"
    )
    server = DicomServer(
        config.ae,
        service_handlers(),
        host=config.host,
        port=config.port,
        ssl_context=ssl_context,
        observer=writer.observe,
        executor=executor,
        sockets=listening.sockets if listening is not None else None,
        load=listening.claim() if listening is not None else None,
    )
    try:
        try:
            await server.start()
        except OSError as exc:
            raise ServerStartError.cannot_listen(config.host, config.port, exc) from exc
        logger.info(
            "dicom server listening",
            extra={
                "ae_title": config.ae.ae_title,
                "host": config.host,
                "port": server.port,
                "pid": os.getpid(),
            },
        )
        await stop.wait()
        logger.info(
            "dicom server stopping",
            extra={
                "signal": received[0].name if received else None,
                "grace": config.shutdown_grace,
                "active_associations": server.active_associations,
                "pid": os.getpid(),
            },
        )
        try:
            await asyncio.wait_for(
                server.shutdown(config.shutdown_grace), config.shutdown_grace + HANDLER_EXIT_MARGIN
            )
        except TimeoutError:
            logger.error(
                "dicom handler threads still busy after the grace period, exiting without them",
                extra={"margin": HANDLER_EXIT_MARGIN, "pid": os.getpid()},
            )
            _exit_now(1)
        # The last stores' staging journals end now rather than at the next start, and the
        # staging files kept ready go (a forked worker ends without atexit).
        await asyncio.to_thread(wal_settle.stop)
        release_ready()
    finally:
        await writer.drain(timeout=config.shutdown_grace + LOG_DRAIN_MARGIN)
        writer.close()
        executor.shutdown(wait=False, cancel_futures=True)
    logger.info("dicom server stopped", extra={"pid": os.getpid()})


def _exit_now(status: int) -> NoReturn:
    """Ends the process at once, without the threads the interpreter's exit would wait for.

    Handlers still at work have not cleaned up after themselves (``run_blocking``): an
    ingest cut short keeps its staging journal, and the next start settles it, as after
    a kill.
    """
    logging.shutdown()  # flush the log lines first
    os._exit(status)


def dicom_server_run(
    config: ServerConfig, ssl_context: ssl.SSLContext | None, *, listening: Listening | None = None
) -> int:
    """Serves in this process until SIGTERM/SIGINT; the exit status.

    Raises:
        ServerStartError: the address could not be bound.
    """
    asyncio.run(_serve(config, ssl_context, listening))
    return 0


def dicom_server_worker(
    config: ServerConfig, ssl_context: ssl.SSLContext | None, listening: Listening
) -> int:
    """Body of one forked worker: serve on the sockets the parent bound (nothing to bind)."""
    return dicom_server_run(config, ssl_context, listening=listening)


#: Seconds a handler thread keeps its database connection when PACS_DB_CONN_MAX_AGE is not set.
DIMSE_DB_CONN_MAX_AGE = 600


def _persistent_database_connections() -> None:
    """Keep each handler thread's database connection between DIMSE messages.

    The server's pool threads are long-lived; opening a PostgreSQL connection per C-STORE
    or C-FIND cost 10-15 ms each (measured by the Q/R benchmark). Django's health checks
    (on in the settings) replace a connection the database dropped. An explicit
    PACS_DB_CONN_MAX_AGE in the environment wins.
    """
    if "PACS_DB_CONN_MAX_AGE" in os.environ:
        return
    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = DIMSE_DB_CONN_MAX_AGE


def dicom_server_serve(*, config: ServerConfig) -> int:
    """Runs the DIMSE server as configured (one process, or ``config.workers`` of them).

    Raises:
        ServerConfigError: the TLS files cannot be loaded.
        ServerStartError: (single process) the address could not be bound.
    """
    ssl_context = server_ssl_context_build(config.tls) if config.tls is not None else None
    _persistent_database_connections()
    batch = config.batch_scheduling and use_batch_scheduling()
    logger.info(
        "dicom server starting",
        extra={
            "ae_title": config.ae.ae_title,
            "host": config.host,
            "port": config.port,
            "tls": config.tls is not None,
            "client_certificates": config.tls is not None and config.tls.ca is not None,
            "workers": config.workers,
            "batch_scheduling": batch,
            "max_associations": config.ae.max_associations,
            "max_associations_per_peer": config.ae.max_associations_per_peer,
            "min_receive_rate": config.ae.timeouts.min_receive_rate,
            "max_pdu_length": config.ae.max_pdu_length,
            "allowed_calling_ae_titles": sorted(config.ae.allowed_calling_ae_titles or ()),
            "pid": os.getpid(),
        },
    )
    if config.workers == 1:
        return dicom_server_run(config, ssl_context)
    return dicom_server_supervise(config=config, ssl_context=ssl_context, main=dicom_server_worker)
