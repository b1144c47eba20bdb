"""DicomServer: dispatch to service classes, the one place handler failures become
statuses, ARTIM, graceful shutdown, concurrency and the observer records."""

from __future__ import annotations

import asyncio
import threading

import pytest

from dicomkit.errors import AssociationAborted, AssociationRejected, DimseStatusError
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.aio import VERIFICATION_CONTEXT, Outcome, Phase, associate, open_association
from dicomkit.net.config import AEConfig, RequestedContext, SupportedContext
from dicomkit.net.dimse.assemble import DataSink, MemorySink
from dicomkit.net.dimse.commands import CEchoRQ, CEchoRSP, CStoreRQ, CStoreRSP, DimseMessage, encode_command
from dicomkit.net.dimse.fragment import fragment_message
from dicomkit.net.pdu import PDataTF
from dicomkit.net.services import (
    AssociationInfo,
    EchoRequest,
    Responder,
    ServiceClass,
    ServiceRequest,
    VerificationService,
)
from tests.dicomkit.net.aio.servers import (
    CT_IMAGE_STORAGE,
    EXPLICIT_LE,
    VERIFICATION,
    Observer,
    fast_timeouts,
    run,
    scp_ae,
    scu_ae,
    serving,
)

CT_CONTEXT = SupportedContext(CT_IMAGE_STORAGE, (EXPLICIT_LE,))


class _Status:
    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[EchoRequest] = []

    async def on_echo(self, request: EchoRequest) -> int:
        self.requests.append(request)
        return self.status


class _Raises:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def on_echo(self, request: EchoRequest) -> int:
        raise self.error


def _echo_once(services: list[ServiceClass], ae: AEConfig | None = None) -> int:
    async def scenario() -> int:
        async with serving(ae, services=services) as server:
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            status = await assoc.echo()
            await assoc.release()
            return status

    return run(scenario())


def test_handler_status_is_returned_and_the_handler_sees_the_association() -> None:
    handler = _Status(0x0110)
    assert _echo_once([VerificationService(handler)]) == 0x0110
    (request,) = handler.requests
    assert request.association.calling_ae_title == "SCU"
    assert request.association.called_ae_title == "SCP"
    assert request.association.peer_host == "127.0.0.1"
    assert request.message_id == 1


def test_handler_exception_becomes_processing_failure() -> None:
    assert _echo_once([VerificationService(_Raises(RuntimeError("database down")))]) == 0x0110


def test_dimse_status_error_from_a_handler_becomes_its_status() -> None:
    assert _echo_once([VerificationService(_Raises(DimseStatusError(0xA700, "out of resources")))]) == 0xA700


def test_accepted_sop_class_without_service_is_answered_sop_class_not_supported() -> None:
    # The AE accepts Verification, but no service class is registered for it.
    assert _echo_once([]) == 0x0122


class _StoreIntoMemory:
    """A minimal storage-like service class: the shape later services follow."""

    sop_classes = frozenset({CT_IMAGE_STORAGE})

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.thread_names: list[str] = []

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink:
        return MemorySink(limit=1 << 20)

    async def handle(self, request: ServiceRequest, responder: Responder) -> None:
        command = request.command
        assert isinstance(command, CStoreRQ)
        sink = request.message.dataset
        assert isinstance(sink, MemorySink)
        name = await responder.run_blocking(lambda: threading.current_thread().name)
        self.thread_names.append(name)
        self.received.append(sink.getvalue())
        await responder.send(
            CStoreRSP(
                command.message_id, 0, command.affected_sop_class_uid, command.affected_sop_instance_uid
            )
        )


