"""The DICOM JSON Model (PS3.18 Annex F): pydicom as oracle, round trips, the standard's
examples, hypothesis round trips and a fuzz of malformed input (only DecodeError escapes).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dicomkit.data.charset import Charset
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.json import (
    JSONValue,
    dataset_from_json,
    dataset_to_json,
    dumps,
    dumps_array,
    loads,
    loads_array,
)
from dicomkit.data.tag import Tag
from dicomkit.data.values.person_name import PersonName
from dicomkit.data.vr import VR, VR_INFO, VRKind
from dicomkit.errors import DecodeError, DicomError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_dataset, read_file
from dicomkit.part10.writer import encode_dataset
from tests.corpus import DATA_ROOT, _pydicom_items, compare_datasets, corpus_files, corpus_ids, pydicom_read

LENIENT = ReadOptions(validation=Validation.LENIENT)
CHARSET = 0x00080005


def _read_ours(path: Path) -> Dataset:
    try:
        return read_file(path, LENIENT).dataset
    except DicomError:
        pytest.skip("our reader refuses the file (tested in test_reader_oracle)")


# ============================================================ helpers (independent of the code)


def _item_size(vr: str) -> int:
    return VR_INFO[VR(vr)].item_size


def _swap(data: bytes, size: int) -> bytes:
    """Reverse each ``size``-byte word; a trailing partial word stays as it is."""
    whole = len(data) - len(data) % size
    words = [data[i : i + size][::-1] for i in range(0, whole, size)]
    return b"".join(words) + data[whole:]


def _swap_size(tag: int, vr: str, bits_allocated: object) -> int:
    """Bytes reversed together: native OW Pixel Data with 32/64 bits allocated swaps whole
    cells (as pydicom's pixel decoder reads big endian), other values their VR's item."""
    if tag == 0x7FE00010 and vr == "OW" and bits_allocated in (32, 64):
        assert isinstance(bits_allocated, int)
        return bits_allocated // 8
    return _item_size(vr)


def _little_endian_value(element: Element, bits_allocated: int | None) -> bytes:
    value = element.value
    assert isinstance(value, bytes)
    size = _swap_size(element.tag, element.vr, bits_allocated)
    if element.little_endian or element.undefined_length or size <= 1:
        return value
    return _swap(value, size)


def _names(values: list[Any]) -> list[PersonName]:
    # PS3.5 6.2.1: trailing empty components/groups may be left out; "Doe^John^^" is
    # "Doe^John", and a lone "=" is an empty name. F.2.2 leaves out empty groups, so the
    # trailing spaces of the last group that stays become the value's padding: " =" comes
    # back as " ", an empty name. Compared without them.
    names = [PersonName.from_str(_rstrip_groups(value), strict=False) for value in values]
    return [] if len(names) == 1 and names[0].is_empty else names


def _rstrip_groups(value: Any) -> Any:
    return "=".join(group.rstrip(" ") for group in value.split("=")) if isinstance(value, str) else value


def _same_scalars(vr: str, ours: list[Any], theirs: list[Any]) -> bool:
    if vr == "PN":
        return _names(ours) == _names(theirs)
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            continue
        if a != b or (type(a) is not type(b) and not (isinstance(a, int) and isinstance(b, int))):
            return False
    return True


def _has_non_ascii_text(ds: Dataset) -> bool:
    for element in ds.elements():
        if element.vr == "SQ":
            if any(_has_non_ascii_text(item) for item in element.sequence):
                return True
        elif element.vr in ("SH", "LO", "ST", "LT", "PN", "UC", "UT") and any(
            isinstance(v, str) and not v.isascii() for v in element.values
        ):
            return True
    return False


def value_differences(original: Dataset, back: Dataset, path: str = "", top: bool = True) -> list[str]:
    """Differences in element values (not encodings) between a data set and its round trip.

    Group lengths are not part of the JSON model (F.2.2); (0008,0005) ISO_IR 192 may be
    added at the top when the original has none but holds non-ASCII text.
    """
    problems: list[str] = []
    mine = {tag for tag in original if tag & 0xFFFF}
    theirs = set(back)
    if top and CHARSET in theirs - mine:
        assert back.get_strs(CHARSET) == ["ISO_IR 192"]
        assert _has_non_ascii_text(original)
        theirs.discard(CHARSET)
    for tag in sorted(mine ^ theirs):
        problems.append(f"{path}{Tag(tag)} only in {'original' if tag in mine else 'round trip'}")
    for tag in sorted(mine & theirs):
        a, b = original[tag], back[tag]
        where = f"{path}{Tag(tag)}"
        if a.vr != b.vr:
            problems.append(f"{where} VR {a.vr} != {b.vr}")
        elif a.vr == "SQ":
            if len(a.sequence) != len(b.sequence):
                problems.append(f"{where} {len(a.sequence)} items != {len(b.sequence)}")
                continue
            for index, (x, y) in enumerate(zip(a.sequence, b.sequence)):
                problems.extend(value_differences(x, y, f"{where}[{index}].", top=False))
        elif VR_INFO[VR(a.vr)].kind is VRKind.BYTES:
            if _little_endian_value(a, original.get_int(0x00280100)) != b.value:
                problems.append(f"{where} {a.vr} bytes differ")
        elif not _same_scalars(a.vr, list(a.values), list(b.values)):
            problems.append(f"{where} {a.vr} {a.values!r:.100} != {b.values!r:.100}")
    return problems


# ==================================================================== 1. pydicom as oracle

# What the standard allows in either form, or where pydicom departs from it; each is
# normalised on pydicom's side before comparing:
#
# N1 group lengths (gggg,0000): F.2.2 says they "shall not be included"; pydicom keeps them.
# N2 empty sequences: F.2.5 says an empty attribute has no "Value"; pydicom writes "Value": [].
# N3 empty values inside a multi-valued attribute: F.2.5 gives null; pydicom writes "" (and
#    {"Alphabetic": ""} for PN).
# N4 PN component groups: F.2.2 encodes only the non-empty groups; pydicom can write
#    "Ideographic": "" for a name with a trailing '='.
# N5 InlineBinary of big endian files: F.2.7 applies PS3.5 byte ordering and JSON has no
#    transfer syntax, so we write little endian; pydicom base64s the file's byte order.
#    Native OW Pixel Data with 32/64 bits allocated is swapped cell by cell, as pydicom's
#    own pixel decoder reads such cells (docs/dicomkit/big_endian_pixel_data.md).
# N6 FL/FD NaN and infinities: JSON has no such numbers; we write "NaN"/"Infinity"/
#    "-Infinity", pydicom a float (which json.dumps turns into non-JSON NaN tokens).
# N7 SV/UV beyond 2^53: F.2.3 allows strings, which keep their digits in JSON readers that
#    use doubles; pydicom writes numbers.
# N8 an unknown implicit VR element holding items: we read it as SQ (as DCMTK does),
#    pydicom keeps UN bytes; we compare with pydicom's parse of those bytes as items.
# N9 leading/trailing spaces of AE AS CS DA DS DT IS TM UI values are not significant
#    (PS3.5 Table 6.2-1) and our reader drops them; pydicom keeps some ("DERIVED ").
# N10 DS/IS text that is not a number: pydicom cannot convert it and drops the element
#    (suppress_invalid_tags); we keep the text as JSON strings (F.2.3 allows strings).
# Elements where the two *readers* disagree (compare_datasets reports them; that is the
# reader oracle's business) are left out.

_PROBLEM_PATH = re.compile(r"^((?:\([0-9A-F]{4},[0-9A-F]{4}\)(?:\[\d+\]\.)?)+)")


def _excluded_paths(problems: list[str]) -> set[tuple[str, ...]]:
    excluded: set[tuple[str, ...]] = set()
    for problem in problems:
        match = _PROBLEM_PATH.match(problem)
        assert match is not None, problem
        steps = re.findall(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)(?:\[(\d+)\])?", match.group(1))
        path: list[str] = []
        for group, element, index in steps:
            path.append(group + element)
            if index:
                path.append(index)
        excluded.add(tuple(path))
    return excluded


_SPACES_INSIGNIFICANT = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})


def _normalise_pydicom(obj: dict[str, Any], their_ds: Any, little: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, attribute in obj.items():
        if key.endswith("0000"):
            continue  # N1
        attribute = dict(attribute)
        vr = attribute["vr"]
        if vr == "SQ" and attribute.get("Value") is not None:
            items = their_ds[int(key, 16)].value
            attribute["Value"] = [
                _normalise_pydicom(item_json, item, little)
                for item_json, item in zip(attribute["Value"], items)
            ]
        if attribute.get("Value") == []:
            del attribute["Value"]  # N2
        if "Value" in attribute and vr != "SQ":
            values = []
            for value in attribute["Value"]:
                if vr == "PN" and isinstance(value, dict):
                    value = {k: v for k, v in value.items() if v} or None  # N3, N4
                elif isinstance(value, str) and vr in _SPACES_INSIGNIFICANT:
                    value = value.strip(" ") or None  # N9, N3
                elif value == "":
                    value = None  # N3
                elif vr in ("FL", "FD") and isinstance(value, float) and not math.isfinite(value):
                    value = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")  # N6
                elif vr in ("SV", "UV") and isinstance(value, int) and abs(value) > 2**53:
                    value = str(value)  # N7
                values.append(value)
            attribute["Value"] = values
            if values == [None]:
                del attribute["Value"]
        if "InlineBinary" in attribute and not little and _item_size(vr) > 1:
            element = their_ds[int(key, 16)]
            if not element.is_undefined_length:
                data = base64.b64decode(attribute["InlineBinary"])
                size = _swap_size(int(key, 16), vr, their_ds.get("BitsAllocated"))
                attribute["InlineBinary"] = base64.b64encode(_swap(data, size)).decode()  # N5
        out[key] = attribute
    return out


def _un_as_sequence(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """N8: replace pydicom's UN bytes by its own parse of them where we read a sequence."""
    for key, attribute in ours.items():
        their_attribute = theirs.get(key)
        if their_attribute is None:
            continue
        if attribute["vr"] == "SQ" and their_attribute["vr"] == "UN":
            data = base64.b64decode(their_attribute.get("InlineBinary", ""))
            items = _pydicom_items(data)
            theirs[key] = {"vr": "SQ"}
            if items:
                theirs[key]["Value"] = [
                    _normalise_pydicom(json.loads(json.dumps(item.to_json_dict(10**12, None))), item, True)
                    for item in items
                ]
        if attribute["vr"] == "SQ" and theirs[key]["vr"] == "SQ":
            for mine, their in zip(attribute.get("Value", []), theirs[key].get("Value", [])):
                _un_as_sequence(mine, their)


def _drop_unconvertible_numbers(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """N10: our DS/IS texts that pydicom dropped because it cannot convert them."""
    for key in [k for k in ours if k not in theirs]:
        attribute = ours[key]
        if attribute["vr"] in ("DS", "IS") and any(isinstance(v, str) for v in attribute.get("Value", [])):
            del ours[key]


def _json_differences(
    ours: Any, theirs: Any, path: tuple[str, ...], excluded: set[tuple[str, ...]]
) -> Iterator[str]:
    if path in excluded:
        return
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs)):
            step = path if key in ("vr", "Value", "InlineBinary", "BulkDataURI") else (*path, key)
            if step in excluded:
                continue
            if key not in theirs or key not in ours:
                yield f"{'/'.join(step)}: {key} only in {'ours' if key in ours else 'pydicom'}"
                continue
            yield from _json_differences(ours[key], theirs[key], step, excluded)
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for index, (a, b) in enumerate(zip(ours, theirs)):
            yield from _json_differences(a, b, (*path, str(index)) if isinstance(a, dict) else path, excluded)
    elif ours != theirs or type(ours) is not type(theirs):
        yield f"{'/'.join(path)}: ours {ours!r:.80} != pydicom {theirs!r:.80}"


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_ids())
def test_json_matches_pydicom_up_to_the_documented_normalisations(path: Path) -> None:
    ours_ds = _read_ours(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        their_ds = pydicom_read(path)
        if their_ds is None:
            pytest.skip("pydicom cannot read the file")
        theirs = their_ds.to_json_dict(
            bulk_data_threshold=10**12, bulk_data_element_handler=None, suppress_invalid_tags=True
        )
    little = their_ds.original_encoding[1] is not False
    # Through JSON text: pydicom's str subclasses (UID, ...) become the str a client sees.
    theirs = _normalise_pydicom(json.loads(json.dumps(theirs)), their_ds, little)
    ours = dataset_to_json(ours_ds)
    _un_as_sequence(ours, theirs)
    _drop_unconvertible_numbers(ours, theirs)
    excluded = _excluded_paths(compare_datasets(ours_ds, their_ds))
    assert list(_json_differences(ours, theirs, (), excluded)) == []


# ================================================================== 2. corpus round trips


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_ids())
def test_corpus_file_round_trips_through_json_text(path: Path) -> None:
    ds = _read_ours(path)
    obj = dataset_to_json(ds)
    back = loads(dumps(ds))
    assert value_differences(ds, back) == []
    # The JSON is a fixed point: what comes back encodes to the same JSON.
    again = dataset_to_json(back)
    if CHARSET not in ds and CHARSET in back:
        del again[f"{CHARSET:08X}"]
    assert again == obj


