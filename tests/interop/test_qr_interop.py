"""Query/Retrieve interop on loopback.

- DCMTK ``findscu``, ``movescu`` (with ``storescp`` as the destination) and ``getscu``,
  and pynetdicom, against our Q/R SCP (FindService, MoveService, GetService over a
  folder-index test handler); bad input (unsupported level, missing level, malformed
  range, unknown move destination) gets its failure status and an Error Comment.
- Our SCU (find, move to our own Storage SCP, get) against DCMTK ``dcmqrscp`` (its
  configuration written here, loaded with ``storescu``) and against Orthanc (the Debian
  package, started here, loaded with our Storage SCU).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig, Timeouts
from dicomkit.net.scu.find import find
from dicomkit.net.scu.get import get
from dicomkit.net.scu.move import move
from dicomkit.net.scu.storage import store_files
from dicomkit.net.services import ServiceClass, ServiceHandlers, VerificationService
from dicomkit.net.services.find import FindService
from dicomkit.net.services.get import GetService
from dicomkit.net.services.move import Destination, MoveService
from dicomkit.net.services.query_retrieve import InformationModel, query_retrieve_contexts
from dicomkit.net.services.retrieve import RetrieveOptions
from dicomkit.net.services.storage import FileStorageHandler, StorageService, storage_contexts
from dicomkit.part10.reader import read_file
from tests.dicomkit.net.services.qr_handlers import FolderIndex, write_studies
from tests.interop import peers
from tests.interop.peers import dcmtk_env, free_port

TIMEOUTS = Timeouts(artim=10, acse=10, dimse=20, network=60, connect=10)

# The written study files' folder, and their paths by Study Instance UID.
Studies = tuple[Path, dict[str, list[Path]]]
T = TypeVar("T")


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Studies:
    folder = tmp_path_factory.mktemp("qr-interop")
    return folder, write_studies(folder)


def _three(studies: Studies) -> tuple[str, list[Path]]:
    return next((uid, paths) for uid, paths in studies[1].items() if len(paths) == 3)


def _uids(folder: Path) -> set[str]:
    found = set()
    for path in folder.iterdir():
        if path.is_file():
            uid = read_file(path).dataset.get_str(tags.SOPInstanceUID)
            assert uid is not None
            found.add(uid)
    return found


def _uids_of(paths: list[Path]) -> set[str]:
    return {str(read_file(p).dataset.get_str(tags.SOPInstanceUID)) for p in paths}


@asynccontextmanager
async def our_qr_scp(index: FolderIndex) -> AsyncIterator[int]:
    ae = AEConfig("QRSCP", supported_contexts=query_retrieve_contexts(), max_associations=20)
    services: list[ServiceClass] = [
        VerificationService(),
        FindService(index),
        MoveService(index, options=RetrieveOptions(pending_every=1), timeouts=TIMEOUTS),
        GetService(index, options=RetrieveOptions(pending_every=1)),
    ]
    server = DicomServer(ae, ServiceHandlers(services), host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server.port
    finally:
        await server.shutdown(0)


@asynccontextmanager
async def our_storage_scp(folder: Path, ae_title: str = "OURDEST", port: int = 0) -> AsyncIterator[int]:
    """Our Storage SCP writing to ``folder``, on ``port`` (0: a free one); yields its port."""
    folder.mkdir(parents=True, exist_ok=True)
    ae = AEConfig(ae_title, supported_contexts=storage_contexts(), max_associations=20)
    handler = FileStorageHandler(folder, fsync=False)
    server = DicomServer(ae, ServiceHandlers([StorageService(handler)]), host="127.0.0.1", port=port)
    await server.start()
    try:
        yield server.port
    finally:
        await server.shutdown(0)


async def _tool(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args,
        env=dcmtk_env(),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, output.decode(errors="replace")


def run(awaitable: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(awaitable, 240))


# ------------------------------------------------------- DCMTK/pynetdicom -> our SCP


def test_findscu_gets_every_match_from_our_scp(tmp_path: Path, studies: Studies) -> None:
    findscu = _require("findscu")
    folder, by_study = studies

    async def scenario() -> tuple[int, str]:
        async with our_qr_scp(FolderIndex(folder)) as port:
            return await _tool(
                findscu, "-S", "-X", "-aet", "FINDSCU", "-aec", "QRSCP",
                "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName", "-k", "StudyInstanceUID",
                "-k", "StudyDate=20230101-",
                "127.0.0.1", str(port), cwd=tmp_path,
            )  # fmt: skip

    code, output = run(scenario())
    assert code == 0, output
    responses = sorted(tmp_path.glob("rsp*.dcm"))
    found = {read_file(p).dataset.get_str(tags.StudyInstanceUID) for p in responses}
    assert found == set(by_study)
    names = {read_file(p).dataset.get_str(tags.PatientName) for p in responses}
    assert names == {"DOE^JOHN", "SMITH^ANNA"}


@pytest.mark.parametrize(
    ("keys", "status", "comment"),
    [
        (["-k", "QueryRetrieveLevel=FRAME"], "a900", "is not one of"),
        (["-k", "PatientName=DOE*"], "a900", "Level is missing"),
        (["-k", "QueryRetrieveLevel=STUDY", "-k", "StudyDate=2024-13-45"], "c000", "Invalid DA"),
    ],
)
def test_findscu_bad_identifiers_get_a_failure_status_and_comment(
    studies: Studies, keys: list[str], status: str, comment: str
) -> None:
    findscu = _require("findscu")
    folder, _ = studies

    async def scenario() -> tuple[int, str]:
        async with our_qr_scp(FolderIndex(folder)) as port:
            return await _tool(
                findscu, "-S", "-d", "-aet", "FINDSCU", "-aec", "QRSCP", *keys, "127.0.0.1", str(port)
            )

    _, output = run(scenario())
    assert f"0x{status}" in output.lower(), output
    assert comment in output, output


@pytest.fixture
def storescp_dest(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    with peers.storescp_writing(_require("storescp"), tmp_path, "STORESCP") as peer:
        yield peer


def test_movescu_moves_a_study_from_our_scp_to_storescp(
    studies: Studies, storescp_dest: tuple[int, Path]
) -> None:
    movescu = _require("movescu")
    folder, _ = studies
    study_uid, paths = _three(studies)
    dest_port, received = storescp_dest
    index = FolderIndex(folder, nodes={"STORESCP": Destination("127.0.0.1", dest_port, "STORESCP")})

    async def scenario() -> tuple[int, str]:
        async with our_qr_scp(index) as port:
            return await _tool(
                movescu, "-S", "-d", "-aet", "MOVESCU", "-aec", "QRSCP", "-aem", "STORESCP",
                "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
                "127.0.0.1", str(port),
            )  # fmt: skip

    code, output = run(scenario())
    assert code == 0, output
    assert _uids(received) == _uids_of(paths)
    assert "Remaining" in output  # movescu shows our pending responses' counts


def test_movescu_to_an_unknown_destination_gets_a801_with_a_comment(studies: Studies) -> None:
    movescu = _require("movescu")
    folder, _ = studies
    study_uid, _ = _three(studies)

    async def scenario() -> tuple[int, str]:
        async with our_qr_scp(FolderIndex(folder)) as port:
            return await _tool(
                movescu, "-S", "-d", "-aet", "MOVESCU", "-aec", "QRSCP", "-aem", "NOWHERE",
                "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
                "127.0.0.1", str(port),
            )  # fmt: skip

    _, output = run(scenario())
    assert "0xa801" in output.lower(), output
    assert "NOWHERE" in output and "unknown" in output, output


def test_getscu_gets_a_study_from_our_scp(tmp_path: Path, studies: Studies) -> None:
    getscu = _require("getscu")
    folder, _ = studies
    study_uid, paths = _three(studies)
    out = tmp_path / "get"
    out.mkdir()

    async def scenario() -> tuple[int, str]:
        async with our_qr_scp(FolderIndex(folder)) as port:
            return await _tool(
                getscu, "-S", "-aet", "GETSCU", "-aec", "QRSCP", "-od", str(out),
                "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
                "127.0.0.1", str(port),
            )  # fmt: skip

    code, output = run(scenario())
    assert code == 0, output
    assert _uids(out) == _uids_of(paths)


def test_pynetdicom_moves_a_study_from_our_scp_and_can_cancel(tmp_path: Path, studies: Studies) -> None:
    from pynetdicom import AE

    folder, _ = studies
    study_uid, paths = _three(studies)

    def pynetdicom_move(port: int) -> list[int]:
        import pydicom

        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context("1.2.840.10008.5.1.4.1.2.2.2")
        assoc = ae.associate("127.0.0.1", port, ae_title="QRSCP")
        identifier = pydicom.Dataset()
        identifier.QueryRetrieveLevel = "STUDY"
        identifier.StudyInstanceUID = study_uid
        statuses = [
            int(s.Status) for s, _ in assoc.send_c_move(identifier, "OURDEST", "1.2.840.10008.5.1.4.1.2.2.2")
        ]
        assoc.release()
        return statuses

    async def scenario() -> list[int]:
        async with our_storage_scp(tmp_path / "dest") as dest_port:
            index = FolderIndex(folder, nodes={"OURDEST": Destination("127.0.0.1", dest_port, "OURDEST")})
            async with our_qr_scp(index) as port:
                return await asyncio.to_thread(pynetdicom_move, port)

    statuses = run(scenario())
    assert statuses == [0xFF00, 0xFF00, 0x0000]
    assert _uids(tmp_path / "dest") == _uids_of(paths)


# ------------------------------------------------------------ our SCU -> DCMTK, Orthanc


async def _our_find(port: int, called: str, level: str, **keys: str) -> list[Dataset]:
    identifier = Dataset()
    identifier.set(tags.QueryRetrieveLevel, level, "CS")
    for keyword, value in keys.items():
        identifier.set(keyword, value)
    return [
        match
        async for match in find(
            "127.0.0.1", port, AEConfig("DICOMKIT"), called, identifier, timeouts=TIMEOUTS
        )
    ]


def _study(study_uid: str) -> Dataset:
    identifier = Dataset()
    identifier.set(tags.QueryRetrieveLevel, "STUDY", "CS")
    identifier.set(tags.StudyInstanceUID, study_uid, "UI")
    return identifier


async def _exercise_peer(
    port: int, called: str, studies: Studies, tmp_path: Path, dest_port: int, unknown_destination: int
) -> None:
    """find, move to our Storage SCP (OURDEST at ``dest_port``), get, move to an unknown
    AE (answered ``unknown_destination``); asserting each."""
    _, by_study = studies
    study_uid, paths = _three(studies)
    matches = await _our_find(port, called, "STUDY", PatientName="DOE*", StudyInstanceUID="", PatientID="")
    assert [m.get_str(tags.StudyInstanceUID) for m in matches] == [study_uid]
    every = await _our_find(port, called, "STUDY", StudyInstanceUID="")
    assert {m.get_str(tags.StudyInstanceUID) for m in every} == set(by_study)
    series = await _our_find(port, called, "SERIES", StudyInstanceUID=study_uid, SeriesInstanceUID="")
    assert len({m.get_str(tags.SeriesInstanceUID) for m in series}) == 2

    moved = await move(
        "127.0.0.1", port, AEConfig("DICOMKIT"), called, _study(study_uid), "OURDEST", timeouts=TIMEOUTS
    )
    assert moved.ok and moved.completed == 3, moved.describe()
    assert _uids(tmp_path / "dest") == _uids_of(paths)

    out = tmp_path / "get"
    out.mkdir()
    got = await get(
        "127.0.0.1", port, AEConfig("DICOMKIT"), called, _study(study_uid), out, timeouts=TIMEOUTS
    )
    assert got.ok and got.received == 3, got.describe()
    assert _uids(out) == _uids_of(paths)

    unknown = await move(
        "127.0.0.1", port, AEConfig("DICOMKIT"), called, _study(study_uid), "NOWHERE", timeouts=TIMEOUTS
    )
    assert unknown.status == unknown_destination, unknown.describe()


def test_our_scu_finds_moves_and_gets_from_dcmqrscp(tmp_path: Path, studies: Studies) -> None:
    dcmqrscp = _require("dcmqrscp")
    storescu = _require("storescu")
    folder, _ = studies
    port, dest_port = free_port(), free_port()
    database = tmp_path / "db"
    database.mkdir()
    config = tmp_path / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        f"HostTable BEGIN\nourdest = (OURDEST, 127.0.0.1, {dest_port})\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nQRSCP {database} RW (200, 1024mb) ANY\nAETable END\n"
    )
    with peers.started([dcmqrscp, "-c", str(config), str(port)], port, cwd=tmp_path):
        files = [str(p) for p in sorted(folder.rglob("*.dcm"))]
        loaded = subprocess.run(
            [storescu, "-aet", "LOADER", "-aec", "QRSCP", "127.0.0.1", str(port), *files],
            env=dcmtk_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr

        # dcmqrscp moves to the port of its HostTable: our Storage SCP must listen there.
        async def on_fixed_port() -> None:
            async with our_storage_scp(tmp_path / "dest", port=dest_port):
                await _exercise_peer(port, "QRSCP", studies, tmp_path, dest_port, 0xA801)

        run(on_fixed_port())


@pytest.fixture
def orthanc_qr(tmp_path: Path) -> Iterator[tuple[peers.Orthanc, int]]:
    """Orthanc answering any AE, with OURDEST as a known modality; yields it and OURDEST's port."""
    _require("Orthanc")
    dest_port = free_port()
    settings = {
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowMove": True,
        "DicomAlwaysAllowGet": True,
        "StableAge": 3600,
    }
    modalities = {"OURDEST": ("127.0.0.1", dest_port)}
    with peers.orthanc(
        tmp_path, name="dicomkit-qr-interop", modalities=modalities, settings=settings
    ) as running:
        yield running, dest_port


