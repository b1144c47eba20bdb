"""The requestor's bounds on a slow acceptor: a DIMSE response sent a byte per PDU.

What we receive as the SCU (C-ECHO, C-FIND responses, C-GET sub-operations) is bounded as
what we receive as the SCP: a raw acceptor on loopback answers a C-ECHO-RQ with its
C-ECHO-RSP in one-byte fragments, each in a complete P-DATA-TF sent sooner than the
network timeout, so no PDU is late and the association is never idle.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from dicomkit.errors import NetworkTimeout
from dicomkit.net.acse import negotiate
from dicomkit.net.aio import VERIFICATION_CONTEXT, open_association
from dicomkit.net.config import Timeouts
from dicomkit.net.dimse.assemble import MessageAssembler
from dicomkit.net.dimse.commands import CEchoRQ, CEchoRSP, encode_command
from dicomkit.net.dimse.fragment import fragment_message
from dicomkit.net.pdu import AbortPDU, AbortSource, AssociateAC, AssociateRQ, PDataTF, decode_pdu
from tests.dicomkit.net.aio.servers import run, scp_ae, scu_ae

NETWORK = 1.0
INTERVAL = 0.25  # between the response's PDUs: well inside NETWORK


async def _read_pdu(reader: asyncio.StreamReader) -> object:
    header = await reader.readexactly(6)
    return decode_pdu(header + await reader.readexactly(int.from_bytes(header[2:6], "big")))


def test_a_response_sent_a_byte_per_pdu_aborts_the_requestor_within_the_network_timeout() -> None:
    async def scenario() -> tuple[str, float, object]:
        aborts: asyncio.Queue[object] = asyncio.Queue()

        async def acceptor(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                request = await _read_pdu(reader)
                assert isinstance(request, AssociateRQ)
                accept = negotiate(request, scp_ae())
                assert isinstance(accept, AssociateAC)
                writer.write(accept.encode())
                pdata = await _read_pdu(reader)
                assert isinstance(pdata, PDataTF)
                (message,) = [m for m in map(MessageAssembler().feed, pdata.values) if m is not None]
                assert isinstance(message.command, CEchoRQ)
                response = encode_command(CEchoRSP(message.command.message_id, status=0))
                sending = asyncio.create_task(_send_every(INTERVAL, writer, response, message.context_id))
                await aborts.put(await _read_pdu(reader))  # what the requestor sends meanwhile
                sending.cancel()
            writer.close()

        server = await asyncio.start_server(acceptor, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        timeouts = Timeouts(artim=5.0, acse=5.0, dimse=10.0, network=NETWORK)  # DIMSE: later
        try:
            association = await open_association(
                "127.0.0.1", port, scu_ae(), "SCP", [VERIFICATION_CONTEXT], timeouts=timeouts
            )
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(NetworkTimeout) as info:
                await association.echo()
            elapsed = loop.time() - started
            sent = await asyncio.wait_for(aborts.get(), 5)
        finally:
            server.close()
            await server.wait_closed()
        return str(info.value), elapsed, sent

    detail, elapsed, sent = run(scenario())
    assert detail.startswith("a DIMSE message was not complete within 1 s ("), detail
    assert NETWORK <= elapsed < NETWORK + 1.0  # sent whole, the response takes 17 s and more
    assert isinstance(sent, AbortPDU)
    assert sent.source == AbortSource.SERVICE_USER


async def _send_every(interval: float, writer: asyncio.StreamWriter, command: bytes, context_id: int) -> None:
    """``command`` as P-DATA-TFs of one 1-byte fragment each, one per ``interval``."""
    with contextlib.suppress(ConnectionError):
        for pdu in fragment_message(context_id, command, None, 7):
            writer.write(pdu.encode())
            await writer.drain()
            await asyncio.sleep(interval)