def test_big_and_little_endian_files_give_the_same_inline_binary() -> None:
    little = read_file(DATA_ROOT / "test_files" / "MR_small.dcm").dataset
    big = read_file(DATA_ROOT / "test_files" / "MR_small_bigendian.dcm").dataset
    assert not big[0x7FE00010].little_endian
    assert dataset_to_json(big)["7FE00010"] == dataset_to_json(little)["7FE00010"]


def test_big_endian_32_bit_pixel_data_is_inline_binary_of_little_endian_cells() -> None:
    """Whole 32-bit cells swapped, so InlineBinary holds the pixels pydicom decodes."""
    big = read_file(DATA_ROOT / "test_files" / "rtdose_expb.dcm").dataset
    little = read_file(DATA_ROOT / "test_files" / "rtdose.dcm").dataset
    assert not big[0x7FE00010].little_endian
    assert big.get_int(0x00280100) == 32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pydicom.dcmread(DATA_ROOT / "test_files" / "rtdose_expb.dcm").pixel_array
    attribute = dataset_to_json(big)["7FE00010"]
    assert isinstance(attribute, dict)
    assert base64.b64decode(str(attribute["InlineBinary"])) == expected.astype("<u4").tobytes()
    assert attribute == dataset_to_json(little)["7FE00010"]


