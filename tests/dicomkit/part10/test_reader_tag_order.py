"""Repeated elements and elements out of ascending tag order (PS3.5 §7.1 forbids both).

pydicom reads such a data set and keeps the last of a repeated element; DCMTK's dcmdump
keeps the first and warns once per element. We keep what pydicom keeps (the oracle for
parsed data) and, like dcmdump, report each such element: as a finding naming its tag and
offset, in both validation modes (the archive reads stored data sets strictly again).
"""

from __future__ import annotations

import io
import struct
import warnings

import pydicom
import pytest

from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_file
from dicomkit.part10.transfer_syntax import EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN
from tests.corpus import compare_datasets

MODES = [ReadOptions(), ReadOptions(validation=Validation.LENIENT)]
SYNTAXES = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN]

STUDY_DATE = (0x0008, 0x0020, b"DA", b"20200101")
ACCESSION = (0x0008, 0x0050, b"SH", b"A1")
NAME_1 = (0x0010, 0x0010, b"PN", b"FIRST^A ")
NAME_2 = (0x0010, 0x0010, b"PN", b"SECOND^B")
PATIENT_ID = (0x0010, 0x0020, b"LO", b"ID")
OTHER_ID = (0x0010, 0x0020, b"LO", b"X2")
REFERENCED_STUDY_SEQUENCE = 0x00081110

Spec = tuple[int, int, bytes, bytes]


def _element(spec: Spec, ts_uid: str) -> bytes:
    group, elem, vr, value = spec
    if ts_uid == IMPLICIT_VR_LITTLE_ENDIAN:
        return struct.pack("<HHL", group, elem, len(value)) + value
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value


def _meta(ts_uid: str) -> bytes:
    uid = ts_uid.encode() + b"\x00" * (len(ts_uid) % 2)
    body = b"\x02\x00\x01\x00OB\x00\x00" + struct.pack("<L", 2) + b"\x00\x01"
    body += struct.pack("<HH", 2, 0x10) + b"UI" + struct.pack("<H", len(uid)) + uid
    group_length = struct.pack("<HH", 2, 0) + b"UL" + struct.pack("<HL", 4, len(body))
    return bytes(128) + b"DICM" + group_length + body


def _sequence(item: bytes, ts_uid: str, *, undefined: bool) -> bytes:
    """(0008,1110) holding one item, of defined or undefined length throughout."""
    if undefined:
        content = struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) + item
        content += struct.pack("<HHL", 0xFFFE, 0xE00D, 0) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
        length = 0xFFFFFFFF
    else:
        content = struct.pack("<HHL", 0xFFFE, 0xE000, len(item)) + item
        length = len(content)
    if ts_uid == IMPLICIT_VR_LITTLE_ENDIAN:
        return struct.pack("<HHL", 0x0008, 0x1110, length) + content
    return struct.pack("<HH", 0x0008, 0x1110) + b"SQ\x00\x00" + struct.pack("<L", length) + content


def _file(specs: list[Spec], ts_uid: str) -> tuple[bytes, list[int]]:
    """A Part 10 file of the elements in the order given, and each element's offset."""
    data = _meta(ts_uid)
    offsets = []
    for spec in specs:
        offsets.append(len(data))
        data += _element(spec, ts_uid)
    return data, offsets


def _file_with_item(
    top: list[Spec], item: list[Spec], ts_uid: str, *, undefined: bool
) -> tuple[bytes, list[int]]:
    """Top-level elements then a sequence whose one item holds ``item``; the item elements' offsets."""
    data, _ = _file(top, ts_uid)
    head = 12 if ts_uid == EXPLICIT_VR_LITTLE_ENDIAN else 8
    start = len(data) + head + 8  # after the sequence header and the item header
    offsets = []
    body = b""
    for spec in item:
        offsets.append(start + len(body))
        body += _element(spec, ts_uid)
    return data + _sequence(body, ts_uid, undefined=undefined), offsets


def _assert_as_pydicom_reads(data: bytes, options: ReadOptions) -> list[str]:
    ours = read_file(data, options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.dcmread(io.BytesIO(data))
    assert compare_datasets(ours.dataset, theirs) == []
    return ours.findings


def _repeated(tag: str, offset: int) -> str:
    return f"element {tag} at offset {offset} repeats an earlier one; the later value is kept"


def _unordered(tag: str, offset: int, after: str) -> str:
    return f"element {tag} at offset {offset} is out of ascending tag order (after {after})"


@pytest.mark.parametrize("options", MODES, ids=["strict", "lenient"])
@pytest.mark.parametrize("ts_uid", SYNTAXES, ids=["explicit", "implicit"])
def test_a_repeated_element_keeps_the_last_value_as_pydicom_and_is_reported(
    ts_uid: str, options: ReadOptions
) -> None:
    data, offsets = _file([STUDY_DATE, NAME_1, NAME_2, PATIENT_ID], ts_uid)
    findings = _assert_as_pydicom_reads(data, options)
    assert read_file(data, options).dataset.get_str(0x00100010) == "SECOND^B"
    assert findings == [_repeated("(0010,0010)", offsets[2])]


@pytest.mark.parametrize("options", MODES, ids=["strict", "lenient"])
@pytest.mark.parametrize("ts_uid", SYNTAXES, ids=["explicit", "implicit"])
def test_each_element_below_an_earlier_tag_is_reported(ts_uid: str, options: ReadOptions) -> None:
    # As dcmdump: both (0008,0020) and (0010,0010) come after the higher (0010,0020).
    data, offsets = _file([PATIENT_ID, STUDY_DATE, NAME_1], ts_uid)
    findings = _assert_as_pydicom_reads(data, options)
    assert list(read_file(data, options).dataset) == [0x00080020, 0x00100010, 0x00100020]
    assert findings == [
        _unordered("(0008,0020)", offsets[1], "(0010,0020)"),
        _unordered("(0010,0010)", offsets[2], "(0010,0020)"),
    ]


@pytest.mark.parametrize("undefined", [False, True], ids=["defined", "undefined"])
@pytest.mark.parametrize("options", MODES, ids=["strict", "lenient"])
@pytest.mark.parametrize("ts_uid", SYNTAXES, ids=["explicit", "implicit"])
def test_repeated_and_unordered_elements_in_a_sequence_item_are_reported(
    ts_uid: str, options: ReadOptions, undefined: bool
) -> None:
    data, offsets = _file_with_item(
        [STUDY_DATE], [PATIENT_ID, ACCESSION, OTHER_ID], ts_uid, undefined=undefined
    )
    findings = _assert_as_pydicom_reads(data, options)
    item = read_file(data, options).dataset.get_sequence(REFERENCED_STUDY_SEQUENCE)[0]
    assert list(item) == [0x00080050, 0x00100020]
    assert item.get_str(0x00100020) == "X2"
    assert findings == [
        _unordered("(0008,0050)", offsets[1], "(0010,0020)"),
        _repeated("(0010,0020)", offsets[2]),
    ]


@pytest.mark.parametrize("ts_uid", SYNTAXES, ids=["explicit", "implicit"])
def test_the_same_tag_in_a_data_set_and_in_its_item_is_not_a_repeat(ts_uid: str) -> None:
    data, _ = _file_with_item([STUDY_DATE], [STUDY_DATE, PATIENT_ID], ts_uid, undefined=False)
    assert _assert_as_pydicom_reads(data, ReadOptions()) == []
