"""StorageService (C-STORE SCP): handler-provided sinks, the checks made for every handler,
FileStorageHandler's PS3.10 files and refusals, sink clean-up, parallel associations.

Requests are sent with dicomkit's own requestor, at the DIMSE level where a test needs to
send what a correct SCU would not (truncated data sets, mismatched UIDs, wrong contexts).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pydicom
import pytest

from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DimseStatusError
from dicomkit.net.aio import Association, AssociationObserver, DicomServer, Phase, open_association
from dicomkit.net.config import AEConfig, RequestedContext
from dicomkit.net.dimse.assemble import DataSink, MemorySink
from dicomkit.net.dimse.commands import CFindRQ, CFindRSP, CStoreRQ, CStoreRSP, DimseMessage
from dicomkit.net.dimse.fragment import fragment_message
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.storage import (
    STORAGE_TRANSFER_SYNTAXES,
    Duplicates,
    FileStorageHandler,
    IncomingStore,
    StorageHandler,
    StorageService,
    StoreRequest,
    StoreStatus,
    storage_contexts,
)
from dicomkit.part10.reader import read_file
from tests.builders import encode_ct, make_ct, write_ct
from tests.corpus import DATA_ROOT
from tests.dicomkit.net.aio.servers import Observer, fast_timeouts, run

ELE = uids.ExplicitVRLittleEndian
ILE = uids.ImplicitVRLittleEndian
CT = uids.CTImageStorage
MR = uids.MRImageStorage


def _server(handler: StorageHandler, *, observer: AssociationObserver | None = None) -> DicomServer:
    ae = AEConfig("SCP", supported_contexts=storage_contexts(), max_associations=20, timeouts=fast_timeouts())
    services = ServiceHandlers([StorageService(handler)])
    return DicomServer(ae, services, host="127.0.0.1", port=0, observer=observer)


@asynccontextmanager
async def _association(
    handler: StorageHandler,
    contexts: Iterable[RequestedContext] = (RequestedContext(CT, (ELE,)), RequestedContext(MR, (ELE,))),
    observer: Observer | None = None,
) -> AsyncIterator[Association]:
    server = _server(handler, observer=observer)
    await server.start()
    try:
        association = await open_association(
            "127.0.0.1", server.port, AEConfig("SCU", timeouts=fast_timeouts()), "SCP", list(contexts)
        )
        try:
            yield association
        finally:
            if association.is_established:
                await association.release()
    finally:
        await server.shutdown(0)


async def _store(
    association: Association,
    dataset: bytes,
    *,
    sop_class: str = CT,
    sop_instance: str,
    context: str = CT,
) -> CStoreRSP:
    context_id = association.context_for(context).context_id
    message_id = association.next_message_id()
    await association.send_message(context_id, CStoreRQ(message_id, sop_class, sop_instance), dataset)
    response = (await association.receive()).command
    assert isinstance(response, CStoreRSP)
    assert response.message_id_being_responded_to == message_id
    return response


def _dataset_offset(path: Path) -> int:
    """Where the data set starts in a PS3.10 file, as pydicom (the oracle) reads it."""
    with path.open("rb") as fp:
        pydicom.filereader.read_preamble(fp, False)
        pydicom.filereader._read_file_meta_info(fp)
        return fp.tell()


def _files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# ------------------------------------------------------------------ negotiation


def test_storage_contexts_cover_every_storage_sop_class_with_compressed_syntaxes_preferred() -> None:
    contexts = storage_contexts()
    classes = {context.abstract_syntax for context in contexts}
    assert {CT, MR, uids.SecondaryCaptureImageStorage, uids.RTPlanStorage} <= classes
    assert uids.Verification not in classes
    assert all(context.transfer_syntaxes == STORAGE_TRANSFER_SYNTAXES for context in contexts)
    order = STORAGE_TRANSFER_SYNTAXES
    assert order.index(uids.JPEGBaseline8Bit) < order.index(ELE) < order.index(ILE)
    assert uids.RLELossless in order and uids.DeflatedExplicitVRLittleEndian in order


def test_service_serves_every_storage_sop_class(tmp_path: Path) -> None:
    service = StorageService(FileStorageHandler(tmp_path))
    assert {context.abstract_syntax for context in storage_contexts()} == service.sop_classes
    assert StorageService(FileStorageHandler(tmp_path), sop_classes=[CT]).sop_classes == {CT}


# ------------------------------------------------------------ FileStorageHandler


def test_received_data_set_becomes_a_part10_file_in_the_negotiated_syntax(tmp_path: Path) -> None:
    dataset = make_ct()
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None

    async def scenario() -> CStoreRSP:
        contexts = [RequestedContext(CT, (ILE,))]
        async with _association(FileStorageHandler(tmp_path), contexts) as association:
            return await _store(association, encode_ct(dataset, ILE), sop_instance=uid)

    response = run(scenario())
    assert response.status == 0x0000
    assert response.affected_sop_class_uid == CT and response.affected_sop_instance_uid == uid
    assert _files(tmp_path) == [f"{uid}.dcm"]
    stored = pydicom.dcmread(tmp_path / f"{uid}.dcm")  # the oracle: a valid PS3.10 file
    assert stored.preamble == bytes(128)
    assert stored.file_meta.TransferSyntaxUID == ILE
    assert stored.file_meta.MediaStorageSOPClassUID == CT
    assert stored.file_meta.MediaStorageSOPInstanceUID == uid
    assert stored.PatientName == "Doe^John"
    ours = read_file(tmp_path / f"{uid}.dcm")
    assert ours.dataset.get_bytes("PixelData") == dataset.get_bytes("PixelData")


def test_compressed_data_set_is_stored_byte_for_byte_as_received(tmp_path: Path) -> None:
    source = DATA_ROOT / "test_files" / "SC_rgb_jpeg_dcmtk.dcm"
    original = read_file(source)
    assert original.transfer_syntax == uids.JPEGBaseline8Bit
    data_set = source.read_bytes()[_dataset_offset(source) :]
    uid = original.dataset.get_str("SOPInstanceUID")
    sop_class = original.dataset.get_str("SOPClassUID")
    assert uid and sop_class

    async def scenario() -> CStoreRSP:
        contexts = [RequestedContext(sop_class, (uids.JPEGBaseline8Bit, ELE))]
        async with _association(FileStorageHandler(tmp_path), contexts) as association:
            assert association.context_for(sop_class).transfer_syntax == uids.JPEGBaseline8Bit
            return await _store(
                association, data_set, sop_class=sop_class, sop_instance=uid, context=sop_class
            )

    assert run(scenario()).status == 0x0000
    stored = (tmp_path / f"{uid}.dcm").read_bytes()
    assert stored.endswith(data_set)
    assert read_file(tmp_path / f"{uid}.dcm").transfer_syntax == uids.JPEGBaseline8Bit


def test_duplicates_are_replaced_kept_or_rejected_as_configured(tmp_path: Path) -> None:
    first, second = make_ct(PatientID="FIRST"), None
    uid = first.get_str("SOPInstanceUID")
    assert uid is not None
    second = make_ct(PatientID="SECOND", SOPInstanceUID=uid)

    def store_twice(policy: Duplicates) -> tuple[int, int]:
        folder = tmp_path / policy.value
        folder.mkdir()

        async def scenario() -> tuple[int, int]:
            async with _association(FileStorageHandler(folder, duplicates=policy)) as association:
                one = await _store(association, encode_ct(first), sop_instance=uid)
                two = await _store(association, encode_ct(second), sop_instance=uid)
                return one.status, two.status

        return run(scenario())

    assert store_twice(Duplicates.REPLACE) == (0, 0)
    assert _files(tmp_path / "replace") == [f"{uid}.dcm"]
    assert read_file(tmp_path / "replace" / f"{uid}.dcm").dataset.get_str("PatientID") == "SECOND"

    assert store_twice(Duplicates.KEEP_BOTH) == (0, 0)
    assert _files(tmp_path / "keep-both") == [f"{uid}-1.dcm", f"{uid}.dcm"]
    assert read_file(tmp_path / "keep-both" / f"{uid}-1.dcm").dataset.get_str("PatientID") == "SECOND"

    assert store_twice(Duplicates.REJECT) == (0, 0x0111)
    assert _files(tmp_path / "reject") == [f"{uid}.dcm"]
    assert read_file(tmp_path / "reject" / f"{uid}.dcm").dataset.get_str("PatientID") == "FIRST"


# ---------------------------------------- bad input: right status, nothing left, goes on


def _then_a_valid_store_succeeds(association: Association) -> asyncio.Future[CStoreRSP]:
    dataset = make_ct()
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None
    return asyncio.ensure_future(_store(association, encode_ct(dataset), sop_instance=uid))


_Response = TypeVar("_Response", bound=DimseMessage)


def _bad_then_good(
    tmp_path: Path, send_bad: Callable[[Association], Awaitable[_Response]]
) -> tuple[_Response, CStoreRSP]:
    async def scenario() -> tuple[_Response, CStoreRSP]:
        async with _association(FileStorageHandler(tmp_path)) as association:
            bad = await send_bad(association)
            assert _files(tmp_path) == []  # not even a temporary file
            good = await _then_a_valid_store_succeeds(association)
            return bad, good

    bad, good = run(scenario())
    assert good.status == 0x0000
    assert len(_files(tmp_path)) == 1
    return bad, good


def test_truncated_data_set_is_cannot_understand_and_leaves_nothing(tmp_path: Path) -> None:
    dataset = make_ct(PixelData=bytes(4096))
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None

    async def send_bad(association: Association) -> CStoreRSP:
        return await _store(association, encode_ct(dataset)[:-1000], sop_instance=uid)

    bad, _ = _bad_then_good(tmp_path, send_bad)
    assert bad.status == 0xC000
    assert bad.error_comment and "decode" in bad.error_comment


def test_sop_instance_uid_differing_from_the_command_is_refused_a900(tmp_path: Path) -> None:
    dataset = make_ct()

    async def send_bad(association: Association) -> CStoreRSP:
        return await _store(association, encode_ct(dataset), sop_instance="1.2.3.4.5")

    bad, _ = _bad_then_good(tmp_path, send_bad)
    assert bad.status == 0xA900
    assert bad.offending_element == (0x00080018,)
    assert bad.affected_sop_instance_uid == "1.2.3.4.5"


def test_sop_class_of_the_data_set_differing_from_the_command_is_refused_a900(tmp_path: Path) -> None:
    dataset = make_ct(SOPClassUID=MR)
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None

    async def send_bad(association: Association) -> CStoreRSP:
        return await _store(association, encode_ct(dataset), sop_instance=uid)

    bad, _ = _bad_then_good(tmp_path, send_bad)
    assert bad.status == 0xA900
    assert bad.offending_element == (0x00080016,)


def test_sop_class_not_negotiated_on_the_context_is_refused_0122(tmp_path: Path) -> None:
    dataset = make_ct(SOPClassUID=uids.SecondaryCaptureImageStorage)
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None

    async def send_bad(association: Association) -> CStoreRSP:
        # Secondary Capture was never proposed; the CT context carries it.
        return await _store(
            association, encode_ct(dataset), sop_class=uids.SecondaryCaptureImageStorage, sop_instance=uid
        )

    bad, _ = _bad_then_good(tmp_path, send_bad)
    assert bad.status == 0x0122


@pytest.mark.parametrize("uid", ["..", "1.2.03", "1..2", ".1.2", "1.2.3."])
def test_affected_sop_instance_uid_that_is_no_uid_never_becomes_a_file_name(tmp_path: Path, uid: str) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    dataset = make_ct(SOPInstanceUID=uid)

    async def send_bad(association: Association) -> CStoreRSP:
        return await _store(association, encode_ct(dataset), sop_instance=uid)

    bad, _ = _bad_then_good(folder, send_bad)
    assert bad.status == 0xA900
    assert _files(tmp_path) == ["store"]


@pytest.mark.parametrize("escaping", ["../../../../tmp/esc", "1.2.3/4.5.6.7.8.9", "1.2.3.4.5.6.7.8.9.X"])
def test_a_path_as_affected_sop_instance_uid_is_refused_a900_and_the_association_goes_on(
    tmp_path: Path, escaping: str
) -> None:
    # A correct SCU cannot send this (our encoder refuses it): the bytes are patched in.
    folder = tmp_path / "store"
    folder.mkdir()
    valid = "1.2.3.4.5.6.7.8.9.1"[: len(escaping)]
    assert len(valid) == len(escaping)
    command = _encoded(CStoreRQ(1, CT, valid)).replace(valid.encode(), escaping.encode())

    async def send_bad(association: Association) -> CStoreRSP:
        context_id = association.context_for(CT).context_id
        maximum = association.peer_max_pdu_length
        await association.protocol.send_pdus(
            fragment_message(context_id, command, encode_ct(make_ct()), maximum)
        )
        response = (await association.receive()).command
        assert isinstance(response, CStoreRSP)
        return response

    bad, _ = _bad_then_good(folder, send_bad)
    assert bad.status == 0xA900 and bad.message_id_being_responded_to == 1
    assert bad.affected_sop_instance_uid is None  # never echoed: we send no invalid UID
    assert bad.affected_sop_class_uid == CT
    assert _files(tmp_path) == ["store"] and len(_files(folder)) == 1  # only the good one


def test_a_request_other_than_c_store_on_a_storage_context_is_unrecognized_operation(tmp_path: Path) -> None:
    async def send_bad(association: Association) -> CFindRSP:
        context_id = association.context_for(CT).context_id
        await association.send_message(
            context_id, CFindRQ(association.next_message_id(), CT), encode_ct(make_ct())
        )
        response = (await association.receive()).command
        assert isinstance(response, CFindRSP)
        assert response.status == 0x0211
        return response

    _bad_then_good(tmp_path, send_bad)


# ------------------------------------------------------ the sink contract, any handler


class _Recording:
    """A handler that keeps data sets in memory and answers as told."""

    def __init__(self, answer: int | StoreStatus | Exception = 0x0000) -> None:
        self.answer = answer
        self.incoming: list[IncomingStore] = []
        self.sinks: list[_TrackedSink] = []
        self.requests: list[StoreRequest] = []
        self.open_error: Exception | None = None

    def open_sink(self, incoming: IncomingStore) -> DataSink:
        self.incoming.append(incoming)
        if self.open_error is not None:
            raise self.open_error
        sink = _TrackedSink()
        self.sinks.append(sink)
        return sink

    async def on_store(self, request: StoreRequest) -> int | StoreStatus:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class _TrackedSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def abort(self) -> None:
        super().abort()
        self.aborted = True


def _one_store(handler: _Recording, dataset: Dataset | None = None) -> CStoreRSP:
    dataset = dataset or make_ct()
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None

    async def scenario() -> CStoreRSP:
        async with _association(handler) as association:
            return await _store(association, encode_ct(dataset), sop_instance=uid)

    return run(scenario())


def test_handler_gets_the_request_and_the_data_set_through_its_own_sink() -> None:
    handler = _Recording(StoreStatus(0xB000, "coerced", (0x00100010,)))
    dataset = make_ct()
    response = _one_store(handler, dataset)
    assert (response.status, response.error_comment, response.offending_element) == (
        0xB000,
        "coerced",
        (0x00100010,),
    )
    (incoming,) = handler.incoming
    assert incoming.sop_class_uid == CT and incoming.transfer_syntax == ELE
    assert incoming.sop_instance_uid == dataset.get_str("SOPInstanceUID")
    assert incoming.association.calling_ae_title == "SCU"  # known before the data set arrives
    (request,) = handler.requests
    assert request.sink is handler.sinks[0]
    assert handler.sinks[0].getvalue() == encode_ct(dataset)
    assert handler.sinks[0].closed and not handler.sinks[0].aborted  # a warning is stored
    assert request.association.calling_ae_title == "SCU"
    assert request.message_id == 1 and request.context.abstract_syntax == CT


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (0xA700, 0xA700),
        (StoreStatus(0xC001, "no"), 0xC001),
        (DimseStatusError(0x0111), 0x0111),
        (RuntimeError("db"), 0x0110),
    ],
)
def test_a_failing_handler_gets_its_sink_aborted(answer: int | StoreStatus | Exception, status: int) -> None:
    handler = _Recording(answer)
    assert _one_store(handler).status == status
    assert handler.sinks[0].aborted


def test_a_handler_that_cannot_open_a_sink_refuses_without_receiving() -> None:
    handler = _Recording()
    handler.open_error = DimseStatusError(0xA700, "quota")
    response = _one_store(handler)
    assert (response.status, response.error_comment) == (0xA700, "quota")
    assert handler.requests == []
    handler.open_error = OSError(28, "No space left on device")
    assert _one_store(handler).status == 0xA700
    handler.open_error = KeyError("bug")
    assert _one_store(handler).status == 0x0110


def test_association_aborted_mid_data_set_aborts_the_sink_and_leaves_no_file(tmp_path: Path) -> None:
    handler = FileStorageHandler(tmp_path)
    dataset = make_ct(PixelData=bytes(64 * 1024))
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None
    observer = Observer()

    async def scenario() -> None:
        async with _association(handler, observer=observer) as association:
            context_id = association.context_for(CT).context_id
            pdus = list(
                fragment_message(
                    context_id,
                    _encoded(CStoreRQ(1, CT, uid)),
                    encode_ct(dataset),
                    association.peer_max_pdu_length,
                )
            )
            await association.protocol.send_pdus(pdus[: len(pdus) // 2])
            association.abort()
            await asyncio.wait_for(observer.ended.wait(), 10)

    run(scenario())
    assert [record.phase for record in observer.records][-1] is Phase.ENDED
    assert _files(tmp_path) == []


def _encoded(command: DimseMessage) -> bytes:
    from dicomkit.net.dimse.commands import encode_command

    return encode_command(command)


# ---------------------------------------------------------------- parallel ingest


class _Rendezvous:
    """on_store returns only once ``count`` stores are inside it at the same time."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.inside = 0
        self.all_inside = asyncio.Event()

    def open_sink(self, incoming: IncomingStore) -> DataSink:
        return MemorySink()

    async def on_store(self, request: StoreRequest) -> int:
        self.inside += 1
        if self.inside == self.count:
            self.all_inside.set()
        await asyncio.wait_for(self.all_inside.wait(), 10)
        return 0x0000