def test_only_pixel_data_follows_bits_allocated_other_ow_values_swap_in_words() -> None:
    """Only (7FE0,0010) follows Bits Allocated; other OW values still swap in words."""
    ds = Dataset()
    ds.set(0x00280100, 32, "US")
    ds.add(Element(0x7FE00010, "OW", bytes.fromhex("00010203"), little_endian=False))
    ds.add(Element(0x00091010, "OW", bytes.fromhex("00010203"), little_endian=False))
    obj = dataset_to_json(ds)
    assert obj["7FE00010"] == {
        "vr": "OW",
        "InlineBinary": base64.b64encode(bytes.fromhex("03020100")).decode(),
    }
    assert obj["00091010"] == {
        "vr": "OW",
        "InlineBinary": base64.b64encode(bytes.fromhex("01000302")).decode(),
    }


def test_encapsulated_pixel_data_is_inline_binary_of_its_item_stream() -> None:
    ds = read_file(DATA_ROOT / "test_files" / "JPEG2000.dcm").dataset
    pixel_data = ds[0x7FE00010]
    assert pixel_data.undefined_length
    attribute = dataset_to_json(ds)["7FE00010"]
    assert isinstance(attribute, dict)
    data = base64.b64decode(str(attribute["InlineBinary"]))
    assert data[:4] == b"\xfe\xff\x00\xe0"  # the basic offset table item
    assert data == pixel_data.raw_bytes()


