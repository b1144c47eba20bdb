"""Reassembly of DIMSE messages from PDVs into sinks (PS3.7 §8, PS3.8 Annex E)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.errors import RemoteProtocolError
from dicomkit.net.dimse import (
    CEchoRQ,
    CFindRSP,
    CStoreRQ,
    DimseMessage,
    FileSink,
    MemorySink,
    Message,
    MessageAssembler,
    encode_command,
    fragment_message,
)
from dicomkit.net.pdu import PDataTF, PresentationDataValue, decode_pdu
from tests.dicomkit.net.dimse.dimse_strategies import messages

CT = "1.2.840.10008.5.1.4.1.1.2"
STORE = CStoreRQ(1, CT, "1.2.3.4")


def received(
    context_id: int, message: DimseMessage, dataset: bytes | None, max_pdu_length: int
) -> list[PresentationDataValue]:
    """The PDVs a peer decodes from the PDUs we send for one message."""
    pdvs: list[PresentationDataValue] = []
    for pdu in fragment_message(context_id, encode_command(message), dataset, max_pdu_length):
        decoded = decode_pdu(pdu.encode())
        assert isinstance(decoded, PDataTF)
        pdvs.extend(decoded.values)
    return pdvs


def feed_all(assembler: MessageAssembler, pdvs: list[PresentationDataValue]) -> list[Message]:
    out = []
    for pdv in pdvs:
        message = assembler.feed(pdv)
        if message is not None:
            out.append(message)
    return out


class RecordingSink:
    """A sink that keeps nothing but the size and type of each write, and its end."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, type]] = []
        self.closed = 0
        self.aborted = 0

    def write(self, data: bytes | memoryview) -> None:
        self.writes.append((len(data), type(data)))

    def close(self) -> None:
        self.closed += 1

    def abort(self) -> None:
        self.aborted += 1


class Factory:
    def __init__(self) -> None:
        self.calls: list[tuple[int, DimseMessage]] = []
        self.sinks: list[RecordingSink] = []

    def __call__(self, context_id: int, command: DimseMessage) -> RecordingSink:
        self.calls.append((context_id, command))
        self.sinks.append(RecordingSink())
        return self.sinks[-1]


def pdv(context_id: int, header: int, data: bytes = b"") -> PresentationDataValue:
    return PresentationDataValue(context_id, header, data)


# ------------------------------------------------------------------------ success


def test_a_message_without_data_set_completes_with_its_last_command_fragment() -> None:
    assembler = MessageAssembler()
    pdvs = received(3, CEchoRQ(5), None, 20)
    assert len(pdvs) > 1
    assert [assembler.feed(p) for p in pdvs[:-1]] == [None] * (len(pdvs) - 1)
    assert assembler.in_progress
    assert assembler.feed(pdvs[-1]) == Message(3, CEchoRQ(5), None)
    assert not assembler.in_progress


def test_a_c_store_data_set_arrives_in_a_memory_sink_by_default() -> None:
    data = bytes(i % 256 for i in range(40_000))
    (message,) = feed_all(MessageAssembler(), received(7, STORE, data, 4096))
    assert message.context_id == 7 and message.command == STORE
    assert isinstance(message.dataset, MemorySink)
    assert message.dataset.closed and message.dataset.getvalue() == data


def test_the_sink_receives_each_fragment_as_it_arrives_never_a_joined_copy() -> None:
    factory = Factory()
    assembler = MessageAssembler(sink_factory=factory)
    data = bytes(100_000)
    pdvs = received(7, STORE, data, 16384)
    data_pdvs = [p for p in pdvs if not p.is_command]
    feed_all(assembler, pdvs)
    assert factory.calls == [(7, STORE)]
    (sink,) = factory.sinks
    # one write per PDV, each at most one fragment, handed over as a view into the PDU
    assert [size for size, _ in sink.writes] == [len(p.data) for p in data_pdvs]
    assert max(size for size, _ in sink.writes) <= 16384 - 6
    assert {kind for _, kind in sink.writes} == {memoryview}
    assert (sink.closed, sink.aborted) == (1, 0)


def test_the_sink_is_chosen_once_the_command_is_known() -> None:
    factory = Factory()
    assembler = MessageAssembler(sink_factory=factory)
    pdvs = received(7, STORE, b"\x00" * 10, 0)
    assembler.feed(pdvs[0])
    assert factory.calls == [(7, STORE)]  # before any data fragment


