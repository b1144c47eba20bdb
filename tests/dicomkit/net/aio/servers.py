"""Helpers for the asyncio tests: AE configurations, a running server, an observer."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypedDict, TypeVar, Unpack

from dicomkit.net.aio import AssociationObserver, AssociationRecord, DicomServer, Outcome, Phase
from dicomkit.net.aio.balance import WorkerLoad
from dicomkit.net.config import AEConfig, SupportedContext, Timeouts
from dicomkit.net.services import ServiceClass, ServiceHandlers, VerificationService

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"

T = TypeVar("T")


class AEOptions(TypedDict, total=False):
    """The AEConfig fields the asyncio tests set."""

    max_pdu_length: int
    allowed_calling_ae_titles: frozenset[str] | None
    max_associations: int
    max_associations_per_peer: int
    timeouts: Timeouts


class ServerOptions(TypedDict, total=False):
    """The DicomServer options the asyncio tests set."""

    ssl_context: ssl.SSLContext | None
    observer: AssociationObserver | None
    sockets: list[socket.socket] | None
    load: WorkerLoad | None


def scp_ae(*extra: SupportedContext, **options: Unpack[AEOptions]) -> AEConfig:
    contexts = (SupportedContext(VERIFICATION, (IMPLICIT_LE, EXPLICIT_LE)), *extra)
    return AEConfig("SCP", supported_contexts=contexts, **options)


def scu_ae(**options: Unpack[AEOptions]) -> AEConfig:
    return AEConfig("SCU", **options)


def fast_timeouts(
    *,
    artim: float = 5.0,
    acse: float = 5.0,
    dimse: float | None = 5.0,
    network: float | None = 30.0,
    connect: float = 5.0,
) -> Timeouts:
    return Timeouts(artim=artim, acse=acse, dimse=dimse, network=network, connect=connect)


class Observer:
    """Collects association records; ``ended`` is set when ``expect`` associations ended."""

    def __init__(self, expect: int = 1) -> None:
        self.records: list[AssociationRecord] = []
        self.expect = expect
        self.ended = asyncio.Event()

    def __call__(self, record: AssociationRecord) -> None:
        self.records.append(record)
        if len(self.ends()) >= self.expect:
            self.ended.set()

    def ends(self) -> list[AssociationRecord]:
        return [record for record in self.records if record.phase is Phase.ENDED]

    async def outcomes(self) -> list[Outcome | None]:
        await asyncio.wait_for(self.ended.wait(), 10)
        return [record.outcome for record in self.ends()]


@asynccontextmanager
async def serving(
    ae: AEConfig | None = None,
    services: Iterable[ServiceClass] | None = None,
    *,
    grace: float = 0.0,
    **options: Unpack[ServerOptions],
) -> AsyncIterator[DicomServer]:
    handlers = ServiceHandlers([VerificationService()] if services is None else services)
    server = DicomServer(ae or scp_ae(), handlers, host="127.0.0.1", port=0, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(grace)


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run one test coroutine on a fresh loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))
