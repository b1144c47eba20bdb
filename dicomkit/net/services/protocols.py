"""Handler interfaces of the SCP service classes (PS3.4 service classes over PS3.7 DIMSE).

Above ``dicomkit.net.dimse`` and below ``dicomkit.net.aio``: the server dispatches each
assembled DIMSE request to the :class:`ServiceClass` registered for its presentation
context's SOP class; the service class turns it into a typed request for the handler
the application provides (``VerificationHandler`` ... in the service modules) and sends
the response(s) through a :class:`Responder`::

    DicomServer --Message--> ServiceHandlers.service_for(abstract syntax)
                             ServiceClass.handle(ServiceRequest, Responder)
                                 --EchoRequest--> application handler --> status
                             Responder.send(C-ECHO-RSP)

A service class that raises, or returns without a final response, gets a failure
status from the dispatcher (one place, ``dicomkit.net.aio.server``); handlers never
build A-ABORTs. Blocking work (Django ORM, file systems) goes through
``Responder.run_blocking``, which uses the server's thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ParamSpec, Protocol, TypeVar

from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.dimse.assemble import DataSink, Message
from dicomkit.net.dimse.commands import DimseMessage
from dicomkit.net.pdu import AssociateRJ, AssociateRQ, PDataTF, UserIdentityRQ

__all__ = [
    "AssociationInfo",
    "AssociationPolicy",
    "Responder",
    "ServiceClass",
    "ServiceHandlers",
    "ServiceRequest",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class AssociationInfo:
    """What a handler may know about the association a request arrived on."""

    association_id: int
    calling_ae_title: str
    called_ae_title: str
    peer_host: str
    peer_port: int
    tls: bool
    contexts: tuple[NegotiatedContext, ...]
    user_identity: UserIdentityRQ | None = None


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """One DIMSE request as the dispatcher hands it to a service class."""

    association: AssociationInfo
    context: NegotiatedContext
    message: Message

    @property
    def command(self) -> DimseMessage:
        return self.message.command


class Responder(Protocol):
    """How a service class answers the request it is handling."""

    async def send(self, command: DimseMessage, dataset: bytes | None = None) -> None:
        """Send a response (or, for C-GET, a sub-operation request) on the request's context."""
        ...

    @property
    def cancelled(self) -> bool:
        """Whether the peer sent a C-CANCEL-RQ for this request (C-FIND/GET/MOVE)."""
        ...

    async def run_blocking(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run blocking ``function`` in the server's thread pool and await its result."""
        ...

    # The SCP as requestor of sub-operations on the same association (C-GET, PS3.4
    # C.4.3.3): C-STORE-RQs go out on other contexts, their responses come back here.

    @property
    def peer_max_pdu_length(self) -> int:
        """The Maximum Length the peer announced (0: no limit), to fragment requests."""
        ...

    async def send_pdus(self, pdus: Iterable[PDataTF]) -> None:
        """Send P-DATA-TF PDUs of a sub-operation request, on any accepted context."""
        ...

    async def receive(self, timeout: float | None = None) -> Message:
        """The next DIMSE message from the peer (a sub-operation response).

        ``timeout`` defaults to the DIMSE timeout. C-CANCEL-RQs never come here: they
        set :attr:`cancelled`.

        Raises:
            DimseTimeout: nothing arrived in time.
            AssociationAborted, NetworkTimeout: the association ended instead.
        """
        ...


class ServiceClass(Protocol):
    """An SCP service class: the SOP classes it serves and how it answers a request.

    ``handle`` sends the final response itself. If it raises (or returns without one),
    the dispatcher sends the failure response; it never needs to catch handler errors.
    Raising :class:`~dicomkit.errors.DimseStatusError` answers with its status.

    ``sink_for`` is asked, when a request's command set announces a data set, where
    that data set goes (a temporary file for C-STORE, bounded memory for an identifier);
    ``association`` says on which association it arrives (calling AE title, peer).
    """

    @property
    def sop_classes(self) -> frozenset[str]: ...

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink: ...

    async def handle(self, request: ServiceRequest, responder: Responder) -> None: ...


class AssociationPolicy(Protocol):
    """An optional check of each A-ASSOCIATE-RQ after ``acse.check_request`` accepted it.

    Return an A-ASSOCIATE-RJ to refuse (for instance an AE access rule or an unknown
    user identity), None to let negotiation go on.
    """

    async def check(self, request: AssociateRQ, peer_host: str, peer_port: int) -> AssociateRJ | None: ...


class ServiceHandlers:
    """The service classes an AE provides, found by SOP class (abstract syntax) UID.

    Raises:
        ValueError: two service classes claim the same SOP class.
    """

    __slots__ = ("_by_sop_class", "policy", "services")

    def __init__(
        self, services: Iterable[ServiceClass] = (), *, policy: AssociationPolicy | None = None
    ) -> None:
        self.services = tuple(services)
        self.policy = policy
        self._by_sop_class: dict[str, ServiceClass] = {}
        for service in self.services:
            for uid in service.sop_classes:
                if uid in self._by_sop_class:
                    raise ValueError(f"SOP class {uid} is served by two service classes")
                self._by_sop_class[uid] = service

    def service_for(self, abstract_syntax: str) -> ServiceClass | None:
        return self._by_sop_class.get(abstract_syntax)

    @property
    def sop_classes(self) -> frozenset[str]:
        return frozenset(self._by_sop_class)
