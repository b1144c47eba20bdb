"""Senders that misbehave at the transport level, against the product's server (``run_dicom_server``).

The peer here is a plain blocking socket speaking PDUs built by dicomkit's pure encoders, so
it can do what no correct SCU does:

- stall in the middle of a data set: the network timeout aborts the association, the
  staging file goes, the association's slot is free again, and others go on meanwhile;
- trickle a PDU one byte at a time, each sooner than the network timeout (slowloris): the
  PDU's deadline (network timeout + its length at the minimum receive rate) aborts it;
- send a data set a byte per complete PDU, each sooner than the network timeout (no PDU
  is late): the message's deadline (network timeout + its bytes at that rate) aborts it
  and its staging file goes;
- open more associations from one address than ``PACS_DICOM_MAX_ASSOCIATIONS_PER_PEER``:
  DCMTK reports the one over the cap rejected (transient, local limit exceeded);
- reset the connection (SO_LINGER 0) in the middle of a PDU: logged as a provider abort,
  without a traceback, and nothing is left;
- never read what we send, until our send buffer is full: the network timeout applies to
  a peer that takes none of our bytes as it does to a silent one, and the server goes on
  serving other associations meanwhile;
- keep C-STOREs queued (pipelined, answers read by another thread) when SIGTERM comes and
  the grace period is over at once: the data sets received but never handled are dropped
  with their staging files, and every answered instance is stored.

And one the server cannot end by itself: a C-STORE whose commit waits for a lock when
SIGTERM comes. The handler thread cannot be interrupted; the process still exits soon
after the grace (status 1, as a killed worker), nothing cleaned up under the blocked
commit, and the restart settles the ingest: ``verify_storage`` finds no file without
its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from apps.archive.models import Instance as InstanceRow
from apps.archive.models import Patient
from apps.dicom_net.services.workers import SHUTDOWN_MARGIN
from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import generate_uid
from dicomkit.data.value_codec import ElementValue
from dicomkit.errors import DicomError
from dicomkit.net.acse import build_request
from dicomkit.net.aio.client import echo_sync
from dicomkit.net.config import AEConfig, RequestedContext
from dicomkit.net.dimse.commands import CGetRQ, CStoreRQ, CStoreRSP, decode_command, encode_command
from dicomkit.net.dimse.fragment import fragment_message
from dicomkit.net.pdu import PDU, AbortPDU, AssociateAC, ContextResult, PDataTF, decode_pdu
from dicomkit.net.scu.storage import StoreResult, store_files
from dicomkit.part10.writer import encode_dataset
from tests.apps.dicom_net.conftest import (
    ArchiveServer,
    DicomServerProcess,
    Echo,
    staging_files,
    wait_until_a_server_connection_waits_for_ours,
)
from tests.builders import encode_ct, make_ct, write_ct

CT = uids.CTImageStorage
GET = uids.StudyRootQueryRetrieveInformationModelGet
CONTEXTS = (RequestedContext(CT, (uids.ExplicitVRLittleEndian,)),)
GET_CONTEXTS = (
    RequestedContext(GET, (uids.ExplicitVRLittleEndian,)),
    RequestedContext(CT, (uids.ExplicitVRLittleEndian,), scu_role=False, scp_role=True),
)
LARGE = 4096 * 2048 * 2  # bytes of pixel data: more than a socket's buffers (tcp_wmem max: 4 MiB)
NETWORK_TIMEOUT = 2  # PACS_DICOM_NETWORK_TIMEOUT of these servers
WAIT = 12.0  # bound of every wait on the server: timeout plus ample slack
ANSWERS_BEFORE_SIGTERM = 20


class RawPeer:
    """An associated requestor on a blocking socket; it reads only when told to."""

    def __init__(
        self,
        port: int,
        calling: str,
        *,
        contexts: tuple[RequestedContext, ...] = CONTEXTS,
        receive_buffer: int | None = None,
    ) -> None:
        self.sock = socket.socket()
        if receive_buffer is not None:  # before connecting, so the window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(WAIT)
        self.sock.connect(("127.0.0.1", port))
        request = build_request(AEConfig(calling), called_ae_title="PACS", contexts=contexts)
        self.sock.sendall(request.encode())
        accept = self.read_pdu()
        assert isinstance(accept, AssociateAC), accept
        proposed = {context.context_id: context.abstract_syntax for context in request.presentation_contexts}
        self.context_ids = {
            proposed[context.context_id]: context.context_id
            for context in accept.presentation_contexts
            if context.result == ContextResult.ACCEPTANCE
        }
        assert len(self.context_ids) == len(contexts), accept
        self.max_pdu_length = accept.user_information.maximum_length or 16384
        self._message_id = 0

    def c_store(self, pixel_bytes: int = 32, **overrides: ElementValue) -> tuple[int, str, list[bytes]]:
        """A C-STORE of a fresh CT instance: its Message ID, SOP Instance UID and PDUs."""
        dataset = make_ct(PixelData=bytes(pixel_bytes), **overrides)
        uid = dataset.get_str("SOPInstanceUID")
        assert uid is not None
        self._message_id = self._message_id % 0xFFFF + 1
        command = encode_command(CStoreRQ(self._message_id, CT, uid))
        pdus = fragment_message(self.context_ids[CT], command, encode_ct(dataset), self.max_pdu_length)
        return self._message_id, uid, [pdu.encode() for pdu in pdus]

    def read_pdu(self) -> PDU:
        header = self._read(6)
        (length,) = struct.unpack(">I", header[2:])
        return decode_pdu(header + self._read(length))

    def read_store_response(self) -> CStoreRSP:
        pdu = self.read_pdu()
        assert isinstance(pdu, PDataTF), pdu
        (value,) = pdu.values  # a command set this small is one PDV
        response = decode_command(value.data)
        assert isinstance(response, CStoreRSP), response
        return response

    def reset(self) -> None:
        """Close with SO_LINGER 0: the kernel sends RST, not FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _read(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError(f"closed after {len(data)} of {size} bytes")
            data += chunk
        return bytes(data)


def _ended(server: DicomServerProcess, calling: str) -> list[dict[str, object]]:
    return [line for line in server.messages("association ended") if line["calling_ae_title"] == calling]


def _wait_ended(server: DicomServerProcess, calling: str) -> dict[str, object]:
    server.wait_for(lambda: bool(_ended(server, calling)), timeout=WAIT, what=f"the end of {calling}")
    (line,) = _ended(server, calling)
    return line


def _echo(port: int, calling: str) -> list[int]:
    return echo_sync("127.0.0.1", port, AEConfig(calling), "PACS")


def _no_tracebacks_or_errors(server: DicomServerProcess) -> None:
    output = server.output()
    assert "Traceback" not in output, output
    assert not [line for line in server.lines if line.get("level") in ("ERROR", "CRITICAL")], output


# ------------------------------------------------------------------------------- stalls


def test_a_sender_stalled_mid_data_set_is_aborted_on_the_network_timeout_and_frees_its_slot(
    archive_server: ArchiveServer,
) -> None:
    server = archive_server.start(
        env={"PACS_DICOM_NETWORK_TIMEOUT": str(NETWORK_TIMEOUT), "PACS_DICOM_MAX_ASSOCIATIONS": "2"}
    )
    staller = RawPeer(server.port, "STALLER")
    _, _, pdus = staller.c_store(pixel_bytes=400_000)
    for pdu in pdus[: len(pdus) // 2]:
        staller.sock.sendall(pdu)
    assert _echo(server.port, "MEANWHILE") == [0x0000]  # others go on during the stall

    line = _wait_ended(server, "STALLER")
    assert line["outcome"] == "aborted-locally"
    assert line["detail"] == f"no activity for {float(NETWORK_TIMEOUT)} s"
    assert staging_files(archive_server.root) == []
    # Both slots are free again: two associations at once are accepted.
    second = RawPeer(server.port, "SECOND")
    assert _echo(server.port, "THIRD") == [0x0000]
    second.sock.close()
    assert not InstanceRow.objects.exists()
    _no_tracebacks_or_errors(server)


def test_a_sender_trickling_a_pdu_is_aborted_at_its_deadline_though_never_idle(
    archive_server: ArchiveServer,
) -> None:
    server = archive_server.start(env={"PACS_DICOM_NETWORK_TIMEOUT": str(NETWORK_TIMEOUT)})
    trickler = RawPeer(server.port, "TRICKLER")
    _, _, pdus = trickler.c_store()
    first = pdus[0]
    trickler.sock.sendall(first[:6])  # the header at once, then a byte every quarter timeout
    interval = NETWORK_TIMEOUT / 4
    started = time.monotonic()
    aborted: PDU | None = None
    for index in range(6, len(first)):  # sent whole, this would take len(first) / 2 s
        readable, _, _ = select.select([trickler.sock], [], [], interval)
        if readable:
            aborted = trickler.read_pdu()
            break
        trickler.sock.sendall(first[index : index + 1])
    elapsed = time.monotonic() - started
    assert isinstance(aborted, AbortPDU)
    assert elapsed < NETWORK_TIMEOUT + 2  # its deadline: the network timeout + 0.01 s at 16 KiB/s

    line = _wait_ended(server, "TRICKLER")
    assert line["outcome"] == "aborted-locally"
    assert line["detail"] == f"a PDU of {len(first)} bytes was not received within {NETWORK_TIMEOUT} s"
    (why,) = server.messages("aborting association whose PDU arrives too slowly")
    assert why["pdu_length"] == len(first) - 6
    assert why["min_receive_rate"] == 16384.0
    assert _echo(server.port, "AFTER") == [0x0000]
    _no_tracebacks_or_errors(server)


def test_a_sender_of_a_data_set_a_byte_per_pdu_is_aborted_at_the_message_deadline(
    archive_server: ArchiveServer,
) -> None:
    server = archive_server.start(env={"PACS_DICOM_NETWORK_TIMEOUT": str(NETWORK_TIMEOUT)})
    sender = RawPeer(server.port, "TINYPDUS")
    dataset = make_ct(PixelData=bytes(32))
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None
    context_id = sender.context_ids[CT]
    command = encode_command(CStoreRQ(1, CT, uid))
    (command_pdu,) = fragment_message(context_id, command, None, sender.max_pdu_length)
    tiny = [  # a maximum PDU length of 7: one 1-byte fragment per P-DATA-TF
        pdu
        for pdu in fragment_message(context_id, command, encode_ct(dataset), 7)
        if not pdu.values[0].is_command
    ]
    sender.sock.sendall(command_pdu.encode())  # the message begins: its data set's staging file opens
    interval = NETWORK_TIMEOUT / 4
    started = time.monotonic()
    aborted: PDU | None = None
    for pdu in tiny:  # sent whole, this would take len(tiny) / 2 s
        readable, _, _ = select.select([sender.sock], [], [], interval)
        if readable:
            aborted = sender.read_pdu()
            break
        sender.sock.sendall(pdu.encode())
    elapsed = time.monotonic() - started
    assert isinstance(aborted, AbortPDU)
    assert elapsed < NETWORK_TIMEOUT + 2  # its deadline: the network timeout + 0.1 s at 16 KiB/s

    line = _wait_ended(server, "TINYPDUS")
    assert line["outcome"] == "aborted-locally"
    assert str(line["detail"]).startswith(f"a DIMSE message was not complete within {NETWORK_TIMEOUT} s (")
    (why,) = server.messages("aborting association whose DIMSE message arrives too slowly")
    assert 1 <= int(str(why["fragments"])) < len(tiny)
    assert int(str(why["message_bytes"])) < 2000  # the command and a few 13-byte PDUs
    assert NETWORK_TIMEOUT <= float(str(why["limit_seconds"])) < NETWORK_TIMEOUT + 1
    assert why["min_receive_rate"] == 16384.0
    assert uid not in server.output()  # no UIDs in what is logged
    assert staging_files(archive_server.root) == []
    assert not InstanceRow.objects.exists()
    assert _echo(server.port, "AFTER") == [0x0000]
    _no_tracebacks_or_errors(server)


def test_dcmtk_reports_an_association_over_the_per_peer_cap_as_rejected(
    archive_server: ArchiveServer, echoscu: Echo
) -> None:
    server = archive_server.start(env={"PACS_DICOM_MAX_ASSOCIATIONS_PER_PEER": "1"})
    holder = RawPeer(server.port, "HOLDER")  # 127.0.0.1's one association

    result = echoscu(server.port, calling="OVERCAP")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Association Rejected" in output, output
    assert "Result: Rejected Transient, Source: Service Provider (Presentation Related)" in output, output
    assert "Reason: Local Limit Exceeded" in output, output
    line = _wait_ended(server, "OVERCAP")
    assert line["outcome"] == "rejected"
    assert str(line["detail"]).startswith("local limit of associations per peer exceeded")
    assert server.messages("association over the limit per peer")

    holder.sock.close()  # its slot is free again: the next association is accepted
    _wait_ended(server, "HOLDER")
    assert echoscu(server.port, calling="NEXT").returncode == 0
    _no_tracebacks_or_errors(server)


# ---------------------------------------------------------------------- sudden disconnects


def test_a_reset_in_the_middle_of_a_pdu_is_logged_as_a_provider_abort_and_leaves_nothing(
    archive_server: ArchiveServer,
) -> None:
    server = archive_server.start()
    peer = RawPeer(server.port, "RESETTER")
    _, _, pdus = peer.c_store(pixel_bytes=400_000)
    for pdu in pdus[:2]:
        peer.sock.sendall(pdu)
    peer.sock.sendall(pdus[2][: len(pdus[2]) // 2])  # half of the third PDU
    peer.reset()

    line = _wait_ended(server, "RESETTER")
    assert line["outcome"] == "provider-abort"
    assert staging_files(archive_server.root) == []
    assert not InstanceRow.objects.exists()
    _no_tracebacks_or_errors(server)


# --------------------------------------------------------------------------- slow readers


def test_a_peer_that_reads_nothing_we_send_is_aborted_on_the_network_timeout(
    archive_server: ArchiveServer,
) -> None:
    """Our answers must outgrow the kernel's buffers (MBs) before a send blocks: C-STORE
    answers would take tens of thousands of requests, one C-GET of a large instance does it
    at once. The wait that never ended is the same: the handler's, for the buffer to drain."""
    server = archive_server.start(env={"PACS_DICOM_NETWORK_TIMEOUT": str(NETWORK_TIMEOUT)})
    sender = RawPeer(server.port, "SENDER")
    study = generate_uid()
    _, _, pdus = sender.c_store(pixel_bytes=LARGE, StudyInstanceUID=study, Rows=4096, Columns=2048)
    sender.sock.sendall(b"".join(pdus))
    assert sender.read_store_response().status == 0x0000
    sender.sock.close()

    deaf = RawPeer(server.port, "DEAF", contexts=GET_CONTEXTS, receive_buffer=4096)
    identifier = Dataset()
    identifier.set("QueryRetrieveLevel", "STUDY")
    identifier.set("StudyInstanceUID", study)
    get = encode_command(CGetRQ(1, GET))
    encoded = encode_dataset(identifier, uids.ExplicitVRLittleEndian)
    for pdu in fragment_message(deaf.context_ids[GET], get, encoded, deaf.max_pdu_length):
        deaf.sock.sendall(pdu.encode())  # and never read
    assert _echo(server.port, "MEANWHILE") == [0x0000]  # the server still serves others

    line = _wait_ended(server, "DEAF")
    assert (line["outcome"], line["detail"]) == (
        "aborted-locally",
        f"the peer read nothing for {float(NETWORK_TIMEOUT)} s",
    )
    deaf.sock.close()
    assert staging_files(archive_server.root) == []
    _no_tracebacks_or_errors(server)


# ------------------------------------------------------------------------------- shutdown


@contextmanager
def _pipelining(peer: RawPeer, answered: list[str], enough: threading.Event) -> Iterator[None]:
    """Sends C-STOREs without waiting for answers while another thread reads them; sets
    ``enough`` after ``ANSWERS_BEFORE_SIGTERM`` successes."""
    sent: dict[int, str] = {}
    stop = threading.Event()

    def send() -> None:
        try:
            while not stop.is_set():
                message_id, uid, pdus = peer.c_store()
                sent[message_id] = uid
                peer.sock.sendall(b"".join(pdus))
        except OSError:
            pass  # aborted by the server

    def read() -> None:
        try:
            while True:
                response = peer.read_store_response()
                if response.status == 0x0000:
                    answered.append(sent[response.message_id_being_responded_to])
                if len(answered) >= ANSWERS_BEFORE_SIGTERM:
                    enough.set()
        except (OSError, AssertionError):
            pass  # the A-ABORT or the close ends the answers

    sender = threading.Thread(target=send, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    sender.start()
    reader.start()
    try:
        yield
    finally:
        stop.set()
        sender.join(timeout=WAIT)
        reader.join(timeout=WAIT)
        peer.sock.close()


def test_sigterm_with_c_stores_queued_past_the_grace_leaves_no_staging_file(
    archive_server: ArchiveServer,
) -> None:
    server = archive_server.start(env={"PACS_DICOM_SHUTDOWN_GRACE": "0"})
    peers = [RawPeer(server.port, f"PIPE{n}") for n in range(2)]
    answered: list[list[str]] = [[], []]
    enough = [threading.Event(), threading.Event()]
    with _pipelining(peers[0], answered[0], enough[0]), _pipelining(peers[1], answered[1], enough[1]):
        assert all(event.wait(WAIT) for event in enough), answered
        assert server.terminate_and_wait(WAIT) == 0
    assert staging_files(archive_server.root) == []
    stored = set(InstanceRow.objects.values_list("sop_instance_uid", flat=True))
    assert {uid for uids in answered for uid in uids} <= stored  # every Success is kept
    call_command("verify_storage", "--grace-seconds", "0")  # raises CommandError on any finding
    _no_tracebacks_or_errors(server)


def _store_one(port: int, path: Path) -> list[StoreResult]:
    coroutine = store_files("127.0.0.1", port, AEConfig("HELD"), "PACS", [path])
    return asyncio.run(asyncio.wait_for(coroutine, 60))


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_while_a_commit_waits_for_a_lock_exits_soon_after_and_the_restart_is_clean(
    archive_server: ArchiveServer, tmp_path: Path, workers: int
) -> None:
    grace = 1
    server = archive_server.start(env={"PACS_DICOM_SHUTDOWN_GRACE": str(grace)}, workers=workers)
    first, second = tmp_path / "first.dcm", tmp_path / "second.dcm"
    write_ct(first, PatientID="HELD")
    write_ct(second, PatientID="HELD")
    assert [r.status for r in _store_one(server.port, first)] == [0x0000]  # the patient exists

    with ThreadPoolExecutor(max_workers=1) as pool, transaction.atomic():
        Patient.objects.select_for_update().get(patient_id="HELD")
        held = pool.submit(_store_one, server.port, second)
        wait_until_a_server_connection_waits_for_ours(held, WAIT)
        server.process.send_signal(signal.SIGTERM)
        try:
            status = server.process.wait(timeout=grace + SHUTDOWN_MARGIN + 3)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server waited for the blocked commit") from None
        with contextlib.suppress(DicomError, OSError):  # aborted: no answer at all
            assert all(result.status != 0x0000 for result in held.result(timeout=WAIT))
    assert status == 1
    assert server.messages("dicom handler threads still busy after the grace period, exiting without them")

    archive_server.start()  # settles the ingest the exit cut short
    assert staging_files(archive_server.root) == []
    call_command("verify_storage", "--grace-seconds", "0")  # no file without its row
