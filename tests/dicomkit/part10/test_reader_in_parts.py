"""Reading a data set in two parts (``read_dataset_head`` then ``read_dataset_at``) gives
what one read of the whole gives, for every file of the corpus and every place the first
part may end."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomkit.data.dataset import Dataset
from dicomkit.data.value_codec import ElementValue
from dicomkit.errors import DicomError, TruncatedError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_dataset, read_dataset_at, read_dataset_head, read_file
from dicomkit.part10.transfer_syntax import EXPLICIT_VR_LITTLE_ENDIAN, transfer_syntax
from dicomkit.part10.writer import encode_dataset
from tests.corpus import DATA_ROOT, corpus_files, corpus_ids

PIXEL_DATA = 0x7FE00010
LENIENT = ReadOptions(validation=Validation.LENIENT)
CT = DATA_ROOT / "test_files" / "CT_small.dcm"
_LONG_VRS = {b"OB", b"OW", b"OF", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OD", b"OL", b"OV", b"SV", b"UV"}


def _dataset_bytes(path: Path) -> tuple[bytes, str] | None:
    """The raw data set after the File Meta (explicit VR LE) and its syntax, if there is one."""
    data = path.read_bytes()
    pos = 132 if data[128:132] == b"DICM" else 0
    if data[pos : pos + 2] != b"\x02\x00":
        return None
    while data[pos : pos + 2] == b"\x02\x00":
        vr = data[pos + 4 : pos + 6]
        if not vr.isalpha():
            return None  # implicit VR meta: not what this test is about
        if vr in _LONG_VRS:
            pos += 12 + int.from_bytes(data[pos + 8 : pos + 12], "little")
        else:
            pos += 8 + int.from_bytes(data[pos + 6 : pos + 8], "little")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            meta_only = ReadOptions(stop_before=0x00030000, validation=Validation.LENIENT)
            ts = read_file(path, meta_only).transfer_syntax
        except DicomError:
            return None
    try:
        transfer_syntax(ts)
    except (KeyError, ValueError, DicomError):
        return None
    return data[pos:], ts


def _items(dataset: Dataset, keep: Callable[[int], bool]) -> list[tuple[int, ElementValue]]:
    return [(tag, dataset[tag].value) for tag in dataset if keep(tag)]


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_ids())
def test_two_parts_read_as_the_whole(path: Path, tmp_path: Path) -> None:
    found = _dataset_bytes(path)
    if found is None:
        pytest.skip("no explicit VR little endian File Meta to find the data set by")
    data, ts = found
    if transfer_syntax(ts).deflated:
        with pytest.raises(ValueError, match="deflated"):
            read_dataset_head(data, ts, PIXEL_DATA, LENIENT)
        return
    try:
        whole = read_dataset(data, ts, LENIENT)
    except DicomError:
        # A malformed whole: the parts never pass as a good data set.
        try:
            head = read_dataset_head(data, ts, PIXEL_DATA, LENIENT)
        except DicomError:
            return
        if head is not None:
            with pytest.raises(DicomError):
                read_dataset_at(_with_junk_before(tmp_path, data), 7 + head[1], ts, LENIENT)
        return
    head = read_dataset_head(data, ts, PIXEL_DATA, LENIENT)
    if not any(tag >= PIXEL_DATA for tag in whole):
        assert head is None
        return
    assert head is not None
    dataset, offset = head
    assert _items(dataset, lambda tag: True) == _items(whole, lambda tag: tag < PIXEL_DATA)
    tail = read_dataset_at(_with_junk_before(tmp_path, data), 7 + offset, ts, LENIENT)
    assert _items(tail, lambda tag: True) == _items(whole, lambda tag: tag >= PIXEL_DATA)


def _with_junk_before(tmp_path: Path, data: bytes) -> Path:
    """The data set at offset 7 of a file (the tail is read at a file offset)."""
    path = tmp_path / "data"
    path.write_bytes(b"garbage" + data)
    return path


def _ct_data_set() -> tuple[bytes, int]:
    dataset = read_file(CT).dataset
    data = encode_dataset(dataset, EXPLICIT_VR_LITTLE_ENDIAN)
    offset = data.index(b"\xe0\x7f\x10\x00OW")
    return data, offset


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_cut_before_the_pixel_data_header_asks_for_more_and_after_it_gives_the_head(
    draw: st.DataObject,
) -> None:
    data, offset = _ct_data_set()
    cut = draw.draw(st.integers(min_value=0, max_value=len(data)))
    head = read_dataset_head(data[:cut], EXPLICIT_VR_LITTLE_ENDIAN, PIXEL_DATA, LENIENT)
    if cut < offset + 12:  # explicit VR OW: the tag, VR and 4-byte length make the header
        assert head is None
    else:
        assert head is not None
        assert head[1] == offset
        assert head[0] == read_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, ReadOptions(stop_before=PIXEL_DATA))


def test_the_tail_of_a_cut_file_is_refused_with_its_offset(tmp_path: Path) -> None:
    data, offset = _ct_data_set()
    path = tmp_path / "cut"
    path.write_bytes(data[: offset + 112])  # 100 bytes of pixel data left
    with pytest.raises(TruncatedError) as excinfo:
        read_dataset_at(path, offset, EXPLICIT_VR_LITTLE_ENDIAN, ReadOptions(defer_size=1024))
    assert excinfo.value.tag == PIXEL_DATA
    assert excinfo.value.offset == offset + 12


def test_the_tail_leaves_large_values_in_the_file(tmp_path: Path) -> None:
    data, offset = _ct_data_set()
    path = tmp_path / "whole"
    path.write_bytes(data)
    tail = read_dataset_at(path, offset, EXPLICIT_VR_LITTLE_ENDIAN, ReadOptions(defer_size=1024))
    assert list(tail) == [PIXEL_DATA, 0xFFFCFFFC]  # CT_small ends with Data Set Trailing Padding
    assert tail[PIXEL_DATA].is_deferred
    assert tail[PIXEL_DATA].value == read_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN)[PIXEL_DATA].value