def test_our_scu_finds_moves_and_gets_from_orthanc(
    tmp_path: Path, studies: Studies, orthanc_qr: tuple[peers.Orthanc, int]
) -> None:
    folder, _ = studies
    orthanc, dest_port = orthanc_qr
    port = orthanc.dicom_port

    async def scenario() -> None:
        results = await store_files("127.0.0.1", port, AEConfig("DICOMKIT"), "ORTHANC", [folder])
        assert all(r.ok for r in results), [r.describe() for r in results]
        async with our_storage_scp(tmp_path / "dest", port=dest_port):
            # Orthanc answers an unknown move destination with C000 (Unable to process).
            await _exercise_peer(port, "ORTHANC", studies, tmp_path, dest_port, 0xC000)
            patients = await _our_find_patient_root(port)
            assert {m.get_str(tags.PatientID) for m in patients} == {"PAT1", "PAT2"}

    run(scenario())


async def _our_find_patient_root(port: int) -> list[Dataset]:
    identifier = Dataset()
    identifier.set(tags.QueryRetrieveLevel, "PATIENT", "CS")
    identifier.set(tags.PatientID, "", "LO")
    return [
        match
        async for match in find(
            "127.0.0.1", port, AEConfig("DICOMKIT"), "ORTHANC", identifier,
            model=InformationModel.PATIENT_ROOT, timeouts=TIMEOUTS,
        )
    ]  # fmt: skip
