"""The Verification Service Class, SCP side (PS3.4 Annex A; C-ECHO, PS3.7 §9.1.5).

A :class:`~dicomkit.net.services.protocols.ServiceClass` for the Verification SOP Class.
Without a handler every C-ECHO is answered with Success (0000H), on the hot path without
any further await. With one, the handler decides the status, for instance to report a
degraded archive. The SCU side is ``Association.echo`` in ``dicomkit.net.aio.client``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from dicomkit.errors import DimseStatusError
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.dimse.assemble import DataSink, MemorySink
from dicomkit.net.dimse.commands import VERIFICATION_SOP_CLASS, CEchoRQ, CEchoRSP, DimseMessage
from dicomkit.net.dimse.status import UNRECOGNIZED_OPERATION
from dicomkit.net.services.protocols import AssociationInfo, Responder, ServiceRequest

__all__ = ["SUCCESS", "EchoRequest", "VerificationHandler", "VerificationService"]

#: C-ECHO status Success (PS3.7 Table 9.3-13).
SUCCESS: Final = 0x0000


@dataclass(frozen=True, slots=True)
class EchoRequest:
    """A C-ECHO request as the application's handler sees it."""

    association: AssociationInfo
    message_id: int


class VerificationHandler(Protocol):
    """What the application provides to answer C-ECHO itself."""

    async def on_echo(self, request: EchoRequest) -> int:
        """The status of the C-ECHO-RSP (0000H Success, or a failure such as 0110H)."""
        ...


class VerificationService:
    """Answers C-ECHO-RQ on the Verification SOP Class."""

    __slots__ = ("handler",)

    sop_classes: Final = frozenset({VERIFICATION_SOP_CLASS})

    def __init__(self, handler: VerificationHandler | None = None) -> None:
        self.handler = handler

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink:
        return MemorySink(limit=0)  # no Verification message carries a data set

    async def handle(self, request: ServiceRequest, responder: Responder) -> None:
        command = request.command
        if not isinstance(command, CEchoRQ):
            name = command.command_field.message_name
            raise DimseStatusError(UNRECOGNIZED_OPERATION, f"{name} on the Verification SOP Class")
        status = SUCCESS
        if self.handler is not None:
            status = await self.handler.on_echo(EchoRequest(request.association, command.message_id))
        await responder.send(CEchoRSP(command.message_id, status, command.affected_sop_class_uid))
