"""Storage SCU (``dicomkit.net.scu``) and the ``store`` subcommand against our own Storage SCP:
context proposals, streaming in the file's syntax, fallback conversion, per-instance
results, several associations beyond 128 contexts, exit status and progress bar."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pydicom
import pytest

from dicomkit.cli.main import main
from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import generate_uid, storage_sop_classes
from dicomkit.net.aio import DicomServer, Phase
from dicomkit.net.config import AEConfig, SupportedContext
from dicomkit.net.scu.instances import Instance, find_files, scan_instance
from dicomkit.net.scu.storage import FALLBACK_SYNTAXES, MAX_CONTEXTS, StoreResult, propose, store_files
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.storage import Duplicates, FileStorageHandler, StorageService, storage_contexts
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file
from tests.builders import write_ct
from tests.corpus import DATA_ROOT
from tests.dicomkit.net.aio.servers import Observer, fast_timeouts, run

ELE = uids.ExplicitVRLittleEndian
ILE = uids.ImplicitVRLittleEndian
BE = uids.ExplicitVRBigEndian
CT = uids.CTImageStorage


def _testdata(name: str) -> Path:
    path = DATA_ROOT / "test_files" / name  # the local corpus: never a download
    assert path.is_file(), path
    return path


def _scp_ae(contexts: tuple[SupportedContext, ...] | None = None) -> AEConfig:
    return AEConfig(
        "SCP",
        supported_contexts=storage_contexts() if contexts is None else contexts,
        max_associations=20,
        timeouts=fast_timeouts(),
    )


def _store(
    out: Path,
    paths: list[Path],
    *,
    contexts: tuple[SupportedContext, ...] | None = None,
    called: str = "SCP",
    observer: Observer | None = None,
    duplicates: Duplicates = Duplicates.KEEP_BOTH,
) -> list[StoreResult]:
    async def scenario() -> list[StoreResult]:
        handler = FileStorageHandler(out, duplicates=duplicates, fsync=False)
        server = DicomServer(
            _scp_ae(contexts),
            ServiceHandlers([StorageService(handler)]),
            host="127.0.0.1",
            port=0,
            observer=observer,
        )
        await server.start()
        try:
            return await store_files(
                "127.0.0.1", server.port, AEConfig("SCU", timeouts=fast_timeouts()), called, paths
            )
        finally:
            await server.shutdown(0)

    out.mkdir(exist_ok=True)
    return run(scenario(), timeout=120)


def _data_set_bytes(path: Path) -> bytes:
    """The data set part of a PS3.10 file, located by pydicom (the oracle)."""
    with path.open("rb") as fp:
        pydicom.filereader.read_preamble(fp, False)
        pydicom.filereader._read_file_meta_info(fp)
        return fp.read()


# --------------------------------------------------------------- files and contexts


def test_find_files_walks_folders_sorted_skipping_hidden_and_keeps_named_files(tmp_path: Path) -> None:
    for name in ("b/2.dcm", "b/1.dcm", "a.dcm", "b/.hidden/x.dcm", "b/c/3.dcm"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert find_files([tmp_path / "b", tmp_path / "missing.dcm"]) == [
        tmp_path / "b/1.dcm",
        tmp_path / "b/2.dcm",
        tmp_path / "b/c/3.dcm",
        tmp_path / "missing.dcm",
    ]
    assert find_files([tmp_path / "b"], recursive=False) == [tmp_path / "b/1.dcm", tmp_path / "b/2.dcm"]


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_bigendian.dcm", "rtplan.dcm", "JPEG2000.dcm"])
def test_scan_instance_finds_the_identity_and_where_the_data_set_starts(name: str) -> None:
    path = _testdata(name)
    oracle = pydicom.dcmread(path, stop_before_pixels=True)
    instance = scan_instance(path)
    assert instance.sop_class_uid == oracle.SOPClassUID
    assert instance.sop_instance_uid == oracle.SOPInstanceUID
    assert instance.transfer_syntax == oracle.file_meta.TransferSyntaxUID
    assert path.read_bytes()[instance.dataset_offset :] == _data_set_bytes(path)
    assert instance.dataset_length == len(_data_set_bytes(path))


def test_scan_instance_of_a_raw_data_set_starts_at_zero(tmp_path: Path) -> None:
    from tests.builders import encode_ct, make_ct

    path = tmp_path / "raw"
    path.write_bytes(encode_ct(make_ct(), ILE))
    instance = scan_instance(path)
    assert (instance.dataset_offset, instance.transfer_syntax) == (0, ILE)


def _instance(sop_class: str, syntax: str) -> Instance:
    return Instance(Path("x"), sop_class, generate_uid(), syntax, 0, 0)


def test_proposals_are_one_context_per_syntax_plus_uncompressed_fallbacks() -> None:
    instances = [
        _instance(CT, uids.JPEGBaseline8Bit),
        _instance(CT, ELE),
        _instance(CT, uids.JPEGBaseline8Bit),
        _instance(uids.MRImageStorage, BE),
    ]
    (contexts,) = propose(instances)
    pairs = [(c.abstract_syntax, c.transfer_syntaxes) for c in contexts]
    assert pairs == [
        (CT, (uids.JPEGBaseline8Bit,)),
        (CT, (ELE,)),
        (CT, (ILE,)),
        (uids.MRImageStorage, (BE,)),
        (uids.MRImageStorage, (ELE,)),
        (uids.MRImageStorage, (ILE,)),
    ]
    assert FALLBACK_SYNTAXES == (ELE, ILE)


def test_more_than_128_contexts_are_split_keeping_each_sop_class_on_one_association() -> None:
    classes = storage_sop_classes()[:70]
    instances = [_instance(c, s) for c in classes for s in (ELE, uids.RLELossless)]
    groups = propose(instances)
    assert len(groups) == 2
    assert all(len(group) <= MAX_CONTEXTS for group in groups)
    seen = [{c.abstract_syntax for c in group} for group in groups]
    assert not seen[0] & seen[1]
    assert seen[0] | seen[1] == set(classes)
    assert sum(len(group) for group in groups) == 70 * 3


# ------------------------------------------------------------------- against our SCP


def test_files_in_an_accepted_syntax_are_streamed_byte_for_byte(tmp_path: Path) -> None:
    names = ["CT_small.dcm", "MR_small_bigendian.dcm", "SC_rgb_rle.dcm", "JPEG2000.dcm", "rtplan.dcm"]
    paths = [_testdata(name) for name in names]
    results = _store(tmp_path / "out", paths)
    assert [r.status for r in results] == [0] * len(paths)
    assert not any(r.converted for r in results)
    for path, result in zip(paths, results, strict=True):
        assert result.transfer_syntax == scan_instance(path).transfer_syntax
        stored = tmp_path / "out" / f"{result.sop_instance_uid}.dcm"
        assert _data_set_bytes(stored) == _data_set_bytes(path)


def test_native_files_are_converted_when_only_another_native_syntax_is_accepted(tmp_path: Path) -> None:
    paths = [_testdata("MR_small_bigendian.dcm"), _testdata("MR_small_implicit.dcm")]
    only_ile = (SupportedContext(uids.MRImageStorage, (ILE,)),)
    results = _store(tmp_path / "out", paths, contexts=only_ile)
    assert [(r.status, r.transfer_syntax, r.converted) for r in results] == [(0, ILE, True), (0, ILE, False)]
    for path, result in zip(paths, results, strict=True):
        stored = pydicom.dcmread(tmp_path / "out" / f"{result.sop_instance_uid}.dcm")
        original = pydicom.dcmread(path)
        assert stored.file_meta.TransferSyntaxUID == ILE
        assert np.array_equal(stored.pixel_array, original.pixel_array)
        assert stored.PatientName == original.PatientName


@pytest.mark.parametrize(
    "name", ["SC_rgb_rle.dcm", "JPEG2000.dcm", "MR_small_jpeg_ls_lossless.dcm", "SC_rgb_jpeg_gdcm.dcm"]
)
def test_compressed_files_are_decoded_when_the_peer_accepts_only_uncompressed(
    tmp_path: Path, name: str
) -> None:
    path = _testdata(name)
    original = pydicom.dcmread(path)
    native_only = (SupportedContext(original.SOPClassUID, (ELE,)),)
    (result,) = _store(tmp_path / "out", [path], contexts=native_only)
    assert (result.status, result.transfer_syntax, result.converted) == (0, ELE, True)
    stored = pydicom.dcmread(tmp_path / "out" / f"{result.sop_instance_uid}.dcm")
    assert stored.file_meta.TransferSyntaxUID == ELE
    assert np.array_equal(stored.pixel_array, original.pixel_array)


def test_each_file_gets_its_own_result_whatever_happens_to_the_others(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    good = tmp_path / "in" / "good.dcm"
    write_ct(good)
    (tmp_path / "in" / "notes.txt").write_text("not DICOM")
    mr = _testdata("MR_small.dcm")  # its SOP class is refused by this peer
    results = _store(
        tmp_path / "out",
        [tmp_path / "in", mr, tmp_path / "absent.dcm"],
        contexts=(SupportedContext(CT, (ELE,)),),
    )
    by_name = {r.path.name: r for r in results}
    assert [r.path.name for r in results] == ["good.dcm", "notes.txt", "MR_small.dcm", "absent.dcm"]
    assert by_name["good.dcm"].ok
    assert not by_name["notes.txt"].ok and "not a DICOM instance" in by_name["notes.txt"].error
    assert by_name["MR_small.dcm"].status is None
    assert "no presentation context" in by_name["MR_small.dcm"].describe()
    assert "No such file" in by_name["absent.dcm"].error


def test_failure_statuses_are_reported_per_instance(tmp_path: Path) -> None:
    first = write_ct(tmp_path / "first.dcm")
    write_ct(tmp_path / "again.dcm", SOPInstanceUID=first.get_str("SOPInstanceUID"))
    write_ct(tmp_path / "other.dcm")
    paths = [tmp_path / "first.dcm", tmp_path / "again.dcm", tmp_path / "other.dcm"]
    results = _store(tmp_path / "out", paths, duplicates=Duplicates.REJECT)
    assert [r.status for r in results] == [0, 0x0111, 0]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].describe() == "0x0111 Duplicate SOP Instance (SOP Instance is already stored)"


def test_a_rejected_association_marks_every_instance_not_sent(tmp_path: Path) -> None:
    write_ct(tmp_path / "in" / "1.dcm")
    write_ct(tmp_path / "in" / "2.dcm")
    results = _store(tmp_path / "out", [tmp_path / "in"], called="SOMEONE-ELSE")
    assert [r.status for r in results] == [None, None]
    assert all("association failed" in r.error for r in results)


def test_more_than_128_contexts_go_on_several_associations_and_all_arrive(tmp_path: Path) -> None:
    classes = storage_sop_classes()[:70]
    paths = []
    for number, sop_class in enumerate(classes):
        dataset = Dataset()
        dataset.set("SOPClassUID", sop_class)
        dataset.set("SOPInstanceUID", generate_uid())
        dataset.set("PatientID", f"P{number}")
        path = tmp_path / "in" / f"{number:03}.dcm"
        path.parent.mkdir(exist_ok=True)
        write_file(path, dataset)
        paths.append(path)
    observer = Observer(expect=2)
    results = _store(tmp_path / "out", [tmp_path / "in"], observer=observer)
    assert [r.status for r in results] == [0] * 70
    negotiated = [r for r in observer.records if r.phase is Phase.NEGOTIATED]
    assert len(negotiated) == 2
    assert sorted(len(r.contexts) for r in negotiated) == [12, 128]  # 70 classes x (ELE, ILE)
    assert {read_file(p).dataset.get_str("PatientID") for p in (tmp_path / "out").iterdir()} == {
        f"P{n}" for n in range(70)
    }


# ------------------------------------------------------------------------ the CLI


@contextmanager
def _server_thread(out: Path) -> Iterator[int]:
    """Our Storage SCP on a loop of its own, for the blocking CLI; yields its port."""
    loop = asyncio.new_event_loop()
    server = DicomServer(
        _scp_ae(),
        ServiceHandlers([StorageService(FileStorageHandler(out, fsync=False))]),
        host="127.0.0.1",
        port=0,
    )
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        asyncio.run_coroutine_threadsafe(server.shutdown(0), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_store_command_sends_folders_and_exits_zero_when_everything_is_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for number in range(3):
        write_ct(tmp_path / "in" / "series" / f"{number}.dcm")
    out = tmp_path / "out"
    out.mkdir()
    with _server_thread(out) as port:
        status = main(["store", "127.0.0.1", str(port), str(tmp_path / "in"), "--aec", "SCP", "-v"])
    captured = capsys.readouterr()
    assert status == 0, captured.out + captured.err
    assert "stored 3 of 3 files (0 converted) to SCP@127.0.0.1" in captured.out
    assert captured.out.count("stored ") == 4
    assert captured.err == ""  # no progress bar when stderr is not a terminal
    assert len(list(out.iterdir())) == 3


def test_store_command_exits_one_and_lists_failures_with_a_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_ct(tmp_path / "in" / "ok.dcm")
    (tmp_path / "in" / "bad.txt").write_text("no")
    out = tmp_path / "out"
    out.mkdir()
    with _server_thread(out) as port:
        status = main(["store", "127.0.0.1", str(port), str(tmp_path / "in"), "--aec", "SCP", "--progress"])
    captured = capsys.readouterr()
    assert status == 1
    assert f"failed {tmp_path / 'in' / 'bad.txt'}: not sent: not a DICOM instance" in captured.out
    assert "stored 1 of 2 files" in captured.out
    assert "2/2" in captured.err and "failed=1" in captured.err  # tqdm on stderr


def test_store_command_reports_a_refused_connection_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_ct(tmp_path / "one.dcm")
    with _server_thread(tmp_path) as port:
        pass  # the port is closed again
    status = main(["store", "127.0.0.1", str(port), str(tmp_path / "one.dcm"), "--timeout", "5"])
    captured = capsys.readouterr()
    assert status == 1
    assert "not sent: association failed" in captured.out


def test_an_odd_length_deflated_data_set_is_sent_padded_to_even_length(tmp_path: Path) -> None:
    path = _testdata("image_dfl.dcm")
    original = _data_set_bytes(path)
    assert len(original) % 2 == 1  # as the corpus has it
    (result,) = _store(tmp_path / "out", [path])
    assert (result.status, result.transfer_syntax) == (0, uids.DeflatedExplicitVRLittleEndian)
    stored = tmp_path / "out" / f"{result.sop_instance_uid}.dcm"
    assert _data_set_bytes(stored) == original + b"\x00"
    assert pydicom.dcmread(stored).PixelData == pydicom.dcmread(path).PixelData
