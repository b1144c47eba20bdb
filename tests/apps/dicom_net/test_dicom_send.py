"""``manage.py dicom_send``: a stored study, a series or files to DCMTK storescp and a
pynetdicom SCP; per-instance failures listed, exit status 1 when anything was not stored."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.management import CommandError, call_command
from pytest_django import Settings

from apps.archive.selectors import instance_location_get
from apps.archive.services import instance_ingest
from apps.archive.storage import LocalFileBackend
from apps.dicom_net.services.remote_nodes import remote_node_create
from apps.dicom_net.services.sending import dicom_send
from dicomkit.data import uids
from dicomkit.net.scu.instances import Instance
from dicomkit.part10.reader import read_file
from tests.apps.dicom_net.conftest import REPO_ROOT, Terminal, manage_env
from tests.interop.dcmdump import data_set_dump
from tests.interop.peers import dcmtk_env, free_port, stop, wait_for_port
from tests.interop.storage_senders import require, write_study

if TYPE_CHECKING:
    from pynetdicom.events import Event
    from pynetdicom.transport import ThreadedAssociationServer

pytestmark = pytest.mark.django_db(transaction=True)  # the command also runs as a subprocess


class StoredStudy:
    def __init__(self, root: Path, instances: tuple[Instance, ...]) -> None:
        self.root = root
        self.instances = instances
        dataset = read_file(instances[0].path).dataset
        self.study_uid = dataset.get_str(0x0020000D, "")
        self.uids = {instance.sop_instance_uid for instance in instances}

    def series_uid(self, index: int) -> str:
        """Series ``index`` (0: Explicit LE, 1: Implicit LE, 2: RLE Lossless)."""
        return read_file(self.instances[4 * index].path).dataset.get_str(0x0020000E, "")

    def stored_path(self, uid: str) -> Path:
        location = instance_location_get(sop_instance_uid=uid)
        assert location is not None
        return LocalFileBackend(self.root).path_for(location.key)


@pytest.fixture
def stored_study(settings: Settings, tmp_path: Path) -> StoredStudy:
    """Three series of four CT images, ingested into an archive of this test."""
    root = tmp_path / "archive"
    root.mkdir()
    settings.PACS_STORAGE_ROOT = root
    instances = write_study(tmp_path / "sent")
    for instance in instances:
        instance_ingest(source=instance.path, source_ae="MODALITY")
    return StoredStudy(root, instances)


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[Callable[[], tuple[int, Path]]]:
    """DCMTK's storescp accepting every transfer syntax it knows; (port, folder)."""
    binary = require("storescp")
    started: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[int, Path]:
        port, folder = free_port(), tmp_path / "storescp"
        folder.mkdir()
        process = subprocess.Popen(
            [binary, "-aet", "STORESCP", "+xa", "-od", str(folder), "-uf", str(port)],
            env=dcmtk_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started.append(process)
        wait_for_port(port, process)
        return port, folder

    yield start
    for process in started:
        stop(process)


Received = list[tuple[str, str]]


@pytest.fixture
def pynetdicom_scp() -> Iterator[Callable[..., tuple[int, Received]]]:
    """A pynetdicom CT Storage SCP: ``start(syntaxes=..., refuse={uid: status})``;
    (port, [(SOP Instance UID, transfer syntax) of what it stored])."""
    from pynetdicom import AE, evt

    servers: list[ThreadedAssociationServer] = []

    def start(
        *, syntaxes: tuple[str, ...] = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian),
        refuse: dict[str, int] | None = None,
    ) -> tuple[int, Received]:  # fmt: skip
        received: Received = []

        def on_store(event: Event) -> int:
            uid = str(event.dataset.SOPInstanceUID)
            if refuse and uid in refuse:
                return refuse[uid]
            received.append((uid, str(event.context.transfer_syntax)))
            return 0x0000

        ae = AE(ae_title="PYNETDICOM")
        ae.add_supported_context(uids.CTImageStorage, list(syntaxes))
        server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
        assert server is not None  # block=False returns the running server
        servers.append(server)
        return int(server.server_address[1]), received

    yield start
    for server in servers:
        server.shutdown()


