"""Storage SCU (``dicomkit.net.scu``) when files or peers go wrong: the pre-send length
check refuses malformed files (``instances.check_lengths``, with DCMTK's dcmdump as the
oracle), and a batch goes on over a new association when one breaks, with a bound.

Peers: DCMTK ``storescp`` (which aborts the association on a truncated data set) and a
pynetdicom Storage SCP that aborts on the instances a test chooses.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dicomkit.cli.main import main
from dicomkit.data import uids
from dicomkit.errors import DicomError, TruncatedError
from dicomkit.net.config import AEConfig
from dicomkit.net.scu.instances import Instance, check_lengths, scan_instance
from dicomkit.net.scu.storage import MAX_BROKEN_ASSOCIATIONS, StoreResult, store_files
from tests.builders import write_ct
from tests.corpus import DATA_ROOT, corpus_files, corpus_ids, dcmtk_reads
from tests.dicomkit.net.aio.servers import fast_timeouts, run
from tests.interop.peers import LOOPBACK, storescp_writing

TRUNCATED = DATA_ROOT / "test_files" / "MR_truncated.dcm"  # Pixel Data: 8192 declared, 8130 there


def _scannable(path: Path) -> Instance | None:
    try:
        return scan_instance(path)
    except (DicomError, OSError):
        return None


def _cut(source: Path, target: Path, drop: int) -> Path:
    """A copy of ``source`` without its last ``drop`` bytes."""
    data = source.read_bytes()
    target.write_bytes(data[: len(data) - drop])
    return target


def _store(port: int, called: str, paths: list[Path], progress: list[StoreResult]) -> list[StoreResult]:
    ae = AEConfig("SCU", timeouts=fast_timeouts())
    return run(store_files(LOOPBACK, port, ae, called, paths, progress=progress.append), timeout=120)


# ------------------------------------------------------------------ the length check


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_ids())
def test_the_length_check_refuses_exactly_the_instances_dcmtk_cannot_read(path: Path) -> None:
    if shutil.which("dcmdump") is None:
        pytest.skip("dcmdump (DCMTK) is not installed")
    instance = _scannable(path)
    if instance is None:
        pytest.skip("not an instance the SCU would send")
    try:
        check_lengths(instance)
        refused = False
    except DicomError:
        refused = True
    assert refused is not dcmtk_reads(path)


def test_a_pixel_data_length_past_the_end_of_the_file_is_named_in_the_refusal() -> None:
    with pytest.raises(TruncatedError) as caught:
        check_lengths(scan_instance(TRUNCATED))
    assert caught.value.tag == 0x7FE00010
    assert str(caught.value).startswith("PixelData declares 8192 bytes but only 8130 remain in the file")


@pytest.mark.parametrize(
    ("name", "drop", "reason"),
    [
        # Encapsulated pixel data: its last fragment, then its Sequence Delimitation Item.
        ("JPEG2000.dcm", 100, "Item declares"),
        ("JPEG2000.dcm", 8, "element header cut short"),
        # An undefined-length sequence in implicit VR that loses its delimiter.
        ("rtstruct.dcm", 8, "element header cut short"),
        # A few bytes short of a whole element header.
        ("CT_small.dcm", 3, "declares"),
    ],
)
def test_files_cut_inside_undefined_length_values_are_refused(
    tmp_path: Path, name: str, drop: int, reason: str
) -> None:
    instance = scan_instance(_cut(DATA_ROOT / "test_files" / name, tmp_path / name, drop))
    with pytest.raises(TruncatedError, match=reason):
        check_lengths(instance)


def test_trailing_bytes_too_few_for_an_element_header_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ct.dcm"
    write_ct(path)
    path.write_bytes(path.read_bytes() + b"\x00\x00\x00")
    with pytest.raises(TruncatedError, match="element header cut short"):
        check_lengths(scan_instance(path))


# --------------------------------------------------------- storescp and a truncated file


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """DCMTK's storescp as STORESCP on loopback; its port and output folder."""
    binary = shutil.which("storescp")
    if binary is None:
        pytest.skip("storescp (DCMTK) is not installed")
    with storescp_writing(binary, tmp_path, "STORESCP") as peer:
        yield peer


def _good_truncated_good_good(folder: Path) -> list[Path]:
    paths = [folder / f"{number}.dcm" for number in range(1, 5)]
    for path in (paths[0], paths[2], paths[3]):
        write_ct(path)
    shutil.copyfile(TRUNCATED, paths[1])
    return paths


def test_a_truncated_file_is_refused_before_sending_and_the_others_are_stored(
    tmp_path: Path, storescp: tuple[int, Path]
) -> None:
    port, out = storescp
    paths = _good_truncated_good_good(tmp_path / "in")
    progress: list[StoreResult] = []
    results = _store(port, "STORESCP", paths, progress)
    assert [r.path for r in results] == paths
    assert [r.ok for r in results] == [True, False, True, True]
    refused = results[1]
    assert (refused.status, refused.interrupted) == (None, False)
    assert refused.sop_instance_uid == scan_instance(TRUNCATED).sop_instance_uid
    assert refused.describe().startswith("not sent: malformed data set: PixelData declares 8192 bytes")
    assert sorted(r.path for r in progress) == sorted(paths)
    assert len(list(out.iterdir())) == 3


