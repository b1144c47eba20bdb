"""C-MOVE SCP (MoveService) and SCU (``dicomkit.net.scu.move``, ``move`` CLI) on loopback:
sub-operations to a destination Storage SCP of ours, counts in pending and final
responses, Move Originator, conversion for a destination that accepts less, failures
with the Failed SOP Instance UID List, a truncated file failing alone (DCMTK storescp as
the destination), unknown destination (A801), unreachable destination (A702), refusals
and C-CANCEL."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack

import pytest

from dicomkit.cli.main import main
from dicomkit.data import tags, uids
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DimseStatusError
from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig, SupportedContext
from dicomkit.net.dimse.assemble import DataSink
from dicomkit.net.scu.move import move
from dicomkit.net.scu.retrieve import CancelCheck, ProgressCallback, RetrieveProgress, RetrieveResult
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.move import Destination, MoveService
from dicomkit.net.services.query_retrieve import query_retrieve_contexts
from dicomkit.net.services.retrieve import InstanceRef, RetrieveOptions, RetrieveRequest
from dicomkit.net.services.storage import (
    Duplicates,
    FileStorageHandler,
    IncomingStore,
    StorageService,
    StoreRequest,
    StoreStatus,
    storage_contexts,
)
from dicomkit.part10.reader import read_file
from tests.dicomkit.net.aio.servers import fast_timeouts, run
from tests.dicomkit.net.services.qr_handlers import (
    FolderIndex,
    FolderStudies,
    write_studies,
    write_study_with_a_truncated_file,
)
from tests.interop.peers import LOOPBACK, storescp_writing


@pytest.fixture
def studies(tmp_path: Path) -> FolderStudies:
    folder = tmp_path / "archive"
    return folder, write_studies(folder)


@dataclass
class Recording:
    """A destination's storage handler: FileStorageHandler plus what each C-STORE-RQ said."""

    inner: FileStorageHandler
    originators: list[tuple[str | None, int | None]] = field(default_factory=list)
    syntaxes: list[str] = field(default_factory=list)
    hold: RetrieveRequest | None = None  # if set, the 2nd store waits for its cancel

    def open_sink(self, incoming: IncomingStore) -> DataSink:
        command = incoming.command
        self.originators.append((command.move_originator_ae_title, command.move_originator_message_id))
        self.syntaxes.append(incoming.transfer_syntax)
        return self.inner.open_sink(incoming)

    async def on_store(self, request: StoreRequest) -> int | StoreStatus:
        if self.hold is not None and len(self.syntaxes) == 2:
            for _ in range(500):  # until the C-CANCEL has reached the move SCP
                if self.hold.cancelled:
                    break
                await asyncio.sleep(0.01)
        return await self.inner.on_store(request)


class HoldingIndex(FolderIndex):
    """Remembers the retrieval it serves, so the destination can wait for its cancel."""

    destination_handler: Recording | None = None

    def instances(self, request: RetrieveRequest) -> Sequence[InstanceRef]:
        if self.destination_handler is not None:
            self.destination_handler.hold = request
        return super().instances(request)


