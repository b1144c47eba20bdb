"""The PS3.6 data dictionary: spot checks from the standard, the rules for repeating
groups, group lengths and private creators, and pydicom's dictionary as an oracle."""

from __future__ import annotations

from pathlib import Path

import pydicom.datadict
import pytest
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary

from dicomkit.data import _dictionary, tags
from dicomkit.data.dictionary import (
    DictEntry,
    keyword_for_tag,
    lookup,
    lookup_keyword,
    name_for_tag,
    tag_for_keyword,
    vr_for_tag,
)
from dicomkit.data.tag import Tag
from dicomkit.data.vr import VALID_VRS
from dicomkit.errors import DicomError, DictionaryError
from tests.scripts_loader import load_script

REPO = Path(__file__).resolve().parents[3]


# Transcribed from PS3.6 Table 6-1 / 7-1 / PS3.7 E.1-1: (tag, vrs, vm, keyword, retired).
KNOWN = [
    (0x00000000, ("UL",), "1", "CommandGroupLength", False),
    (0x00000001, ("UL",), "1", "CommandLengthToEnd", True),
    (0x00020000, ("UL",), "1", "FileMetaInformationGroupLength", False),
    (0x00020010, ("UI",), "1", "TransferSyntaxUID", False),
    (0x00080005, ("CS",), "1-n", "SpecificCharacterSet", False),
    (0x00080018, ("UI",), "1", "SOPInstanceUID", False),
    (0x00100010, ("PN",), "1", "PatientName", False),
    (0x00200032, ("DS",), "3", "ImagePositionPatient", False),
    (0x00280010, ("US",), "1", "Rows", False),
    (0x00280106, ("US", "SS"), "1", "SmallestImagePixelValue", False),
    (0x00281200, ("US", "SS", "OW"), "1-n", "GrayLookupTableData", True),
    (0x00283006, ("US", "OW"), "1-n", "LUTData", False),
    (0x7FE00010, ("OB", "OW"), "1", "PixelData", False),
    (0x7FE00008, ("OF",), "1", "FloatPixelData", False),
    (0xFFFEE000, (), "1", "Item", False),
]


@pytest.mark.parametrize(("tag", "vrs", "vm", "keyword", "retired"), KNOWN)
def test_known_entries_match_the_standard(
    tag: int, vrs: tuple[str, ...], vm: str, keyword: str, retired: bool
) -> None:
    entry = lookup(tag)
    assert isinstance(entry, DictEntry)
    assert (entry.tag, entry.vr, entry.vrs, entry.vm, entry.keyword) == (
        tag,
        vrs[0] if vrs else "",
        vrs,
        vm,
        keyword,
    )
    assert entry.retired is retired
    assert keyword_for_tag(tag) == keyword
    assert tag_for_keyword(keyword) == tag


def test_pixel_data_allows_ob_and_ow_and_reports_ob_first() -> None:
    entry = lookup(0x7FE00010)
    assert entry is not None
    assert (entry.vr, entry.vrs, entry.name) == ("OB", ("OB", "OW"), "Pixel Data")
    assert vr_for_tag(0x7FE00010) == "OB"


def test_dictionary_holds_thousands_of_elements() -> None:
    assert len(_dictionary.DICTIONARY) > 4000
    assert len(_dictionary.REPEATERS) > 80
    assert _dictionary.EDITION[:4].isdigit()


# ------------------------------------------------------------------- repeating groups


@pytest.mark.parametrize("group", range(0x6000, 0x6020, 2))
def test_overlay_data_is_found_in_every_even_overlay_group(group: int) -> None:
    entry = lookup((group << 16) | 0x3000)
    assert entry is not None
    assert (entry.tag, entry.keyword, entry.vrs, entry.retired) == (
        (group << 16) | 0x3000,
        "OverlayData",
        ("OB", "OW"),
        False,
    )
    assert vr_for_tag((group << 16) | 0x0010) == "US"  # Overlay Rows


@pytest.mark.parametrize("tag", [0x60203000, 0x60FE3000, 0x601F3000, 0x60013000, 0x50203000])
def test_groups_outside_the_repeating_range_are_not_overlays_or_curves(tag: int) -> None:
    assert lookup(tag) is None
    assert vr_for_tag(tag) == "UN"


