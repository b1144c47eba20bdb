"""C-FIND SCP (FindService) and SCU (``dicomkit.net.scu.find``, ``find`` CLI) against each
other on loopback, with a folder-index test handler; bad identifiers get failure
statuses with comments; pynetdicom is the oracle SCU for cancel and raw identifiers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TypedDict, Unpack

import pytest

from dicomkit.cli.main import main
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DimseStatusError
from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig
from dicomkit.net.scu.find import find, find_sync
from dicomkit.net.services import ServiceHandlers, VerificationService
from dicomkit.net.services.find import FindHandler, FindMatch, FindRequest, FindService
from dicomkit.net.services.protocols import ServiceClass
from dicomkit.net.services.query_retrieve import InformationModel, query_retrieve_contexts
from dicomkit.part10.writer import encode_dataset
from tests.dicomkit.net.aio.servers import fast_timeouts, run
from tests.dicomkit.net.services.qr_handlers import FolderIndex, FolderStudies, write_studies


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> FolderStudies:
    folder = tmp_path_factory.mktemp("qr-find")
    return folder, write_studies(folder)


@asynccontextmanager
async def find_scp(handler: FindHandler) -> AsyncIterator[DicomServer]:
    ae = AEConfig("QRSCP", supported_contexts=query_retrieve_contexts(move=False, get=False))
    services: list[ServiceClass] = [VerificationService(), FindService(handler)]
    server = DicomServer(ae, ServiceHandlers(services), host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(0)


def query(level: str, **keys: str) -> Dataset:
    dataset = Dataset()
    dataset.set(tags.QueryRetrieveLevel, level, "CS")
    for keyword, value in keys.items():
        dataset.set(keyword, value)
    return dataset


def _without_level(dataset: Dataset) -> Dataset:
    dataset.delete(tags.QueryRetrieveLevel)
    return dataset


class FindOptions(TypedDict, total=False):
    """The options of ``find`` these tests vary."""

    model: InformationModel
    limit: int | None


async def collect(port: int, identifier: Dataset, **options: Unpack[FindOptions]) -> list[Dataset]:
    return [
        match
        async for match in find(
            "127.0.0.1",
            port,
            AEConfig("FINDSCU"),
            "QRSCP",
            identifier,
            timeouts=fast_timeouts(),
            **options,
        )
    ]


def test_study_level_find_with_a_wildcard_returns_each_matching_study(studies: FolderStudies) -> None:
    folder, by_study = studies
    index = FolderIndex(folder)

    async def scenario() -> list[Dataset]:
        async with find_scp(index) as server:
            return await collect(server.port, query("STUDY", PatientName="DOE*", StudyInstanceUID=""))

    matches = run(scenario())
    assert len(matches) == 1
    assert matches[0].get_str(tags.PatientName) == "DOE^JOHN"
    assert matches[0].get_str(tags.StudyInstanceUID) in by_study
    assert matches[0].get_str(tags.QueryRetrieveLevel) == "STUDY"


def test_patient_root_image_level_and_date_range(studies: FolderStudies) -> None:
    folder, _ = studies
    index = FolderIndex(folder)

    async def scenario() -> tuple[list[Dataset], list[Dataset]]:
        async with find_scp(index) as server:
            images = await collect(
                server.port,
                query("IMAGE", PatientID="PAT1", SOPInstanceUID=""),
                model=InformationModel.PATIENT_ROOT,
            )
            recent = await collect(server.port, query("STUDY", StudyDate="20240101-", PatientID=""))
            return images, recent

    images, recent = run(scenario())
    assert len(images) == 3
    assert len({m.get_str(tags.SOPInstanceUID) for m in images}) == 3
    assert [m.get_str(tags.PatientID) for m in recent] == ["PAT1"]


def test_optional_keys_unsupported_are_answered_ff01_and_still_delivered(studies: FolderStudies) -> None:
    from pynetdicom import AE

    folder, _ = studies
    index = FolderIndex(folder, warn_optional=True)

    def pynetdicom_find(port: int) -> list[int]:
        import pydicom

        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context("1.2.840.10008.5.1.4.1.2.2.1")
        assoc = ae.associate("127.0.0.1", port, ae_title="QRSCP")
        identifier = pydicom.Dataset()
        identifier.QueryRetrieveLevel = "STUDY"
        identifier.PatientID = ""
        statuses = [
            int(status.Status) for status, _ in assoc.send_c_find(identifier, "1.2.840.10008.5.1.4.1.2.2.1")
        ]
        assoc.release()
        return statuses

    async def scenario() -> list[int]:
        async with find_scp(index) as server:
            return await asyncio.to_thread(pynetdicom_find, server.port)

    assert run(scenario()) == [0xFF01, 0xFF01, 0x0000]


@pytest.mark.parametrize(
    ("identifier", "status", "offending", "comment"),
    [
        (query("STUDY", PatientName="X").copy(), None, None, None),
        (_without_level(query("STUDY", PatientID="PAT1")), 0xA900, tags.QueryRetrieveLevel, "missing"),
        (query("FRAME"), 0xA900, tags.QueryRetrieveLevel, "not one of"),
        (query("PATIENT"), 0xA900, tags.QueryRetrieveLevel, "not one of"),  # Study Root has no PATIENT
        (query("STUDY", StudyDate="2024-01-01"), 0xC000, tags.StudyDate, "Invalid DA"),
        (query("STUDY", StudyDate="20240105-20240101"), 0xC000, tags.StudyDate, "Invalid DA"),
    ],
)
def test_bad_identifiers_get_a_failure_status_with_comment_and_offending_element(
    studies: FolderStudies,
    identifier: Dataset,
    status: int | None,
    offending: int | None,
    comment: str | None,
) -> None:
    from pynetdicom import AE

    folder, _ = studies
    index = FolderIndex(folder)

    def pynetdicom_find(port: int, raw: Dataset) -> list[tuple[int, str, object]]:
        import pydicom

        from dicomkit.part10.writer import encode_dataset

        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context("1.2.840.10008.5.1.4.1.2.2.1", ["1.2.840.10008.1.2"])
        assoc = ae.associate("127.0.0.1", port, ae_title="QRSCP")
        # pydicom decodes our encoding of the identifier: what goes on the wire is ours.
        from io import BytesIO

        decoded = pydicom.dcmread(BytesIO(encode_dataset(raw, "1.2.840.10008.1.2")), force=True)
        result = []
        for rsp, _ in assoc.send_c_find(decoded, "1.2.840.10008.5.1.4.1.2.2.1"):
            result.append((int(rsp.Status), str(rsp.get("ErrorComment", "")), rsp.get("OffendingElement")))
        assoc.release()
        return result

    async def scenario() -> list[tuple[int, str, object]]:
        async with find_scp(index) as server:
            return await asyncio.to_thread(pynetdicom_find, server.port, identifier)

    responses = run(scenario())
    if status is None:
        assert responses == [(0x0000, "", None)]
        return
    assert len(responses) == 1
    got_status, got_comment, got_offending = responses[0]
    assert got_status == status
    assert comment is not None and comment in got_comment
    assert isinstance(got_offending, int) and got_offending == offending
    assert index.finds == 0  # the handler never saw it


def test_handler_refusal_becomes_the_final_status_and_our_scu_raises_it(studies: FolderStudies) -> None:
    folder, _ = studies
    index = FolderIndex(folder, refuse=DimseStatusError(0xA700, "Index offline"))

    async def scenario() -> None:
        async with find_scp(index) as server:
            await collect(server.port, query("STUDY", PatientID=""))

    with pytest.raises(DimseStatusError) as caught:
        run(scenario())
    assert caught.value.status == 0xA700
    assert caught.value.comment == "Index offline"


class _Endless:
    """A handler with unbounded matches: only a cancel ends it."""

    def __init__(self) -> None:
        self.produced = 0
        self.closed = False

    def find(self, request: FindRequest) -> Iterator[Dataset]:
        try:
            while True:
                self.produced += 1
                match = Dataset()
                match.set(tags.PatientID, f"P{self.produced}", "LO")
                yield match
        finally:
            self.closed = True


def test_limit_sends_c_cancel_the_scp_stops_and_the_association_stays_usable() -> None:
    handler = _Endless()

    async def scenario() -> tuple[list[Dataset], list[Dataset]]:
        async with find_scp(handler) as server:
            first = await collect(server.port, query("STUDY", PatientID=""), limit=5)
            second = await collect(server.port, query("STUDY", PatientID=""), limit=2)
            return first, second

    first, second = run(scenario())
    assert [m.get_str(tags.PatientID) for m in first] == [f"P{n}" for n in range(1, 6)]
    assert len(second) == 2
    assert handler.closed  # the thread closed the endless generator: the cancel stopped it
    # Matches are streamed ahead of the cancel, up to what the queue and the sockets
    # hold (thousands on loopback), not to the end of the stream.
    assert handler.produced < 20_000


class _AsyncHandler:
    async def _matches(self) -> AsyncIterator[Dataset | FindMatch]:
        for n in range(3):
            match = Dataset()
            match.set(tags.PatientID, f"A{n}", "LO")
            yield match

    def find(self, request: FindRequest) -> AsyncIterator[Dataset | FindMatch]:
        return self._matches()


def test_an_async_iterator_handler_is_served_on_the_loop() -> None:
    async def scenario() -> list[Dataset]:
        async with find_scp(_AsyncHandler()) as server:
            return await collect(
                server.port, query("PATIENT", PatientID=""), model=InformationModel.PATIENT_ROOT
            )

    assert [m.get_str(tags.PatientID) for m in run(scenario())] == ["A0", "A1", "A2"]


def test_find_cli_prints_a_table(studies: FolderStudies, capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = studies
    index = FolderIndex(folder)

    async def scenario() -> int:
        async with find_scp(index) as server:
            argv = ["find", "127.0.0.1", str(server.port), "--aec", "QRSCP", "-k", "QueryRetrieveLevel=STUDY"]
            argv += ["-k", "PatientName=*", "-k", "StudyDate", "-k", "PatientID"]
            return await asyncio.to_thread(main, argv)

    assert run(scenario()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["PatientName", "StudyDate", "PatientID"]
    assert any("DOE^JOHN" in line and "20240102" in line and "PAT1" in line for line in out)
    assert any("SMITH^ANNA" in line for line in out)
    assert out[-1] == "2 matches"


def test_find_sync_returns_every_match(studies: FolderStudies) -> None:
    folder, _ = studies
    index = FolderIndex(folder)

    async def scenario() -> list[Dataset]:
        async with find_scp(index) as server:
            return await asyncio.to_thread(
                find_sync,
                "127.0.0.1",
                server.port,
                AEConfig("FINDSCU"),
                "QRSCP",
                query("SERIES", SeriesInstanceUID=""),
            )

    assert len(run(scenario())) == 3


class _Counted:
    """``count`` matches, each encoded by the handler itself (bytes), or a failure after ``fail_after``."""

    def __init__(self, count: int, *, fail_after: int | None = None) -> None:
        self.count = count
        self.fail_after = fail_after

    def find(self, request: FindRequest) -> Iterator[bytes]:
        for number in range(self.count):
            if number == self.fail_after:
                raise DimseStatusError(0xC001, "index went away")
            match = Dataset()
            match.set(tags.QueryRetrieveLevel, request.level.value, "CS")
            match.set(tags.PatientID, f"P{number:05d}", "LO")
            yield encode_dataset(match, request.context.transfer_syntax)


@pytest.mark.parametrize("count", [0, 1, 31, 32, 33, 1000])
def test_encoded_matches_of_any_count_arrive_in_order_across_batches(count: int) -> None:
    async def scenario() -> list[Dataset]:
        async with find_scp(_Counted(count)) as server:
            return await collect(server.port, query("STUDY", PatientID=""))

    matches = run(scenario())
    assert [m.get_str(tags.PatientID) for m in matches] == [f"P{n:05d}" for n in range(count)]
    assert all(m.get_str(tags.QueryRetrieveLevel) == "STUDY" for m in matches)


def test_a_handler_failing_mid_stream_sends_what_it_found_then_its_status() -> None:
    received: list[Dataset] = []

    async def scenario() -> None:
        async with find_scp(_Counted(100, fail_after=70)) as server:
            async for match in find(
                "127.0.0.1", server.port, AEConfig("FINDSCU"), "QRSCP", query("STUDY", PatientID="")
            ):
                received.append(match)

    with pytest.raises(DimseStatusError) as caught:
        run(scenario())
    assert caught.value.status == 0xC001
    assert [m.get_str(tags.PatientID) for m in received] == [f"P{n:05d}" for n in range(70)]