def test_data_sets_reach_the_service_class_through_its_sink_and_blocking_work_runs_in_a_thread() -> None:
    service = _StoreIntoMemory()
    payload = bytes(range(256)) * 100  # several PDUs at the default maximum length

    async def scenario() -> int:
        async with serving(scp_ae(CT_CONTEXT), services=[VerificationService(), service]) as server:
            contexts = [RequestedContext(CT_IMAGE_STORAGE, (EXPLICIT_LE,))]
            async with associate(
                "127.0.0.1", server.port, scu_ae(max_pdu_length=4096), "SCP", contexts
            ) as assoc:
                context = assoc.context_for(CT_IMAGE_STORAGE)
                request = CStoreRQ(assoc.next_message_id(), CT_IMAGE_STORAGE, "1.2.3.4")
                await assoc.send_message(context.context_id, request, payload)
                response = await assoc.receive()
                assert isinstance(response.command, CStoreRSP)
                return response.command.status

    assert run(scenario()) == 0
    assert service.received == [payload]
    assert service.thread_names != [threading.current_thread().name]


def test_a_response_sent_to_the_scp_aborts_the_association() -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(observer=observer) as server:
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            await assoc.send_message(1, CEchoRSP(1, 0))
            with pytest.raises(AssociationAborted):
                await assoc.receive()
            assert await observer.outcomes() == [Outcome.ABORTED_LOCALLY]

    run(scenario())


def test_silent_peer_is_closed_by_the_artim_timer() -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(scp_ae(timeouts=fast_timeouts(artim=0.2)), observer=observer) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed without a word
            writer.close()
            assert await observer.outcomes() == [Outcome.CLOSED]
            assert server.active_associations == 0

    run(scenario())


def test_observer_records_started_negotiated_and_ended_with_counts() -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(observer=observer) as server:
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]) as assoc:
                for _ in range(3):
                    await assoc.echo()
            await observer.outcomes()
        phases = [record.phase for record in observer.records]
        assert phases == [Phase.STARTED, Phase.NEGOTIATED, Phase.ENDED]
        end = observer.records[-1]
        assert (end.calling_ae_title, end.called_ae_title) == ("SCU", "SCP")
        assert end.messages == 3
        assert [context.abstract_syntax for context in end.contexts] == [VERIFICATION]
        assert end.bytes_in > 0 and end.bytes_out > 0
        assert end.duration > 0 and not end.tls

    run(scenario())


def test_a_rejected_association_is_recorded_with_the_ae_titles_it_asked_for() -> None:
    async def scenario() -> None:
        observer = Observer()
        async with serving(observer=observer) as server:
            with pytest.raises(AssociationRejected):
                await open_association("127.0.0.1", server.port, scu_ae(), "NOT-SCP", [VERIFICATION_CONTEXT])
            assert await observer.outcomes() == [Outcome.REJECTED]
        end = observer.ends()[-1]
        assert (end.calling_ae_title, end.called_ae_title) == ("SCU", "NOT-SCP")
        assert end.contexts == ()

    run(scenario())


def test_an_observer_that_raises_does_not_break_the_association() -> None:
    def broken(record: object) -> None:
        raise RuntimeError("log table missing")

    async def scenario() -> int:
        async with serving(observer=broken) as server:
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            status = await assoc.echo()
            await assoc.release()
            return status

    assert run(scenario()) == 0


def test_many_concurrent_associations() -> None:
    async def scenario() -> list[list[int]]:
        async with serving(scp_ae(max_associations=100)) as server:

            async def client() -> list[int]:
                async with associate(
                    "127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]
                ) as assoc:
                    return [await assoc.echo() for _ in range(5)]

            return await asyncio.gather(*(client() for _ in range(60)))

    assert run(scenario()) == [[0] * 5] * 60


class _Gate:
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def on_echo(self, request: EchoRequest) -> int:
        self.entered.set()
        await self.opened.wait()
        return 0


