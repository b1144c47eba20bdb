"""The association acceptor (SCP side) on asyncio (PS3.8 §7.1-7.3, PS3.7 §9.1, §10.1).

Part of ``dicomkit.net.aio``, above ``association`` and beside ``client``. A
:class:`DicomServer` listens on one address; each connection gets one
:class:`~dicomkit.net.aio.association.AssociationProtocol` and one task that

1. waits for the A-ASSOCIATE-RQ (silence is ended by the ARTIM timer, PS3.8 §9.1.4),
2. answers it: ``acse.check_request``, the optional :class:`AssociationPolicy`, then
   ``acse.negotiate`` (the limit on associations is the provider's, in AE-6; the limit
   per peer address, known only once the transport is up, is applied here before
   anything else, with the same A-ASSOCIATE-RJ),
3. hands each assembled DIMSE request to the :class:`ServiceClass` of its context's SOP
   class, one message at a time, and
4. answers A-RELEASE, or ends on A-ABORT, A-P-ABORT or the idle-network timeout.

:meth:`_Dispatcher.dispatch` is the one place where handler errors become a DIMSE
failure status (0110H Processing failure, PS3.7 Annex C.4), a request for a SOP class
without service becomes 0122H (SOP class not supported) and a command that is not a
request for us becomes an A-ABORT.

Shutdown (:meth:`DicomServer.shutdown`): stop accepting; abort idle associations;
let a message being handled finish and abort its association after the response (messages
queued behind it are dropped unanswered); after ``grace`` seconds abort whatever is still
busy. The data sets of dropped messages are discarded with their sinks. Work a handler
runs in a thread (``Responder.run_blocking``) cannot be interrupted: a cancelled handler
waits for it before cleaning up, so a caller that must stop sooner ends the process
(the archive's ingest is crash-safe; a clean-up racing the commit is not).

The observer hook receives an :class:`AssociationRecord` when an association starts,
is negotiated and ends. It runs on the event loop and must not block (queue the record
and write it elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Final, ParamSpec, TypeVar

from dicomkit.errors import DicomError, DimseStatusError, DimseTimeout
from dicomkit.net.acse import (
    LOCAL_LIMIT_REJECTION,
    NegotiatedContext,
    association_limit_exceeded,
    check_request,
    negotiate,
    negotiated_contexts,
    peer_limit_exceeded,
)
from dicomkit.net.aio.association import AssociationProtocol, LocalAbort, TransportClosed, raise_for
from dicomkit.net.aio.balance import WorkerLoad
from dicomkit.net.config import AEConfig
from dicomkit.net.dimse.assemble import DataSink, MemorySink, Message, MessageAssembler
from dicomkit.net.dimse.commands import CCancelRQ, DimseMessage, encode_command, failure_response
from dicomkit.net.dimse.status import PROCESSING_FAILURE, SOP_CLASS_NOT_SUPPORTED, is_final
from dicomkit.net.pdu import (
    AbortPDU,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    PDataTF,
    ReleaseRP,
    ReleaseRQ,
    UserIdentityRQ,
)
from dicomkit.net.services.protocols import AssociationInfo, ServiceHandlers, ServiceRequest
from dicomkit.net.ul import Connection, ProviderAbort, Role

__all__ = ["AssociationObserver", "AssociationRecord", "DicomServer", "Outcome", "Phase"]

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Phase(enum.Enum):
    STARTED = "started"
    NEGOTIATED = "negotiated"
    ENDED = "ended"


class Outcome(enum.Enum):
    """How an association ended."""

    RELEASED = "released"
    REJECTED = "rejected"
    ABORTED_BY_PEER = "aborted-by-peer"  # A-ABORT from the peer's service-user
    ABORTED_LOCALLY = "aborted-locally"  # we aborted: idle, shutdown, bad DIMSE message
    PROVIDER_ABORT = "provider-abort"  # A-P-ABORT: invalid PDU, transport lost
    CLOSED = "closed"  # closed before an A-ASSOCIATE-RQ (ARTIM, peer gone)


@dataclass(frozen=True, slots=True)
class AssociationRecord:
    """One association event for the observer (the association log)."""

    phase: Phase
    association_id: int
    peer_host: str
    peer_port: int
    tls: bool
    started_at: float  # wall clock (time.time()) of the connection
    calling_ae_title: str = ""
    called_ae_title: str = ""
    contexts: tuple[NegotiatedContext, ...] = ()
    outcome: Outcome | None = None
    detail: str = ""
    messages: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    duration: float = 0.0


AssociationObserver = Callable[[AssociationRecord], None]

# A data set for a SOP class nobody serves is received (then answered 0122H), within bounds.
_UNSERVED_DATA_SET_LIMIT: Final = 1 << 20


class _Responder:
    """The Responder a service class gets for one request."""

    __slots__ = ("_association", "_context_id", "_executor", "_message_id", "_protocol", "final_sent")

    def __init__(
        self,
        association: _ServerAssociation,
        protocol: AssociationProtocol,
        context_id: int,
        message_id: int,
        executor: Executor | None,
    ) -> None:
        self._association = association
        self._protocol = protocol
        self._context_id = context_id
        self._message_id = message_id
        self._executor = executor
        self.final_sent = False

    @property
    def cancelled(self) -> bool:
        return self._message_id in self._association.cancelled

    async def send(self, command: DimseMessage, dataset: bytes | None = None) -> None:
        status = getattr(command, "status", None)
        if status is not None and is_final(status):
            self.final_sent = True
        await self._protocol.send_message(self._context_id, encode_command(command), dataset)

    async def run_blocking(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # A thread cannot be stopped. Until it returns, what it works on (a data set
            # being committed) must not meet the clean-up the cancellation sets off (the
            # sink's abort): wait for it, then let the cancellation go on.
            await _finished(future)
            raise

    # C-GET: sub-operations on the same association (PS3.4 C.4.3.3).

    @property
    def peer_max_pdu_length(self) -> int:
        return self._protocol.connection.peer_max_pdu_length

    async def send_pdus(self, pdus: Iterable[PDataTF]) -> None:
        await self._protocol.send_pdus(pdus)

    async def receive(self, timeout: float | None = None) -> Message:
        wait = self._protocol.timeouts.dimse if timeout is None else timeout
        item = await self._protocol.receive(wait, DimseTimeout)
        if isinstance(item, Message):
            return item
        raise_for(item, expected="a DIMSE message")


async def _finished(future: asyncio.Future[_T]) -> None:
    """Wait until ``future`` is done, whatever is cancelled meanwhile."""
    while not future.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait((future,))


class _ServerAssociation:
    """The task serving one accepted connection."""

    def __init__(self, server: DicomServer, association_id: int, limit_exceeded: bool) -> None:
        self.server = server
        self.association_id = association_id
        self.limit_exceeded = limit_exceeded
        self.peer_limit_exceeded = False  # decided once the peer's address is known
        self.protocol: AssociationProtocol | None = None
        self.task: asyncio.Task[None] | None = None
        self.busy = False
        self.started_at = time.time()
        self.started_monotonic = time.monotonic()
        self.info: AssociationInfo | None = None
        self.contexts: dict[int, NegotiatedContext] = {}
        self.messages = 0
        self.cancelled: set[int] = set()  # Message IDs named by C-CANCEL-RQs
        self.outcome = Outcome.CLOSED
        self.detail = ""
        # From the A-ASSOCIATE-RQ as soon as it arrives, so a rejection is logged with them.
        self.calling_ae_title = ""
        self.called_ae_title = ""

    def sink_for(self, context_id: int, command: DimseMessage) -> DataSink:
        """Where a request's data set goes: the service class of its SOP class decides."""
        context = self.contexts[context_id]
        service = self.server.handlers.service_for(context.abstract_syntax)
        if service is None:
            return MemorySink(limit=_UNSERVED_DATA_SET_LIMIT)  # answered 0122H, then dropped
        assert self.info is not None  # set with the contexts, before any P-DATA is accepted
        return service.sink_for(context, command, self.info)

    def record(self, phase: Phase) -> AssociationRecord:
        protocol = self.protocol
        assert protocol is not None
        info = self.info
        return AssociationRecord(
            phase=phase,
            association_id=self.association_id,
            peer_host=protocol.peer[0],
            peer_port=protocol.peer[1],
            tls=protocol.tls,
            started_at=self.started_at,
            calling_ae_title=self.calling_ae_title,
            called_ae_title=self.called_ae_title,
            contexts=info.contexts if info else (),
            outcome=self.outcome if phase is Phase.ENDED else None,
            detail=self.detail if phase is Phase.ENDED else "",
            messages=self.messages,
            bytes_in=protocol.bytes_in,
            bytes_out=protocol.bytes_out,
            duration=time.monotonic() - self.started_monotonic,
        )

    async def run(self, protocol: AssociationProtocol) -> None:
        server = self.server
        server.notify(self, Phase.STARTED)
        try:
            await self._serve(protocol)
        except asyncio.CancelledError:
            protocol.abort("server shutting down")
            self.outcome, self.detail = Outcome.ABORTED_LOCALLY, "server shutting down"
            raise
        except DicomError as error:  # e.g. a response that can no longer be sent
            protocol.abort(str(error))
            self.outcome, self.detail = Outcome.ABORTED_LOCALLY, str(error)
        finally:
            protocol.discard_pending()  # cancelled with data sets received: drop their files
            server.forget(self)
            server.notify(self, Phase.ENDED)

    async def _serve(self, protocol: AssociationProtocol) -> None:
        server = self.server
        item = await protocol.receive()
        if not isinstance(item, AssociateRQ):
            self._ended_by(item)
            if self.limit_exceeded:
                self.outcome, self.detail = Outcome.REJECTED, "local limit of associations exceeded"
            await protocol.wait_closed()
            return
        self.calling_ae_title, self.called_ae_title = item.calling_ae_title, item.called_ae_title
        if self.peer_limit_exceeded:
            response: AssociateAC | AssociateRJ = LOCAL_LIMIT_REJECTION
        else:
            response = await server.respond(item, protocol)
        protocol.send(response)
        if isinstance(response, AssociateRJ):
            self.outcome = Outcome.REJECTED
            self.detail = f"result {response.result} source {response.source} reason {response.reason}"
            if self.peer_limit_exceeded:
                self.detail = f"local limit of associations per peer exceeded; {self.detail}"
            await protocol.wait_closed()
            return
        self._negotiated(item, response, protocol)
        server.notify(self, Phase.NEGOTIATED)
        while True:
            if server.stopping:
                protocol.abort("server shutting down")
            item = await protocol.receive()
            if isinstance(item, Message):
                self.messages += 1
                self.busy = True
                protocol.pause_idle_watch()
                try:
                    await server.dispatcher.dispatch(self, protocol, item)
                finally:
                    self.busy = False
                    self.cancelled.clear()
                    protocol.resume_idle_watch()
                continue
            if isinstance(item, ReleaseRQ):
                protocol.send(ReleaseRP())
                self.outcome = Outcome.RELEASED
            else:
                self._ended_by(item)
            await protocol.wait_closed()
            return

    def _negotiated(self, request: AssociateRQ, accept: AssociateAC, protocol: AssociationProtocol) -> None:
        agreed = negotiated_contexts(request, accept)
        self.contexts = {context.context_id: context for context in agreed}
        protocol.accepted_context_ids = frozenset(self.contexts)
        identity = request.user_information.user_identity
        self.info = AssociationInfo(
            association_id=self.association_id,
            calling_ae_title=request.calling_ae_title,
            called_ae_title=request.called_ae_title,
            peer_host=protocol.peer[0],
            peer_port=protocol.peer[1],
            tls=protocol.tls,
            contexts=agreed,
            user_identity=identity if isinstance(identity, UserIdentityRQ) else None,
        )

    def _ended_by(self, item: object) -> None:
        if isinstance(item, AbortPDU):
            self.outcome, self.detail = Outcome.ABORTED_BY_PEER, "A-ABORT from the peer"
        elif isinstance(item, ProviderAbort):
            self.outcome, self.detail = Outcome.PROVIDER_ABORT, item.detail
        elif isinstance(item, LocalAbort):
            self.outcome, self.detail = Outcome.ABORTED_LOCALLY, item.detail
        elif isinstance(item, TransportClosed):
            self.detail = self.detail or "connection closed"
        else:
            self.outcome, self.detail = Outcome.PROVIDER_ABORT, f"unexpected {type(item).__name__}"