# ===================================================== 3. the standard's examples (PS3.18 F)

# PS3.18 F.4 "DICOM JSON Model Example", first study of the example (written out by hand).
PS3_18_F4_EXAMPLE = """
[
  {
    "00080005": {"vr": "CS", "Value": ["ISO_IR 192"]},
    "00080020": {"vr": "DA", "Value": ["20130409"]},
    "00080030": {"vr": "TM", "Value": ["131600.0000"]},
    "00080050": {"vr": "SH", "Value": ["11235813"]},
    "00080056": {"vr": "CS", "Value": ["ONLINE"]},
    "00080061": {"vr": "CS", "Value": ["CT", "PET"]},
    "00080090": {"vr": "PN", "Value": [{"Alphabetic": "^Bob^^Dr."}]},
    "00081190": {"vr": "UR",
                 "Value": ["http://wado.nema.org/studies/1.2.392.200036.9116.2.2.2.1762893313.1029997326.945873"]},
    "00090010": {"vr": "LO", "Value": ["Vendor A"]},
    "00091002": {"vr": "UN", "InlineBinary": "z0x9c8v7"},
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小東"}]},
    "00100020": {"vr": "LO", "Value": ["12345"]},
    "00100021": {"vr": "LO", "Value": ["Hospital A"]},
    "00100030": {"vr": "DA", "Value": ["19670701"]},
    "00100040": {"vr": "CS", "Value": ["M"]},
    "00101002": {"vr": "SQ", "Value": [
      {"00100020": {"vr": "LO", "Value": ["54321"]}, "00100021": {"vr": "LO", "Value": ["Hospital B"]}},
      {"00100020": {"vr": "LO", "Value": ["24680"]}, "00100021": {"vr": "LO", "Value": ["Hospital C"]}}
    ]},
    "0020000D": {"vr": "UI", "Value": ["1.2.392.200036.9116.2.2.2.1762893313.1029997326.945873"]},
    "00200010": {"vr": "SH", "Value": ["11235813"]},
    "00201206": {"vr": "IS", "Value": [4]},
    "00201208": {"vr": "IS", "Value": [942]}
  }
]
"""


def test_ps3_18_f4_example_parses_into_typed_values() -> None:
    [ds] = loads_array(PS3_18_F4_EXAMPLE)
    assert ds.get_strs(0x00080061) == ["CT", "PET"]
    assert ds.get_value(0x00201208) == 942
    assert ds.get_value(0x00091002) == base64.b64decode("z0x9c8v7")
    name = ds.get_person_name(0x00100010)
    assert name is not None
    assert name.family_name == "Wang"
    assert name.ideographic.family == "王"
    referring = ds.get_person_name(0x00080090)
    assert referring is not None
    assert (referring.given_name, referring.name_prefix) == ("Bob", "Dr.")
    others = ds.get_sequence(0x00101002)
    assert [item.get_str(0x00100021) for item in others] == ["Hospital B", "Hospital C"]
    assert all(item.charset == Charset.from_value("ISO_IR 192") for item in others)
    # ... and encodes back to the same JSON.
    assert dataset_to_json(ds) == json.loads(PS3_18_F4_EXAMPLE)[0]


def test_f4_example_without_specific_character_set_gets_utf8_so_it_can_be_written() -> None:
    obj = json.loads(PS3_18_F4_EXAMPLE)[0]
    del obj["00080005"]
    ds = dataset_from_json(obj)
    assert ds.get_strs(CHARSET) == ["ISO_IR 192"]
    again = read_dataset(encode_dataset(ds, "1.2.840.10008.1.2.1"), "1.2.840.10008.1.2.1")
    assert again.get_str(0x00100010) == "Wang^XiaoDong=王^小東"