def test_a_file_sink_writes_fragments_to_disk(tmp_path: Path) -> None:
    target = tmp_path / "incoming.part"
    assembler = MessageAssembler(sink_factory=lambda context_id, command: FileSink(target))
    data = bytes(i % 199 for i in range(70_000))
    (message,) = feed_all(assembler, received(1, STORE, data, 4096))
    assert isinstance(message.dataset, FileSink) and message.dataset.size == len(data)
    assert target.read_bytes() == data


def test_consecutive_messages_on_different_contexts() -> None:
    assembler = MessageAssembler()
    pending = CFindRSP(2, 0xFF00, "1.2.3", has_dataset=True)
    stream = [
        *received(1, CEchoRQ(1), None, 4096),
        *received(3, pending, b"\x08\x00\x52\x00\x06\x00\x00\x00STUDY ", 4096),
        *received(5, STORE, b"", 4096),
    ]
    out = feed_all(assembler, stream)
    assert [(m.context_id, m.command) for m in out] == [(1, CEchoRQ(1)), (3, pending), (5, STORE)]
    assert isinstance(out[2].dataset, MemorySink) and out[2].dataset.getvalue() == b""


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(
        st.tuples(messages, st.binary(max_size=600), st.sampled_from([1, 3, 255])), min_size=1, max_size=4
    ),
    max_pdu_length=st.one_of(st.just(0), st.integers(7, 200)),
)
def test_any_sequence_of_messages_is_reassembled_exactly(
    batch: list[tuple[DimseMessage, bytes, int]], max_pdu_length: int
) -> None:
    assembler = MessageAssembler()
    stream = []
    for message, data, context_id in batch:
        stream.extend(received(context_id, message, data if message.has_dataset else None, max_pdu_length))
    out = feed_all(assembler, stream)
    assert [(m.context_id, m.command) for m in out] == [(c, m) for m, _, c in batch]
    for got, (message, data, _) in zip(out, batch, strict=True):
        if message.has_dataset:
            assert isinstance(got.dataset, MemorySink) and got.dataset.getvalue() == data
        else:
            assert got.dataset is None


# ------------------------------------------------------------------------- errors

_ECHO = encode_command(CEchoRQ(1))
_STORE = encode_command(STORE)


def test_a_data_fragment_before_any_command_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError, match="without a command set before it"):
        MessageAssembler().feed(pdv(1, 0x02, b"\x00\x00"))


def test_command_fragments_interleaved_with_another_context_are_a_protocol_error() -> None:
    assembler = MessageAssembler()
    assembler.feed(pdv(1, 0x01, _ECHO[:10]))
    with pytest.raises(RemoteProtocolError, match="interleaved"):
        assembler.feed(pdv(3, 0x03, _ECHO[10:]))


def test_data_for_another_context_is_a_protocol_error_and_aborts_the_sink() -> None:
    factory = Factory()
    assembler = MessageAssembler(sink_factory=factory)
    assembler.feed(pdv(1, 0x03, _STORE))
    assembler.feed(pdv(1, 0x00, b"ab"))
    with pytest.raises(RemoteProtocolError, match="context 3 within a message on context 1"):
        assembler.feed(pdv(3, 0x02, b"cd"))
    assert factory.sinks[0].aborted == 1 and factory.sinks[0].closed == 0
    assert not assembler.in_progress


def test_a_command_fragment_while_a_data_set_is_incomplete_is_a_protocol_error() -> None:
    factory = Factory()
    assembler = MessageAssembler(sink_factory=factory)
    assembler.feed(pdv(1, 0x03, _STORE))
    with pytest.raises(RemoteProtocolError, match="data set of a C-STORE-RQ is incomplete"):
        assembler.feed(pdv(1, 0x03, _ECHO))
    assert factory.sinks[0].aborted == 1


def test_a_command_set_over_the_bound_is_refused_before_it_is_buffered() -> None:
    assembler = MessageAssembler(max_command_length=100)
    assembler.feed(pdv(1, 0x01, bytes(60)))
    with pytest.raises(RemoteProtocolError, match="exceeds 100 bytes"):
        assembler.feed(pdv(1, 0x01, bytes(41)))


def test_the_default_command_bound_is_64_kib() -> None:
    assembler = MessageAssembler()
    with pytest.raises(RemoteProtocolError, match="exceeds 65536 bytes"):
        for _ in range(17):
            assembler.feed(pdv(1, 0x01, bytes(4096)))


