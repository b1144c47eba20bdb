"""The association requestor (SCU side) on asyncio (PS3.8 §7.1-7.3, PS3.7 §9.1.5 C-ECHO).

Part of ``dicomkit.net.aio``, above ``association``. :func:`associate` opens the TCP (or
TLS) connection, negotiates, and yields an :class:`Association`; leaving the ``async
with`` block releases it, or aborts it if the block raised::

    async with associate("pacs", 104, AEConfig("ME"), "PACS", [VERIFICATION_CONTEXT]) as assoc:
        status = await assoc.echo()

:class:`Association` offers ``send_message``/``receive`` (the primitives the storage and
query/retrieve SCUs build on), ``echo``, ``release`` and ``abort``. :func:`echo_sync` is
the blocking wrapper for scripts and the CLI.

Timeouts (``Timeouts``): ``connect`` for TCP+TLS, ``acse`` for the A-ASSOCIATE and
A-RELEASE answers, ``dimse`` for each DIMSE response, ``network`` for idleness. Every
failure surfaces as a dicomkit error, mapped by ``association.raise_for``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Final

from dicomkit.data.uids import ImplicitVRLittleEndian, Verification
from dicomkit.errors import AcseTimeout, ConnectTimeout, DimseTimeout, LocalProtocolError, RemoteProtocolError
from dicomkit.net.acse import NegotiatedContext, build_request, negotiated_contexts
from dicomkit.net.aio.association import AssociationProtocol, TransportClosed, raise_for
from dicomkit.net.config import AEConfig, RequestedContext, Timeouts
from dicomkit.net.dimse.assemble import Message, MessageAssembler, SinkFactory
from dicomkit.net.dimse.commands import CEchoRQ, CEchoRSP, DimseMessage, encode_command
from dicomkit.net.pdu import AssociateAC, AssociateRQ, ReleaseRP, ReleaseRQ, UserIdentityRQ
from dicomkit.net.ul import Connection, Role

__all__ = ["VERIFICATION_CONTEXT", "Association", "associate", "echo_sync"]

#: The presentation context an echo needs (PS3.4 Annex A).
VERIFICATION_CONTEXT: Final = RequestedContext(Verification, (ImplicitVRLittleEndian,))


class Association:
    """An established association, as requestor. Built by :func:`associate`."""

    def __init__(
        self,
        protocol: AssociationProtocol,
        request: AssociateRQ,
        accept: AssociateAC,
        contexts: tuple[NegotiatedContext, ...],
        timeouts: Timeouts,
    ) -> None:
        self.protocol = protocol
        self.request = request
        self.accept = accept
        self.contexts = contexts
        self.timeouts = timeouts
        self._message_id = 0

    @property
    def peer_max_pdu_length(self) -> int:
        """The Maximum Length the acceptor announced (0: no limit)."""
        return self.protocol.connection.peer_max_pdu_length

    @property
    def is_established(self) -> bool:
        return not self.protocol.closed and self.protocol.connection.state.name == "STA6"

    def next_message_id(self) -> int:
        """A fresh Message ID (1..65535, wrapping)."""
        self._message_id = self._message_id % 0xFFFF + 1
        return self._message_id

    def context_for(self, abstract_syntax: str, transfer_syntax: str | None = None) -> NegotiatedContext:
        """An accepted context for ``abstract_syntax`` (and ``transfer_syntax``, if given).

        Raises:
            LocalProtocolError: none was accepted.
        """
        for context in self.contexts:
            if context.abstract_syntax == abstract_syntax and transfer_syntax in (
                None,
                context.transfer_syntax,
            ):
                return context
        raise LocalProtocolError(f"no accepted presentation context for {abstract_syntax}")

    async def send_message(
        self, context_id: int, command: DimseMessage, dataset: bytes | None = None
    ) -> None:
        """Send one DIMSE message on an accepted presentation context."""
        await self.protocol.send_message(context_id, encode_command(command), dataset)

    async def receive(self, timeout: float | None = None) -> Message:
        """The next DIMSE message; ``timeout`` defaults to the DIMSE timeout.

        Raises:
            DimseTimeout: nothing arrived in time.
            AssociationAborted, NetworkTimeout: the association ended instead.
        """
        wait = self.timeouts.dimse if timeout is None else timeout
        item = await self.protocol.receive(wait, DimseTimeout)
        if isinstance(item, Message):
            return item
        raise_for(item, expected="a DIMSE message")

    async def echo(self) -> int:
        """C-ECHO (PS3.7 §9.1.5) on the Verification context; returns the response status.

        Raises:
            RemoteProtocolError: the response does not answer our request.
        """
        context = self.context_for(Verification)
        message_id = self.next_message_id()
        await self.send_message(context.context_id, CEchoRQ(message_id, Verification))
        response = await self.receive()
        command = response.command
        if not isinstance(command, CEchoRSP) or command.message_id_being_responded_to != message_id:
            self.abort()
            raise RemoteProtocolError(f"expected the C-ECHO-RSP to message {message_id}, got {command!r}")
        return int(command.status)

    async def release(self) -> None:
        """A-RELEASE (PS3.8 §7.2): ask, wait ``acse`` seconds for the answer, then close.

        DIMSE messages still arriving are dropped. A release collision is answered.

        Raises:
            AcseTimeout: no A-RELEASE-RP in time (the association is then aborted).
        """
        protocol = self.protocol
        if protocol.closed:
            return
        protocol.send(ReleaseRQ())
        try:
            while True:
                item = await protocol.receive(self.timeouts.acse, AcseTimeout)
                if isinstance(item, ReleaseRP):
                    break
                if isinstance(item, ReleaseRQ):  # collision: as requestor we answer first (Sta9)
                    protocol.send(ReleaseRP())
                elif not isinstance(item, Message):
                    raise_for(item, expected="the A-RELEASE-RP")
        except AcseTimeout:
            protocol.abort("no A-RELEASE-RP in time")
            raise
        await protocol.wait_closed()

    def abort(self) -> None:
        """A-ABORT (PS3.8 §7.3) and close the connection at once."""
        self.protocol.abort()

    async def wait_closed(self) -> None:
        await self.protocol.wait_closed()


@asynccontextmanager
async def associate(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    contexts: Sequence[RequestedContext],
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timeouts: Timeouts | None = None,
    user_identity: UserIdentityRQ | None = None,
    sink_factory: SinkFactory | None = None,
) -> AsyncIterator[Association]:
    """An association with ``called_ae_title`` at ``host:port``; released on exit.

    ``timeouts`` defaults to ``ae.timeouts``. The association is aborted instead of
    released when the block raises. ``sink_factory`` decides where the data sets of
    messages we receive go (C-STORE sub-operations of a C-GET); default in memory.

    Raises:
        ConnectTimeout, AcseTimeout: no connection / no answer in time.
        AssociationRejected, AssociationAborted: the peer refused or aborted.
        OSError: the connection was refused or failed.
    """
    association = await open_association(
        host,
        port,
        ae,
        called_ae_title,
        contexts,
        ssl_context=ssl_context,
        server_hostname=server_hostname,
        timeouts=timeouts,
        user_identity=user_identity,
        sink_factory=sink_factory,
    )
    try:
        yield association
    except BaseException:
        association.abort()
        raise
    await association.release()


async def open_association(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    contexts: Sequence[RequestedContext],
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timeouts: Timeouts | None = None,
    user_identity: UserIdentityRQ | None = None,
    sink_factory: SinkFactory | None = None,
) -> Association:
    """:func:`associate` without the context manager: the caller releases or aborts."""
    timeouts = ae.timeouts if timeouts is None else timeouts
    request = build_request(
        ae, called_ae_title=called_ae_title, contexts=contexts, user_identity=user_identity
    )
    connection = Connection(
        Role.REQUESTOR,
        max_associate_pdu_length=ae.max_associate_pdu_length,
        max_unlimited_pdu_length=ae.max_unlimited_pdu_length,
    )
    connection.send(request)  # Sta1 -> Sta4: the OpenTransport directive is ours to carry out
    connection.next_event()
    assembler = MessageAssembler(sink_factory=sink_factory) if sink_factory is not None else None
    protocol = AssociationProtocol(connection, timeouts=timeouts, assembler=assembler)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeouts.connect):
            await loop.create_connection(
                lambda: protocol,
                host,
                port,
                ssl=ssl_context,
                server_hostname=(server_hostname or host) if ssl_context is not None else None,
            )
    except TimeoutError:
        raise ConnectTimeout(f"no connection to {host}:{port} within {timeouts.connect} s") from None
    try:
        item = await protocol.receive(timeouts.acse, AcseTimeout)
    except AcseTimeout:
        protocol.abort("no A-ASSOCIATE response in time")
        raise
    if not isinstance(item, AssociateAC):
        if not isinstance(item, TransportClosed):
            await protocol.wait_closed()
        raise_for(item, expected="the A-ASSOCIATE response")
    try:
        agreed = negotiated_contexts(request, item)
    except RemoteProtocolError:
        protocol.abort("invalid A-ASSOCIATE-AC")
        raise
    protocol.accepted_context_ids = frozenset(context.context_id for context in agreed)
    return Association(protocol, request, item, agreed, timeouts)


def echo_sync(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
    repeat: int = 1,
) -> list[int]:
    """Associate, send ``repeat`` C-ECHOs, release; the statuses (blocking wrapper)."""

    async def run() -> list[int]:
        async with associate(
            host,
            port,
            ae,
            called_ae_title,
            [VERIFICATION_CONTEXT],
            ssl_context=ssl_context,
            timeouts=timeouts,
        ) as association:
            return [await association.echo() for _ in range(repeat)]

    return asyncio.run(run())
