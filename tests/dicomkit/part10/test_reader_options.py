"""Reader options and sources: stop_before, deferred values, paths/bytes/streams, raw data sets."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from dicomkit.codecs.pixels import get_frame
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DecodeError, DicomFormatError, InvalidVRError, TruncatedError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_dataset, read_file
from dicomkit.part10.transfer_syntax import (
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
)
from dicomkit.part10.writer import encode_dataset, write_file
from tests.corpus import DATA_ROOT

CT = DATA_ROOT / "test_files" / "CT_small.dcm"
JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
PIXEL_DATA = 0x7FE00010


def test_path_bytes_and_stream_sources_give_the_same_data() -> None:
    from_path = read_file(CT)
    from_bytes = read_file(CT.read_bytes())
    with CT.open("rb") as fp:
        from_stream = read_file(fp)
    unseekable = read_file(_Unseekable(CT.read_bytes()))
    seekable = read_file(_Seekable(CT.read_bytes()))
    assert from_path.dataset == from_bytes.dataset == from_stream.dataset == unseekable.dataset
    assert seekable.dataset == from_path.dataset
    assert from_path.meta == from_bytes.meta
    assert from_path.preamble is not None and len(from_path.preamble) == 128


def test_stop_before_pixel_data_reads_the_header_only() -> None:
    header = read_file(CT, ReadOptions(stop_before=PIXEL_DATA))
    full = read_file(CT)
    assert PIXEL_DATA not in header.dataset
    assert PIXEL_DATA in full.dataset
    assert all(tag < PIXEL_DATA for tag in header.dataset)
    assert header.dataset.get_str("PatientName") == full.dataset.get_str("PatientName")


def test_stop_before_never_touches_the_pixel_bytes(tmp_path: Path) -> None:
    # The file claims 100 MB of pixel data that is not there: a header read must not care.
    ds = read_file(CT, ReadOptions(stop_before=PIXEL_DATA)).dataset
    body = encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN)
    lying = body + b"\xe0\x7f\x10\x00OW\x00\x00" + (100_000_000).to_bytes(4, "little")
    header = read_file(lying, ReadOptions(stop_before=PIXEL_DATA))
    assert header.dataset == ds
    with pytest.raises(TruncatedError) as excinfo:
        read_file(lying)
    assert excinfo.value.offset == len(body) + 12
    assert excinfo.value.tag == PIXEL_DATA


def test_values_larger_than_defer_size_stay_in_the_file_until_asked() -> None:
    deferred = read_file(CT, ReadOptions(defer_size=1024))
    element = deferred.dataset[PIXEL_DATA]
    assert element.is_deferred
    assert element.value == read_file(CT).dataset[PIXEL_DATA].value
    small = deferred.dataset["PatientName"]
    assert not small.is_deferred


def test_a_deferred_text_value_decodes_in_the_character_set_it_was_read_in(tmp_path: Path) -> None:
    ds = Dataset()
    ds.set("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7", "UI")
    ds.set("SOPInstanceUID", "1.2.3.4", "UI")
    ds.set("SpecificCharacterSet", "ISO_IR 192", "CS")
    comments = "Schädelübersicht 頭部 " * 100
    ds.set("ImageComments", comments, "LT")
    path = tmp_path / "utf8.dcm"
    write_file(path, ds, transfer_syntax_uid=EXPLICIT_VR_LITTLE_ENDIAN)

    element = read_file(path, ReadOptions(defer_size=64)).dataset["ImageComments"]

    assert element.is_deferred
    assert element.value == comments.rstrip()


@pytest.mark.parametrize("name", ["SC_rgb_rle_2frame.dcm", "JPEG2000.dcm", "MR_small_RLE.dcm"])
def test_encapsulated_pixel_data_larger_than_defer_size_stays_in_the_file(name: str) -> None:
    path = DATA_ROOT / "test_files" / name
    whole = read_file(path)
    deferred = read_file(path, ReadOptions(defer_size=128))
    element = deferred.dataset[PIXEL_DATA]
    assert element.is_deferred and element.undefined_length
    assert element.value == whole.dataset[PIXEL_DATA].value
    assert deferred.dataset == whole.dataset
    for index in range(int(whole.dataset.get_str("NumberOfFrames") or 1)):
        ours = get_frame(deferred.dataset, index, transfer_syntax=deferred.transfer_syntax)
        assert np.array_equal(ours, get_frame(whole.dataset, index, transfer_syntax=whole.transfer_syntax))


def test_reading_large_encapsulated_pixel_data_with_defer_size_does_not_hold_it(tmp_path: Path) -> None:
    path = tmp_path / "encapsulated.dcm"
    fragment = bytes(range(256)) * 4096  # 1 MiB
    ds = read_file(DATA_ROOT / "test_files" / "JPEG2000.dcm", ReadOptions(stop_before=PIXEL_DATA)).dataset
    write_file(path, ds, transfer_syntax_uid=JPEG2000_LOSSLESS)
    with path.open("ab") as fp:
        fp.write(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0" + bytes(4))
        for _ in range(32):
            fp.write(b"\xfe\xff\x00\xe0" + len(fragment).to_bytes(4, "little") + fragment)
        fp.write(b"\xfe\xff\xdd\xe0" + bytes(4))
    tracemalloc.start()
    try:
        element = read_file(path, ReadOptions(defer_size=4096)).dataset[PIXEL_DATA]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert element.is_deferred and element.length == 8 + 32 * (8 + len(fragment))
    assert peak < 4 * 1024 * 1024  # of 32 MiB of fragments


def test_truncated_encapsulated_pixel_data_is_refused_with_defer_size_too(tmp_path: Path) -> None:
    data = (DATA_ROOT / "test_files" / "JPEG2000.dcm").read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[:-100])
    with pytest.raises(TruncatedError):
        read_file(path, ReadOptions(defer_size=1024))


def test_deferred_value_of_a_file_that_shrank_raises_truncated(tmp_path: Path) -> None:
    copy = tmp_path / "ct.dcm"
    copy.write_bytes(CT.read_bytes())
    deferred = read_file(copy, ReadOptions(defer_size=1024))
    copy.write_bytes(CT.read_bytes()[:2000])
    with pytest.raises(TruncatedError):
        deferred.dataset[PIXEL_DATA].value  # noqa: B018


@pytest.mark.parametrize(
    "ts_uid", [IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN]
)
def test_raw_data_sets_without_meta_are_detected(ts_uid: str) -> None:
    ds = read_file(CT, ReadOptions(stop_before=PIXEL_DATA)).dataset
    raw = encode_dataset(ds, ts_uid)
    result = read_file(raw)
    assert result.preamble is None
    assert len(result.meta) == 0
    assert result.transfer_syntax == ts_uid
    assert result.dataset == ds
    assert read_dataset(raw, ts_uid) == ds


def test_file_meta_is_written_per_ps3_10(tmp_path: Path) -> None:
    ds = read_file(CT).dataset
    out = tmp_path / "out.dcm"
    write_file(out, ds, transfer_syntax_uid=EXPLICIT_VR_BIG_ENDIAN)
    data = out.read_bytes()
    assert data[:128] == bytes(128) and data[128:132] == b"DICM"
    meta = read_file(out).meta
    assert meta.get_bytes("FileMetaInformationVersion") == b"\x00\x01"
    assert meta.get_str("MediaStorageSOPClassUID") == ds.get_str("SOPClassUID")
    assert meta.get_str("MediaStorageSOPInstanceUID") == ds.get_str("SOPInstanceUID")
    assert meta.get_str("TransferSyntaxUID") == EXPLICIT_VR_BIG_ENDIAN
    assert meta.get_str("ImplementationClassUID", "").startswith("2.25.")
    group_length = meta.get_int("FileMetaInformationGroupLength")
    # The group length covers exactly the meta elements after it (PS3.10 7.1).
    assert group_length == _meta_length(data)


def _meta_length(data: bytes) -> int:
    pos = 132 + 12  # after (0002,0000) UL 4
    start = pos
    while data[pos : pos + 2] == b"\x02\x00":
        vr = data[pos + 4 : pos + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"UC", b"UR"):
            pos += 12 + int.from_bytes(data[pos + 8 : pos + 12], "little")
        else:
            pos += 8 + int.from_bytes(data[pos + 6 : pos + 8], "little")
    return pos - start


@pytest.mark.parametrize("cut", [10, 131, 140, 401, 1001, 5001])
def test_truncated_files_raise_a_typed_error_naming_the_offset(cut: int) -> None:
    # (A cut that falls exactly between two top-level elements is a shorter valid file.)
    data = CT.read_bytes()[:cut]
    with pytest.raises(DicomFormatError) as excinfo:
        read_file(data)
    assert excinfo.value.offset is not None
    assert "offset" in str(excinfo.value)


def test_invalid_vr_is_refused_strictly_and_recovered_leniently() -> None:
    ds = Dataset()
    ds.set("PatientID", "123")
    ds.set("PatientName", "A^B")
    data = bytearray(encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN))
    data[4:6] = b"\x01\x02"  # PatientName's VR bytes become junk: implicit element inside explicit
    with pytest.raises(InvalidVRError) as excinfo:
        read_dataset(bytes(data), EXPLICIT_VR_LITTLE_ENDIAN)
    assert excinfo.value.offset == 4 and excinfo.value.tag == 0x00100010


def test_sequence_nesting_is_bounded() -> None:
    ds = Dataset()
    current = ds
    for _ in range(80):
        child = Dataset()
        current.set("ContentSequence", [child])
        current = child
    data = encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN)
    with pytest.raises(DecodeError, match="nested deeper"):
        read_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN)
    deep = read_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, ReadOptions(max_depth=100))
    assert deep == ds


def test_lenient_reading_records_findings() -> None:
    path = DATA_ROOT / "test_files" / "SC_rgb_jpeg.dcm"
    with pytest.raises(DicomFormatError):
        read_file(path)
    result = read_file(path, ReadOptions(validation=Validation.LENIENT))
    assert result.findings


class _Unseekable:
    """A stream with nothing but ``read``: it cannot seek, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk


class _Seekable:
    """A seekable stream that is no ``io`` class and has no ``fileno``: its size comes from seeking."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._buffer.read(size)

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        return self._buffer.seek(offset, whence)

    def tell(self) -> int:
        return self._buffer.tell()