def test_graceful_shutdown_lets_the_in_flight_echo_finish_and_aborts_the_idle() -> None:
    async def scenario() -> None:
        gate = _Gate()
        observer = Observer(expect=2)
        async with serving(services=[VerificationService(gate)], observer=observer) as server:
            busy = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            idle = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            echo = asyncio.ensure_future(busy.echo())
            await gate.entered.wait()
            shutdown = asyncio.ensure_future(server.shutdown(grace=10))
            with pytest.raises(AssociationAborted):  # the idle one goes at once
                await idle.receive(timeout=5)
            assert not shutdown.done()
            gate.opened.set()
            assert await echo == 0  # the in-flight one completes ...
            with pytest.raises(AssociationAborted):  # ... and is aborted after its response
                await busy.receive(timeout=5)
            await asyncio.wait_for(shutdown, 5)
            assert await observer.outcomes() == [Outcome.ABORTED_LOCALLY] * 2
            # no longer accepting
            with pytest.raises(OSError):
                await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])

    run(scenario())


def test_shutdown_aborts_a_handler_still_busy_after_the_grace_period() -> None:
    async def scenario() -> None:
        gate = _Gate()  # never opened
        async with serving(services=[VerificationService(gate)]) as server:
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            echo = asyncio.ensure_future(assoc.echo())
            await gate.entered.wait()
            await asyncio.wait_for(server.shutdown(grace=0.2), 5)
            with pytest.raises(AssociationAborted):
                await echo
            assert server.active_associations == 0

    run(scenario())


def test_serve_forever_returns_after_shutdown() -> None:
    async def scenario() -> None:
        async with serving() as server:
            forever = asyncio.ensure_future(server.serve_forever())
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]) as assoc:
                assert await assoc.echo() == 0
            await server.shutdown(grace=1)
            await asyncio.wait_for(forever, 5)

    run(scenario())


def test_c_echo_request_with_message_id_is_answered_to_that_id() -> None:
    async def scenario() -> None:
        async with serving() as server:
            assoc = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            await assoc.send_message(1, CEchoRQ(4242))
            response = await assoc.receive()
            assert isinstance(response.command, CEchoRSP)
            assert response.command.message_id_being_responded_to == 4242
            await assoc.release()

    run(scenario())


class _HeldStore(_StoreIntoMemory):
    """Holds every C-STORE until ``gate`` opens; counts the data sets' sinks made so far."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.sinks = 0

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink:
        self.sinks += 1
        return super().sink_for(context, command, association)

    async def handle(self, request: ServiceRequest, responder: Responder) -> None:
        await self.gate.wait()
        await super().handle(request, responder)


def test_a_pipelining_peer_gets_no_more_sinks_opened_than_the_inbox_holds() -> None:
    """Each sink is a staging file in the archive: messages already read but beyond the
    inbox's bound stay unparsed until it drains, and every one is still answered in order."""
    service = _HeldStore()
    count = 120

    async def scenario() -> list[int]:
        async with serving(scp_ae(CT_CONTEXT), services=[VerificationService(), service]) as server:
            contexts = [RequestedContext(CT_IMAGE_STORAGE, (EXPLICIT_LE,))]
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", contexts) as assoc:
                context = assoc.context_for(CT_IMAGE_STORAGE)
                pdus: list[PDataTF] = []
                for index in range(count):  # about 30 KB, written at once: one read may take it all
                    request = CStoreRQ(assoc.next_message_id(), CT_IMAGE_STORAGE, f"1.2.3.{index}")
                    data = bytes([index]) * 64
                    pdus += fragment_message(context.context_id, encode_command(request), data, 16384)
                await assoc.protocol.send_pdus(pdus)
                for _ in range(50):  # until the server has taken in all it will
                    before = service.sinks
                    await asyncio.sleep(0.02)
                    if service.sinks == before and before:
                        break
                held = service.sinks
                service.gate.set()
                ids = []
                for _ in range(count):
                    response = await assoc.receive()
                    assert isinstance(response.command, CStoreRSP) and response.command.status == 0
                    ids.append(response.command.message_id_being_responded_to)
                assert held <= 10, f"{held} sinks opened for messages not yet handled"
                return ids

    assert run(scenario()) == list(range(1, count + 1))
    assert service.received == [bytes([index]) * 64 for index in range(count)]
