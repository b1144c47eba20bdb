"""The streaming entry for the DIMSE Storage SCP: fragments in, stored instance or refusal out."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.archive.errors import IngestError, Refusal
from apps.archive.models import Instance
from apps.archive.services.ingest import IngestOutcome, IngestSink, ingest_session
from apps.archive.storage.backend import journalled_key
from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.part10.reader import read_file
from tests.apps.archive.conftest import staging_files, stored_files
from tests.builders import encode_ct, make_ct

pytestmark = pytest.mark.django_db


def _uid(ds: Dataset, keyword: str) -> str:
    value = ds.get_str(keyword)
    assert value is not None, f"make_ct() sets {keyword}"
    return value


def _session(
    ds: Dataset,
    ts: str = uids.ExplicitVRLittleEndian,
    *,
    sop_class_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> IngestSink:
    """A session for ``ds`` as a C-STORE request would open it; keywords override the request."""
    return ingest_session(
        sop_class_uid=_uid(ds, "SOPClassUID") if sop_class_uid is None else sop_class_uid,
        sop_instance_uid=_uid(ds, "SOPInstanceUID") if sop_instance_uid is None else sop_instance_uid,
        transfer_syntax=ts,
        source_ae="STORESCU",
    )


def _feed(sink: IngestSink, data: bytes, fragment: int = 100) -> None:
    view = memoryview(data)
    for start in range(0, len(data), fragment):
        sink.write(view[start : start + fragment])
    sink.close()


@pytest.mark.parametrize(
    "ts", [uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian, uids.ExplicitVRBigEndian]
)
def test_fragments_become_a_part10_file_in_the_negotiated_syntax(storage_root: Path, ts: str) -> None:
    ds = make_ct()
    data = encode_ct(ds, ts)
    sink = _session(ds, ts)
    _feed(sink, data)
    result = sink.commit()

    assert result.outcome is IngestOutcome.STORED and result.status == 0x0000
    stored = read_file(storage_root / result.key)
    assert stored.transfer_syntax == ts
    assert stored.meta.get_str(0x00020002) == uids.CTImageStorage
    assert stored.meta.get_str(0x00020016) == "STORESCU"  # Source AE Title
    assert stored.dataset.get_str("PatientName") == "Doe^John"
    assert (storage_root / result.key).read_bytes().endswith(data)  # the data set as received
    assert Instance.objects.filter(sop_instance_uid=ds.get_str("SOPInstanceUID")).exists()
    assert staging_files(storage_root) == []


def test_sop_instance_uid_other_than_the_requests_is_refused(storage_root: Path) -> None:
    ds = make_ct()
    sink = _session(ds, sop_instance_uid="1.2.3.4.5")
    _feed(sink, encode_ct(ds))
    with pytest.raises(IngestError) as refused:
        sink.commit()
    assert refused.value.reason is Refusal.SOP_INSTANCE_MISMATCH
    assert refused.value.status == 0xA900
    assert len(refused.value.error_comment) <= 64
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []
    assert not Instance.objects.exists()


def test_sop_class_other_than_the_requests_is_refused(storage_root: Path) -> None:
    ds = make_ct()
    sink = _session(ds, sop_class_uid=uids.MRImageStorage)
    _feed(sink, encode_ct(ds))
    with pytest.raises(IngestError) as refused:
        sink.commit()
    assert refused.value.reason is Refusal.SOP_CLASS_MISMATCH and refused.value.status == 0xA900


def test_data_set_not_in_the_negotiated_transfer_syntax_is_refused(storage_root: Path) -> None:
    ds = make_ct()
    sink = _session(ds, uids.ImplicitVRLittleEndian)
    _feed(sink, encode_ct(ds, uids.ExplicitVRLittleEndian))
    with pytest.raises(IngestError) as refused:
        sink.commit()
    assert refused.value.reason is Refusal.TRANSFER_SYNTAX_MISMATCH and refused.value.status == 0xC000
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []


def test_invalid_affected_sop_instance_uid_refuses_without_writing(storage_root: Path) -> None:
    ds = make_ct()
    sink = _session(ds, sop_instance_uid="../../etc/passwd")
    _feed(sink, encode_ct(ds))
    with pytest.raises(IngestError) as refused:
        sink.commit()
    assert refused.value.reason is Refusal.INVALID_UID
    assert refused.value.offending_tag == 0x00001000
    assert list(storage_root.rglob("*")) == []


def test_truncated_data_set_is_refused_as_not_understood(storage_root: Path) -> None:
    ds = make_ct()
    sink = _session(ds)
    _feed(sink, encode_ct(ds)[:-10])
    with pytest.raises(IngestError) as refused:
        sink.commit()
    assert refused.value.reason is Refusal.MALFORMED and refused.value.status == 0xC000
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []


def test_abort_mid_transfer_leaves_nothing(storage_root: Path) -> None:
    ds = make_ct()
    sink = _session(ds)
    sink.write(encode_ct(ds)[:50])
    assert len(staging_files(storage_root)) == 1
    sink.abort()
    assert staging_files(storage_root) == [] and stored_files(storage_root) == []
    with pytest.raises(IngestError):
        sink.commit()


def test_leaving_the_context_without_commit_aborts(storage_root: Path) -> None:
    ds = make_ct()
    with pytest.raises(RuntimeError), _session(ds) as sink:
        sink.write(encode_ct(ds)[:50])
        raise RuntimeError("association aborted")
    assert staging_files(storage_root) == []


def test_bytes_received_counts_the_data_set_only(storage_root: Path) -> None:
    ds = make_ct()
    data = encode_ct(ds)
    with _session(ds) as sink:
        _feed(sink, data, fragment=7)
        assert sink.bytes_received == len(data)
        sink.commit()


def test_the_key_is_journalled_while_the_pixel_data_still_arrives(storage_root: Path) -> None:
    ds = make_ct()
    data = encode_ct(ds)
    sink = _session(ds)
    _feed_part(sink, data[: data.index(b"\xe0\x7f\x10\x00") + 12 + 10])
    (staging,) = staging_files(storage_root)
    key = "/".join(_uid(ds, name) for name in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"))
    assert journalled_key(staging) == key + ".dcm"  # the header was read and checked already

    _feed(sink, data[data.index(b"\xe0\x7f\x10\x00") + 12 + 10 :])
    result = sink.commit()
    assert result.key == key + ".dcm"
    assert (storage_root / result.key).read_bytes().endswith(data)
    assert staging_files(storage_root) == []


def test_a_header_checked_ahead_does_not_save_a_data_set_cut_in_its_pixel_data(storage_root: Path) -> None:
    ds = make_ct()
    data = encode_ct(ds)
    sink = _session(ds)
    _feed(sink, data[: data.index(b"\xe0\x7f\x10\x00") + 12 + 10])
    assert journalled_key(staging_files(storage_root)[0]) is not None
    with pytest.raises(IngestError) as refused:
        sink.commit()
    assert refused.value.reason is Refusal.MALFORMED and refused.value.status == 0xC000
    assert "Pixel Data" in str(refused.value) or "7FE0" in str(refused.value).upper()
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []
    assert not Instance.objects.exists()


def _feed_part(sink: IngestSink, data: bytes, fragment: int = 100) -> None:
    view = memoryview(data)
    for start in range(0, len(data), fragment):
        sink.write(view[start : start + fragment])


def test_an_element_after_pixel_data_that_belongs_before_it_is_still_indexed(storage_root: Path) -> None:
    # Out of order: Accession Number after Pixel Data. The header read ahead stops at Pixel
    # Data and misses it; the commit sees that and reads the whole data set instead.
    ds = make_ct(AccessionNumber=None)
    data = encode_ct(ds) + b"\x08\x00\x50\x00SH\x08\x00LATE0001"
    sink = _session(ds)
    _feed(sink, data)
    result = sink.commit()
    assert Instance.objects.get(pk=result.instance_id).series.study.accession_number == "LATE0001"


def test_the_data_is_fsynced_once_starting_when_its_last_fragment_arrives(
    storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fsync starts on an I/O thread at the end of the data set, before the commit is
    handed over, and the commit does not fsync the data again."""
    fsync = os.fsync
    # Files by (device, inode): a staging file made unnamed (O_TMPFILE) and named later
    # shows no path in /proc/self/fd.
    file_syncs: list[tuple[int, int]] = []
    lock = threading.Lock()

    def recording_fsync(fd: int) -> None:
        status = os.fstat(fd)
        if stat.S_ISREG(status.st_mode):
            with lock:
                file_syncs.append((status.st_dev, status.st_ino))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    ds = make_ct()
    sink = _session(ds)
    _feed(sink, encode_ct(ds))  # ends with close(), as the Storage SCP does
    (staging,) = staging_files(storage_root)
    staged = (staging.stat().st_dev, staging.stat().st_ino)
    deadline = time.monotonic() + 10
    while not file_syncs and time.monotonic() < deadline:
        time.sleep(0.01)
    assert file_syncs == [staged]  # before any commit

    result = sink.commit()
    assert result.outcome is IngestOutcome.STORED
    assert file_syncs == [staged]