def _sop_instance_uid(path: Path) -> str:
    uid = read_file(path).dataset.get_str(0x00080018)
    assert uid is not None, path
    return uid


def _dicom_send_process(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "dicom_send", "--no-progress", *args],
        cwd=REPO_ROOT, env=manage_env({"PACS_STORAGE_ROOT": str(root)}),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_a_stored_study_goes_to_storescp_as_stored_and_the_command_exits_0(
    stored_study: StoredStudy, storescp: Callable[[], tuple[int, Path]]
) -> None:
    port, folder = storescp()
    result = _dicom_send_process(
        "--to", f"STORESCP@127.0.0.1:{port}", "--study", stored_study.study_uid, root=stored_study.root
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"stored 12 of 12 instances (0 converted) to STORESCP@127.0.0.1:{port}" in result.stdout
    received = {_sop_instance_uid(path): path for path in folder.iterdir()}
    assert received.keys() == stored_study.uids
    for uid, path in received.items():
        assert data_set_dump(path) == data_set_dump(stored_study.stored_path(uid)), uid
    # The RLE series went compressed, as stored (storescp accepts it): nothing converted.
    rle = {i.sop_instance_uid for i in stored_study.instances if i.transfer_syntax == uids.RLELossless}
    assert {
        uid for uid, path in received.items() if read_file(path).transfer_syntax == uids.RLELossless
    } == rle


def test_a_compressed_series_falls_back_to_an_uncompressed_syntax_the_peer_accepts(
    stored_study: StoredStudy, pynetdicom_scp: Callable[..., tuple[int, Received]]
) -> None:
    port, received = pynetdicom_scp(syntaxes=(uids.ImplicitVRLittleEndian,))
    out = StringIO()
    call_command(
        "dicom_send", "--to", f"PYNETDICOM@127.0.0.1:{port}", "--series", stored_study.series_uid(2),
        "--no-progress", stdout=out,
    )  # fmt: skip
    assert f"stored 4 of 4 instances (4 converted) to PYNETDICOM@127.0.0.1:{port}" in out.getvalue()
    rle = {i.sop_instance_uid for i in stored_study.instances if i.transfer_syntax == uids.RLELossless}
    assert sorted(received) == sorted((uid, uids.ImplicitVRLittleEndian) for uid in rle)


def test_failures_are_listed_per_instance_and_the_command_exits_1(
    stored_study: StoredStudy, pynetdicom_scp: Callable[..., tuple[int, Received]], tmp_path: Path
) -> None:
    refused = stored_study.instances[1].sop_instance_uid
    port, received = pynetdicom_scp(refuse={refused: 0xA700})
    notes = tmp_path / "notes.txt"
    notes.write_text("not DICOM")
    result = _dicom_send_process(
        "--to", f"PYNETDICOM@127.0.0.1:{port}", "--series", stored_study.series_uid(0), str(notes),
        root=stored_study.root,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stored 3 of 5 instances" in result.stdout
    (refusal,) = [line for line in result.stdout.splitlines() if refused in line]
    assert "A700" in refusal.upper() or "Out of Resources" in refusal
    assert any(str(notes) in line and "not a DICOM instance" in line for line in result.stdout.splitlines())
    assert "2 of 5 instances were not stored" in result.stderr
    assert len(received) == 3


def test_a_remote_node_is_named_by_its_ae_title_and_must_allow_c_store(
    stored_study: StoredStudy, pynetdicom_scp: Callable[..., tuple[int, Received]]
) -> None:
    port, received = pynetdicom_scp()
    remote_node_create(ae_title="PYNETDICOM", host="127.0.0.1", port=port, outgoing_operations=["store"])
    remote_node_create(ae_title="FINDONLY", host="127.0.0.1", port=port, outgoing_operations=["find"])
    summary = dicom_send(destination="PYNETDICOM", series_uid=stored_study.series_uid(0))
    assert (summary.total, summary.stored, summary.ok) == (4, 4, True)
    assert len(received) == 4
    with pytest.raises(CommandError, match="does not allow C-STORE") as refused:
        call_command("dicom_send", "--to", "FINDONLY", "--study", stored_study.study_uid)
    assert refused.value.returncode == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--to", "NOBODY@127.0.0.1:1", "--study", "1.2.3.999"], "no stored instances of study 1.2.3.999"),
        (["--to", "NOBODY@127.0.0.1:1", "--series", "1.2.3.999"], "no stored series 1.2.3.999"),
        (["--to", "NOT AN ADDRESS@", "--study", "1.2.3"], "is not AET@HOST:PORT"),
        (["--to", "UNKNOWN-NODE", "--study", "1.2.3"], "unknown"),
        (["--to", "X@127.0.0.1:104"], "give files or folders"),
    ],
)
def test_what_cannot_start_is_one_message_and_exit_status_1(
    stored_study: StoredStudy, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as error:
        call_command("dicom_send", *args)
    assert error.value.returncode == 1 or "give files" in message


def test_an_unreachable_peer_fails_every_instance(stored_study: StoredStudy) -> None:
    summary = dicom_send(destination=f"NOBODY@127.0.0.1:{free_port()}", study_uid=stored_study.study_uid)
    assert (summary.total, summary.stored, summary.ok) == (12, 0, False)
    assert all("association failed" in result.error for result in summary.failed)


def test_the_progress_bar_counts_instances_on_the_stream_given(
    stored_study: StoredStudy,
    pynetdicom_scp: Callable[..., tuple[int, Received]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, _ = pynetdicom_scp()
    stream = StringIO()
    summary = dicom_send(
        destination=f"PYNETDICOM@127.0.0.1:{port}", series_uid=stored_study.series_uid(1), progress=stream
    )
    assert summary.ok
    assert "4/4" in stream.getvalue()
    assert capsys.readouterr().err == ""  # the caller's stream, not the process's stderr


def test_a_stored_file_gone_from_the_archive_is_listed_as_not_sent_and_the_rest_go(
    stored_study: StoredStudy, pynetdicom_scp: Callable[..., tuple[int, Received]]
) -> None:
    port, received = pynetdicom_scp()
    lost = stored_study.instances[2].sop_instance_uid
    stored_study.stored_path(lost).unlink()
    out = StringIO()

    with pytest.raises(CommandError, match="1 of 4 instances were not stored") as failed:
        call_command(
            "dicom_send", "--to", f"PYNETDICOM@127.0.0.1:{port}", "--series", stored_study.series_uid(0),
            "--no-progress", stdout=out,
        )  # fmt: skip

    assert failed.value.returncode == 1
    (line,) = [line for line in out.getvalue().splitlines() if lost in line]
    assert "not sent" in line and "stored file" in line
    assert "stored 3 of 4 instances" in out.getvalue()
    assert sorted(uid for uid, _ in received) == sorted(
        i.sop_instance_uid for i in stored_study.instances[:4] if i.sop_instance_uid != lost
    )


def test_the_command_draws_no_progress_bar_when_stderr_is_not_a_terminal(
    stored_study: StoredStudy,
    pynetdicom_scp: Callable[..., tuple[int, Received]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, _ = pynetdicom_scp()
    call_command("dicom_send", "--to", f"PYNETDICOM@127.0.0.1:{port}", "--series", stored_study.series_uid(1))
    captured = capsys.readouterr()
    assert "stored 4 of 4 instances" in captured.out
    assert "4/4" not in captured.err and "\r" not in captured.err  # no bar redrawn into a log file


def test_the_command_draws_its_bar_on_its_own_stderr_when_that_is_a_terminal(
    stored_study: StoredStudy,
    pynetdicom_scp: Callable[..., tuple[int, Received]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, _ = pynetdicom_scp()
    err = Terminal()
    call_command(
        "dicom_send", "--to", f"PYNETDICOM@127.0.0.1:{port}", "--series", stored_study.series_uid(1),
        stderr=err, stdout=StringIO(),
    )  # fmt: skip
    assert "4/4" in err.getvalue()
    assert "\x1b[" not in err.getvalue()  # not coloured as an error
    assert "4/4" not in capsys.readouterr().err