def test_concurrent_associations_ingest_in_parallel() -> None:
    handler = _Rendezvous(4)

    async def one(port: int) -> int:
        dataset = make_ct()
        uid = dataset.get_str("SOPInstanceUID")
        assert uid is not None
        association = await open_association(
            "127.0.0.1", port, AEConfig("SCU"), "SCP", [RequestedContext(CT, (ELE,))]
        )
        response = await _store(association, encode_ct(dataset), sop_instance=uid)
        await association.release()
        return response.status

    async def scenario() -> list[int]:
        server = _server(handler)
        await server.start()
        try:
            return list(await asyncio.gather(*(one(server.port) for _ in range(4))))
        finally:
            await server.shutdown(0)

    assert run(scenario()) == [0, 0, 0, 0]


def test_file_handler_writes_files_from_parallel_associations(tmp_path: Path) -> None:
    paths = [write_ct(tmp_path / "in" / f"{n}.dcm") for n in range(6)]

    async def one(port: int, dataset: Dataset) -> int:
        uid = dataset.get_str("SOPInstanceUID")
        assert uid is not None
        association = await open_association(
            "127.0.0.1", port, AEConfig("SCU"), "SCP", [RequestedContext(CT, (ELE,))]
        )
        response = await _store(association, encode_ct(dataset), sop_instance=uid)
        await association.release()
        return response.status

    out = tmp_path / "out"
    out.mkdir()

    async def scenario() -> list[int]:
        server = _server(FileStorageHandler(out))
        await server.start()
        try:
            return list(await asyncio.gather(*(one(server.port, dataset) for dataset in paths)))
        finally:
            await server.shutdown(0)

    assert run(scenario()) == [0] * 6
    assert _files(out) == sorted(f"{d.get_str('SOPInstanceUID')}.dcm" for d in paths)