def test_a_resent_instance_is_never_fsynced_nor_stored_twice(
    storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its key is taken when the header arrives: the data is not made durable ahead (it goes
    unstored), and the answer is the stored copy's (keep_first, the default)."""
    ds = make_ct()
    data = encode_ct(ds)
    first = _session(ds)
    _feed(first, data)
    stored = first.commit()
    fsync = os.fsync
    file_syncs: list[int] = []

    def recording_fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            file_syncs.append(fd)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    again = _session(ds)
    _feed(again, data)
    result = again.commit()

    assert result.outcome is IngestOutcome.DUPLICATE and result.status == 0x0000
    assert (result.instance_id, result.key) == (stored.instance_id, stored.key)
    assert file_syncs == []
    assert stored_files(storage_root) == [storage_root / stored.key]
    assert staging_files(storage_root) == []
    assert Instance.objects.count() == 1


def test_a_taken_key_without_an_indexed_instance_is_still_stored_durably(
    storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file at the key but no row (left by a crash): the hint was wrong, and the instance
    is stored under another key, fsynced before the index names it."""
    ds = make_ct()
    data = encode_ct(ds)
    probe = _session(ds)
    _feed(probe, data)
    planned = probe.commit().key
    Instance.objects.all().delete()
    (storage_root / planned).write_bytes(b"left by a crash")
    fsync = os.fsync
    file_syncs: list[int] = []

    def recording_fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            file_syncs.append(os.fstat(fd).st_ino)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    sink = _session(ds)
    _feed(sink, data)
    result = sink.commit()

    assert result.outcome is IngestOutcome.STORED
    assert result.key != planned
    assert os.stat(storage_root / result.key).st_ino in file_syncs
    assert (storage_root / planned).read_bytes() == b"left by a crash"


def test_a_data_set_ending_with_native_pixel_data_is_not_read_back(
    storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header was checked ahead and Pixel Data's value ends the file: nothing is left to
    parse, so the commit reads nothing of the file (written around the page cache, it
    would come from the disk)."""
    from apps.archive.services import ingest

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the staged file was read back")

    monkeypatch.setattr(ingest, "read_dataset_at", no_reading)
    monkeypatch.setattr(ingest, "read_file", no_reading)
    ds = make_ct(Rows=1024, Columns=1024, PixelData=os.urandom(1024 * 1024 * 2))
    data = encode_ct(ds)
    sink = _session(ds)
    _feed(sink, data, fragment=16_372)
    result = sink.commit()

    assert result.outcome is IngestOutcome.STORED
    stored = (storage_root / result.key).read_bytes()
    assert stored.endswith(data)
    assert result.size_bytes == len(stored)


@pytest.mark.parametrize("direct_io", [True, False])
def test_the_stored_file_is_what_was_sent_written_directly_or_not(
    storage_root: Path, settings: Settings, direct_io: bool
) -> None:
    settings.PACS_STORAGE_DIRECT_IO = direct_io
    ds = make_ct(Rows=1000, Columns=700, PixelData=os.urandom(1000 * 700 * 2))
    data = encode_ct(ds)
    sink = _session(ds)
    staged = sink._staged
    assert staged is not None and (staged._direct is not None) is direct_io
    _feed(sink, data, fragment=131_060)
    result = sink.commit()
    stored = (storage_root / result.key).read_bytes()
    assert stored.endswith(data)
    assert Instance.objects.get(pk=result.instance_id).location.size_bytes == len(stored)