def test_ascii_only_json_gets_no_specific_character_set() -> None:
    ds = dataset_from_json({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^John"}]}})
    assert CHARSET not in ds


def test_non_ascii_text_in_a_nested_item_sets_utf8_at_the_top() -> None:
    ds = dataset_from_json(
        {"00081115": {"vr": "SQ", "Value": [{"0008103E": {"vr": "LO", "Value": ["Schädel"]}}]}}
    )
    assert ds.get_strs(CHARSET) == ["ISO_IR 192"]
    assert ds.get_sequence(0x00081115)[0].charset == Charset.from_value("ISO_IR 192")


def test_a_declared_character_set_is_kept() -> None:
    ds = dataset_from_json(
        {
            "00080005": {"vr": "CS", "Value": ["ISO_IR 100"]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Müller"}]},
        }
    )
    assert ds.get_strs(CHARSET) == ["ISO_IR 100"]


def test_ps3_18_f2_pn_with_three_groups() -> None:
    # F.2.2 example (PS3.5 H.3): "Yamada^Tarou=山田^太郎=やまだ^たろう".
    value: dict[str, JSONValue] = {
        "Alphabetic": "Yamada^Tarou",
        "Ideographic": "山田^太郎",
        "Phonetic": "やまだ^たろう",
    }
    ds = dataset_from_json({"00100010": {"vr": "PN", "Value": [value]}})
    assert ds.get_str(0x00100010) == "Yamada^Tarou=山田^太郎=やまだ^たろう"
    assert dataset_to_json(ds)["00100010"] == {"vr": "PN", "Value": [value]}


def test_ps3_18_f2_5_empty_attribute_and_empty_values() -> None:
    obj: dict[str, Any] = {
        "00100020": {"vr": "LO"},  # present but empty
        "00200020": {"vr": "CS", "Value": ["A", None, "P"]},  # empty middle value
        "00081115": {"vr": "SQ", "Value": [{}]},  # one empty item
    }
    ds = dataset_from_json(obj)
    assert ds.get_value(0x00100020) == ""
    assert ds.get_value(0x00200020) == ["A", "", "P"]
    assert len(ds.get_sequence(0x00081115)) == 1
    assert dataset_to_json(ds) == {k: obj[k] for k in sorted(obj)}
    assert list(dataset_to_json(ds)) == sorted(obj)


def test_types_follow_table_f_2_3_1() -> None:
    ds = Dataset()
    ds.set(0x00280030, [0.5, 0.25], "DS")
    ds.set(0x00200013, 7, "IS")
    ds.set(0x00280010, 512, "US")
    ds.set(0x00189219, -3.5, "FD")
    ds.set(0x00209165, [Tag(0x00100010), Tag(0x7FE00010)], "AT")
    ds.set(0x00660040, [1, 2**60], "UV")
    ds.set(0x00660041, [-(2**60), 3], "SV")
    ds.set(0x00189087, [math.nan, math.inf, -math.inf], "FD")
    obj = dataset_to_json(ds)
    assert obj["00280030"] == {"vr": "DS", "Value": [0.5, 0.25]}
    assert obj["00200013"] == {"vr": "IS", "Value": [7]}
    assert obj["00280010"] == {"vr": "US", "Value": [512]}
    assert obj["00189219"] == {"vr": "FD", "Value": [-3.5]}
    assert obj["00209165"] == {"vr": "AT", "Value": ["00100010", "7FE00010"]}
    assert obj["00660040"] == {"vr": "UV", "Value": [1, str(2**60)]}
    assert obj["00660041"] == {"vr": "SV", "Value": [str(-(2**60)), 3]}
    assert obj["00189087"] == {"vr": "FD", "Value": ["NaN", "Infinity", "-Infinity"]}
    text = dumps(ds)
    assert "NaN," not in text  # standard JSON: no NaN tokens
    back = loads(text)
    assert value_differences(ds, back) == []


def test_invalid_ds_text_is_kept_as_a_json_string() -> None:
    ds = read_dataset(b"\x28\x00\x30\x00DS\x08\x001.5\\abc ", "1.2.840.10008.1.2.1")
    assert ds.get_value(0x00280030) == ["1.5", "abc"]
    obj = dataset_to_json(ds)
    assert obj["00280030"] == {"vr": "DS", "Value": ["1.5", "abc"]}
    assert dataset_from_json(obj).get_value(0x00280030) == ["1.5", "abc"]


def test_ds_and_is_may_come_as_strings() -> None:
    # F.2.3: "a JSON String representation can be used" for IS, DS, SV and UV.
    ds = dataset_from_json(
        {
            "00280030": {"vr": "DS", "Value": ["0.5", "1e2"]},
            "00200013": {"vr": "IS", "Value": ["12"]},
            "00660040": {"vr": "UV", "Value": ["18446744073709551615"]},
        }
    )
    assert ds.get_value(0x00280030) == [0.5, 100.0]
    assert ds.get_value(0x00200013) == 12
    assert ds.get_value(0x00660040) == 2**64 - 1


def test_big_endian_element_is_swapped_for_inline_binary() -> None:
    ds = Dataset()
    ds.add(Element(0x00283006, "OW", raw=b"\x01\x02\x03\x04", little_endian=False))
    assert dataset_to_json(ds)["00283006"] == {
        "vr": "OW",
        "InlineBinary": base64.b64encode(b"\x02\x01\x04\x03").decode(),
    }


def test_group_lengths_are_left_out() -> None:
    ds = Dataset()
    ds.set(0x00080000, 10, "UL")
    ds.set(0x00080060, "CT", "CS")
    assert list(dataset_to_json(ds)) == ["00080060"]


# -------------------------------------------------------------------------- bulk data


def _bulk_dataset() -> Dataset:
    ds = Dataset()
    ds.set(0x00100010, "Doe^John", "PN")
    ds.set(0x00283006, bytes(range(200)), "OW")
    item = Dataset()
    item.set(0x00283006, [1, 2, 3, 4] * 50, "US")
    item.set(0x00283002, [4, 0, 16], "US")
    ds.set(0x00283010, [item], "SQ")
    ds.set(0x00204000, "x" * 300, "LT")
    return ds


def test_bulk_data_uri_replaces_long_values_and_gets_the_path() -> None:
    calls: list[tuple[int, ...]] = []

    def uri(element: Element, path: tuple[int, ...]) -> str:
        calls.append(path)
        return "bulk/" + "/".join(f"{step:X}" for step in path)

    obj = dataset_to_json(_bulk_dataset(), bulk_data_threshold=100, bulk_data_uri=uri)
    assert sorted(calls) == sorted([(0x00204000,), (0x00283006,), (0x00283010, 0, 0x00283006)])
    assert obj["00283006"] == {"vr": "OW", "BulkDataURI": "bulk/283006"}
    assert obj["00204000"] == {"vr": "LT", "BulkDataURI": "bulk/204000"}
    sequence = obj["00283010"]
    assert isinstance(sequence, dict) and isinstance(sequence["Value"], list)
    nested = sequence["Value"][0]
    assert isinstance(nested, dict)
    assert nested["00283006"] == {"vr": "US", "BulkDataURI": "bulk/283010/0/283006"}
    assert nested["00283002"] == {"vr": "US", "Value": [4, 0, 16]}  # short: inline


def test_bulk_data_uri_returning_none_keeps_the_value_inline() -> None:
    obj = dataset_to_json(_bulk_dataset(), bulk_data_threshold=None, bulk_data_uri=lambda e, p: None)
    assert obj == dataset_to_json(_bulk_dataset())


def test_bulk_data_round_trips_through_a_loader() -> None:
    ds = _bulk_dataset()
    store: dict[str, bytes] = {}

    def uri(element: Element, path: tuple[int, ...]) -> str:
        key = f"uri-{len(store)}"
        store[key] = element.encode(little_endian=True, charset=Charset.from_value(None))
        return key

    obj = dataset_to_json(ds, bulk_data_threshold=0, bulk_data_uri=uri)
    assert value_differences(ds, dataset_from_json(obj, bulk_data_loader=store.__getitem__)) == []


def test_bulk_data_text_is_decoded_in_the_declared_character_set() -> None:
    obj: dict[str, Any] = {
        "00080005": {"vr": "CS", "Value": ["ISO_IR 100"]},
        "00204000": {"vr": "LT", "BulkDataURI": "u"},
    }
    ds = dataset_from_json(obj, bulk_data_loader=lambda uri: "Schädel".encode("latin-1"))
    assert ds.get_str(0x00204000) == "Schädel"


# ====================================================== 4. hypothesis: random round trips

_ascii = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters="\\"), max_size=12
)
_unicode = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\\"), max_size=12)
_component = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\^="), max_size=6
)
_group = st.lists(_component, max_size=5).map("^".join)
_person_name = st.lists(_group, min_size=1, max_size=3).map("=".join)


