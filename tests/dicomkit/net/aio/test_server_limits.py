"""The server's bounds on peers that hold association slots: slow PDUs, slow DIMSE
messages and the per-peer cap.

Raw-socket peers on loopback: one trickles a PDU's header, one trickles a PDU's body
(each byte sooner than the network timeout, so the idle watchdog alone never fires), one
sends an honest PDU slowly but above ``Timeouts.min_receive_rate``; one sends a message
a byte per complete PDU (no PDU late, never idle), others honest messages in many PDUs,
quickly or slowly but above the rate. Timeouts are a second or less, so the bounds are
met in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from dicomkit.errors import AssociationRejected
from dicomkit.net.acse import build_request
from dicomkit.net.aio import VERIFICATION_CONTEXT, Outcome, associate, open_association
from dicomkit.net.config import AEConfig, RequestedContext, SupportedContext, Timeouts
from dicomkit.net.dimse.assemble import MessageAssembler
from dicomkit.net.dimse.commands import CEchoRQ, CStoreRQ, CStoreRSP, encode_command
from dicomkit.net.dimse.fragment import fragment_message
from dicomkit.net.pdu import AbortPDU, AbortSource, AssociateAC, PDataTF, decode_pdu
from tests.dicomkit.net.aio.servers import (
    CT_IMAGE_STORAGE,
    IMPLICIT_LE,
    Observer,
    run,
    scp_ae,
    scu_ae,
    serving,
)

NETWORK = 1.0
TRICKLE_INTERVAL = 0.25  # well inside NETWORK: the idle watchdog is satisfied by it


class RawPeer:
    """An association-requestor on a bare stream, sending bytes when and as told."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def associate(cls, port: int, contexts: list[RequestedContext]) -> RawPeer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        peer = cls(reader, writer)
        request = build_request(scu_ae(), called_ae_title="SCP", contexts=contexts)
        writer.write(request.encode())
        assert isinstance(await peer.read_pdu(), AssociateAC)
        return peer

    async def read_pdu(self) -> object:
        header = await self.reader.readexactly(6)
        body = await self.reader.readexactly(int.from_bytes(header[2:6], "big"))
        return decode_pdu(header + body)

    async def trickle(self, data: bytes, interval: float) -> None:
        """One byte per ``interval``, until all is sent or the connection is gone."""
        with contextlib.suppress(ConnectionError):
            for index in range(len(data)):
                self.writer.write(data[index : index + 1])
                await self.writer.drain()
                await asyncio.sleep(interval)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def _echo_pdu() -> bytes:
    (pdu,) = fragment_message(1, encode_command(CEchoRQ(message_id=1)), None, 16384)
    return pdu.encode()


async def _aborted_while_trickling(data: bytes) -> tuple[AbortPDU, Observer]:
    observer = Observer()
    ae = scp_ae(timeouts=Timeouts(artim=5.0, acse=5.0, dimse=5.0, network=NETWORK))
    async with serving(ae, observer=observer) as server:
        peer = await RawPeer.associate(server.port, [VERIFICATION_CONTEXT])
        trickling = asyncio.create_task(peer.trickle(data, TRICKLE_INTERVAL))
        # Sent whole, the trickle would take len(data) * TRICKLE_INTERVAL (>= 1.5 s for a
        # header alone, 20 s for the PDU); the bound is NETWORK plus a few milliseconds.
        abort = await asyncio.wait_for(peer.read_pdu(), NETWORK + 1.0)
        assert not trickling.done()
        assert await asyncio.wait_for(peer.reader.read(), 5) == b""  # then closed
        trickling.cancel()
        await peer.close()
        assert await observer.outcomes() == [Outcome.ABORTED_LOCALLY]
        assert server.active_associations == 0
    assert isinstance(abort, AbortPDU)
    return abort, observer


def test_a_peer_trickling_a_pdu_header_is_aborted_within_the_network_timeout() -> None:
    abort, observer = run(_aborted_while_trickling(_echo_pdu()[:6]))
    assert abort.source == AbortSource.SERVICE_USER  # AA-1's, as for the idle timeout
    assert observer.ends()[0].detail == "a PDU header was not completed within 1 s"


