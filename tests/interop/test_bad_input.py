"""Bad input against a running server (our server as its own process), over raw sockets.

Each case ends as PS3.8 prescribes for the state it reaches: in Sta2 (awaiting the
A-ASSOCIATE-RQ) an invalid or unexpected PDU gets an A-ABORT (AA-1) and the server then
waits for our close; an A-ASSOCIATE-RQ that decodes but names nobody we know gets an
A-ASSOCIATE-RJ; a transport closed mid-PDU or a silent peer is simply closed (AA-5,
ARTIM/AA-2). Afterwards the server still serves echoscu, and a few hundred bad
connections do not grow its memory.
"""

from __future__ import annotations

import random
import socket
import struct

import pytest

from dicomkit.net.pdu import PresentationContextRQ, UserInformation
from tests.interop.conftest import StartDicomkitServer, run_echoscu

IMPLICIT = "1.2.840.10008.1.2"
APPLICATION_CONTEXT = b"1.2.840.10008.3.1.1.1"


def _associate_rq(
    *,
    called: bytes = b"DICOMKIT".ljust(16),
    calling: bytes = b"BADPEER".ljust(16),
    context_ids: list[int] | None = None,
) -> bytes:
    """An A-ASSOCIATE-RQ built by hand, so that it can break the rules."""
    items = struct.pack(">BxH", 0x10, len(APPLICATION_CONTEXT)) + APPLICATION_CONTEXT
    for context_id in context_ids if context_ids is not None else [1]:
        items += PresentationContextRQ(context_id, "1.2.840.10008.1.1", (IMPLICIT,)).encode()
    items += UserInformation(maximum_length=16384, implementation_class_uid="1.2.3.4").encode()
    body = struct.pack(">H2x", 1) + called + calling + bytes(32) + items
    return struct.pack(">BxL", 0x01, len(body)) + body


def _pdata_tf() -> bytes:
    pdv = struct.pack(">LBB", 4, 1, 0x03) + b"\x00\x00"
    return struct.pack(">BxL", 0x04, len(pdv)) + pdv


_rng = random.Random(20261123)

CASES: dict[str, tuple[bytes, str]] = {
    # name: (bytes sent, expected answer: "abort", "reject:<result>/<source>/<reason>", "close")
    "random bytes": (bytes([0x42]) + _rng.randbytes(999), "abort"),
    "PDU length 2**32-1": (struct.pack(">BxL", 0x01, 0xFFFFFFFF) + bytes(64), "abort"),
    "unknown PDU type": (struct.pack(">BxL", 0x0A, 4) + bytes(4), "abort"),
    "P-DATA before association": (_pdata_tf(), "abort"),
    "truncated PDU": (_associate_rq()[:40], "close"),
    "no presentation context": (_associate_rq(context_ids=[]), "abort"),
    "200 presentation contexts": (
        _associate_rq(context_ids=[(2 * i + 1) % 256 for i in range(200)]),
        "abort",
    ),
    "empty called AE title": (_associate_rq(called=b" " * 16), "reject:1/1/7"),
    "empty calling AE title": (_associate_rq(calling=b" " * 16), "reject:1/1/3"),
    "AE title of 17 characters": (_associate_rq(called=b"A" * 17), "abort"),
    "silent peer": (b"", "close"),
}


def _expect(port: int, data: bytes, expected: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        if data:
            sock.sendall(data)
        if expected == "close" and data:
            sock.shutdown(socket.SHUT_WR)  # the transport closes mid-PDU
        answer = b""
        while len(answer) < 10:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    if expected == "close":
        assert answer == b""
    elif expected == "abort":
        assert answer[:1] == b"\x07" and len(answer) == 10, answer[:16]
    else:
        result, source, reason = (int(x) for x in expected.split(":")[1].split("/"))
        assert answer[:6] == b"\x03\x00\x00\x00\x00\x04", answer[:16]
        assert tuple(answer[7:10]) == (result, source, reason)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_ends_as_prescribed_and_the_server_keeps_serving(
    dicomkit_server: StartDicomkitServer, case: str
) -> None:
    server = dicomkit_server(artim=0.5)
    data, expected = CASES[case]
    _expect(server.port, data, expected)
    assert server.alive()
    result = run_echoscu(server.port)
    assert result.returncode == 0, result.stderr


def test_hundreds_of_bad_connections_do_not_grow_memory(dicomkit_server: StartDicomkitServer) -> None:
    server = dicomkit_server(artim=0.5)
    cases = [case for case in CASES.values() if case[1] != "close" or case[0]]  # not the 0.5 s silent one

    def round_of_bad_input() -> None:
        for _ in range(25):
            for data, expected in cases:
                _expect(server.port, data, expected)

    round_of_bad_input()  # warm up: imports, caches, allocator pools
    before = server.rss_kib()
    round_of_bad_input()
    round_of_bad_input()
    after = server.rss_kib()
    assert after - before < 2048, f"RSS grew from {before} KiB to {after} KiB"
    assert run_echoscu(server.port).returncode == 0