@pytest.mark.parametrize("group", range(0x5000, 0x5020, 2))
def test_curve_elements_are_retired(group: int) -> None:
    for element, keyword in [
        (0x0005, "CurveDimensions"),
        (0x3000, "CurveData"),
        (0x2600, "CurveReferencedOverlaySequence"),
    ]:
        entry = lookup((group << 16) | element)
        assert entry is not None
        assert entry.keyword == keyword
        assert entry.retired is True


@pytest.mark.parametrize(
    ("tag", "keyword", "vr"),
    [
        (0x7F000010, "VariablePixelData", "OB"),
        (0x7F1E0011, "VariableNextDataGroup", "US"),
        (0x00203100, "SourceImageIDs", "CS"),
        (0x002031FF, "SourceImageIDs", "CS"),
        (0x00280410, "RowsForNthOrderCoefficients", "US"),
        (0x002804F3, "CoefficientCodingPointers", "AT"),
        (0x002808F8, "ImageDataLocation", "AT"),
        (0x10000010, "EscapeTriplet", "US"),
        (0x1000FFF5, "ShiftTableTriplet", "US"),
        (0x10101234, "ZonalMap", "US"),
    ],
)
def test_other_repeaters_of_the_standard(tag: int, keyword: str, vr: str) -> None:
    entry = lookup(tag)
    assert entry is not None
    assert (entry.keyword, entry.vr, entry.retired) == (keyword, vr, True)
    assert vr_for_tag(tag) == vr
    assert keyword_for_tag(tag) == keyword


def test_an_exact_registry_row_wins_over_a_repeater_mask() -> None:
    # (0028,0400) Transform Label falls under the (0028,04x0) mask but has its own row.
    assert keyword_for_tag(0x00280400) == "TransformLabel"
    # (1000,0000) is a group length, not an Escape Triplet.
    assert name_for_tag(0x10000000) == "Group Length"


def test_repeater_keyword_maps_to_its_first_group() -> None:
    assert tag_for_keyword("OverlayData") == Tag(0x6000, 0x3000)
    assert tag_for_keyword("CurveData") == Tag(0x5000, 0x3000)
    entry = lookup_keyword("OverlayRows")
    assert entry is not None and entry.tag == 0x60000010 and entry.vr == "US"


# ------------------------------------------------------ group length, private elements


@pytest.mark.parametrize("group", [0x0008, 0x0010, 0x0009, 0x7FE0, 0x6002, 0x1010])
def test_group_length_in_any_group_is_ul(group: int) -> None:
    entry = lookup(group << 16)
    assert entry is not None
    assert (entry.vr, entry.vm, entry.name, entry.keyword) == ("UL", "1", "Group Length", "")
    assert vr_for_tag(group << 16) == "UL"


@pytest.mark.parametrize("tag", [0x00090010, 0x00290011, 0x7FE100FF, 0xFFFD0010])
def test_private_creator_elements_are_lo(tag: int) -> None:
    entry = lookup(tag)
    assert entry is not None
    assert (entry.vr, entry.vm, entry.name) == ("LO", "1", "Private Creator")
    assert vr_for_tag(tag) == "LO"


@pytest.mark.parametrize("tag", [0x00091010, 0x00290100, 0x0009000F, 0x00111000, 0x00030010])
def test_other_private_or_illegal_elements_are_unknown(tag: int) -> None:
    assert lookup(tag) is None
    assert vr_for_tag(tag) == "UN"
    assert keyword_for_tag(tag) == ""
    assert name_for_tag(tag) == ""


@pytest.mark.parametrize("tag", [0x00100011, 0x00080002, -1, 0x1_0000_0000])
def test_unknown_or_out_of_range_tags(tag: int) -> None:
    assert lookup(tag) is None
    assert vr_for_tag(tag) == "UN"
    assert keyword_for_tag(tag) == ""


def test_item_delimiters_have_no_vr_and_read_as_un() -> None:
    entry = lookup(0xFFFEE0DD)
    assert entry is not None and entry.vrs == () and entry.vr == ""
    assert vr_for_tag(0xFFFEE0DD) == "UN"


# ----------------------------------------------------------------------- keywords, tags


def test_unknown_keyword_raises_a_dictionary_error() -> None:
    with pytest.raises(DictionaryError, match="NotAKeyword") as raised:
        tag_for_keyword("NotAKeyword")
    assert isinstance(raised.value, DicomError) and isinstance(raised.value, KeyError)
    assert lookup_keyword("NotAKeyword") is None
    assert lookup_keyword("") is None


