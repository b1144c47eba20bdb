"""``send_in_batches``: PDUs produced by a worker, a batch at a time, sent on the loop in
order; what the source raises comes out as it is; a cancelled sender waits for the
worker's read in flight before it lets its caller close the stream."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from dicomkit.errors import CodecError, LocalProtocolError
from dicomkit.net.dimse.batches import send_in_batches
from dicomkit.net.pdu import PDataTF, PresentationDataValue


def _pdu(index: int, size: int = 1000) -> PDataTF:
    return PDataTF((PresentationDataValue(1, 0, bytes([index % 256]) * size),))


class Recorder:
    """The batches sent, and the thread each PDU was produced on."""

    def __init__(self) -> None:
        self.batches: list[list[PDataTF]] = []
        self.producers: list[int] = []
        self.runs = 0

    def source(
        self, count: int, *, fail_at: int | None = None, error: Exception | None = None
    ) -> Iterator[PDataTF]:
        for index in range(count):
            if index == fail_at:
                assert error is not None
                raise error
            self.producers.append(threading.get_ident())
            yield _pdu(index)

    async def send(self, batch: list[PDataTF]) -> None:
        self.batches.append(batch)

    async def run(self, function: Callable[[], list[PDataTF]]) -> list[PDataTF]:
        self.runs += 1
        return await asyncio.to_thread(function)


def test_pdus_are_produced_off_the_loop_and_sent_in_order_in_bounded_batches() -> None:
    recorder = Recorder()

    async def scenario() -> int:
        await send_in_batches(recorder.send, recorder.source(25), recorder.run, batch_bytes=5000)
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    sent = [pdu for batch in recorder.batches for pdu in batch]
    assert sent == [_pdu(index) for index in range(25)]
    # 1006 bytes of PDU-length each: five make a batch of at least 5000.
    assert [len(batch) for batch in recorder.batches] == [5, 5, 5, 5, 5]
    assert recorder.runs == 6  # the last call finds the end
    assert loop_thread not in recorder.producers


def test_a_pdu_larger_than_a_batch_goes_alone() -> None:
    recorder = Recorder()
    asyncio.run(send_in_batches(recorder.send, recorder.source(3), recorder.run, batch_bytes=10))
    assert [len(batch) for batch in recorder.batches] == [1, 1, 1]


@pytest.mark.parametrize(
    "error",
    [CodecError("frame 3 does not decode"), LocalProtocolError("stream ended"), OSError(5, "I/O error")],
    ids=["codec", "short-stream", "os"],
)
def test_what_the_source_raises_comes_out_after_the_batches_before_it(error: Exception) -> None:
    recorder = Recorder()
    source = recorder.source(25, fail_at=12, error=error)
    with pytest.raises(type(error)) as raised:
        asyncio.run(send_in_batches(recorder.send, source, recorder.run, batch_bytes=5000))
    assert raised.value is error
    assert [len(batch) for batch in recorder.batches] == [5, 5]


def test_a_cancelled_sender_waits_for_the_read_in_flight_before_it_stops() -> None:
    reading = threading.Event()
    release = threading.Event()
    finished: list[str] = []

    def source() -> Iterator[PDataTF]:
        yield _pdu(0)
        reading.set()
        release.wait(10)  # a long decode
        finished.append("read")
        yield _pdu(1)

    async def send(batch: list[PDataTF]) -> None:
        pass

    async def scenario() -> None:
        task = asyncio.create_task(send_in_batches(send, source(), asyncio.to_thread, batch_bytes=1))
        await asyncio.to_thread(reading.wait, 10)
        task.cancel()
        done, _ = await asyncio.wait((task,), timeout=0.05)
        assert not done, "the sender stopped while its worker was still reading"
        task.cancel()  # cancelled again meanwhile: still waits
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        finished.append("stopped")

    asyncio.run(scenario())
    assert finished == ["read", "stopped"]


def test_a_batch_size_that_is_not_positive_is_refused() -> None:
    recorder = Recorder()
    with pytest.raises(ValueError, match="not positive"):
        asyncio.run(send_in_batches(recorder.send, recorder.source(1), recorder.run, batch_bytes=0))


def test_the_next_batch_is_produced_while_the_loop_sends_this_one() -> None:
    sending_first = threading.Event()
    produced_second_while_sending: list[bool] = []

    def source() -> Iterator[PDataTF]:
        yield _pdu(0)
        # Only reachable while batch 1 is being sent when the two overlap; produced one
        # after the other, this waits in vain and the assertion below fails.
        produced_second_while_sending.append(sending_first.wait(5))
        yield _pdu(1)

    async def send(batch: list[PDataTF]) -> None:
        if batch[0] == _pdu(0):
            sending_first.set()
            await asyncio.sleep(0.2)  # the socket takes a while: the worker goes on meanwhile
            sending_first.clear()

    asyncio.run(send_in_batches(send, source(), asyncio.to_thread, batch_bytes=1))
    assert produced_second_while_sending == [True]


def test_a_failed_send_waits_for_the_batch_being_produced_then_raises_its_own_error() -> None:
    reading = threading.Event()
    finished: list[str] = []

    def source() -> Iterator[PDataTF]:
        yield _pdu(0)
        reading.set()
        time.sleep(0.2)  # a decode in progress when the send fails
        finished.append("read")
        raise CodecError("frame 1 does not decode")

    async def send(batch: list[PDataTF]) -> None:
        await asyncio.to_thread(reading.wait, 5)
        raise ConnectionResetError("the peer went away")

    with pytest.raises(ConnectionResetError):
        asyncio.run(send_in_batches(send, source(), asyncio.to_thread, batch_bytes=1))
    assert finished == ["read"]
