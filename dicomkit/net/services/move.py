"""The Query/Retrieve C-MOVE SCP (PS3.4 C.4.2; C-MOVE, PS3.7 §9.1.4 and §9.3.4).

A :class:`~dicomkit.net.services.protocols.ServiceClass` for the Patient Root and Study
Root MOVE SOP classes. The application's :class:`MoveHandler` resolves the Move
Destination among its known nodes and lists the instances the identifier selects; the
service sends them with C-STORE sub-operations on a new association to the destination
(``retrieve.SubOperations``), carrying the Move Originator AE Title and Message ID::

    C-MOVE-RQ --checks--> handler.destination() -- None --> A801 Move destination unknown
                          handler.instances() --> [InstanceRef ...]
              A-ASSOCIATE to the destination (contexts per SOP class and syntax; fails: A702)
              C-STORE ... C-MOVE-RSP FF00 (counts) ... C-STORE ... A-RELEASE
              C-MOVE-RSP 0000 | B000 + Failed SOP Instance UID List | FE00 after C-CANCEL

More SOP classes and syntaxes than 128 contexts hold go on further associations, one
after the other. The handler's methods are blocking (a database, a file index): they
run in the server's thread pool. They raise :class:`~dicomkit.errors.DimseStatusError`
to refuse (A701H cannot count matches, Cxxx ...).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dicomkit.errors import DicomError, DimseStatusError
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.aio.client import Association, open_association
from dicomkit.net.config import AEConfig, Timeouts
from dicomkit.net.dimse.assemble import DataSink, Message
from dicomkit.net.dimse.commands import CMoveRQ, DimseMessage
from dicomkit.net.dimse.status import (
    REFUSED_MOVE_DESTINATION_UNKNOWN,
    REFUSED_OUT_OF_RESOURCES_SUB_OPERATIONS,
)
from dicomkit.net.pdu import PDataTF
from dicomkit.net.services.protocols import AssociationInfo, Responder, ServiceRequest
from dicomkit.net.services.query_retrieve import MOVE_SOP_CLASSES, identifier_sink
from dicomkit.net.services.retrieve import (
    InstanceRef,
    RetrieveOptions,
    RetrieveRequest,
    SubOperations,
    propose_contexts,
    receive_retrieve,
)

__all__ = ["Destination", "MoveHandler", "MoveService"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a Move Destination AE title leads: a Storage SCP the application knows."""

    host: str
    port: int
    ae_title: str
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)


class MoveHandler(Protocol):
    """What the application provides to serve C-MOVE (blocking; run in the thread pool)."""

    def destination(self, request: RetrieveRequest) -> Destination | None:
        """The node ``request.move_destination`` names, or None if it is unknown (A801H)."""
        ...

    def instances(self, request: RetrieveRequest) -> Sequence[InstanceRef]:
        """The instances the identifier selects, to be sent.

        Raises:
            DimseStatusError: refuse (A701H, A900H, Cxxx ...) with this status.
        """
        ...


class _AssociationChannel:
    """C-STORE sub-operations on our association to the move destination."""

    __slots__ = ("association",)

    def __init__(self, association: Association) -> None:
        self.association = association

    @property
    def contexts(self) -> Sequence[NegotiatedContext]:
        return self.association.contexts

    @property
    def peer_max_pdu_length(self) -> int:
        return self.association.peer_max_pdu_length

    def next_message_id(self) -> int:
        return self.association.next_message_id()

    async def send_pdus(self, pdus: Iterable[PDataTF]) -> None:
        await self.association.protocol.send_pdus(pdus)

    async def receive(self) -> Message:
        return await self.association.receive()


class MoveService:
    """Answers C-MOVE-RQ on the Patient Root and Study Root MOVE SOP classes.

    Args:
        handler: resolves destinations and lists instances.
        ae: our AE as requestor of the sub-operation associations (its title is the
            calling AE title); default an AE titled as the C-MOVE was called.
        options: how often pending responses are sent.
        timeouts: of the sub-operation associations (default ``ae``'s).
    """

    __slots__ = ("ae", "handler", "options", "sop_classes", "timeouts")

    def __init__(
        self,
        handler: MoveHandler,
        *,
        ae: AEConfig | None = None,
        options: RetrieveOptions | None = None,
        timeouts: Timeouts | None = None,
        sop_classes: frozenset[str] = MOVE_SOP_CLASSES,
    ) -> None:
        self.handler = handler
        self.ae = ae
        self.options = options or RetrieveOptions()
        self.timeouts = timeouts
        self.sop_classes = sop_classes

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink:
        return identifier_sink()

    async def handle(self, request: ServiceRequest, responder: Responder) -> None:
        move = await receive_retrieve(request, responder, CMoveRQ)
        if move is None:
            return
        destination = await responder.run_blocking(self.handler.destination, move)
        if destination is None:
            shown = "".join(c for c in move.move_destination or "" if " " <= c <= "~" and c != "\\")
            raise DimseStatusError(REFUSED_MOVE_DESTINATION_UNKNOWN, f"Move destination {shown!r} unknown")
        instances = await responder.run_blocking(self.handler.instances, move)
        ae = self.ae or AEConfig(request.association.called_ae_title)
        originator = (request.association.calling_ae_title, move.message_id)
        operations = SubOperations(move, instances, self.options, originator=originator)
        comment = await self._send_all(operations, destination, ae, instances)
        if comment and not operations.completed and not operations.warning and not operations.cancelled:
            await operations.final(REFUSED_OUT_OF_RESOURCES_SUB_OPERATIONS, comment)
            return
        await operations.finish(comment)

    async def _send_all(
        self,
        operations: SubOperations,
        destination: Destination,
        ae: AEConfig,
        instances: Sequence[InstanceRef],
    ) -> str:
        """Send every instance, association by association; why some were not sent, or ''."""
        problem = ""
        for contexts in propose_contexts(instances):
            classes = {context.abstract_syntax for context in contexts}
            batch = [instance for instance in instances if instance.sop_class_uid in classes]
            if operations.check_cancel():
                break
            try:
                association = await open_association(
                    destination.host,
                    destination.port,
                    ae,
                    destination.ae_title,
                    contexts,
                    ssl_context=destination.ssl_context,
                    timeouts=self.timeouts,
                )
            except (DicomError, OSError) as error:
                problem = f"Cannot associate with {destination.ae_title}: {type(error).__name__}"
                operations.fail_all(batch)
                continue
            problem = await self._send_batch(operations, association, batch) or problem
        return problem

    async def _send_batch(
        self, operations: SubOperations, association: Association, batch: list[InstanceRef]
    ) -> str:
        channel = _AssociationChannel(association)
        for index, instance in enumerate(batch):
            if operations.check_cancel():
                break
            try:
                await operations.send(channel, instance)
            except (DicomError, OSError) as error:
                association.abort()
                operations.fail_all(batch[index:])
                return f"Association with the destination broke: {type(error).__name__}"
            await operations.maybe_pending()
        with contextlib.suppress(DicomError, OSError):
            await association.release()
        return ""