def test_an_undecodable_command_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError, match="malformed command set"):
        MessageAssembler().feed(pdv(1, 0x03, b"\x00\x00\x00\x01\x02\x00\x00\x00\x30"))


def test_the_assembler_recovers_after_an_error() -> None:
    assembler = MessageAssembler()
    with pytest.raises(RemoteProtocolError):
        assembler.feed(pdv(1, 0x02, b""))
    assert assembler.feed(pdv(1, 0x03, _ECHO)) == Message(1, CEchoRQ(1), None)


def test_abort_drops_the_message_in_progress_and_aborts_its_sink() -> None:
    factory = Factory()
    assembler = MessageAssembler(sink_factory=factory)
    assembler.feed(pdv(1, 0x03, _STORE))
    assembler.feed(pdv(1, 0x00, b"partial"))
    assembler.abort()
    assert factory.sinks[0].aborted == 1 and not assembler.in_progress


def test_a_memory_sink_limit_turns_an_oversized_data_set_into_a_protocol_error() -> None:
    sinks: list[MemorySink] = []

    def bounded(context_id: int, command: DimseMessage) -> MemorySink:
        sinks.append(MemorySink(limit=1000))
        return sinks[-1]

    assembler = MessageAssembler(sink_factory=bounded)
    with pytest.raises(RemoteProtocolError, match="1000-byte limit"):
        feed_all(assembler, received(1, STORE, bytes(1001), 4096))
    assert sinks[0].size == 0 and sinks[0].closed


# -------------------------------------------------------------------------- sinks


def test_an_aborted_file_sink_removes_its_file(tmp_path: Path) -> None:
    target = tmp_path / "incoming.part"
    sink = FileSink(target)
    sink.write(b"half")
    sink.abort()
    assert not target.exists()


def test_a_file_sink_on_a_callers_file_only_flushes_it() -> None:
    buffer = io.BytesIO()
    sink = FileSink(buffer)
    sink.write(memoryview(b"abc"))
    sink.close()
    sink.abort()  # the caller owns it: nothing to do
    assert not buffer.closed and buffer.getvalue() == b"abc"


# ------------------------------------------------------------- local sink failures


class FailingSink(RecordingSink):
    """A sink whose disk fills up after ``room`` writes (or on close when room is None)."""

    def __init__(self, room: int | None) -> None:
        super().__init__()
        self.room = room

    def write(self, data: bytes | memoryview) -> None:
        if self.room is not None and len(self.writes) >= self.room:
            raise OSError(28, "No space left on device")
        super().write(data)

    def close(self) -> None:
        if self.room is None:
            raise OSError(28, "No space left on device")
        super().close()


@pytest.mark.parametrize("room", [0, 2, None], ids=["first-write", "third-write", "close"])
def test_a_full_disk_drops_the_data_set_but_keeps_the_association(room: int | None) -> None:
    sinks: list[FailingSink] = []

    def factory(context_id: int, command: DimseMessage) -> FailingSink:
        sinks.append(FailingSink(room))
        return sinks[-1]

    assembler = MessageAssembler(sink_factory=factory)
    (message,) = feed_all(assembler, received(1, STORE, bytes(20_000), 4096))
    assert message.command == STORE and message.dataset is None
    assert isinstance(message.sink_error, OSError) and message.sink_error.errno == 28
    assert sinks[0].aborted == 1 and sinks[0].closed == 0
    # the next message on the association is unaffected
    assert feed_all(assembler, received(1, CEchoRQ(2), None, 4096)) == [Message(1, CEchoRQ(2), None)]


def test_a_sink_factory_that_cannot_create_its_file_is_a_sink_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "incoming.part"
    assembler = MessageAssembler(sink_factory=lambda context_id, command: FileSink(missing))
    (message,) = feed_all(assembler, received(1, STORE, bytes(100), 4096))
    assert message.dataset is None and isinstance(message.sink_error, FileNotFoundError)


def test_protocol_errors_still_win_over_a_dropped_data_set() -> None:
    assembler = MessageAssembler(sink_factory=lambda context_id, command: FailingSink(0))
    assembler.feed(pdv(1, 0x03, _STORE))
    assembler.feed(pdv(1, 0x00, b"ab"))
    with pytest.raises(RemoteProtocolError, match="context 3"):
        assembler.feed(pdv(3, 0x02, b"cd"))
