"""``manage.py dicom_find|dicom_move|dicom_get`` against our own server and against DCMTK dcmqrscp."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pytest_django import Settings

from apps.archive.models import Instance
from apps.dicom_net.services.remote_nodes import remote_node_create
from tests.apps.dicom_net import test_query_retrieve_scp as qr
from tests.apps.dicom_net.conftest import Terminal
from tests.apps.dicom_net.test_query_retrieve_scp import Loaded, _received, _uids
from tests.dicomkit.net.services.qr_handlers import write_studies
from tests.interop.peers import dcmtk_env, free_port, stop, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)

# The loaded archive server and the storescp destination of the Q/R SCP tests.
loaded = qr.loaded
storescp = qr.storescp


def test_dicom_find_writes_the_table_of_the_matches_to_the_command_stdout(
    loaded: Loaded, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    call_command(
        "dicom_find", "--from", f"PACS@127.0.0.1:{loaded.port}",
        "-k", "PatientName", "-k", "StudyInstanceUID", "-k", "StudyDate", stdout=out,
    )  # fmt: skip
    assert capsys.readouterr().out == ""  # nothing printed past the caller's stdout
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["PatientName", "StudyInstanceUID", "StudyDate"]
    assert sorted(line.split()[0] for line in lines[1:3]) == ["DOE^JOHN", "SMITH^ANNA"]
    assert lines[-1] == "2 matches"


STUDY_KEYS = [
    "PatientName", "PatientID", "StudyDate", "StudyInstanceUID",
    "AccessionNumber", "ModalitiesInStudy", "StudyDescription",
]  # fmt: skip


def _find(peer: str, *keys: str) -> list[str]:
    out = io.StringIO()
    call_command("dicom_find", "--from", peer, *keys, stdout=out)
    return out.getvalue().splitlines()


def test_dicom_find_without_keys_lists_the_studies_with_the_default_keys(loaded: Loaded) -> None:
    lines = _find(f"PACS@127.0.0.1:{loaded.port}")
    assert lines[0].split() == STUDY_KEYS
    rows = sorted(line.split() for line in lines[1:-1])
    assert [row[:4] for row in rows] == [
        ["DOE^JOHN", "PAT1", "20240102", loaded.study(3)[0]],
        ["SMITH^ANNA", "PAT2", "20231115", loaded.study(1)[0]],
    ]
    assert lines[-1] == "2 matches"
    # Only matching keys: the series of one study, with the default series keys first.
    study_uid = loaded.study(3)[0]
    lines = _find(f"PACS@127.0.0.1:{loaded.port}", "--level", "SERIES", "-k", f"StudyInstanceUID={study_uid}")
    assert lines[0].split() == [
        "SeriesNumber", "Modality", "SeriesInstanceUID", "NumberOfSeriesRelatedInstances",
        "SeriesDescription", "StudyInstanceUID",
    ]  # fmt: skip
    assert sorted(line.split()[:2] for line in lines[1:-1]) == [["1", "CT"], ["2", "CT"]]
    assert lines[-1] == "2 matches"


def test_dicom_find_reports_a_refusal_and_an_unknown_node_without_a_traceback(loaded: Loaded) -> None:
    with pytest.raises(CommandError, match=r"refused the query: 0xA900 Query/Retrieve Level 'FRAME'"):
        call_command(
            "dicom_find", "--from", f"PACS@127.0.0.1:{loaded.port}", "-k", "QueryRetrieveLevel=FRAME"
        )
    with pytest.raises(CommandError, match="remote node 'NOBODY' is unknown"):
        call_command("dicom_find", "--from", "NOBODY", "-k", "PatientName")


def test_dicom_move_reports_to_the_command_stdout_and_fails_with_a_command_error(
    loaded: Loaded, storescp: tuple[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    remote_node_create(ae_title="PACS", host="127.0.0.1", port=loaded.port)
    study_uid, paths = loaded.study(3)
    out = io.StringIO()
    call_command("dicom_move", "--from", "PACS", "--to", "STORESCP", "-k", f"StudyInstanceUID={study_uid}",
                 "--progress", stdout=out)  # fmt: skip
    assert "C-MOVE from PACS to STORESCP: 0x0000" in out.getvalue() and "3 completed" in out.getvalue()
    captured = capsys.readouterr()
    assert "3/3" in captured.err  # the tqdm bar
    assert captured.out == ""  # nothing printed past the caller's stdout
    assert _received(storescp[1]) == _uids(paths)
    out = io.StringIO()
    with pytest.raises(CommandError, match="C-MOVE from PACS to NOWHERE did not complete") as caught:
        call_command("dicom_move", "--from", "PACS", "--to", "NOWHERE", "-k", f"StudyInstanceUID={study_uid}",
                     stdout=out)  # fmt: skip
    assert caught.value.returncode == 1
    assert "Move destination 'NOWHERE' unknown" in out.getvalue()
    assert capsys.readouterr().out == ""


def test_dicom_get_into_a_folder_reports_to_the_command_stdout(
    loaded: Loaded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_uid, paths = loaded.study(3)
    got, out = tmp_path / "got", io.StringIO()
    call_command(
        "dicom_get", "--from", f"PACS@127.0.0.1:{loaded.port}",
        "-k", f"StudyInstanceUID={study_uid}", "--out", str(got), stdout=out,
    )  # fmt: skip
    assert "3 received" in out.getvalue()
    assert capsys.readouterr().out == ""
    assert _received(got) == _uids(paths)


def test_dicom_get_draws_its_progress_bar_on_the_command_stderr_when_it_is_a_terminal(
    loaded: Loaded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_uid, _ = loaded.study(3)
    cases = [  # flag, the command's stderr, whether a bar is drawn on it
        ([], Terminal(), True),
        ([], io.StringIO(), False),  # a log file, say: no bar redrawn into it
        (["--progress"], io.StringIO(), True),
        (["--no-progress"], Terminal(), False),
    ]
    for number, (flag, err, drawn) in enumerate(cases):
        call_command(
            "dicom_get", "--from", f"PACS@127.0.0.1:{loaded.port}", "-k", f"StudyInstanceUID={study_uid}",
            "--out", str(tmp_path / str(number)), *flag, stdout=io.StringIO(), stderr=err,
        )  # fmt: skip
        bar = err.getvalue()
        assert ("3/3" in bar) is drawn, (flag, bar)
        # Redrawn in place: the writes are not each ended by a newline.
        assert bar.count("\n") <= 1, bar
        assert "3/3" not in capsys.readouterr().err  # nothing past the command's stderr


@pytest.fixture
def dcmqrscp(tmp_path: Path) -> Iterator[tuple[int, dict[str, list[Path]]]]:
    """DCMTK's dcmqrscp as QRSCP, loaded with the two studies by storescu."""
    port = free_port()
    database = tmp_path / "db"
    database.mkdir()
    config = tmp_path / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nQRSCP {database} RW (200, 1024mb) ANY\nAETable END\n"
    )
    process = subprocess.Popen(
        ["dcmqrscp", "-c", str(config), str(port)],
        env=dcmtk_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        wait_for_port(port, process)
        studies = write_studies(tmp_path / "files")
        files = [str(p) for paths in studies.values() for p in paths]
        loaded = subprocess.run(
            ["storescu", "-aet", "LOADER", "-aec", "QRSCP", "127.0.0.1", str(port), *files],
            env=dcmtk_env(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        yield port, studies
    finally:
        stop(process)


def test_dicom_find_and_get_against_dcmqrscp_store_into_the_archive(
    dcmqrscp: tuple[int, dict[str, list[Path]]], settings: Settings, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    settings.PACS_STORAGE_ROOT = tmp_path / "archive"
    port, studies = dcmqrscp
    remote_node_create(ae_title="QRSCP", host="127.0.0.1", port=port, outgoing_operations=["find", "get"])
    call_command("dicom_find", "--from", "QRSCP", "-k", "PatientName=DOE*", "-k", "StudyInstanceUID")
    assert capsys.readouterr().out.splitlines()[-1] == "1 match"
    study_uid = next(uid for uid, paths in studies.items() if len(paths) == 3)
    call_command("dicom_get", "--from", "QRSCP", "-k", f"StudyInstanceUID={study_uid}")
    assert "into the archive (3 received)" in capsys.readouterr().out
    stored = set(Instance.objects.values_list("sop_instance_uid", flat=True))
    assert stored == _uids(studies[study_uid])
    with pytest.raises(CommandError, match="does not allow C-MOVE"):
        call_command("dicom_move", "--from", "QRSCP", "-k", f"StudyInstanceUID={study_uid}")


def test_dicom_find_without_keys_against_dcmqrscp_lists_studies_and_series(
    dcmqrscp: tuple[int, dict[str, list[Path]]],
) -> None:
    port, studies = dcmqrscp
    lines = _find(f"QRSCP@127.0.0.1:{port}")
    assert lines[0].split() == STUDY_KEYS
    assert sorted(line.split()[0] for line in lines[1:-1]) == ["DOE^JOHN", "SMITH^ANNA"]
    assert {line.split()[3] for line in lines[1:-1]} == set(studies)
    assert lines[-1] == "2 matches"
    # dcmqrscp searches hierarchically: a SERIES query needs the study's UID, given to match.
    study_uid = next(uid for uid, paths in studies.items() if len(paths) == 3)
    lines = _find(f"QRSCP@127.0.0.1:{port}", "--level", "SERIES", "-k", f"StudyInstanceUID={study_uid}")
    assert lines[0].split()[:3] == ["SeriesNumber", "Modality", "SeriesInstanceUID"]
    assert sorted(line.split()[:2] for line in lines[1:-1]) == [["1", "CT"], ["2", "CT"]]
    assert lines[-1] == "2 matches"