def _multi(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(values, max_size=3)


def _binary(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=24).map(lambda b: b[: len(b) - len(b) % size])


_VALUES: dict[str, st.SearchStrategy[Any]] = {
    **{vr: _multi(_ascii) for vr in ("AE", "AS", "CS", "DA", "DT", "TM", "UI")},
    **{vr: _multi(_unicode) for vr in ("LO", "SH", "UC")},
    **{vr: st.text(st.characters(blacklist_categories=["Cs"]), max_size=30) for vr in ("LT", "ST", "UT")},
    "UR": _ascii,
    "PN": _multi(_person_name),
    "DS": _multi(st.floats(allow_nan=False, allow_infinity=False)),
    "IS": _multi(st.integers(-(2**31), 2**31 - 1)),
    "US": _multi(st.integers(0, 2**16 - 1)),
    "SS": _multi(st.integers(-(2**15), 2**15 - 1)),
    "UL": _multi(st.integers(0, 2**32 - 1)),
    "SL": _multi(st.integers(-(2**31), 2**31 - 1)),
    "UV": _multi(st.integers(0, 2**64 - 1)),
    "SV": _multi(st.integers(-(2**63), 2**63 - 1)),
    "FL": _multi(st.floats(width=32)),
    "FD": _multi(st.floats()),
    "AT": _multi(st.integers(0, 0xFFFFFFFF).map(Tag)),
    **{vr: _binary(_item_size(vr)) for vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN")},
}
_tags = st.integers(0, 0xFFFFFFFF).filter(lambda t: t & 0xFFFF and t >> 16 != 0xFFFE and t != CHARSET)


def _elements(depth: int) -> st.SearchStrategy[tuple[str, Any]]:
    plain = st.sampled_from(sorted(_VALUES)).flatmap(lambda vr: st.tuples(st.just(vr), _VALUES[vr]))
    if depth == 0:
        return plain
    return plain | st.tuples(st.just("SQ"), st.lists(_datasets(depth - 1), max_size=2))


def _datasets(depth: int = 2) -> st.SearchStrategy[Dataset]:
    def build(elements: dict[int, tuple[str, Any]]) -> Dataset:
        ds = Dataset()
        for tag, (vr, value) in elements.items():
            ds.set(tag, value, vr)
        return ds

    return st.dictionaries(_tags, _elements(depth), max_size=5).map(build)


def _one(tag: int, vr: str, value: Any) -> Dataset:
    ds = Dataset()
    ds.set(tag, value, vr)
    return ds


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_datasets())
@example(_one(0x00000001, "PN", [" ="]))  # a group's trailing space before dropped groups
def test_random_datasets_round_trip(ds: Dataset) -> None:
    obj = dataset_to_json(ds)
    back = loads(dumps(ds))
    assert value_differences(ds, back) == []
    again = dataset_to_json(back)
    again.pop(f"{CHARSET:08X}", None)
    assert again == obj


# ============================================================ 5. malformed input: DecodeError

_DEEP = {"00081115": {"vr": "SQ", "Value": [{}]}}
for _ in range(70):
    _DEEP = {"00081115": {"vr": "SQ", "Value": [_DEEP]}}


@pytest.mark.parametrize(
    ("obj", "tag", "reason"),
    [
        ({"0010001": {"vr": "PN"}}, None, "not a tag"),
        ({"0010001a": {"vr": "PN"}}, None, "not a tag"),
        ({"FFFEE000": {"vr": "UN"}}, 0xFFFEE000, "item delimiters"),
        ({"00100010": []}, 0x00100010, "must be a JSON object"),
        ({"00100010": {"Value": ["x"]}}, 0x00100010, "not a DICOM VR"),
        ({"00100010": {"vr": "XX"}}, 0x00100010, "not a DICOM VR"),
        ({"00100010": {"vr": "PN", "keyword": "PatientName"}}, 0x00100010, "unexpected member"),
        ({"00100010": {"vr": "PN", "Value": "Doe"}}, 0x00100010, "must be an array"),
        ({"00100010": {"vr": "PN", "Value": ["Doe"]}}, 0x00100010, "object of component groups"),
        ({"00100010": {"vr": "PN", "Value": [{"Alphabetic": 1}]}}, 0x00100010, "must be a string"),
        ({"00100010": {"vr": "PN", "Value": [{"Given": "x"}]}}, 0x00100010, "unknown member"),
        ({"00100020": {"vr": "LO", "Value": [1]}}, 0x00100020, "must be a string"),
        ({"00104000": {"vr": "LT", "Value": ["a", "b"]}}, 0x00104000, "holds one value"),
        ({"00280010": {"vr": "US", "Value": [70000]}}, 0x00280010, "out of range"),
        ({"00280010": {"vr": "US", "Value": [1.5]}}, 0x00280010, "must be an integer"),
        ({"00280010": {"vr": "US", "Value": [True]}}, 0x00280010, "must be an integer"),
        ({"00280010": {"vr": "US", "Value": [None]}}, None, None),  # a lone null is an empty value
        ({"00280010": {"vr": "US", "Value": [1, None]}}, 0x00280010, "must be an integer"),
        ({"00189219": {"vr": "FL", "Value": [1e39]}}, 0x00189219, "32-bit float"),
        ({"00189219": {"vr": "FD", "Value": ["nan"]}}, 0x00189219, "must be a number"),
        ({"00200013": {"vr": "IS", "Value": [1.5]}}, 0x00200013, "not an integer"),
        ({"00280030": {"vr": "DS", "Value": [{}]}}, 0x00280030, "number or string"),
        ({"00209165": {"vr": "AT", "Value": ["0010"]}}, 0x00209165, "8 hex digits"),
        ({"7FE00010": {"vr": "OW", "Value": [1]}}, 0x7FE00010, "InlineBinary or BulkDataURI"),
        ({"7FE00010": {"vr": "OW", "InlineBinary": "!!!"}}, 0x7FE00010, "not valid base64"),
        ({"7FE00010": {"vr": "OW", "InlineBinary": "AAA"}}, 0x7FE00010, "not valid base64"),
        ({"7FE00010": {"vr": "OW", "InlineBinary": "ÄÄÄÄ"}}, 0x7FE00010, "not valid base64"),
        ({"7FE00010": {"vr": "OW", "InlineBinary": 5}}, 0x7FE00010, "must be a string"),
        ({"00100020": {"vr": "LO", "InlineBinary": "AAAA"}}, 0x00100020, "cannot be InlineBinary"),
        ({"7FE00010": {"vr": "OW", "BulkDataURI": "u"}}, 0x7FE00010, "no bulk data loader"),
        ({"00100010": {"vr": "PN", "BulkDataURI": "u"}}, 0x00100010, "cannot be a BulkDataURI"),
        ({"7FE00010": {"vr": "OW", "InlineBinary": "AAAA", "BulkDataURI": "u"}}, 0x7FE00010, "only one of"),
        ({"00081115": {"vr": "SQ", "Value": [[]]}}, 0x00081115, "(0008,1115)[0]: a sequence item"),
        (
            {"00081115": {"vr": "SQ", "Value": [{"0020000E": {"vr": "UI", "Value": [5]}}]}},
            0x0020000E,
            "(0008,1115)[0].(0020,000E): value 0 must be a string",
        ),
        (_DEEP, 0x00081115, "nested deeper"),
    ],
)
def test_malformed_attribute_raises_decode_error_naming_the_element(
    obj: dict[str, Any], tag: int | None, reason: str | None
) -> None:
    if reason is None:
        dataset_from_json(obj)
        return
    with pytest.raises(DecodeError) as info:
        dataset_from_json(obj)
    assert reason in info.value.reason
    assert info.value.tag == tag
    if tag is not None:
        assert str(Tag(tag)) in info.value.reason


def test_loader_bytes_the_vr_cannot_hold_are_a_decode_error() -> None:
    with pytest.raises(DecodeError) as info:
        dataset_from_json(
            {"00283006": {"vr": "US", "BulkDataURI": "u"}}, bulk_data_loader=lambda uri: b"\x01"
        )
    assert info.value.tag == 0x00283006
    with pytest.raises(DecodeError, match="not bytes"):
        # a loader returning str breaks its declared type on purpose: the decoder must check it
        dataset_from_json({"00283006": {"vr": "US", "BulkDataURI": "u"}}, bulk_data_loader=lambda uri: "x")  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "null",
        '{"00100010": {"vr": "PN"}, "00100010": {"vr": "PN"}}',  # duplicate key
        '{"00100010": {"vr": "PN", "vr": "LO"}}',
        "[" * 100_000,
        '{"00280010": {"vr": "US", "Value": [' + "9" * 5000 + "]}}",
        b"\xff\xfe\x00",
    ],
)
def test_malformed_json_text_raises_decode_error(text: str | bytes) -> None:
    with pytest.raises(DecodeError):
        loads(text)


