"""C-GET SCP (GetService) and SCU (``dicomkit.net.scu.get``, ``get`` CLI) on loopback:
C-STORE sub-operations on the same association with SCP/SCU role selection, counts,
SOP classes without an SCP-role context failing, a truncated file failing alone (our
requester and DCMTK getscu), C-CANCEL, and pynetdicom as an oracle C-GET SCU."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeAlias, TypedDict, Unpack

import pytest

from dicomkit.cli.main import main
from dicomkit.data import tags, uids
from dicomkit.data.dataset import Dataset
from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig
from dicomkit.net.scu.get import get
from dicomkit.net.scu.retrieve import CancelCheck, ProgressCallback, RetrieveProgress, RetrieveResult
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.get import GetService
from dicomkit.net.services.query_retrieve import STUDY_ROOT_GET, query_retrieve_contexts
from dicomkit.net.services.retrieve import RetrieveOptions
from dicomkit.part10.reader import read_file
from tests.dicomkit.net.aio.servers import fast_timeouts, run
from tests.dicomkit.net.services.qr_handlers import (
    FolderIndex,
    write_studies,
    write_study_with_a_truncated_file,
)
from tests.interop.peers import dcmtk_env

#: The folder, the Study Instance UID of its 3-instance study, and that study's files.
StudyFiles: TypeAlias = tuple[Path, str, list[Path]]


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> StudyFiles:
    folder = tmp_path_factory.mktemp("qr-get")
    by_study = write_studies(folder)
    study_uid, paths = next((uid, p) for uid, p in by_study.items() if len(p) == 3)
    return folder, study_uid, paths


@asynccontextmanager
async def get_scp(index: FolderIndex) -> AsyncIterator[DicomServer]:
    ae = AEConfig("QRSCP", supported_contexts=query_retrieve_contexts(find=False, move=False))
    service = GetService(index, options=RetrieveOptions(pending_every=1))
    server = DicomServer(ae, ServiceHandlers([service]), host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(0)


def study_query(study_uid: str) -> Dataset:
    dataset = Dataset()
    dataset.set(tags.QueryRetrieveLevel, "STUDY", "CS")
    dataset.set(tags.StudyInstanceUID, study_uid, "UI")
    return dataset


def _uid(path: Path) -> str:
    uid = read_file(path).dataset.get_str(tags.SOPInstanceUID)
    assert uid is not None
    return uid


class GetOptions(TypedDict, total=False):
    """The options of ``get`` these tests vary."""

    progress: ProgressCallback | None
    sop_classes: Sequence[str] | None
    cancel: CancelCheck | None


async def do_get(port: int, identifier: Dataset, out: Path, **options: Unpack[GetOptions]) -> RetrieveResult:
    out.mkdir(parents=True, exist_ok=True)
    return await get(
        "127.0.0.1",
        port,
        AEConfig("GETSCU"),
        "QRSCP",
        identifier,
        out,
        timeouts=fast_timeouts(),
        **options,
    )


def test_get_receives_the_study_on_the_same_association(tmp_path: Path, studies: StudyFiles) -> None:
    folder, study_uid, paths = studies
    progress: list[RetrieveProgress] = []

    async def scenario() -> RetrieveResult:
        async with get_scp(FolderIndex(folder)) as scp:
            return await do_get(scp.port, study_query(study_uid), tmp_path, progress=progress.append)

    result = run(scenario())
    assert (result.status, result.completed, result.failed, result.warning, result.received) == (
        0,
        3,
        0,
        0,
        3,
    )
    assert {_uid(p) for p in tmp_path.glob("*.dcm")} == {_uid(p) for p in paths}
    assert [(p.remaining, p.completed) for p in progress] == [(2, 1), (1, 2)]
    # One CT context was accepted (Explicit VR LE, the SCP's choice of our two): the
    # Implicit VR LE file was converted for it.
    assert {read_file(p).transfer_syntax for p in tmp_path.glob("*.dcm")} == {uids.ExplicitVRLittleEndian}


def test_sop_classes_without_an_scp_role_context_fail_with_b000_and_the_list(
    tmp_path: Path, studies: StudyFiles
) -> None:
    folder, study_uid, paths = studies

    async def scenario() -> RetrieveResult:
        async with get_scp(FolderIndex(folder)) as scp:
            return await do_get(scp.port, study_query(study_uid), tmp_path, sop_classes=[uids.MRImageStorage])

    result = run(scenario())
    assert (result.status, result.completed, result.failed, result.received) == (0xB000, 0, 3, 0)
    assert set(result.failed_sop_instance_uids) == {_uid(p) for p in paths}
    assert not list(tmp_path.glob("*.dcm"))


def test_a_truncated_file_fails_alone_before_sending_and_the_others_are_received(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    study_uid, good, truncated_uid = write_study_with_a_truncated_file(tmp_path / "archive")
    out = tmp_path / "out"

    async def scenario() -> RetrieveResult:
        async with get_scp(FolderIndex(tmp_path / "archive")) as scp:
            return await do_get(scp.port, study_query(study_uid), out)

    # The product's LOGGING (applied when Django is loaded) keeps dicomkit's records from
    # propagating to the root logger, where caplog listens.
    monkeypatch.setattr(logging.getLogger("dicomkit"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="dicomkit.net.services.retrieve"):
        result = run(scenario())
    # Refused by the SCP's length check (our requester would also refuse it on arrival,
    # but another could abort the association and every sub-operation after it).
    refusals = [r for r in caplog.records if getattr(r, "sop_instance_uid", None) == truncated_uid]
    assert len(refusals) == 1
    assert (
        refusals[0]
        .getMessage()
        .startswith(
            "sub-operation failed, not sent: PixelData declares 8192 bytes but only 8130 remain in the file"
        )
    )
    assert (result.status, result.completed, result.failed, result.received) == (0xB000, 3, 1, 3)
    assert result.failed_sop_instance_uids == (truncated_uid,)
    assert sorted(_uid(p) for p in out.glob("*.dcm")) == sorted(_uid(p) for p in good)


def test_dcmtk_getscu_receives_every_good_file_of_a_study_with_a_truncated_one(tmp_path: Path) -> None:
    # getscu cannot read a truncated data set: were it sent, getscu would answer it
    # with a failure and stop, and the files after it would never arrive.
    getscu = shutil.which("getscu")
    if getscu is None:
        pytest.skip("getscu (DCMTK) is not installed")
    study_uid, good, _ = write_study_with_a_truncated_file(tmp_path / "archive")
    out = tmp_path / "out"
    out.mkdir()

    async def scenario() -> str:
        async with get_scp(FolderIndex(tmp_path / "archive")) as scp:
            process = await asyncio.create_subprocess_exec(
                getscu, "-v", "-S", "-aet", "GETSCU", "-aec", "QRSCP", "-od", str(out),
                "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
                "127.0.0.1", str(scp.port),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=dcmtk_env(),
            )  # fmt: skip
            output, _ = await process.communicate()
            return output.decode(errors="replace")

    output = run(scenario())
    assert sorted(_uid(p) for p in out.iterdir()) == sorted(_uid(p) for p in good), output
    assert re.search(r"Number of Completed Suboperations\s*:\s*3\b", output), output
    assert re.search(r"Number of Failed Suboperations\s*:\s*1\b", output), output


def test_c_cancel_after_the_first_pending_response_ends_with_fe00(
    tmp_path: Path, studies: StudyFiles
) -> None:
    folder, study_uid, _ = studies

    async def scenario() -> RetrieveResult:
        async with get_scp(FolderIndex(folder)) as scp:
            return await do_get(scp.port, study_query(study_uid), tmp_path, cancel=lambda: True)

    result = run(scenario())
    # The C-CANCEL-RQ precedes our answer to the second C-STORE on the wire, so the SCP
    # sees it before it would start the third.
    assert result.status == 0xFE00
    assert (result.completed, result.failed, result.remaining) == (2, 0, 1)
    assert len(list(tmp_path.glob("*.dcm"))) == 2


def test_missing_level_is_refused_without_sub_operations(tmp_path: Path, studies: StudyFiles) -> None:
    folder, study_uid, _ = studies
    identifier = study_query(study_uid)
    identifier.delete(tags.QueryRetrieveLevel)

    async def scenario() -> RetrieveResult:
        async with get_scp(FolderIndex(folder)) as scp:
            return await do_get(scp.port, identifier, tmp_path)

    result = run(scenario())
    assert result.status == 0xA900
    assert "Query/Retrieve Level is missing" in result.error_comment


def test_pynetdicom_get_scu_receives_every_instance(tmp_path: Path, studies: StudyFiles) -> None:
    from pynetdicom import AE, build_role, evt
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.events import Event

    folder, study_uid, paths = studies
    received: list[str] = []

    def on_store(event: Event) -> int:
        assert isinstance(event.request, C_STORE)
        received.append(str(event.request.AffectedSOPInstanceUID))
        return 0

    def pynetdicom_get(port: int) -> list[int]:
        import pydicom

        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(STUDY_ROOT_GET)
        ae.add_requested_context(
            uids.CTImageStorage, [uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian]
        )
        role = build_role(uids.CTImageStorage, scp_role=True)
        assoc = ae.associate(
            "127.0.0.1", port, ae_title="QRSCP", ext_neg=[role], evt_handlers=[(evt.EVT_C_STORE, on_store)]
        )
        identifier = pydicom.Dataset()
        identifier.QueryRetrieveLevel = "STUDY"
        identifier.StudyInstanceUID = study_uid
        statuses = [int(status.Status) for status, _ in assoc.send_c_get(identifier, STUDY_ROOT_GET)]
        assoc.release()
        return statuses

    async def scenario() -> list[int]:
        async with get_scp(FolderIndex(folder)) as scp:
            return await asyncio.to_thread(pynetdicom_get, scp.port)

    assert run(scenario()) == [0xFF00, 0xFF00, 0x0000]
    assert sorted(received) == sorted(_uid(p) for p in paths)


def test_get_cli_writes_the_instances(
    tmp_path: Path, studies: StudyFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, study_uid, paths = studies
    out = tmp_path / "out"

    async def scenario() -> int:
        async with get_scp(FolderIndex(folder)) as scp:
            argv = ["get", "127.0.0.1", str(scp.port), "--aec", "QRSCP", "-o", str(out)]
            argv += ["-k", f"StudyInstanceUID={study_uid}"]
            return await asyncio.to_thread(main, argv)

    assert run(scenario()) == 0
    assert f"C-GET into {out}: 0x0000 Success: 3 completed" in capsys.readouterr().out
    assert {_uid(p) for p in out.glob("*.dcm")} == {_uid(p) for p in paths}
