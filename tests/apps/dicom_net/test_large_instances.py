"""A 200 MiB multi-frame instance through the product, with DCMTK peers: nothing on the path
may hold the whole object in memory.

Breast tomosynthesis and enhanced multi-frame CT objects run to 1-2 GB. Each test measures
the peak RSS of the process that carries the object: of ``run_dicom_server`` (VmHWM, reset
just before the step) for C-STORE, C-GET and C-MOVE; of a ``manage.py`` command
(``wait4``, compared with the same command on a one-frame instance) for ``import_dicom``
and ``dicom_send``. The growth must stay under a bound that does not depend on the size.

Sent in the transfer syntax it is stored in, the instance is streamed from the file. To a
peer that accepts only Implicit VR Little Endian it is converted while it is sent
(``scu.conversion``, used by the Storage SCU and ``services.retrieve._prepare``): the
header re-encoded, Pixel Data copied from the file in chunks. A JPEG-LS instance moved to
a peer that accepts uncompressed syntaxes only is decoded a frame at a time as it is sent.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.archive.models import Instance as InstanceRow
from apps.archive.selectors import instance_location_get
from apps.archive.services import files_import
from apps.archive.storage import LocalFileBackend
from apps.dicom_net.services.remote_nodes import remote_node_create
from dicomkit.data import tags
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_file
from tests.apps.dicom_net.conftest import REPO_ROOT, ArchiveServer, manage_env
from tests.interop.large_instances import (
    FRAMES,
    PIXEL_BYTES,
    assert_bounded,
    data_set_digest,
    peak_rss_kib,
    peak_rss_reset,
    pixel_data_digest,
    remove_large_files,
    run_measured,
    write_compressed_multiframe,
    write_encapsulated_multiframe,
    write_multiframe,
)
from tests.interop.peers import dcmtk_env, free_port, started

pytestmark = pytest.mark.django_db(transaction=True)  # the server and commands are subprocesses


@pytest.fixture(autouse=True)
def _remove_large_files(tmp_path: Path) -> Iterator[None]:
    """Torn down last: the large files go once the server or peer that used them stopped."""
    yield
    remove_large_files(tmp_path)


def _dcmtk(tool: str) -> str:
    binary = shutil.which(tool)
    if binary is None:
        pytest.skip(f"DCMTK {tool} is not installed (scripts/test.sh installs it)")
    return binary


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(argv), capture_output=True, text=True, env=dcmtk_env(), timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _stored_path(root: Path, sop_instance_uid: str) -> Path:
    location = instance_location_get(sop_instance_uid=sop_instance_uid)
    assert location is not None, f"{sop_instance_uid} is not indexed"
    return LocalFileBackend(root).path_for(location.key)


class Storescp:
    """DCMTK storescp as STORESCP, writing what it receives (as received) into ``folder``."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder

    def received(self) -> Path:
        (path,) = self.folder.iterdir()
        return path

    def clear(self) -> None:
        for path in self.folder.iterdir():
            path.unlink()


@pytest.fixture(params=["own syntax", "implicit only"])
def storescp(request: pytest.FixtureRequest, tmp_path: Path, transactional_db: None) -> Iterator[Storescp]:
    """storescp accepting every native syntax, or Implicit VR Little Endian only (``+xi``)."""
    options = ["+xi"] if request.param == "implicit only" else []
    folder = tmp_path / "storescp"
    folder.mkdir()
    port = free_port()
    argv = [_dcmtk("storescp"), "-aet", "STORESCP", "+B", *options, "-od", str(folder), str(port)]
    with started(argv, port, cwd=tmp_path, env=dcmtk_env()):
        remote_node_create(ae_title="STORESCP", host="127.0.0.1", port=port, outgoing_operations=["move"])
        yield Storescp(port, folder)


def _archive(path: Path) -> None:
    """Import ``path`` into the archive the server serves (``archive_server`` set the root)."""
    summary = files_import(paths=[path], workers=1)
    assert summary.counts["stored"] == 1, summary.counts


# ----------------------------------------------------------------------------- C-STORE