def test_a_peer_trickling_a_pdu_body_is_aborted_once_its_time_at_the_minimum_rate_is_over() -> None:
    async def scenario() -> tuple[AbortPDU, Observer]:
        pdu = _echo_pdu()
        observer = Observer()
        ae = scp_ae(timeouts=Timeouts(artim=5.0, acse=5.0, dimse=5.0, network=NETWORK))
        async with serving(ae, observer=observer) as server:
            peer = await RawPeer.associate(server.port, [VERIFICATION_CONTEXT])
            peer.writer.write(pdu[:6])  # the header at once: the body's deadline applies
            trickling = asyncio.create_task(peer.trickle(pdu[6:], TRICKLE_INTERVAL))
            abort = await asyncio.wait_for(peer.read_pdu(), NETWORK + 1.0)
            assert not trickling.done()
            trickling.cancel()
            await peer.close()
            assert await observer.outcomes() == [Outcome.ABORTED_LOCALLY]
        assert isinstance(abort, AbortPDU)
        return abort, observer

    abort, observer = run(scenario())
    assert abort.source == AbortSource.SERVICE_USER  # AA-1's, as for the idle timeout
    assert observer.ends()[0].detail == f"a PDU of {len(_echo_pdu())} bytes was not received within 1 s"


def test_a_large_pdu_sent_slowly_but_above_the_minimum_rate_is_received() -> None:
    # 128 KiB at about 80 KiB/s takes 1.6 s, longer than the network timeout (0.5 s) but
    # within its bound at the 32 KiB/s floor: 0.5 s + 4 s.
    size, chunk, pause = 128 * 1024, 8 * 1024, 0.1

    async def scenario() -> int:
        timeouts = Timeouts(artim=5.0, acse=5.0, dimse=5.0, network=0.5, min_receive_rate=32 * 1024.0)
        ae = scp_ae(
            SupportedContext(CT_IMAGE_STORAGE, (IMPLICIT_LE,)), max_pdu_length=256 * 1024, timeouts=timeouts
        )
        async with serving(ae) as server:  # no storage service: the data set is read, then 0122H
            context = RequestedContext(CT_IMAGE_STORAGE, (IMPLICIT_LE,))
            peer = await RawPeer.associate(server.port, [context])
            command = CStoreRQ(
                message_id=1, affected_sop_class_uid=CT_IMAGE_STORAGE, affected_sop_instance_uid="1.2.3"
            )
            pdus = [p.encode() for p in fragment_message(1, encode_command(command), bytes(size), 256 * 1024)]
            assert max(len(p) for p in pdus) > size
            for data in pdus:
                for start in range(0, len(data), chunk):
                    peer.writer.write(data[start : start + chunk])
                    await peer.writer.drain()
                    await asyncio.sleep(pause)
            assembler = MessageAssembler()
            while True:
                pdata = await asyncio.wait_for(peer.read_pdu(), 5)
                assert isinstance(pdata, PDataTF)
                message = [assembler.feed(value) for value in pdata.values][-1]
                if message is not None:
                    await peer.close()
                    assert isinstance(message.command, CStoreRSP)
                    return message.command.status

    assert run(scenario()) == 0x0122  # answered: the PDU was taken whole


# ------------------------------------------------------------------------ per-peer cap