def test_loads_array_and_dumps_array_follow_f_2_1() -> None:
    a = dataset_from_json({"0020000D": {"vr": "UI", "Value": ["1.2.3"]}})
    b = dataset_from_json({"0020000D": {"vr": "UI", "Value": ["1.2.4"]}})
    text = dumps_array([a, b])
    assert text == '[{"0020000D":{"vr":"UI","Value":["1.2.3"]}},{"0020000D":{"vr":"UI","Value":["1.2.4"]}}]'
    assert loads_array(text) == [a, b]
    with pytest.raises(DecodeError):
        loads_array("{}")
    with pytest.raises(DecodeError, match="array item 1"):
        loads_array("[{}, 3]")


_VR_NAMES = sorted(v.value for v in VR)
_KEYS = ["00100010", "00081115", "7FE00010", "00280010", "0010001", "vr", "Value", "InlineBinary"]
_junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(_VR_NAMES),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=9), children, max_size=3)
    ),
    max_leaves=12,
)
_attribute_junk = st.fixed_dictionaries(
    {},
    optional={
        "vr": st.sampled_from(_VR_NAMES) | _junk,
        "Value": st.lists(_junk, max_size=3) | _junk,
        "InlineBinary": st.text(max_size=12) | _junk,
        "BulkDataURI": st.text(max_size=5) | _junk,
    },
)
_dataset_junk = st.dictionaries(
    st.sampled_from(["00100010", "00081115", "7FE00010", "00280010", "00209165", "00080005"])
    | st.text(max_size=9),
    _attribute_junk | _junk,
    max_size=4,
)


def _decode_or_decode_error(obj: Any) -> None:
    try:
        ds = dataset_from_json(obj, bulk_data_loader=lambda uri: b"\x01\x02\x03")
    except DecodeError:
        return
    # What was accepted is a proper data set: it encodes again.
    dataset_to_json(ds)


@settings(max_examples=300, deadline=None)
@given(_dataset_junk)
def test_fuzz_json_shaped_junk_raises_only_decode_error(obj: dict[str, Any]) -> None:
    _decode_or_decode_error(obj)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_datasets(1), st.data())
def test_fuzz_one_node_of_a_valid_json_replaced_by_junk(ds: Dataset, data: st.DataObject) -> None:
    obj: Any = json.loads(dumps(ds))
    nodes: list[tuple[Any, Any]] = []

    def collect(node: Any) -> None:
        children = (
            node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        )
        for key, child in children:
            nodes.append((node, key))
            collect(child)

    collect(obj)
    if nodes:
        parent, key = data.draw(st.sampled_from(nodes))
        parent[key] = data.draw(_junk)
    _decode_or_decode_error(obj)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40) | st.binary(max_size=40))
def test_fuzz_text_raises_only_decode_error(text: str | bytes) -> None:
    with contextlib.suppress(DecodeError):
        loads(text)
