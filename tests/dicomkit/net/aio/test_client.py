"""Our requestor against our acceptor on loopback: association set-up, release, abort,
rejection reasons and the requestor's timeouts."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from dicomkit.errors import (
    AcseTimeout,
    AssociationAborted,
    AssociationRejected,
    DimseTimeout,
    LocalProtocolError,
    NetworkTimeout,
)
from dicomkit.net.acse import negotiate
from dicomkit.net.aio import VERIFICATION_CONTEXT, Outcome, associate, echo_sync, open_association
from dicomkit.net.config import RequestedContext, SupportedContext
from dicomkit.net.dimse.commands import CEchoRSP, CStoreRQ
from dicomkit.net.pdu import AssociateRQ, decode_pdu
from dicomkit.net.services import EchoRequest, VerificationService
from tests.dicomkit.net.aio.servers import (
    CT_IMAGE_STORAGE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    AEOptions,
    Observer,
    fast_timeouts,
    run,
    scp_ae,
    scu_ae,
    serving,
)


def test_echo_returns_success_and_release_closes_both_sides() -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(observer=observer) as server:
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]) as assoc:
                assert await assoc.echo() == 0x0000
                assert await assoc.echo() == 0x0000
                assert server.active_associations == 1
            assert assoc.protocol.closed
            assert await observer.outcomes() == [Outcome.RELEASED]
            assert server.active_associations == 0

    run(scenario())


def test_transfer_syntax_is_negotiated_in_the_acceptors_preference_order() -> None:
    async def scenario() -> None:
        async with serving() as server:
            offered = [RequestedContext(VERIFICATION_CONTEXT.abstract_syntax, (EXPLICIT_LE, IMPLICIT_LE))]
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", offered) as assoc:
                (context,) = assoc.contexts
                assert context.transfer_syntax == IMPLICIT_LE

    run(scenario())


@pytest.mark.parametrize(
    ("called", "scp_options", "expected"),
    [
        ("OTHER", {}, (1, 1, 7)),  # called AE title not recognized
        ("SCP", {"allowed_calling_ae_titles": frozenset({"FRIEND"})}, (1, 1, 3)),  # calling AE title
    ],
)
def test_rejection_reasons_reach_the_requestor(
    called: str, scp_options: AEOptions, expected: tuple[int, int, int]
) -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(scp_ae(**scp_options), observer=observer) as server:
            with pytest.raises(AssociationRejected) as info:
                async with associate("127.0.0.1", server.port, scu_ae(), called, [VERIFICATION_CONTEXT]):
                    pass
            assert (info.value.result, info.value.source, info.value.reason) == expected
            assert await observer.outcomes() == [Outcome.REJECTED]

    run(scenario())


def test_association_beyond_the_limit_is_rejected_transient_by_the_provider() -> None:
    async def scenario() -> None:
        async with serving(scp_ae(max_associations=1)) as server:
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]) as first:
                with pytest.raises(AssociationRejected) as info:
                    async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]):
                        pass
                assert (info.value.result, info.value.source, info.value.reason) == (2, 3, 2)
                assert await first.echo() == 0
                assert server.active_associations == 1
            # once the first is gone, a new one is accepted again
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]) as again:
                assert await again.echo() == 0

    run(scenario())


def test_unsupported_abstract_syntax_leaves_no_usable_context() -> None:
    async def scenario() -> None:
        async with serving() as server:
            contexts = [RequestedContext(CT_IMAGE_STORAGE, (EXPLICIT_LE,))]
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", contexts) as assoc:
                assert assoc.contexts == ()
                with pytest.raises(LocalProtocolError):
                    await assoc.echo()

    run(scenario())


def test_abort_by_the_requestor_is_seen_by_the_acceptor() -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(observer=observer) as server:
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            assert await assoc.echo() == 0
            assoc.abort()
            await assoc.wait_closed()
            assert await observer.outcomes() == [Outcome.ABORTED_BY_PEER]

    run(scenario())


def test_exception_in_the_block_aborts_instead_of_releasing() -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(observer=observer) as server:
            with pytest.raises(ZeroDivisionError):
                async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]):
                    1 / 0  # noqa: B018
            assert await observer.outcomes() == [Outcome.ABORTED_BY_PEER]

    run(scenario())


def test_acse_timeout_when_the_peer_never_answers_the_request() -> None:
    async def scenario() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts (backlog), never answers
            port = listener.getsockname()[1]
            timeouts = fast_timeouts(acse=0.2)
            with pytest.raises(AcseTimeout):
                await open_association(
                    "127.0.0.1", port, scu_ae(), "SCP", [VERIFICATION_CONTEXT], timeouts=timeouts
                )

    run(scenario())


class _Gate:
    """A C-ECHO handler that answers only once ``opened`` is set."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def on_echo(self, request: EchoRequest) -> int:
        self.entered.set()
        await self.opened.wait()
        return 0


