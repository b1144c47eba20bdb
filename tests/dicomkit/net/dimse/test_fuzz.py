"""Fuzz targets for the DIMSE decoder and assembler: only dicomkit errors escape (h11's invariant)."""

from __future__ import annotations

import contextlib
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.errors import RemoteProtocolError
from dicomkit.net.dimse import (
    MESSAGE_TYPES,
    CommandField,
    DimseMessage,
    MemorySink,
    MessageAssembler,
    decode_command,
    encode_command,
)
from dicomkit.net.pdu import PresentationDataValue
from tests.dicomkit.net.dimse.dimse_strategies import messages

_KNOWN = [0x0000, 0x0002, 0x0003, 0x0100, 0x0110, 0x0120, 0x0600, 0x0700, 0x0800, 0x0900, 0x0901,
          0x0902, 0x0903, 0x1000, 0x1001, 0x1002, 0x1005, 0x1008, 0x1020, 0x1021, 0x1022, 0x1023,
          0x1030, 0x1031]  # fmt: skip
_VALUES = st.one_of(
    st.binary(max_size=70),
    st.integers(0, 0xFFFF).map(lambda v: struct.pack("<H", v)),
    st.sampled_from([int(f) for f in CommandField]).map(lambda v: struct.pack("<H", v)),
    st.just(b"1.2.840.10008.1.1\x00"),
)


@st.composite
def element_soups(draw: st.DrawFn) -> bytes:
    """Well-framed group 0000 elements with arbitrary numbers and values."""
    parts = []
    for _ in range(draw(st.integers(0, 10))):
        number = draw(st.one_of(st.sampled_from(_KNOWN), st.integers(0, 0xFFFF)))
        value = draw(_VALUES)
        parts.append(struct.pack("<HHL", 0, number, len(value)) + value)
    return b"".join(parts)


@settings(max_examples=400)
@given(st.one_of(st.binary(max_size=200), element_soups()))
def test_random_command_sets_decode_or_raise_remote_protocol_error(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_command(data)


@st.composite
def mutated_command_sets(draw: st.DrawFn) -> bytes:
    data = bytearray(encode_command(draw(messages)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, len(data)))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif at < len(data):
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_command_sets())
def test_mutated_command_sets_decode_or_raise_remote_protocol_error(data: bytes) -> None:
    try:
        message = decode_command(data)
    except RemoteProtocolError:
        return
    assert isinstance(message, tuple(MESSAGE_TYPES.values()))


_pdvs = st.builds(
    PresentationDataValue,
    st.sampled_from([1, 3]),
    st.integers(0, 255),
    st.one_of(st.binary(max_size=64), messages.map(encode_command)),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_pdvs, max_size=12))
def test_any_pdv_sequence_yields_messages_or_remote_protocol_error(pdvs: list[PresentationDataValue]) -> None:
    assembler = MessageAssembler(sink_factory=lambda context_id, command: MemorySink(limit=4096))
    for pdv in pdvs:
        try:
            assembler.feed(pdv)
        except RemoteProtocolError:
            assert not assembler.in_progress  # errors leave a clean state


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_a_command_fed_one_byte_per_pdv_is_the_same_message(message: DimseMessage) -> None:
    encoded = encode_command(message)
    assembler = MessageAssembler()
    results = [
        assembler.feed(PresentationDataValue(1, 0x03 if i == len(encoded) - 1 else 0x01, encoded[i : i + 1]))
        for i in range(len(encoded))
    ]
    assert results[:-1] == [None] * (len(encoded) - 1)
    if message.has_dataset:
        assert results[-1] is None and assembler.in_progress
    else:
        last = results[-1]
        assert last is not None and last.command == message
