"""The Query/Retrieve C-GET SCP (PS3.4 C.4.3; C-GET, PS3.7 §9.1.3 and §9.3.3).

A :class:`~dicomkit.net.services.protocols.ServiceClass` for the Patient Root and Study
Root GET SOP classes. The application's :class:`GetHandler` lists the instances the
identifier selects; the service sends them with C-STORE sub-operations on the **same**
association, the requestor acting as Storage SCP::

    A-ASSOCIATE-RQ: GET context + storage contexts with SCP/SCU Role Selection (SCP role
                    for the requestor, PS3.7 D.3.3.4); we grant it (query_retrieve_contexts)
    C-GET-RQ --checks--> handler.instances() --> [InstanceRef ...]
    C-STORE-RQ (us) --> C-STORE-RSP (peer) ... C-GET-RSP FF00 (counts) ...
    C-GET-RSP 0000 | B000 + Failed SOP Instance UID List | FE00 after C-CANCEL

Only storage contexts on which the requestor was granted the SCP role carry
sub-operations; an instance whose SOP class has none is a failed sub-operation
(PS3.4 C.4.3.3.1). Counting, pending responses, conversion and cancel are as for
C-MOVE (``retrieve.SubOperations``). ``instances`` is blocking: it runs in the server's
thread pool, and raises :class:`~dicomkit.errors.DimseStatusError` to refuse.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Protocol

from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.dimse.assemble import DataSink, Message
from dicomkit.net.dimse.commands import CGetRQ, DimseMessage
from dicomkit.net.pdu import PDataTF
from dicomkit.net.services.protocols import AssociationInfo, Responder, ServiceRequest
from dicomkit.net.services.query_retrieve import GET_SOP_CLASSES, identifier_sink
from dicomkit.net.services.retrieve import (
    InstanceRef,
    RetrieveOptions,
    RetrieveRequest,
    SubOperations,
    receive_retrieve,
)

__all__ = ["GetHandler", "GetService"]


class GetHandler(Protocol):
    """What the application provides to serve C-GET (blocking; run in the thread pool)."""

    def instances(self, request: RetrieveRequest) -> Sequence[InstanceRef]:
        """The instances the identifier selects, to be sent.

        Raises:
            DimseStatusError: refuse (A701H, A900H, Cxxx ...) with this status.
        """
        ...


class _SameAssociation:
    """C-STORE sub-operations on the C-GET's own association, through its responder."""

    __slots__ = ("_ids", "_responder", "contexts")

    def __init__(self, responder: Responder, contexts: Sequence[NegotiatedContext], first_id: int) -> None:
        self._responder = responder
        self.contexts = contexts
        # Our requests' Message IDs, apart from the C-GET-RQ's own (any unique value will do).
        self._ids = (n % 0xFFFF + 1 for n in itertools.count(first_id))

    @property
    def peer_max_pdu_length(self) -> int:
        return self._responder.peer_max_pdu_length

    def next_message_id(self) -> int:
        return next(self._ids)

    async def send_pdus(self, pdus: Iterable[PDataTF]) -> None:
        await self._responder.send_pdus(pdus)

    async def receive(self) -> Message:
        return await self._responder.receive()


class GetService:
    """Answers C-GET-RQ on the Patient Root and Study Root GET SOP classes."""

    __slots__ = ("handler", "options", "sop_classes")

    def __init__(
        self,
        handler: GetHandler,
        *,
        options: RetrieveOptions | None = None,
        sop_classes: frozenset[str] = GET_SOP_CLASSES,
    ) -> None:
        self.handler = handler
        self.options = options or RetrieveOptions()
        self.sop_classes = sop_classes

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink:
        return identifier_sink()

    async def handle(self, request: ServiceRequest, responder: Responder) -> None:
        get = await receive_retrieve(request, responder, CGetRQ)
        if get is None:
            return
        instances = await responder.run_blocking(self.handler.instances, get)
        storage = [
            c
            for c in request.association.contexts
            if c.requestor_scp and c.abstract_syntax not in GET_SOP_CLASSES | self.sop_classes
        ]
        channel = _SameAssociation(responder, storage, get.message_id)
        operations = SubOperations(get, instances, self.options)
        for instance in instances:
            if operations.check_cancel():
                break
            await operations.send(channel, instance)  # a broken association ends the C-GET
            await operations.maybe_pending()
        await operations.finish()