def test_store_command_reports_the_truncated_file_and_exits_one(
    tmp_path: Path, storescp: tuple[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    port, out = storescp
    paths = _good_truncated_good_good(tmp_path / "in")
    status = main(
        ["store", LOOPBACK, str(port), str(tmp_path / "in"), "--aec", "STORESCP", "--timeout", "10"]
    )
    captured = capsys.readouterr()
    assert status == 1
    assert f"failed {paths[1]}: not sent: malformed data set: PixelData declares" in captured.out
    assert "stored 3 of 4 files" in captured.out
    assert len(list(out.iterdir())) == 3


# ------------------------------------------------------- a peer that aborts associations


@dataclass
class _AbortingScp:
    """What a pynetdicom Storage SCP that aborts on chosen instances saw."""

    port: int
    stored: list[str] = field(default_factory=list)
    associations: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def _aborting_scp(abort_on: Callable[[str], bool]) -> Iterator[_AbortingScp]:
    """A CT Storage SCP (AE title SCP) that A-ABORTs when ``abort_on(sop_instance_uid)``."""
    from pynetdicom import AE, evt
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.events import Event

    def on_store(event: Event) -> int:
        request = event.request
        assert isinstance(request, C_STORE)  # as EVT_C_STORE delivers
        uid = str(request.AffectedSOPInstanceUID)
        if abort_on(uid):
            event.assoc.abort()
            return 0xA700
        with seen.lock:
            seen.stored.append(uid)
        return 0x0000

    def on_accepted(event: Event) -> None:
        with seen.lock:
            seen.associations += 1

    ae = AE(ae_title="SCP")
    ae.add_supported_context(uids.CTImageStorage, [uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian])
    server = ae.start_server(
        (LOOPBACK, 0),
        block=False,
        evt_handlers=[(evt.EVT_C_STORE, on_store), (evt.EVT_ACCEPTED, on_accepted)],
    )
    assert server is not None
    seen = _AbortingScp(int(server.server_address[1]))
    try:
        yield seen
    finally:
        server.shutdown()


def _cts(folder: Path, count: int) -> tuple[list[Path], list[str]]:
    paths = [folder / f"{number}.dcm" for number in range(count)]
    return paths, [write_ct(path).get_str("SOPInstanceUID") or "" for path in paths]


def test_after_the_peer_aborts_on_one_file_the_rest_go_on_a_new_association(tmp_path: Path) -> None:
    paths, sop_uids = _cts(tmp_path / "in", 5)
    progress: list[StoreResult] = []
    with _aborting_scp(lambda uid: uid == sop_uids[1]) as scp:
        results = _store(scp.port, "SCP", paths, progress)
    assert [r.ok for r in results] == [True, False, True, True, True]
    interrupted = results[1]
    assert interrupted.status is None and interrupted.interrupted
    assert interrupted.describe().startswith(
        "interrupted: association broke while sending it: association aborted"
    )
    assert scp.stored == [sop_uids[0], *sop_uids[2:]]
    assert scp.associations == 2
    assert sorted(r.path for r in progress) == paths


def test_a_peer_that_aborts_every_association_is_given_up_after_the_bound(tmp_path: Path) -> None:
    paths, _ = _cts(tmp_path / "in", MAX_BROKEN_ASSOCIATIONS + 2)
    progress: list[StoreResult] = []
    with _aborting_scp(lambda uid: True) as scp:
        results = _store(scp.port, "SCP", paths, progress)
    assert scp.associations == MAX_BROKEN_ASSOCIATIONS
    assert scp.stored == []
    assert [r.path for r in results] == paths
    assert sorted(r.path for r in progress) == paths
    assert all(r.status is None for r in results)
    tried, given_up = results[:MAX_BROKEN_ASSOCIATIONS], results[MAX_BROKEN_ASSOCIATIONS:]
    assert all(r.interrupted and "association aborted" in r.error for r in tried)
    for result in given_up:
        assert not result.interrupted
        assert result.error.startswith(f"gave up after {MAX_BROKEN_ASSOCIATIONS} associations in a row broke")


def test_an_association_that_stores_something_resets_the_bound(tmp_path: Path) -> None:
    # Every other file makes the peer abort: more breaks than the bound, never in a row.
    count = 2 * MAX_BROKEN_ASSOCIATIONS + 2
    paths, sop_uids = _cts(tmp_path / "in", count)
    with _aborting_scp(lambda uid: sop_uids.index(uid) % 2 == 1) as scp:
        results = _store(scp.port, "SCP", paths, [])
    assert [r.ok for r in results] == [n % 2 == 0 for n in range(count)]
    assert all(r.interrupted for r in results[1::2])
    assert scp.stored == sop_uids[::2]
    assert scp.associations == count // 2