def test_storescu_of_a_200_mib_instance_is_streamed_to_disk_and_stored_byte_for_byte(
    archive_server: ArchiveServer, tmp_path: Path
) -> None:
    sent = tmp_path / "large.dcm"
    header = write_multiframe(sent, frames=FRAMES)
    pid = archive_server.start().process.pid
    peak_rss_reset(pid)
    before = peak_rss_kib(pid)

    _run(
        _dcmtk("storescu"), "-R", "-aet", "MODALITY", "-aec", "PACS",
        "127.0.0.1", str(archive_server.port), str(sent),
    )  # fmt: skip

    assert_bounded("run_dicom_server receiving", peak_rss_kib(pid) - before, PIXEL_BYTES)
    stored = _stored_path(archive_server.root, str(header.get_str("SOPInstanceUID")))
    assert data_set_digest(stored) == data_set_digest(sent)
    call_command("verify_storage", "--grace-seconds", "0")  # raises CommandError on any finding


def test_storescu_of_a_200_mib_compressed_instance_is_stored_without_holding_its_fragments(
    archive_server: ArchiveServer, tmp_path: Path
) -> None:
    """The commit parses the elements from Pixel Data on; the fragments stay in the file."""
    sent = tmp_path / "large-j2k.dcm"
    header = write_encapsulated_multiframe(sent, frames=FRAMES, fragment_bytes=PIXEL_BYTES // FRAMES)
    pid = archive_server.start().process.pid
    peak_rss_reset(pid)
    before = peak_rss_kib(pid)

    _run(
        _dcmtk("storescu"), "-xv", "-R", "-aet", "MODALITY", "-aec", "PACS",
        "127.0.0.1", str(archive_server.port), str(sent),
    )  # fmt: skip

    assert_bounded("run_dicom_server receiving, compressed", peak_rss_kib(pid) - before, PIXEL_BYTES)
    stored = _stored_path(archive_server.root, str(header.get_str("SOPInstanceUID")))
    assert data_set_digest(stored) == data_set_digest(sent)


# ----------------------------------------------------------------------- C-GET, C-MOVE


def test_getscu_of_a_200_mib_instance_is_streamed_from_the_archive(
    archive_server: ArchiveServer, tmp_path: Path
) -> None:
    sent = tmp_path / "large.dcm"
    header = write_multiframe(sent, frames=FRAMES)
    _archive(sent)
    pid = archive_server.start().process.pid
    out = tmp_path / "get"
    out.mkdir()
    peak_rss_reset(pid)
    before = peak_rss_kib(pid)

    _run(
        _dcmtk("getscu"), "-S", "+B", "-aet", "GETSCU", "-aec", "PACS", "-od", str(out),
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={header.get_str('StudyInstanceUID')}",
        "127.0.0.1", str(archive_server.port),
    )  # fmt: skip

    assert_bounded("run_dicom_server serving C-GET", peak_rss_kib(pid) - before, PIXEL_BYTES)
    (received,) = out.iterdir()
    assert data_set_digest(received) == data_set_digest(sent)


def test_movescu_of_a_200_mib_instance_keeps_the_server_rss_bounded(
    archive_server: ArchiveServer, storescp: Storescp, tmp_path: Path
) -> None:
    sent = tmp_path / "large.dcm"
    header = write_multiframe(sent, frames=FRAMES)
    _archive(sent)
    pid = archive_server.start().process.pid
    peak_rss_reset(pid)
    before = peak_rss_kib(pid)

    _run(
        _dcmtk("movescu"), "-S", "-aet", "MOVESCU", "-aec", "PACS", "-aem", "STORESCP",
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={header.get_str('StudyInstanceUID')}",
        "127.0.0.1", str(archive_server.port),
    )  # fmt: skip

    received = storescp.received()
    assert pixel_data_digest(received, PIXEL_BYTES) == pixel_data_digest(sent, PIXEL_BYTES)
    assert_bounded("run_dicom_server serving C-MOVE", peak_rss_kib(pid) - before, PIXEL_BYTES)


def test_movescu_of_a_200_mib_jpeg_ls_instance_to_a_native_only_peer_decodes_it_frame_by_frame(
    archive_server: ArchiveServer, tmp_path: Path
) -> None:
    """storescp accepts uncompressed syntaxes only (Explicit VR Little Endian preferred): the
    server decodes the frames one at a time while it sends them (``_prepare`` ->
    ``open_converted``), and what arrives is the native Pixel Data they decode to."""
    folder = tmp_path / "storescp"
    folder.mkdir()
    port = free_port()
    argv = [_dcmtk("storescp"), "-aet", "STORESCP", "+B", "+xe", "-od", str(folder), str(port)]
    sent = tmp_path / "large-jls.dcm"
    native_digest = write_compressed_multiframe(sent, frames=FRAMES)
    head = read_file(sent, ReadOptions(stop_before=tags.StudyInstanceUID + 1)).dataset
    study = head.get_str(tags.StudyInstanceUID)
    _archive(sent)
    with started(argv, port, cwd=tmp_path, env=dcmtk_env()):
        remote_node_create(ae_title="STORESCP", host="127.0.0.1", port=port, outgoing_operations=["move"])
        pid = archive_server.start().process.pid
        peak_rss_reset(pid)
        before = peak_rss_kib(pid)

        _run(
            _dcmtk("movescu"), "-S", "-aet", "MOVESCU", "-aec", "PACS", "-aem", "STORESCP",
            "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
            "127.0.0.1", str(archive_server.port),
        )  # fmt: skip

        growth = peak_rss_kib(pid) - before
    (received,) = folder.iterdir()
    assert pixel_data_digest(received, PIXEL_BYTES) == native_digest
    assert_bounded("run_dicom_server serving C-MOVE, decoded", growth, PIXEL_BYTES)


# ----------------------------------------------------------------- manage.py commands


def _command_peak(argv: list[str], log: Path, root: Path) -> int:
    env = manage_env({"PACS_STORAGE_ROOT": str(root)})
    status, peak = run_measured([sys.executable, "manage.py", *argv], log=log, env=env, cwd=REPO_ROOT)
    assert status == 0, log.read_text()
    return peak


def test_import_dicom_of_a_200_mib_instance_keeps_its_rss_bounded(
    archive_server: ArchiveServer, tmp_path: Path
) -> None:
    small, large = tmp_path / "small.dcm", tmp_path / "large.dcm"
    write_multiframe(small, frames=1, rows=64, columns=64)
    header = write_multiframe(large, frames=FRAMES)
    root = archive_server.root

    baseline = _command_peak(["import_dicom", "--no-progress", str(small)], tmp_path / "small.log", root)
    peak = _command_peak(["import_dicom", "--no-progress", str(large)], tmp_path / "large.log", root)

    assert_bounded("import_dicom", peak - baseline, PIXEL_BYTES)
    assert InstanceRow.objects.count() == 2
    stored = _stored_path(root, str(header.get_str("SOPInstanceUID")))
    assert data_set_digest(stored) == data_set_digest(large)


def test_dicom_send_of_a_stored_200_mib_instance_keeps_its_rss_bounded(
    archive_server: ArchiveServer, storescp: Storescp, tmp_path: Path
) -> None:
    small, large = tmp_path / "small.dcm", tmp_path / "large.dcm"
    small_header = write_multiframe(small, frames=1, rows=64, columns=64)
    large_header = write_multiframe(large, frames=FRAMES)
    _archive(small)
    _archive(large)
    to = f"STORESCP@127.0.0.1:{storescp.port}"

    baseline = _command_peak(
        ["dicom_send", "--to", to, "--study", str(small_header.get_str("StudyInstanceUID"))],
        tmp_path / "small.log",
        archive_server.root,
    )
    storescp.clear()
    peak = _command_peak(
        ["dicom_send", "--to", to, "--study", str(large_header.get_str("StudyInstanceUID"))],
        tmp_path / "large.log",
        archive_server.root,
    )

    received = storescp.received()
    assert pixel_data_digest(received, PIXEL_BYTES) == pixel_data_digest(large, PIXEL_BYTES)
    assert_bounded("dicom_send", peak - baseline, PIXEL_BYTES)
