"""Fuzz target for PDU decoding and the UL connection (h11's invariant: only our errors escape).

Hypothesis picks a well-formed PDU from a corpus and applies a few mutations (byte
flips, inserts, deletes, truncation, random length fields, concatenation). Each case is
fed to ``decode_pdu`` and to connections in three states, whole and one byte at a time.

- ``decode_pdu`` may only raise dicomkit errors.
- A connection never raises on peer input: malformed input becomes an A-ABORT.
- Feeding whole or byte by byte gives the same events and the same bytes back.
- The connection never holds more than one bounded PDU.
- Each case is fast (hypothesis deadline).

Cases: 20,000 when the CI environment variable is set, else 500; DICOMKIT_FUZZ_CASES
overrides both.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.errors import DicomError
from dicomkit.net.acse import build_request, negotiate
from dicomkit.net.config import AEConfig, RequestedContext, SupportedContext
from dicomkit.net.pdu import (
    AbortPDU,
    AssociateAC,
    PDataTF,
    PresentationDataValue,
    ReleaseRP,
    ReleaseRQ,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityRQ,
    decode_pdu,
)
from dicomkit.net.ul.connection import NEED_DATA, Connection, ConnectionEvent, Role
from tests.dicomkit.net.pdu_bytes import ALL_PDUS, SOP_CLASS_COMMON_EXTENDED_BYTES, SOP_CLASS_EXTENDED_BYTES


def _cases() -> int:
    if "DICOMKIT_FUZZ_CASES" in os.environ:
        return int(os.environ["DICOMKIT_FUZZ_CASES"])
    return 20_000 if os.environ.get("CI") else 500


CASES = _cases()
MAX_ASSOCIATE = 4096  # small bounds so that length mutations cross them often
TS = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
SCU = AEConfig("FUZZ-SCU", max_pdu_length=1024)
SCP = AEConfig(
    "FUZZ-SCP",
    supported_contexts=(
        SupportedContext("1.2.840.10008.1.1", TS),
        SupportedContext("1.2.3", TS, scp_role=True),
    ),
    max_pdu_length=2048,
)
RQ = build_request(
    SCU,
    called_ae_title="FUZZ-SCP",
    contexts=[
        RequestedContext("1.2.840.10008.1.1", TS),
        RequestedContext("1.2.3", TS, scu_role=True, scp_role=True),
        RequestedContext("1.2.4", TS),
    ],
    user_identity=UserIdentityRQ(2, b"user", b"secret", positive_response_requested=True),
    extended_negotiations=[SOPClassExtendedNegotiation("1.2.3", b"\x01\x01")],
    common_extended_negotiations=[SOPClassCommonExtendedNegotiation("1.2.3", "1.2.5", ("1.2.6",))],
)
AC = negotiate(RQ, SCP, user_identity_response=b"ok")
assert isinstance(AC, AssociateAC)

CORPUS: list[bytes] = [raw for _, raw, _ in ALL_PDUS] + [
    RQ.encode(),
    AC.encode(),
    PDataTF((PresentationDataValue(1, 3, b"\x00" * 40), PresentationDataValue(1, 0, b"\x01" * 7))).encode(),
    ReleaseRQ().encode(),
    ReleaseRP().encode(),
    AbortPDU().encode(),
    # items alone, wrapped as if they were PDUs of every type
    *(bytes([t, 0]) + struct.pack(">L", len(item)) + item for t in range(1, 8) for item in (
        SOP_CLASS_EXTENDED_BYTES, SOP_CLASS_COMMON_EXTENDED_BYTES)),
]  # fmt: skip

_mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "truncate", "len16", "len32", "concat"]),
    st.integers(0, 1 << 16),
    st.integers(0, (1 << 32) - 1),
)


def mutate(data: bytes, mutations: list[tuple[str, int, int]], fix_length: bool = False) -> bytes:
    """Apply mutations; with ``fix_length`` the PDU-length is then made consistent again,
    so that the decoder gets past its first check and into the items."""
    buf = bytearray(data)
    for kind, position, value in mutations:
        pos = position % (len(buf) + 1)
        if kind == "flip" and buf:
            buf[pos % len(buf)] = value & 0xFF
        elif kind == "insert":
            buf[pos:pos] = value.to_bytes(4, "big")[: 1 + value % 4]
        elif kind == "delete":
            del buf[pos : pos + 1 + value % 8]
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "len16":
            buf[pos : pos + 2] = (value & 0xFFFF).to_bytes(2, "big")
        elif kind == "len32":
            buf[pos : pos + 4] = value.to_bytes(4, "big")
        elif kind == "concat":
            buf += CORPUS[value % len(CORPUS)]
    if fix_length and len(buf) >= 6:
        buf[2:6] = (len(buf) - 6).to_bytes(4, "big")
    return bytes(buf)


fuzz_inputs = st.builds(mutate, st.sampled_from(CORPUS), st.lists(_mutation, max_size=4), st.booleans())


def settled(conn: Connection) -> Connection:
    while conn.next_event() is not NEED_DATA:
        pass
    conn.data_to_send()
    return conn


def requestor_awaiting_ac() -> Connection:
    conn = Connection(Role.REQUESTOR, max_associate_pdu_length=MAX_ASSOCIATE)
    conn.send(RQ)
    conn.connection_made()
    return settled(conn)


def acceptor_awaiting_rq() -> Connection:
    conn = Connection(Role.ACCEPTOR, max_associate_pdu_length=MAX_ASSOCIATE)
    conn.connection_made()
    return settled(conn)


def acceptor_established() -> Connection:
    conn = acceptor_awaiting_rq()
    conn.receive_data(RQ.encode())
    settled(conn)
    conn.send(AC)
    return settled(conn)


FACTORIES: list[Callable[[], Connection]] = [
    requestor_awaiting_ac,
    acceptor_awaiting_rq,
    acceptor_established,
]


def describe(event: ConnectionEvent) -> object:
    if isinstance(event, PDataTF):  # memoryview reprs carry addresses
        return [(v.context_id, v.control_header, bytes(v.data)) for v in event.values]
    return event


def run(conn: Connection, chunks: list[bytes]) -> tuple[list[object], bytes]:
    """Feed chunks, draining events after each; the event log and the bytes sent back."""
    log: list[object] = []
    bound = 6 + max(MAX_ASSOCIATE, conn.our_max_pdu_length)
    for chunk in chunks:
        conn.receive_data(chunk)
        assert conn.buffered < bound
        while (event := conn.next_event()) is not NEED_DATA:
            log.append(describe(event))
    return [*log, conn.state], conn.data_to_send()


FUZZ_SETTINGS = settings(
    max_examples=CASES,
    deadline=1000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ_SETTINGS
@given(fuzz_inputs)
def test_decode_pdu_raises_only_dicomkit_errors(data: bytes) -> None:
    try:
        pdu = decode_pdu(data)
    except DicomError:
        return
    assert decode_pdu(pdu.encode()) == pdu  # whatever decodes, re-encodes to the same PDU


@FUZZ_SETTINGS
@given(fuzz_inputs, st.sampled_from(FACTORIES))
def test_connection_survives_any_input_whole_and_byte_by_byte(
    data: bytes, factory: Callable[[], Connection]
) -> None:
    whole = run(factory(), [data])
    byte_by_byte = run(factory(), [data[i : i + 1] for i in range(len(data))])
    assert whole == byte_by_byte