class _Dispatcher:
    """Hands DIMSE requests to service classes; maps their failures to statuses, once."""

    def __init__(self, handlers: ServiceHandlers, executor: Executor | None) -> None:
        self.handlers = handlers
        self.executor = executor

    async def dispatch(
        self, association: _ServerAssociation, protocol: AssociationProtocol, message: Message
    ) -> None:
        command = message.command
        if isinstance(command, CCancelRQ):
            return  # nothing of that Message ID is in progress any more (PS3.7 §9.3.2.3)
        if command.command_field & 0x8000:
            # A response to a request this SCP never made (PS3.7 §7.5.1: abort).
            protocol.abort(f"unexpected {command.command_field.message_name} on the SCP side")
            return
        context = association.contexts[message.context_id]
        message_id = getattr(command, "message_id", 0)
        responder = _Responder(association, protocol, message.context_id, message_id, self.executor)
        service = self.handlers.service_for(context.abstract_syntax)
        if service is None:
            await responder.send(failure_response(command, SOP_CLASS_NOT_SUPPORTED))
            return
        assert association.info is not None
        try:
            await service.handle(ServiceRequest(association.info, context, message), responder)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if protocol.closed or protocol.aborted or responder.final_sent:
                return  # the association ended under the handler, or it has answered
            if isinstance(error, DimseStatusError):
                status, comment = error.status, error.comment
            else:
                logger.exception(
                    "service class failed",
                    extra={"sop_class": context.abstract_syntax, "peer": protocol.peer},
                )
                status, comment = PROCESSING_FAILURE, type(error).__name__
            await responder.send(failure_response(command, status, comment))
            return
        if not (responder.final_sent or protocol.closed or protocol.aborted):
            await responder.send(
                failure_response(command, PROCESSING_FAILURE, "no response from the handler")
            )