def test_associations_from_one_address_beyond_its_cap_are_rejected_transient_local_limit() -> None:
    async def scenario() -> None:
        observer = Observer(expect=2)
        async with serving(
            scp_ae(max_associations=10, max_associations_per_peer=2), observer=observer
        ) as server:
            first = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            second = await open_association("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
            assert server.peer_associations("127.0.0.1") == 2
            with pytest.raises(AssociationRejected) as info:
                async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]):
                    pass
            assert (info.value.result, info.value.source, info.value.reason) == (2, 3, 2)
            assert server.active_associations == 2  # the rejected one took no slot
            assert await first.echo() == 0
            assert await second.echo() == 0
            await first.release()
            assert await observer.outcomes() == [Outcome.REJECTED, Outcome.RELEASED]
            rejected = observer.ends()[0]
            assert rejected.detail.startswith("local limit of associations per peer exceeded")
            # One slot of this peer's is free again: a new association is accepted.
            async with associate("127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]) as again:
                assert await again.echo() == 0
                assert server.peer_associations("127.0.0.1") == 2
            await second.release()
        assert server.peer_associations("127.0.0.1") == 0

    run(scenario())


def test_a_per_peer_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_associations_per_peer"):
        AEConfig("SCP", max_associations=10, max_associations_per_peer=0)


def test_a_minimum_receive_rate_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="min_receive_rate"):
        Timeouts(min_receive_rate=0.0)


# ------------------------------------------------------------------------ slow messages
# Every PDU complete and sent well inside the network timeout: no PDU is late and the
# idle watchdog is satisfied, so only the message's own deadline can end the trickle.


def _tiny_pdus(context_id: int, command: bytes, dataset: bytes | None = None) -> list[bytes]:
    """One message as P-DATA-TFs of one 1-byte fragment each (a maximum PDU length of 7)."""
    return [pdu.encode() for pdu in fragment_message(context_id, command, dataset, 7)]


def _store_command() -> bytes:
    return encode_command(
        CStoreRQ(message_id=1, affected_sop_class_uid=CT_IMAGE_STORAGE, affected_sop_instance_uid="1.2.3")
    )


# Presentation context IDs of the peers below: CT Image Storage first, then Verification.
CT_CONTEXT_ID, VERIFICATION_CONTEXT_ID = 1, 3


def _echo_in_tiny_pdus() -> list[bytes]:
    return _tiny_pdus(VERIFICATION_CONTEXT_ID, encode_command(CEchoRQ(message_id=1)))


def _store_with_data_set_in_tiny_pdus() -> list[bytes]:
    """The C-STORE-RQ command in one PDU, then its data set a byte per PDU."""
    (command,) = fragment_message(CT_CONTEXT_ID, _store_command(), None, 16384)
    fragments = [
        pdu
        for pdu in fragment_message(CT_CONTEXT_ID, _store_command(), bytes(64), 7)
        if not pdu.values[0].is_command
    ]
    return [command.encode(), *(pdu.encode() for pdu in fragments)]


async def _peer_sending_pdus_every(interval: float, peer: RawPeer, pdus: list[bytes]) -> None:
    with contextlib.suppress(ConnectionError):
        for data in pdus:
            peer.writer.write(data)
            await peer.writer.drain()
            await asyncio.sleep(interval)