def test_dimse_timeout_when_the_response_is_late() -> None:
    async def scenario() -> None:
        gate = _Gate()
        async with serving(services=[VerificationService(gate)]) as server:
            timeouts = fast_timeouts(dimse=0.2)
            async with associate(
                "127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT], timeouts=timeouts
            ) as assoc:
                with pytest.raises(DimseTimeout):
                    await assoc.echo()
                gate.opened.set()
                # the late response is still delivered on the association
                response = await assoc.receive(timeout=5)
                assert isinstance(response.command, CEchoRSP)
                assert response.command.status == 0

    run(scenario())


def test_idle_association_is_aborted_by_the_servers_network_timeout() -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(scp_ae(timeouts=fast_timeouts(network=0.2)), observer=observer) as server:
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            with pytest.raises(AssociationAborted):
                await assoc.receive(timeout=10)
            assert await observer.outcomes() == [Outcome.ABORTED_LOCALLY]
            assert "no activity" in observer.ends()[0].detail

    run(scenario())


def test_a_slow_handler_is_not_idleness() -> None:
    async def scenario() -> None:
        gate = _Gate()
        ae = scp_ae(timeouts=fast_timeouts(network=0.1))
        async with serving(ae, services=[VerificationService(gate)]) as server:
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            echo = asyncio.ensure_future(assoc.echo())
            await gate.entered.wait()
            # several network timeouts pass while the handler works
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(echo), 0.35)
            gate.opened.set()
            assert await echo == 0
            await assoc.release()

    run(scenario())


def test_echo_sync_wrapper() -> None:
    ready = threading.Event()
    port: list[int] = []
    done = threading.Event()

    def serve() -> None:
        async def main() -> None:
            async with serving() as server:
                port.append(server.port)
                ready.set()
                await asyncio.get_running_loop().run_in_executor(None, done.wait)

        asyncio.run(main())

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert ready.wait(10)
        assert echo_sync("127.0.0.1", port[0], scu_ae(), "SCP", repeat=3) == [0, 0, 0]
    finally:
        done.set()
        thread.join(10)


CT_CONTEXT = SupportedContext(CT_IMAGE_STORAGE, (EXPLICIT_LE,))


class _SlowReader:
    """An acceptor on a plain socket that accepts everything, then reads 8 KiB every 10 ms
    (a WAN link, say), through a small receive buffer; it answers nothing."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # inherited
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.received = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        sock, _ = self.listener.accept()
        with sock:
            sock.settimeout(10)
            header = sock.recv(6, socket.MSG_WAITALL)
            body = sock.recv(int.from_bytes(header[2:], "big"), socket.MSG_WAITALL)
            request = decode_pdu(header + body)
            assert isinstance(request, AssociateRQ)
            sock.sendall(negotiate(request, scp_ae(CT_CONTEXT)).encode())
            while chunk := sock.recv(8192):
                self.received += len(chunk)
                time.sleep(0.01)


def test_sending_a_large_data_set_to_a_slow_reader_is_not_idleness() -> None:
    """Nothing is received while a data set goes out, for longer than the network timeout
    here; the peer taking our bytes is activity."""
    peer = _SlowReader()
    payload = bytes(5 << 19)  # about three seconds at the reader's pace

    async def scenario() -> None:
        ae = scu_ae(timeouts=fast_timeouts(network=1.0))
        contexts = [RequestedContext(CT_IMAGE_STORAGE, (EXPLICIT_LE,))]
        assoc = await open_association("127.0.0.1", peer.port, ae, "SCP", contexts)
        sock = assoc.protocol.transport.get_extra_info("socket") if assoc.protocol.transport else None
        assert sock is not None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
        context = assoc.context_for(CT_IMAGE_STORAGE)
        start = time.monotonic()
        await assoc.send_message(context.context_id, CStoreRQ(1, CT_IMAGE_STORAGE, "1.2.3"), payload)
        assert time.monotonic() - start > 1.0  # the network timeout passed while sending
        assert not assoc.protocol.aborted
        transport = assoc.protocol.transport
        while transport is not None and transport.get_write_buffer_size():
            await asyncio.sleep(0.01)  # the rest, before the loop (and with it the transport) ends
        assoc.abort()

    run(scenario())
    peer.thread.join(timeout=10)
    assert peer.received > len(payload)


def test_sending_after_our_own_abort_says_the_association_was_aborted() -> None:
    """Not the state machine's refusal of a P-DATA in Sta13: the reason the association ended."""

    async def scenario() -> None:
        async with serving(scp_ae(CT_CONTEXT)) as server:
            contexts = [RequestedContext(CT_IMAGE_STORAGE, (EXPLICIT_LE,))]
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", contexts)
            context = assoc.context_for(CT_IMAGE_STORAGE)
            assoc.protocol.abort("no activity for 60 s", timeout=True)
            request = CStoreRQ(1, CT_IMAGE_STORAGE, "1.2.3")
            with pytest.raises(NetworkTimeout, match="no activity"):
                await assoc.send_message(context.context_id, request, b"\0" * 64)

    run(scenario())
