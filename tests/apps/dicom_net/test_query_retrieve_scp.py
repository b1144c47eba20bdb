"""The product's Query/Retrieve SCP: ``run_dicom_server`` over a loaded archive, with DCMTK and pynetdicom.

The archive is loaded in the test process through the import service (the server
subprocess shares the test database and archive root). Two patients: DOE^JOHN with a
study of two series (2 + 1 images, one stored in Implicit VR LE) and SMITH^ANNA with one
image. Move destinations are DCMTK ``storescp`` processes registered as remote nodes.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.db import connection

from apps.archive.services import files_import
from apps.dicom_net.services.remote_nodes import remote_node_create
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.part10.reader import read_file
from tests.apps.dicom_net.conftest import ArchiveServer
from tests.dicomkit.net.services.qr_handlers import write_studies
from tests.interop.peers import dcmtk_env, free_port, stop, wait_for_port

if TYPE_CHECKING:
    from pynetdicom.events import Event

pytestmark = pytest.mark.django_db(transaction=True)

STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
CT = "1.2.840.10008.5.1.4.1.1.2"


class Loaded:
    def __init__(self, server: ArchiveServer, studies: dict[str, list[Path]]) -> None:
        self.server = server
        self.studies = studies

    @property
    def port(self) -> int:
        return self.server.port

    def study(self, images: int) -> tuple[str, list[Path]]:
        return next((uid, paths) for uid, paths in self.studies.items() if len(paths) == images)


@pytest.fixture
def loaded(archive_server: ArchiveServer, tmp_path: Path) -> Loaded:
    folder = tmp_path / "files"
    studies = write_studies(folder)
    summary = files_import(paths=[folder], workers=1)
    assert summary.counts["stored"] == 4, summary.counts
    archive_server.start()
    return Loaded(archive_server, studies)


def _uids(paths: list[Path]) -> set[str]:
    return {str(read_file(p).dataset.get_str(tags.SOPInstanceUID)) for p in paths}


def _received(folder: Path) -> set[str]:
    return _uids([p for p in folder.iterdir() if p.is_file()])


def _dcmtk(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, env=dcmtk_env(), cwd=cwd, timeout=120, check=False
    )


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """DCMTK storescp as STORESCP, registered as a remote node allowed to receive moves."""
    port = free_port()
    folder = tmp_path / "storescp"
    folder.mkdir()
    process = subprocess.Popen(
        ["storescp", "-aet", "STORESCP", "-od", str(folder), str(port)],
        env=dcmtk_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        remote_node_create(ae_title="STORESCP", host="127.0.0.1", port=port, outgoing_operations=["move"])
        yield port, folder
    finally:
        stop(process)


# ------------------------------------------------------------------------------ C-FIND


def _findscu(loaded: Loaded, cwd: Path, *keys: str, patient_root: bool = False) -> list[dict[str, str]]:
    cwd.mkdir()
    model = "-P" if patient_root else "-S"
    argv = ["findscu", model, "-X", "-aet", "FINDSCU", "-aec", "PACS"]
    for key in keys:
        argv += ["-k", key]
    result = _dcmtk(*argv, "127.0.0.1", str(loaded.port), cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    answers = []
    for path in sorted(cwd.glob("rsp*.dcm")):
        dataset = read_file(path).dataset
        answers.append({k: dataset.get_str(k, "") for k in ("PatientName", "PatientID")} | {
            "study": dataset.get_str(tags.StudyInstanceUID, ""),
            "series": dataset.get_str(tags.SeriesInstanceUID, ""),
            "sop": dataset.get_str(tags.SOPInstanceUID, ""),
            "level": dataset.get_str(tags.QueryRetrieveLevel, ""),
            "related": dataset.get_str(tags.NumberOfStudyRelatedInstances, ""),
        })  # fmt: skip
    return answers


def test_findscu_queries_each_level_and_gets_the_archive_answers(loaded: Loaded, tmp_path: Path) -> None:
    doe_uid, doe_paths = loaded.study(3)
    smith_uid, _ = loaded.study(1)

    patients = _findscu(
        loaded, tmp_path / "p", "QueryRetrieveLevel=PATIENT", "PatientName=DOE*", "PatientID",
        patient_root=True,
    )  # fmt: skip
    assert [(a["PatientName"], a["PatientID"], a["level"]) for a in patients] == [
        ("DOE^JOHN", "PAT1", "PATIENT")
    ]

    studies = _findscu(
        loaded, tmp_path / "s", "QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientName",
        "NumberOfStudyRelatedInstances", "StudyDate=20240101-",
    )  # fmt: skip
    assert [(a["study"], a["PatientName"], a["related"]) for a in studies] == [(doe_uid, "DOE^JOHN", "3")]

    series = _findscu(
        loaded,
        tmp_path / "se",
        "QueryRetrieveLevel=SERIES",
        f"StudyInstanceUID={doe_uid}",
        "SeriesInstanceUID",
    )
    assert len({a["series"] for a in series}) == 2

    images = _findscu(
        loaded, tmp_path / "i", "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={smith_uid}",
        f"SeriesInstanceUID={_series_of(loaded, smith_uid)}", "SOPInstanceUID",
    )  # fmt: skip
    assert {a["sop"] for a in images} == _uids(loaded.studies[smith_uid])
    assert doe_paths  # both studies were loaded


def _series_of(loaded: Loaded, study_uid: str) -> str:
    return str(read_file(loaded.studies[study_uid][0]).dataset.get_str(tags.SeriesInstanceUID))


def test_c_find_answers_after_the_database_dropped_the_servers_connections(
    loaded: Loaded, tmp_path: Path
) -> None:
    keys = ("QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientName")
    before = _findscu(loaded, tmp_path / "before", *keys)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    # Within the second in which the handler threads skip Django's health check.
    after = [_findscu(loaded, tmp_path / f"after{n}", *keys) for n in range(3)]
    assert len(before) == 2
    assert after == [before] * 3


@pytest.mark.parametrize(
    ("keys", "status", "comment"),
    [
        (["QueryRetrieveLevel=FRAME"], "0xa900", "is not one of"),
        (["PatientName=DOE*"], "0xa900", "Level is missing"),
        (["QueryRetrieveLevel=STUDY", "StudyDate=2024-13-45"], "0xc000", "Invalid DA"),
        (["QueryRetrieveLevel=SERIES", "Modality=CT"], "0xa900", "StudyInstanceUID needs a value"),
    ],
    ids=["unsupported-level", "missing-level", "malformed-range", "missing-unique-key"],
)
def test_findscu_bad_identifiers_get_a_failure_status_with_an_error_comment(
    loaded: Loaded, keys: list[str], status: str, comment: str
) -> None:
    argv = ["findscu", "-S", "-d", "-aet", "FINDSCU", "-aec", "PACS"]
    for key in keys:
        argv += ["-k", key]
    result = _dcmtk(*argv, "127.0.0.1", str(loaded.port))
    output = result.stdout + result.stderr
    assert status in output.lower(), output
    assert "ErrorComment" in output and comment in output, output
    assert loaded.server.server is not None
    assert "Traceback" not in loaded.server.server.output()


# ------------------------------------------------------------------------------ C-MOVE


def test_movescu_moves_a_study_to_storescp_with_pending_and_final_statuses(
    loaded: Loaded, storescp: tuple[int, Path]
) -> None:
    _, received = storescp
    study_uid, paths = loaded.study(3)
    result = _dcmtk(
        "movescu", "-S", "-d", "-aet", "MOVESCU", "-aec", "PACS", "-aem", "STORESCP",
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
        "127.0.0.1", str(loaded.port),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert _received(received) == _uids(paths)
    assert "Pending" in output and "Remaining" in output, output
    assert "0x0000: Success" in output, output


@pytest.mark.parametrize("destination", ["NOWHERE", "NOMOVE"])
def test_movescu_to_an_unknown_or_not_allowed_destination_gets_a801_with_a_comment(
    loaded: Loaded, destination: str
) -> None:
    remote_node_create(ae_title="NOMOVE", host="127.0.0.1", port=free_port(), outgoing_operations=["echo"])
    study_uid, _ = loaded.study(3)
    result = _dcmtk(
        "movescu", "-S", "-d", "-aet", "MOVESCU", "-aec", "PACS", "-aem", destination,
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
        "127.0.0.1", str(loaded.port),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert "0xa801" in output.lower(), output
    assert f"Move destination '{destination}' unknown" in output, output


def test_movescu_without_the_unique_key_of_the_level_is_refused_with_a900(
    loaded: Loaded, storescp: tuple[int, Path]
) -> None:
    result = _dcmtk(
        "movescu", "-S", "-d", "-aet", "MOVESCU", "-aec", "PACS", "-aem", "STORESCP",
        "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={loaded.study(3)[0]}",
        "127.0.0.1", str(loaded.port),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert "0xa900" in output.lower() and "needs a Series Instance UID" in output, output
    assert list(storescp[1].iterdir()) == []


# ------------------------------------------------------------------------------- C-GET


def test_getscu_gets_a_series_on_the_same_association(loaded: Loaded, tmp_path: Path) -> None:
    out = tmp_path / "get"
    out.mkdir()
    study_uid, paths = loaded.study(3)
    series_uid = str(read_file(paths[0]).dataset.get_str(tags.SeriesInstanceUID))
    expected = {
        uid for p in paths
        if (d := read_file(p).dataset).get_str(tags.SeriesInstanceUID) == series_uid
        for uid in [str(d.get_str(tags.SOPInstanceUID))]
    }  # fmt: skip
    result = _dcmtk(
        "getscu", "-S", "-aet", "GETSCU", "-aec", "PACS", "-od", str(out),
        "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={study_uid}",
        "-k", f"SeriesInstanceUID={series_uid}", "127.0.0.1", str(loaded.port),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert _received(out) == expected and len(expected) == 2


# ------------------------------------------------------------------------- pynetdicom


def test_pynetdicom_finds_moves_and_gets(loaded: Loaded, storescp: tuple[int, Path]) -> None:
    import pydicom
    from pynetdicom import AE, build_role, evt

    study_uid, paths = loaded.study(3)
    identifier = pydicom.Dataset()
    identifier.QueryRetrieveLevel = "PATIENT"
    identifier.PatientID = ""
    identifier.PatientName = ""

    ae = AE(ae_title="PYNETDICOM")
    for context in (PATIENT_ROOT_FIND, STUDY_ROOT_MOVE, STUDY_ROOT_GET, CT):
        ae.add_requested_context(context)
    stored: list[str] = []

    def on_store(event: Event) -> int:
        stored.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    assoc = ae.associate(
        "127.0.0.1", loaded.port, ae_title="PACS",
        ext_neg=[build_role(CT, scp_role=True)], evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )  # fmt: skip
    assert assoc.is_established
    try:
        found = [(int(s.Status), ds) for s, ds in assoc.send_c_find(identifier, PATIENT_ROOT_FIND)]
        assert [status for status, _ in found] == [0xFF00, 0xFF00, 0x0000]
        assert {str(ds.PatientID) for _, ds in found[:2] if ds is not None} == {"PAT1", "PAT2"}

        move_id = pydicom.Dataset()
        move_id.QueryRetrieveLevel = "STUDY"
        move_id.StudyInstanceUID = study_uid
        moved = [s for s, _ in assoc.send_c_move(move_id, "STORESCP", STUDY_ROOT_MOVE)]
        assert int(moved[-1].Status) == 0x0000
        assert moved[-1].NumberOfCompletedSuboperations == 3
        assert _received(storescp[1]) == _uids(paths)

        got = [s for s, _ in assoc.send_c_get(move_id, STUDY_ROOT_GET)]
        assert int(got[-1].Status) == 0x0000, got[-1]
        assert set(stored) == _uids(paths)
    finally:
        assoc.release()


# ---------------------------------------------------------------------------- C-CANCEL


def test_a_cancelled_c_find_stops_with_fe00_before_every_match_is_sent(archive_server: ArchiveServer) -> None:
    import pydicom
    from pynetdicom import AE

    from apps.archive.query.synthetic import index_generate

    index_generate(studies=3000, instances_per_study=1, series_per_study=1, seed=5)
    archive_server.start()
    ae = AE(ae_title="PYNETDICOM")
    ae.add_requested_context(STUDY_ROOT_FIND)
    assoc = ae.associate("127.0.0.1", archive_server.port, ae_title="PACS")
    identifier = pydicom.Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = ""
    statuses = []
    try:
        responses = assoc.send_c_find(identifier, STUDY_ROOT_FIND, msg_id=7)
        for status, _ in responses:
            statuses.append(int(status.Status))
            if len(statuses) == 1:
                assoc.send_c_cancel(7, query_model=STUDY_ROOT_FIND)
    finally:
        assoc.release()
    assert statuses[-1] == 0xFE00
    assert statuses.count(0xFF00) < 3000


def test_a_cancelled_c_move_ends_with_fe00_and_the_counts_so_far(
    archive_server: ArchiveServer, storescp: tuple[int, Path], tmp_path: Path
) -> None:
    from dicomkit.data.uid import generate_uid
    from dicomkit.net.config import AEConfig
    from dicomkit.net.scu.move import move
    from tests.builders import write_ct

    study_uid, series_uid = generate_uid(), generate_uid()
    folder = tmp_path / "many"
    for number in range(60):
        write_ct(
            folder / f"{number}.dcm", StudyInstanceUID=study_uid, SeriesInstanceUID=series_uid,
            InstanceNumber=str(number + 1),
        )  # fmt: skip
    assert files_import(paths=[folder], workers=1).counts["stored"] == 60
    archive_server.start()
    query = Dataset()
    query.set(tags.QueryRetrieveLevel, "STUDY", "CS")
    query.set(tags.StudyInstanceUID, study_uid, "UI")
    progress: list[int] = []
    result = asyncio.run(
        move(
            "127.0.0.1", archive_server.port, AEConfig("MOVESCU"), "PACS", query, "STORESCP",
            progress=lambda p: progress.append(p.completed), cancel=lambda: True,
        )
    )  # fmt: skip
    assert result.status == 0xFE00, result.describe()
    assert progress and result.completed < 60
    assert result.remaining is not None and result.remaining > 0
    assert len(list(storescp[1].iterdir())) == result.completed