@asynccontextmanager
async def destination(
    folder: Path,
    *,
    contexts: tuple[SupportedContext, ...] | None = None,
    duplicates: Duplicates = Duplicates.REPLACE,
) -> AsyncIterator[tuple[DicomServer, Recording]]:
    folder.mkdir(parents=True, exist_ok=True)
    handler = Recording(FileStorageHandler(folder, duplicates=duplicates, fsync=False))
    ae = AEConfig("DEST", supported_contexts=contexts or storage_contexts())
    server = DicomServer(ae, ServiceHandlers([StorageService(handler)]), host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server, handler
    finally:
        await server.shutdown(0)


@asynccontextmanager
async def move_scp(index: FolderIndex, *, every: int = 1) -> AsyncIterator[DicomServer]:
    ae = AEConfig("QRSCP", supported_contexts=query_retrieve_contexts(find=False, get=False))
    service = MoveService(index, options=RetrieveOptions(pending_every=every), timeouts=fast_timeouts())
    server = DicomServer(ae, ServiceHandlers([service]), host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(0)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def study_query(study_uid: str) -> Dataset:
    dataset = Dataset()
    dataset.set(tags.QueryRetrieveLevel, "STUDY", "CS")
    dataset.set(tags.StudyInstanceUID, study_uid, "UI")
    return dataset


class MoveOptions(TypedDict, total=False):
    """The options of ``move`` these tests vary."""

    progress: ProgressCallback | None
    cancel: CancelCheck | None


async def do_move(
    port: int, identifier: Dataset, dest: str = "DEST", **options: Unpack[MoveOptions]
) -> RetrieveResult:
    return await move(
        "127.0.0.1",
        port,
        AEConfig("MOVESCU"),
        "QRSCP",
        identifier,
        dest,
        timeouts=fast_timeouts(),
        **options,
    )


def _uid(path: Path) -> str:
    uid = read_file(path).dataset.get_str(tags.SOPInstanceUID)
    assert uid is not None
    return uid


def test_move_sends_the_study_with_pending_counts_and_move_originator(
    tmp_path: Path, studies: FolderStudies
) -> None:
    folder, by_study = studies
    study_uid, paths = next((uid, p) for uid, p in by_study.items() if len(p) == 3)
    index = FolderIndex(folder)
    progress: list[RetrieveProgress] = []

    async def scenario() -> tuple[RetrieveResult, Recording]:
        async with destination(tmp_path / "dest") as (dest, recording), move_scp(index) as scp:
            index.nodes["DEST"] = Destination("127.0.0.1", dest.port, "DEST")
            return await do_move(scp.port, study_query(study_uid), progress=progress.append), recording

    result, recording = run(scenario())
    assert (result.status, result.completed, result.failed, result.warning) == (0, 3, 0, 0)
    assert result.failed_sop_instance_uids == ()
    assert {_uid(p) for p in (tmp_path / "dest").glob("*.dcm")} == {_uid(p) for p in paths}
    assert [(p.remaining, p.completed) for p in progress] == [(2, 1), (1, 2)]
    assert len(recording.originators) == 3
    assert {originator for originator in recording.originators} == {("MOVESCU", 1)}


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """DCMTK's storescp as DEST on loopback (it aborts on a truncated data set); its port
    and output folder."""
    binary = shutil.which("storescp")
    if binary is None:
        pytest.skip("storescp (DCMTK) is not installed")
    with storescp_writing(binary, tmp_path, "DEST") as peer:
        yield peer


def test_a_truncated_file_fails_alone_and_storescp_receives_the_others(
    tmp_path: Path,
    storescp: tuple[int, Path],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dest_port, out = storescp
    study_uid, good, truncated_uid = write_study_with_a_truncated_file(tmp_path / "archive")
    index = FolderIndex(tmp_path / "archive")
    index.nodes["DEST"] = Destination(LOOPBACK, dest_port, "DEST")

    async def scenario() -> RetrieveResult:
        async with move_scp(index) as scp:
            return await do_move(scp.port, study_query(study_uid))

    # The product's LOGGING (applied when Django is loaded) keeps dicomkit's records from
    # propagating to the root logger, where caplog listens.
    monkeypatch.setattr(logging.getLogger("dicomkit"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="dicomkit.net.services.retrieve"):
        result = run(scenario(), timeout=60)
    assert (result.status, result.completed, result.failed, result.warning) == (0xB000, 3, 1, 0)
    assert result.failed_sop_instance_uids == (truncated_uid,)
    assert sorted(_uid(p) for p in out.iterdir()) == sorted(_uid(p) for p in good)
    assert any(
        "not sent: PixelData declares 8192 bytes" in record.getMessage()
        and getattr(record, "sop_instance_uid", None) == truncated_uid
        for record in caplog.records
    )


def test_a_destination_that_accepts_only_explicit_le_gets_the_implicit_instance_converted(
    tmp_path: Path, studies: FolderStudies
) -> None:
    folder, by_study = studies
    study_uid = next(uid for uid, p in by_study.items() if len(p) == 3)
    index = FolderIndex(folder)
    only_explicit = (SupportedContext(uids.CTImageStorage, (uids.ExplicitVRLittleEndian,)),)

    async def scenario() -> tuple[RetrieveResult, Recording]:
        async with (
            destination(tmp_path / "dest", contexts=only_explicit) as (dest, recording),
            move_scp(index) as scp,
        ):
            index.nodes["DEST"] = Destination("127.0.0.1", dest.port, "DEST")
            return await do_move(scp.port, study_query(study_uid)), recording

    result, recording = run(scenario())
    assert (result.status, result.completed) == (0, 3)
    assert recording.syntaxes == [uids.ExplicitVRLittleEndian] * 3
    stored = sorted((tmp_path / "dest").glob("*.dcm"))
    assert {read_file(p).transfer_syntax for p in stored} == {uids.ExplicitVRLittleEndian}


def test_failed_sub_operations_give_b000_with_the_failed_sop_instance_uid_list(
    tmp_path: Path, studies: FolderStudies
) -> None:
    folder, by_study = studies
    study_uid, paths = next((uid, p) for uid, p in by_study.items() if len(p) == 3)
    index = FolderIndex(folder)
    already = tmp_path / "dest"
    already.mkdir()
    (already / f"{_uid(paths[0])}.dcm").write_bytes(paths[0].read_bytes())  # a duplicate, refused
    gone = _uid(paths[1])
    paths[1].unlink()  # listed by the index, gone from disk: cannot be read

    async def scenario() -> RetrieveResult:
        async with destination(already, duplicates=Duplicates.REJECT) as (dest, _), move_scp(index) as scp:
            index.nodes["DEST"] = Destination("127.0.0.1", dest.port, "DEST")
            return await do_move(scp.port, study_query(study_uid))

    result = run(scenario())
    assert (result.status, result.completed, result.failed, result.warning) == (0xB000, 1, 2, 0)
    assert set(result.failed_sop_instance_uids) == {_uid(paths[0]), gone}
    assert not result.ok


def test_unknown_destination_is_refused_a801_with_a_comment(studies: FolderStudies) -> None:
    folder, by_study = studies
    index = FolderIndex(folder)

    async def scenario() -> RetrieveResult:
        async with move_scp(index) as scp:
            return await do_move(scp.port, study_query(next(iter(by_study))), dest="NOWHERE")

    result = run(scenario())
    assert result.status == 0xA801
    assert "NOWHERE" in result.error_comment and "unknown" in result.error_comment
    assert result.describe().startswith("0xA801 Refused: Move Destination unknown: 0 completed")


def test_unreachable_destination_is_a702_with_every_sub_operation_failed(studies: FolderStudies) -> None:
    folder, by_study = studies
    study_uid = next(uid for uid, p in by_study.items() if len(p) == 3)
    index = FolderIndex(folder, nodes={"DEST": Destination("127.0.0.1", unused_port(), "DEST")})

    async def scenario() -> RetrieveResult:
        async with move_scp(index) as scp:
            return await do_move(scp.port, study_query(study_uid))

    result = run(scenario())
    assert (result.status, result.completed, result.failed) == (0xA702, 0, 3)
    assert "Cannot associate with DEST" in result.error_comment
    assert len(result.failed_sop_instance_uids) == 3


@pytest.mark.parametrize(
    ("identifier", "status", "comment"),
    [
        (Dataset(), 0xA900, "Query/Retrieve Level is missing"),
        (study_query("1.2.3").copy(), 0xA701, "Too many"),
    ],
)
def test_bad_requests_and_refusals_are_answered_with_their_status(
    studies: FolderStudies, identifier: Dataset, status: int, comment: str
) -> None:
    folder, _ = studies
    if not len(identifier):
        identifier.set(tags.StudyInstanceUID, "1.2.3", "UI")
    index = FolderIndex(folder, refuse=DimseStatusError(0xA701, "Too many matches"))
    index.nodes["DEST"] = Destination("127.0.0.1", unused_port(), "DEST")

    async def scenario() -> RetrieveResult:
        async with move_scp(index) as scp:
            return await do_move(scp.port, identifier)

    result = run(scenario())
    assert result.status == status
    assert comment in result.error_comment


def test_c_cancel_stops_the_move_between_sub_operations_with_fe00_and_counts(
    tmp_path: Path, studies: FolderStudies
) -> None:
    folder, by_study = studies
    study_uid = next(uid for uid, p in by_study.items() if len(p) == 3)
    index = HoldingIndex(folder)

    async def scenario() -> RetrieveResult:
        async with destination(tmp_path / "dest") as (dest, recording), move_scp(index) as scp:
            index.destination_handler = recording
            index.nodes["DEST"] = Destination("127.0.0.1", dest.port, "DEST")
            return await do_move(scp.port, study_query(study_uid), cancel=lambda: True)

    result = run(scenario())
    assert result.status == 0xFE00
    assert (result.completed, result.failed, result.remaining) == (2, 0, 1)
    assert len(list((tmp_path / "dest").glob("*.dcm"))) == 2


def test_move_cli_reports_the_outcome(
    tmp_path: Path, studies: FolderStudies, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, by_study = studies
    study_uid = next(uid for uid, p in by_study.items() if len(p) == 3)
    index = FolderIndex(folder)

    async def scenario() -> int:
        async with destination(tmp_path / "dest") as (dest, _), move_scp(index) as scp:
            index.nodes["DEST"] = Destination("127.0.0.1", dest.port, "DEST")
            argv = ["move", "127.0.0.1", str(scp.port), "DEST", "--aec", "QRSCP", "--progress"]
            argv += ["-k", f"StudyInstanceUID={study_uid}"]
            return await asyncio.to_thread(main, argv)

    assert run(scenario()) == 0
    captured = capsys.readouterr()
    assert "C-MOVE to DEST: 0x0000 Success: 3 completed, 0 failed, 0 warning" in captured.out
    assert "instance" in captured.err  # the tqdm bar