def test_every_tags_constant_maps_back_to_its_keyword() -> None:
    constants = {name: value for name, value in vars(tags).items() if isinstance(value, Tag)}
    keyworded = [entry for entry in _dictionary.DICTIONARY.values() if entry[3]]
    assert len(constants) == len(keyworded) > 4000
    for keyword, tag in constants.items():
        assert tag_for_keyword(keyword) == tag
        assert keyword_for_tag(tag) == keyword
    assert tags.PatientName == 0x00100010
    assert tags.PixelData == Tag(0x7FE0, 0x0010)


def test_every_vr_is_one_of_the_34_of_ps3_5() -> None:
    for vrs, *_rest in [*_dictionary.DICTIONARY.values(), *(rule[2] for rule in _dictionary.REPEATERS)]:
        assert set(vrs) <= VALID_VRS


# ---------------------------------------------------------------- pydicom as an oracle


def _pydicom_vrs(vr: str) -> tuple[str, ...]:
    return () if vr == "NONE" else tuple(vr.split(" or "))


def test_every_tag_pydicom_knows_agrees_with_pydicom() -> None:
    for tag, (vr, vm, name, retired, keyword) in DicomDictionary.items():
        entry = lookup(tag)
        assert entry is not None, hex(tag)
        assert (entry.vrs, entry.vm, entry.name, entry.keyword, entry.retired) == (
            _pydicom_vrs(vr),
            vm,
            name,
            keyword,
            retired == "Retired",
        ), hex(tag)
        assert vr_for_tag(tag) == (entry.vr or "UN")


def _expand(mask: str) -> list[int]:
    """Sample tags for a pydicom repeater mask, within the PS3.5 §7.6 group range."""
    group, element = mask[:4], mask[4:]
    if "x" in group:
        limit = 0x20 if group[:2] in ("50", "60") else 0x100
        groups = [int(group[:2], 16) << 8 | low for low in range(0, limit, 2)]
    else:
        groups = [int(group, 16)]
    elements = sorted({int(element.replace("x", digit), 16) for digit in "0123456789ABCDEF"})
    return [(g << 16) | e for g in groups for e in elements]


@pytest.mark.parametrize("mask", sorted(RepeatersDictionary))
def test_repeaters_agree_with_pydicom(mask: str) -> None:
    for tag in _expand(mask):
        if tag & 0xFFFF == 0 or tag in DicomDictionary:
            continue  # group length and exact rows take precedence over a mask
        entry = lookup(tag)
        assert entry is not None, hex(tag)
        assert entry.vrs == _pydicom_vrs(pydicom.datadict.dictionary_VR(tag)), hex(tag)
        assert entry.vm == pydicom.datadict.dictionary_VM(tag)
        assert entry.keyword == pydicom.datadict.keyword_for_tag(tag)
        assert entry.retired == pydicom.datadict.dictionary_is_retired(tag)


# ----------------------------------------------------------------- generated and fresh


def test_committed_modules_are_what_the_generator_writes() -> None:
    generator = load_script("generate_dictionary")
    edition, source, exact, repeaters = generator.load_facts()
    expected_dictionary = generator.render_dictionary(edition, source, exact, repeaters)
    expected_tags = generator.render_tags(edition, source, exact)
    assert (REPO / "dicomkit/data/_dictionary.py").read_text() == expected_dictionary
    assert (REPO / "dicomkit/data/tags.py").read_text() == expected_tags


@pytest.mark.parametrize(
    ("text", "mask", "value"),
    [
        ("60xx3000", 0xFFE1FFFF, 0x60003000),
        ("50xx0005", 0xFFE1FFFF, 0x50000005),
        ("7Fxx0010", 0xFF01FFFF, 0x7F000010),
        ("002031xx", 0xFFFFFF00, 0x00203100),
        ("002804x1", 0xFFFFFF0F, 0x00280401),
        ("1000xxx5", 0xFFFF000F, 0x10000005),
        ("1010xxxx", 0xFFFF0000, 0x10100000),
    ],
)
def test_generator_turns_the_standard_notation_into_masks(text: str, mask: int, value: int) -> None:
    generator = load_script("generate_dictionary")
    assert generator.parse_mask(text) == (mask, value)
