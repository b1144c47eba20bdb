"""Dataset behaviour: ordering, typed access, paths, copy, merge, private blocks."""

from __future__ import annotations

import datetime
from typing import assert_type

import pytest

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset, Key, MergeConflictError, MergePolicy
from dicomkit.data.element import Element
from dicomkit.data.tag import Tag
from dicomkit.errors import DictionaryError


def contains(ds: Dataset, key: Key) -> bool:
    """``key in ds`` for a tag or a keyword.

    mypy's strict equality checks ``in`` against the MutableMapping[int, Element] key type
    and ignores Dataset.__contains__, so a keyword literal on the left is reported there.
    """
    return key in ds


def make_study() -> Dataset:
    ds = Dataset()
    ds.set("PatientName", "Doe^John")
    ds.set(tags.PatientID, "123")
    ds.set("StudyDate", "20240131")
    ds.set("Rows", 512)
    ds.set("PixelSpacing", [0.5, 0.25])
    series = Dataset()
    series.set("SeriesInstanceUID", "1.2.3.4")
    series.set("ReferencedSOPSequence", [Dataset(), Dataset()])
    series.get_sequence("ReferencedSOPSequence")[1].set("ReferencedSOPInstanceUID", "1.2.3.4.5")
    ds.set("ReferencedSeriesSequence", [series])
    return ds


def test_iteration_is_in_ascending_tag_order_whatever_the_insertion_order() -> None:
    ds = Dataset()
    ds.set("Rows", 1)
    ds.set("PatientName", "A")
    ds.set("SOPInstanceUID", "1.2")
    assert list(ds) == sorted(ds)
    assert [e.tag for e in ds.elements()] == [tags.SOPInstanceUID, tags.PatientName, tags.Rows]


def test_set_uses_the_dictionary_vr_and_keywords_and_tags_address_the_same_element() -> None:
    ds = make_study()
    assert ds["PatientName"].vr == "PN"
    assert ds[0x00100010] is ds["PatientName"] is ds[Tag(0x0010, 0x0010)]
    assert ds.get_str("PatientID") == "123"
    assert contains(ds, "PatientName") and 0x00100010 in ds and not contains(ds, "NoSuchKeyword")


def test_typed_getters_convert_and_default() -> None:
    ds = make_study()
    assert ds.get_int("Rows") == 512
    assert ds.get_floats("PixelSpacing") == [0.5, 0.25]
    assert ds.get_float("PixelSpacing") == 0.5
    assert ds.get_date("StudyDate") == datetime.date(2024, 1, 31)
    assert ds.get_str("AccessionNumber") is None
    assert ds.get_str("AccessionNumber", "none") == "none"
    assert ds.get_int("Columns", 7) == 7
    # a default that is not None narrows the result (checked by mypy)
    assert_type(ds.get_str("AccessionNumber", ""), str)
    assert_type(ds.get_int("Columns", 7), int)
    assert_type(ds.get_float("SliceThickness", 1.0), float)
    assert_type(ds.get_str("AccessionNumber"), str | None)
    name = ds.get_person_name("PatientName")
    assert name is not None and name.family_name == "Doe" and name.given_name == "John"


def test_unknown_keyword_raises_dictionary_error() -> None:
    with pytest.raises(DictionaryError):
        Dataset().set("NotAKeyword", "x")


def test_delete_and_modify() -> None:
    ds = make_study()
    assert ds.delete("PatientID") is True
    assert ds.delete("PatientID") is False
    assert not contains(ds, "PatientID")
    ds["PatientName"].value = "Roe^Jane"
    assert ds.get_str("PatientName") == "Roe^Jane"
    del ds["Rows"]
    assert ds.get_int("Rows") is None


def test_paths_reach_nested_sequences_and_set_path_creates_items() -> None:
    ds = make_study()
    assert ds.find_value("ReferencedSeriesSequence[0].SeriesInstanceUID") == "1.2.3.4"
    assert (
        ds.find_value("ReferencedSeriesSequence[0].ReferencedSOPSequence[1].ReferencedSOPInstanceUID")
        == "1.2.3.4.5"
    )
    assert ds.find("ReferencedSeriesSequence[3].SeriesInstanceUID") is None
    assert ds.find("(0008,1115)[0].(0020,000E)") is ds.find("ReferencedSeriesSequence[0].SeriesInstanceUID")
    ds.set_path("RequestAttributesSequence[2].ScheduledProcedureStepID", "SPS1")
    assert len(ds.get_sequence("RequestAttributesSequence")) == 3
    assert ds.find_value("RequestAttributesSequence[2].ScheduledProcedureStepID") == "SPS1"