@pytest.mark.parametrize(
    "pdus", [_echo_in_tiny_pdus(), _store_with_data_set_in_tiny_pdus()], ids=["command", "data-set"]
)
def test_a_peer_sending_a_message_in_tiny_complete_pdus_is_aborted_within_the_network_timeout(
    pdus: list[bytes], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> tuple[AbortPDU, Observer, float]:
        observer = Observer()
        ae = scp_ae(
            SupportedContext(CT_IMAGE_STORAGE, (IMPLICIT_LE,)),
            timeouts=Timeouts(artim=5.0, acse=5.0, dimse=5.0, network=NETWORK),
        )
        async with serving(ae, observer=observer) as server:
            context = RequestedContext(CT_IMAGE_STORAGE, (IMPLICIT_LE,))
            peer = await RawPeer.associate(server.port, [context, VERIFICATION_CONTEXT])
            loop = asyncio.get_running_loop()
            started = loop.time()
            sending = asyncio.create_task(_peer_sending_pdus_every(TRICKLE_INTERVAL, peer, pdus))
            # Sent whole, the message would take len(pdus) / 4 s (17 s and more).
            abort = await asyncio.wait_for(peer.read_pdu(), NETWORK + 1.0)
            elapsed = loop.time() - started
            assert not sending.done()
            sending.cancel()
            with contextlib.suppress(ConnectionResetError):  # a PDU sent after the close
                assert await asyncio.wait_for(peer.reader.read(), 5) == b""  # then closed
            await peer.close()
            assert await observer.outcomes() == [Outcome.ABORTED_LOCALLY]
            assert server.active_associations == 0
        assert isinstance(abort, AbortPDU)
        return abort, observer, elapsed

    # Under the whole suite, Django's LOGGING (set up by other tests in this process) keeps
    # "dicomkit" from propagating to the root logger, where caplog listens.
    monkeypatch.setattr(logging.getLogger("dicomkit"), "propagate", True)
    with caplog.at_level(logging.INFO, logger="dicomkit.net.aio.association"):
        abort, observer, elapsed = run(scenario())
    assert abort.source == AbortSource.SERVICE_USER  # AA-1's, as for a late PDU
    assert NETWORK <= elapsed < NETWORK + 1.0
    detail = observer.ends()[0].detail
    assert detail.startswith("a DIMSE message was not complete within 1 s ("), detail
    (record,) = [
        r
        for r in caplog.records
        if r.getMessage() == "aborting association whose DIMSE message arrives too slowly"
    ]
    fields = record.__dict__
    assert 1 <= fields["fragments"] < len(pdus)
    assert fields["fragments"] <= fields["message_bytes"] < 1000  # the PDUs' bytes read so far
    assert NETWORK <= fields["limit_seconds"] < NETWORK + 0.1  # a few bytes at 16 KiB/s
    assert fields["min_receive_rate"] == 16 * 1024.0


def _store_response_status(assembler: MessageAssembler, pdata: object) -> int | None:
    assert isinstance(pdata, PDataTF)
    message = [assembler.feed(value) for value in pdata.values][-1]
    if message is None:
        return None
    assert isinstance(message.command, CStoreRSP)
    return message.command.status


async def _store_paced(size: int, pdu_length: int, interval: float, timeouts: Timeouts) -> int:
    """Send a C-STORE of ``size`` data set bytes in PDUs of ``pdu_length``, one PDU per
    ``interval`` (0: all at once); the response's status."""
    ae = scp_ae(SupportedContext(CT_IMAGE_STORAGE, (IMPLICIT_LE,)), timeouts=timeouts)
    async with serving(ae) as server:  # no storage service: the data set is read, then 0122H
        peer = await RawPeer.associate(server.port, [RequestedContext(CT_IMAGE_STORAGE, (IMPLICIT_LE,))])
        for pdu in fragment_message(CT_CONTEXT_ID, _store_command(), bytes(size), pdu_length):
            peer.writer.write(pdu.encode())
            await peer.writer.drain()
            if interval:
                await asyncio.sleep(interval)
        assembler = MessageAssembler()
        while (
            status := _store_response_status(assembler, await asyncio.wait_for(peer.read_pdu(), 5))
        ) is None:
            pass
        await peer.close()
        return status


def test_a_large_data_set_sent_quickly_in_many_pdus_is_received() -> None:
    # 768 KiB (under the 1 MiB kept of a data set no service takes) in 48 PDUs of 16 KiB,
    # sent at once over loopback.
    timeouts = Timeouts(artim=5.0, acse=5.0, dimse=5.0, network=0.5, min_receive_rate=32 * 1024.0)
    assert run(_store_paced(768 * 1024, 16384, 0.0, timeouts)) == 0x0122  # answered: taken whole


def test_a_message_slower_than_the_network_timeout_but_above_the_minimum_rate_is_received() -> None:
    # 256 KiB in 16 KiB PDUs, one per 0.125 s: about 2 s at 128 KiB/s, twice the network
    # timeout, but each second brings two seconds of deadline at the 64 KiB/s floor.
    timeouts = Timeouts(artim=5.0, acse=5.0, dimse=5.0, network=NETWORK, min_receive_rate=64 * 1024.0)
    started = time.monotonic()
    assert run(_store_paced(256 * 1024, 16384, 0.125, timeouts)) == 0x0122
    assert time.monotonic() - started > 2 * NETWORK  # the pacing took longer than the timeout
