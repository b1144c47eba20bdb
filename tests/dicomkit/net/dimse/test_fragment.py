"""Fragmentation into P-DATA-TF PDUs under the peer's maximum PDU length (PS3.8 §9.3.5, Annex E)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomkit.errors import LocalProtocolError
from dicomkit.net.dimse import CEchoRQ, CStoreRQ, encode_command
from dicomkit.net.dimse.fragment import UNLIMITED_FRAGMENT, fragment_message, fragment_size, fragment_stream
from dicomkit.net.pdu import PDataTF, decode_pdu

COMMAND = encode_command(CStoreRQ(1, "1.2.840.10008.5.1.4.1.1.2", "1.2.3.4"))


def wire(pdus: list[PDataTF]) -> list[PDataTF]:
    """The PDUs as the peer decodes them from the bytes we send."""
    decoded = []
    for pdu in pdus:
        raw = pdu.encode()
        again = decode_pdu(raw)
        assert isinstance(again, PDataTF)
        decoded.append(again)
    return decoded


def check_message(pdus: list[PDataTF], max_pdu_length: int, command: bytes, dataset: bytes | None) -> None:
    """Every PDU within the limit, one PDV each, headers right, and the parts rejoin exactly."""
    headers = []
    command_parts: list[bytes] = []
    data_parts: list[bytes] = []
    for pdu in wire(pdus):
        assert len(pdu.values) == 1
        assert max_pdu_length == 0 or pdu.length <= max_pdu_length
        (pdv,) = pdu.values
        assert pdv.context_id == 5
        headers.append(pdv.control_header)
        (command_parts if pdv.is_command else data_parts).append(bytes(pdv.data))
    n_command = len(command_parts)
    # command fragments first, only the last of each part flagged last (PS3.8 E.2)
    assert headers[:n_command] == [0x01] * (n_command - 1) + [0x03]
    assert b"".join(command_parts) == command
    if dataset is None:
        assert len(headers) == n_command
    else:
        assert headers[n_command:] == [0x00] * (len(data_parts) - 1) + [0x02]
        assert b"".join(data_parts) == dataset


@pytest.mark.parametrize("max_pdu_length", [4096, 16384, 16390, 65536, 1 << 20, 0])
@pytest.mark.parametrize("size", [0, 1, 4089, 4090, 4091, 16378, 16384, 100_000])
def test_messages_fragment_within_the_limit_and_rejoin(max_pdu_length: int, size: int) -> None:
    dataset = bytes(i % 251 for i in range(size))
    pdus = list(fragment_message(5, COMMAND, dataset, max_pdu_length))
    check_message(pdus, max_pdu_length, COMMAND, dataset)


@pytest.mark.parametrize("max_pdu_length", [4096, 16384, 65536])
def test_a_data_set_that_exactly_fits_takes_one_pdu_and_one_byte_more_takes_two(max_pdu_length: int) -> None:
    room = max_pdu_length - 6  # Item-length, context ID and control header count (PS3.8 9.3.5)
    fits = list(fragment_message(5, COMMAND, bytes(room), max_pdu_length))
    over = list(fragment_message(5, COMMAND, bytes(room + 1), max_pdu_length))
    assert len(fits) == 2 and fits[1].length == max_pdu_length
    assert len(fits[1].encode()) == max_pdu_length + 6
    assert len(over) == 3 and [len(pdu.values[0].data) for pdu in over[1:]] == [room, 1]


def test_a_command_set_is_fragmented_too_when_the_limit_is_tiny() -> None:
    pdus = list(fragment_message(5, COMMAND, b"\x08\x00", 16))
    check_message(pdus, 16, COMMAND, b"\x08\x00")
    assert sum(1 for pdu in pdus if pdu.values[0].is_command) == -(-len(COMMAND) // 10)


@settings(max_examples=60)
@given(
    max_pdu_length=st.one_of(st.just(0), st.integers(7, 600)),
    command=st.binary(min_size=1, max_size=300),
    dataset=st.one_of(st.none(), st.binary(max_size=3000)),
)
def test_any_message_fragments_and_rejoins(
    max_pdu_length: int, command: bytes, dataset: bytes | None
) -> None:
    check_message(
        list(fragment_message(5, command, dataset, max_pdu_length)), max_pdu_length, command, dataset
    )


def test_a_message_without_data_set_is_its_command_only() -> None:
    command = encode_command(CEchoRQ(1))
    (pdu,) = fragment_message(1, command, None, 16384)
    assert pdu.values[0].control_header == 0x03
    assert pdu.encode()[:12] == bytes.fromhex("0400") + (len(command) + 6).to_bytes(4, "big") + (
        len(command) + 2
    ).to_bytes(4, "big") + bytes([1, 3])


def test_unlimited_length_still_cuts_very_large_data_sets() -> None:
    dataset = memoryview(bytearray(UNLIMITED_FRAGMENT + 10))
    pdus = list(fragment_message(3, COMMAND, dataset, 0))
    assert [len(pdu.values[0].data) for pdu in pdus[1:]] == [UNLIMITED_FRAGMENT, 10]


def test_fragments_are_views_of_the_callers_buffer() -> None:
    dataset = bytearray(10_000)
    pdus = list(fragment_message(3, COMMAND, dataset, 4096))
    fragment = pdus[1].values[0].data
    assert isinstance(fragment, memoryview) and fragment.obj is dataset


@pytest.mark.parametrize("max_pdu_length", [-1, 1, 6, 2**32])
def test_a_limit_that_cannot_carry_data_is_local_misuse(max_pdu_length: int) -> None:
    with pytest.raises(LocalProtocolError):
        list(fragment_message(1, COMMAND, None, max_pdu_length))


def test_an_empty_command_is_local_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        list(fragment_message(1, b"", None, 0))


def test_fragment_size_counts_the_six_pdv_bytes() -> None:
    assert fragment_size(16384) == 16378
    assert fragment_size(7) == 1
    assert fragment_size(0) == UNLIMITED_FRAGMENT


# ------------------------------------------------------------------ from a stream


class RecordingReader:
    """A stream that returns at most ``burst`` bytes per read and records each request."""

    def __init__(self, data: bytes, burst: int) -> None:
        self.data = data
        self.pos = 0
        self.burst = burst
        self.requests: list[int] = []

    def read(self, size: int = -1, /) -> bytes:
        assert size >= 0, "fragment_stream asks for a byte count"
        self.requests.append(size)
        chunk = self.data[self.pos : self.pos + min(size, self.burst)]
        self.pos += len(chunk)
        return chunk


@pytest.mark.parametrize("max_pdu_length", [4096, 16384, 0])
def test_a_stream_is_sent_one_fragment_at_a_time(max_pdu_length: int) -> None:
    data = bytes(i % 253 for i in range(50_000))
    stream = RecordingReader(data + b"trailing bytes are not ours", burst=1 << 30)
    pdus = list(fragment_stream(5, stream, len(data), max_pdu_length))
    check_message([*fragment_message(5, COMMAND, None, max_pdu_length), *pdus], max_pdu_length, COMMAND, data)
    assert max(stream.requests) <= fragment_size(max_pdu_length)
    assert stream.pos == len(data)


def test_short_reads_are_not_mistaken_for_the_end() -> None:
    data = bytes(range(256)) * 40
    pdus = list(fragment_stream(5, RecordingReader(data, burst=7), len(data), 4096))
    assert b"".join(bytes(pdu.values[0].data) for pdu in pdus) == data
    assert [pdu.values[0].control_header for pdu in pdus] == [0, 0, 2]


def test_a_stream_ending_early_is_local_error() -> None:
    fragments = fragment_stream(5, io.BytesIO(bytes(5000)), 9000, 4096)
    next(fragments)
    with pytest.raises(LocalProtocolError, match="ended after 5000 of 9000 bytes"):
        next(fragments)


def test_an_empty_stream_data_set_is_one_empty_last_fragment() -> None:
    (pdu,) = fragment_stream(5, io.BytesIO(b""), 0, 4096)
    assert pdu.values[0].control_header == 0x02 and pdu.values[0].data == b""