def test_deep_copy_is_independent_at_every_depth() -> None:
    ds = make_study()
    copy = ds.copy()
    assert copy == ds
    item = copy.get_sequence("ReferencedSeriesSequence")[0]
    item.set("SeriesInstanceUID", "9.9")
    assert ds.find_value("ReferencedSeriesSequence[0].SeriesInstanceUID") == "1.2.3.4"
    assert copy != ds


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(MergePolicy.KEEP, "Doe^John"), (MergePolicy.REPLACE, "Other^Name")],
)
def test_merge_resolves_conflicts_by_policy(policy: MergePolicy, expected: str) -> None:
    ours = make_study()
    theirs = Dataset()
    theirs.set("PatientName", "Other^Name")
    theirs.set("AccessionNumber", "ACC1")
    ours.merge(theirs, policy=policy)
    assert ours.get_str("PatientName") == expected
    assert ours.get_str("AccessionNumber") == "ACC1"


def test_merge_with_error_policy_raises_on_conflict_but_not_on_equal_values() -> None:
    ours = make_study()
    same = Dataset()
    same.set("PatientID", "123")
    ours.merge(same)
    theirs = Dataset()
    theirs.set("PatientID", "999")
    with pytest.raises(MergeConflictError):
        ours.merge(theirs, policy=MergePolicy.ERROR)


def test_private_blocks_reserve_creators_and_address_elements() -> None:
    ds = Dataset()
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.set(0x01, "hello", "LO")
    other = ds.private_block(0x0029, "OTHER", create=True)
    other.set(0x01, 7, "US")
    assert block.block == 0x10 and other.block == 0x11
    assert ds.get_str(0x00291001) == "hello"
    assert ds.get_int(0x00291101) == 7
    assert ds.private_creators(0x0029) == {"ACME 1.0": 0x10, "OTHER": 0x11}
    assert ds.private_block(0x0029, "OTHER")[0x01].value == 7
    with pytest.raises(KeyError):
        ds.private_block(0x0029, "MISSING")
    with pytest.raises(ValueError):
        ds.private_block(0x0010, "even groups are public")


def test_element_keeps_raw_bytes_until_asked_and_decodes_once() -> None:
    element = Element(0x00280010, "US", raw=b"\x00\x02", little_endian=True)
    assert element.is_raw
    assert element.value == 512
    assert not element.is_raw
    big = Element(0x00280010, "US", raw=b"\x02\x00", little_endian=False)
    assert big.value == 512
    assert big == element


def test_element_values_lists_and_vm() -> None:
    multi = Element(0x00080008, "CS", raw=b"ORIGINAL\\PRIMARY\\AXIAL ")
    assert multi.value == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert multi.vm == 3
    empty = Element(0x00100020, "LO", raw=b"")
    assert empty.value == "" and empty.values == [] and empty.vm == 0
    assert Element(0x00280010, "US", raw=b"").value is None


def test_sequences_nest_to_any_depth() -> None:
    root = Dataset()
    current = root
    for _ in range(50):
        child = Dataset()
        current.set("ContentSequence", [child])
        current = child
    current.set("TextValue", "deep")
    path = ".".join(["ContentSequence[0]"] * 50) + ".TextValue"
    assert root.find_value(path) == "deep"


def _pixels(bits_allocated: int, value: bytes, *, little_endian: bool) -> Dataset:
    ds = Dataset()
    ds.set(tags.BitsAllocated, bits_allocated, "US")
    ds.add(Element(tags.PixelData, "OW", raw=value, little_endian=little_endian))
    return ds


@pytest.mark.parametrize("bits", [32, 64])
def test_wide_pixel_cells_compare_equal_across_byte_orders_when_swapped_whole(bits: int) -> None:
    """32/64-bit cells change byte order whole (pydicom's reading), not in 16-bit words."""
    little = bytes(range(1, 17))
    size = bits // 8
    big_cells = b"".join(little[i : i + size][::-1] for i in range(0, len(little), size))
    big_words = b"".join(little[i : i + 2][::-1] for i in range(0, len(little), 2))
    assert _pixels(bits, little, little_endian=True) == _pixels(bits, big_cells, little_endian=False)
    assert _pixels(bits, big_cells, little_endian=False) == _pixels(bits, little, little_endian=True)
    assert _pixels(bits, little, little_endian=True) != _pixels(bits, big_words, little_endian=False)


def test_16_bit_pixel_data_compares_equal_across_byte_orders_when_swapped_in_words() -> None:
    little = bytes(range(1, 9))
    big = bytes([2, 1, 4, 3, 6, 5, 8, 7])
    assert _pixels(16, little, little_endian=True) == _pixels(16, big, little_endian=False)
    assert _pixels(16, little, little_endian=True) != _pixels(16, little[::-1], little_endian=False)


def test_wide_pixel_cells_in_sequence_items_compare_with_the_items_bits_allocated() -> None:
    little, big = Dataset(), Dataset()
    little.set(tags.IconImageSequence, [_pixels(32, bytes(range(8)), little_endian=True)], "SQ")
    big.set(tags.IconImageSequence, [_pixels(32, bytes([3, 2, 1, 0, 7, 6, 5, 4]), little_endian=False)], "SQ")
    assert little == big