_MAX_DEFERRALS = 25  # (50 ms) then a process accepts even though another seems less loaded
_DEFERRAL_SECONDS = 0.002
_ACCEPT_RETRY_SECONDS = 0.1


def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> asyncio.Future[None]:
    """Resolves once ``sock`` is readable (a connection waits to be accepted)."""
    future: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()

    def ready() -> None:
        loop.remove_reader(fd)
        if not future.done():
            future.set_result(None)

    loop.add_reader(fd, ready)
    future.add_done_callback(lambda _: loop.remove_reader(fd))  # also when cancelled
    return future


class DicomServer:
    """A DICOM SCP listening on ``host:port`` (``port=0`` picks a free one).

    Args:
        ae: our AE: title, accepted contexts, limits, timeouts.
        handlers: the service classes to dispatch to.
        ssl_context: serve TLS (``tls.server_ssl_context``).
        reuse_port: SO_REUSEPORT, for several server processes on one port.
        observer: called with an AssociationRecord at each association event.
        executor: the thread pool of ``Responder.run_blocking`` (None: the loop's default).
        sockets: listening sockets bound already (``balance.listening_sockets``), shared
            with other server processes; ``host``, ``port`` and ``reuse_port`` are then unused.
        load: this process's entry on the processes' ``LoadBoard`` (with ``sockets``): a
            waiting connection is accepted only while no other process serves fewer.
    """

    def __init__(
        self,
        ae: AEConfig,
        handlers: ServiceHandlers,
        *,
        host: str | None,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        reuse_port: bool = False,
        observer: AssociationObserver | None = None,
        executor: Executor | None = None,
        sockets: list[socket.socket] | None = None,
        load: WorkerLoad | None = None,
    ) -> None:
        self.ae = ae
        self.handlers = handlers
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.reuse_port = reuse_port
        self.observer = observer
        self.dispatcher = _Dispatcher(handlers, executor)
        self.stopping = False
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._associations: dict[int, _ServerAssociation] = {}
        self._active = 0
        self._per_peer: dict[str, int] = {}  # associations counted in _active, by peer address
        self._stopped: asyncio.Event | None = None
        self._sockets = sockets
        self._load = load
        self._accepting = 0  # connections accepted from ``sockets``, not yet associations
        self._acceptors: list[asyncio.Task[None]] = []
        self._handshakes: set[asyncio.Task[None]] = set()  # accepted, becoming associations

    @property
    def active_associations(self) -> int:
        """Connections being served, not counting those refused for the limit."""
        return self._active

    def peer_associations(self, host: str) -> int:
        """Connections from ``host`` being served (what its per-peer limit counts)."""
        return self._per_peer.get(host, 0)

    async def start(self) -> None:
        """Bind and start accepting; ``port`` then holds the bound port."""
        loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        if self._sockets is not None:
            self._acceptors = [loop.create_task(self._accept_forever(sock)) for sock in self._sockets]
            self.port = self._sockets[0].getsockname()[1]
            self._publish_load()
            return
        self._server = await loop.create_server(
            self._make_protocol,
            self.host,
            self.port,
            ssl=self.ssl_context,
            reuse_port=self.reuse_port or None,
            ssl_handshake_timeout=self.ae.timeouts.artim if self.ssl_context else None,
            backlog=256,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` has finished."""
        if self._server is None:
            await self.start()
        assert self._stopped is not None
        await self._stopped.wait()

    async def shutdown(self, grace: float) -> None:
        """Stop accepting, let in-flight messages finish for ``grace`` s, then abort."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        starting = [*self._acceptors, *self._handshakes]
        for task in starting:
            task.cancel()
        if starting:
            await asyncio.wait(starting)
        for association in list(self._associations.values()):
            if not association.busy and association.protocol is not None:
                association.protocol.abort("server shutting down")
        tasks = [a.task for a in self._associations.values() if a.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._server is not None:
            await self._server.wait_closed()
        if self._stopped is not None:
            self._stopped.set()

    async def __aenter__(self) -> DicomServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown(grace=0)

    # ---------------------------------------------------------------- internals

    async def _accept_forever(self, sock: socket.socket) -> None:
        """Accept from a shared listening socket, leaving connections to less loaded
        processes (at most ``_MAX_DEFERRALS`` times in a row)."""
        loop = asyncio.get_running_loop()
        deferred = 0
        while not self.stopping:
            await _readable(loop, sock)
            if self._load is not None and deferred < _MAX_DEFERRALS and not self._load.may_accept():
                deferred += 1
                await asyncio.sleep(_DEFERRAL_SECONDS)
                continue
            try:
                connection, _ = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # another process took it, or the client gave up
            except OSError as exc:  # out of file descriptors, ...: wait, do not spin
                logger.warning("accept failed", extra={"error": str(exc)})
                await asyncio.sleep(_ACCEPT_RETRY_SECONDS)
                continue
            deferred = 0
            self._accepting += 1
            self._publish_load()
            task = loop.create_task(self._serve_accepted(connection))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    async def _serve_accepted(self, connection: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            connection.setblocking(False)
            await loop.connect_accepted_socket(
                self._make_protocol,
                connection,
                ssl=self.ssl_context,
                ssl_handshake_timeout=self.ae.timeouts.artim if self.ssl_context else None,
            )
        except (TimeoutError, OSError) as exc:  # TLS handshake failed or timed out
            logger.info("connection dropped before association", extra={"error": str(exc)})
            connection.close()
        finally:
            self._accepting -= 1
            self._publish_load()

    def _publish_load(self) -> None:
        if self._load is not None:
            self._load.publish(self._active + self._accepting)

    def _make_protocol(self) -> AssociationProtocol:
        exceeded = association_limit_exceeded(self.ae, active_associations=self._active)
        association = _ServerAssociation(self, next(self._ids), exceeded)
        connection = Connection(
            Role.ACCEPTOR,
            max_associate_pdu_length=self.ae.max_associate_pdu_length,
            max_unlimited_pdu_length=self.ae.max_unlimited_pdu_length,
            association_limit_exceeded=exceeded,
        )
        return AssociationProtocol(
            connection,
            timeouts=self.ae.timeouts,
            assembler=MessageAssembler(sink_factory=association.sink_for),
            on_made=lambda protocol: self._started(association, protocol),
            on_cancel=association.cancelled.add,
        )

    def _started(self, association: _ServerAssociation, protocol: AssociationProtocol) -> None:
        association.protocol = protocol
        self._associations[association.association_id] = association
        if not association.limit_exceeded:
            host = protocol.peer[0]
            held = self._per_peer.get(host, 0)
            if peer_limit_exceeded(self.ae, peer_associations=held):
                # Rejected when its A-ASSOCIATE-RQ arrives; it takes no slot meanwhile.
                association.limit_exceeded = association.peer_limit_exceeded = True
                if logger.isEnabledFor(logging.INFO):
                    logger.info(
                        "association over the limit per peer",
                        extra={
                            "peer": protocol.peer,
                            "peer_associations": held,
                            "max_associations_per_peer": self.ae.max_associations_per_peer,
                        },
                    )
            else:
                self._per_peer[host] = held + 1
                self._active += 1
                self._publish_load()
        association.task = asyncio.get_running_loop().create_task(association.run(protocol))
        if self.stopping:
            protocol.abort("server shutting down")

    def forget(self, association: _ServerAssociation) -> None:
        known = self._associations.pop(association.association_id, None) is not None
        if known and not association.limit_exceeded:
            self._active -= 1
            assert association.protocol is not None  # set before it is known
            host = association.protocol.peer[0]
            held = self._per_peer.pop(host, 0) - 1
            if held > 0:
                self._per_peer[host] = held
            self._publish_load()

    def notify(self, association: _ServerAssociation, phase: Phase) -> None:
        if self.observer is None:
            return  # no record is built for nobody
        try:
            self.observer(association.record(phase))
        except Exception:  # the log must not take the association down
            logger.exception("association observer failed")

    async def respond(self, request: AssociateRQ, protocol: AssociationProtocol) -> AssociateAC | AssociateRJ:
        """Our A-ASSOCIATE response: ACSE checks, the application's policy, negotiation."""
        rejection = check_request(request, self.ae)
        if rejection is None and self.handlers.policy is not None:
            rejection = await self.handlers.policy.check(request, protocol.peer[0], protocol.peer[1])
        if rejection is not None:
            return rejection
        return negotiate(request, self.ae)
