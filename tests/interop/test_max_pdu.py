"""Maximum PDU length 0 ("no maximum") on our side, with DCMTK and pynetdicom as peers.

Our SCP announces 0 and still bounds what it buffers (``max_unlimited_pdu_length``):

- DCMTK ``storescu --max-send-pdu 131072`` and a pynetdicom SCU store a 2 MiB data set
  in PDUs far above the 16 KiB default (pynetdicom sends the whole message in one
  P-DATA-TF when the peer has no maximum); it arrives intact.
- A PDU above the hard cap aborts that association, and the server goes on serving.
- Our SCU announcing 0 echoes against ``storescp`` and a pynetdicom SCP; ``echoscu``
  reads our 0 as "no maximum".

The server runs on an event loop in a thread of the test process, so that the test can
read what its storage-like service class received.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydicom.dataset import Dataset as PydicomDataset
from pydicom.dataset import FileMetaDataset
from pydicom.filereader import read_dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.aio import VERIFICATION_CONTEXT, DicomServer, associate
from dicomkit.net.config import AEConfig, SupportedContext
from dicomkit.net.dimse.assemble import DataSink, MemorySink
from dicomkit.net.dimse.commands import CStoreRQ, CStoreRSP, DimseMessage
from dicomkit.net.services import ServiceHandlers, VerificationService
from dicomkit.net.services.protocols import AssociationInfo, Responder, ServiceRequest
from tests.interop.conftest import StartPynetdicomScp, StartStorescp, run_echoscu
from tests.interop.peers import VERIFICATION, dcmtk_env

if TYPE_CHECKING:
    from pynetdicom.association import Association

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
TWO_MIB = 2 * 1024 * 1024


class _StoreIntoMemory:
    """A storage-like service class keeping each data set in (bounded) memory."""

    sop_classes = frozenset({CT_IMAGE_STORAGE})

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink:
        return MemorySink(limit=4 * TWO_MIB)

    async def handle(self, request: ServiceRequest, responder: Responder) -> None:
        command = request.command
        assert isinstance(command, CStoreRQ)
        sink = request.message.dataset
        assert isinstance(sink, MemorySink)
        self.received.append(sink.getvalue())
        await responder.send(
            CStoreRSP(
                command.message_id, 0, command.affected_sop_class_uid, command.affected_sop_instance_uid
            )
        )


@dataclass
class _ThreadedServer:
    """Our SCP announcing ``max_pdu_length=0``, on its own loop in a thread."""

    cap: int
    store: _StoreIntoMemory = field(default_factory=_StoreIntoMemory)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    port: int = 0

    def __post_init__(self) -> None:
        ae = AEConfig(
            "DICOMKIT",
            supported_contexts=(
                SupportedContext(VERIFICATION, (IMPLICIT_LE, EXPLICIT_LE)),
                SupportedContext(CT_IMAGE_STORAGE, (EXPLICIT_LE, IMPLICIT_LE)),
            ),
            max_pdu_length=0,
            max_unlimited_pdu_length=self.cap,
        )
        handlers = ServiceHandlers([VerificationService(), self.store])
        self.server = DicomServer(ae, handlers, host="127.0.0.1", port=0)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> _ThreadedServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        self.port = self.server.port
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.shutdown(grace=0), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def unlimited_server() -> Iterator[_ThreadedServer]:
    with _ThreadedServer(cap=64 * 1024 * 1024) as server:
        yield server


def _ct(pixels: int = TWO_MIB) -> PydicomDataset:
    ds = PydicomDataset()
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.PatientID = "MAXPDU"
    ds.Rows, ds.Columns = 1024, pixels // 2048
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = bytes(range(256)) * (pixels // 256)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def _received_as_pydicom(data: bytes) -> PydicomDataset:
    return read_dataset(BytesIO(data), is_implicit_VR=False, is_little_endian=True)


# ------------------------------------------------------------------ peers -> our SCP


def test_storescu_sends_large_pdus_to_our_scp_announcing_no_maximum(
    unlimited_server: _ThreadedServer, tmp_path: Path
) -> None:
    if shutil.which("storescu") is None:
        pytest.skip("storescu (DCMTK) is not installed")
    ds = _ct()
    path = tmp_path / "ct.dcm"
    ds.save_as(path, enforce_file_format=True)
    port = unlimited_server.port
    result = subprocess.run(
        ["storescu", "-aec", "DICOMKIT", "--max-send-pdu", "131072", "-d", "127.0.0.1", str(port), str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=dcmtk_env(),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Max Send PDV: 131060" in output  # 128 KiB PDUs: our 0 left only its own bound
    [received] = unlimited_server.store.received
    got = _received_as_pydicom(received)
    assert got.SOPInstanceUID == ds.SOPInstanceUID
    assert got.PixelData == ds.PixelData


def _pynetdicom_store(port: int, ds: PydicomDataset) -> tuple[Association, int | None]:
    """C-STORE from a pynetdicom SCU; (its association, the status or None)."""
    from pynetdicom import AE

    ae = AE(ae_title="PYNETDICOM")
    ae.add_requested_context(CT_IMAGE_STORAGE, ExplicitVRLittleEndian)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 20
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    assert assoc.is_established
    assert assoc.acceptor.maximum_length == 0
    status = assoc.send_c_store(ds)
    if assoc.is_established:
        assoc.release()
    return assoc, int(status.Status) if "Status" in status else None


def test_pynetdicom_sends_a_2_mib_data_set_in_one_pdu_to_our_scp_announcing_no_maximum(
    unlimited_server: _ThreadedServer,
) -> None:
    ds = _ct()
    _, status = _pynetdicom_store(unlimited_server.port, ds)
    assert status == 0
    [received] = unlimited_server.store.received
    assert _received_as_pydicom(received).PixelData == ds.PixelData


def test_a_pdu_above_the_hard_cap_aborts_only_that_association() -> None:
    with _ThreadedServer(cap=1024 * 1024) as server:
        assoc, status = _pynetdicom_store(server.port, _ct())  # one PDU of 2 MiB + headers
        assert status is None and assoc.is_aborted
        assert server.store.received == []
        # The server goes on: a small data set fits under the cap.
        _, status = _pynetdicom_store(server.port, _ct(pixels=64 * 1024))
        assert status == 0


def test_echoscu_reads_our_zero_as_no_maximum(unlimited_server: _ThreadedServer) -> None:
    result = run_echoscu(unlimited_server.port, "-pdu", "131072", "-d")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Received Echo Response (Success)" in output


# ------------------------------------------------------------------ our SCU -> peers


def _our_echo_announcing_no_maximum(port: int, called: str) -> tuple[int, int]:
    async def scenario() -> tuple[int, int]:
        ae = AEConfig("DICOMKIT_SCU", max_pdu_length=0)
        async with associate("127.0.0.1", port, ae, called, [VERIFICATION_CONTEXT]) as assoc:
            assert assoc.request.user_information.maximum_length == 0
            return await assoc.echo(), assoc.peer_max_pdu_length

    return asyncio.run(asyncio.wait_for(scenario(), 30))


def test_our_scu_announcing_no_maximum_against_storescp(storescp: StartStorescp) -> None:
    port = storescp(max_pdu=131072)
    assert _our_echo_announcing_no_maximum(port, "STORESCP") == (0, 131072)


def test_our_scu_announcing_no_maximum_against_a_pynetdicom_scp(pynetdicom_scp: StartPynetdicomScp) -> None:
    port = pynetdicom_scp(max_pdu=0)
    assert _our_echo_announcing_no_maximum(port, "PYNETDICOM") == (0, 0)
