"""Helpers for the asyncio tests: AE configurations, a running server, an observer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from dicomkit.net.aio import AssociationRecord, DicomServer, Outcome, Phase
from dicomkit.net.config import AEConfig, SupportedContext, Timeouts
from dicomkit.net.services import ServiceClass, ServiceHandlers, VerificationService

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"

T = TypeVar("T")


def scp_ae(*extra: SupportedContext, **options: Any) -> AEConfig:
    contexts = (SupportedContext(VERIFICATION, (IMPLICIT_LE, EXPLICIT_LE)), *extra)
    return AEConfig("SCP", supported_contexts=contexts, **options)


def scu_ae(**options: Any) -> AEConfig:
    return AEConfig("SCU", **options)


def fast_timeouts(**overrides: float | None) -> Timeouts:
    values: dict[str, Any] = {"artim": 5.0, "acse": 5.0, "dimse": 5.0, "network": 30.0, "connect": 5.0}
    values.update(overrides)
    return Timeouts(**values)


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
    **options: Any,
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
