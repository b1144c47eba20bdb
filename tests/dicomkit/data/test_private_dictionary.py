"""The private data dictionary: vendor spot checks, the block/offset rule of PS3.5 §7.8.1,
group ranges, and every row of pydicom's private dictionary as an oracle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydicom._private_dict import private_dictionaries

from dicomkit.data.private_dictionary import PrivateEntry, private_entry, private_vr
from tests.scripts_loader import load_script

REPO = Path(__file__).resolve().parents[3]

# (creator, tag, VR, name): facts of the vendors' conformance statements, agreed on by both
# pydicom's (GDCM's) and DCMTK's transcriptions.
KNOWN = [
    ("SIEMENS CSA HEADER", 0x00291010, "OB", "CSA Image Header Info"),
    ("SIEMENS CSA HEADER", 0x00291020, "OB", "CSA Series Header Info"),
    ("SIEMENS CSA HEADER", 0x00291008, "CS", "CSA Image Header Type"),
    ("SIEMENS MR HEADER", 0x0019100C, "IS", "B_value"),
    ("GEMS_ACQU_01", 0x00191018, "LO", "First scan ras"),
    ("GEMS_PARM_01", 0x00431027, "SH", "Scan Pitch Ratio"),
    ("GEMS_IDEN_01", 0x00091001, "LO", "Full fidelity"),
    ("Philips Imaging DD 001", 0x20011003, "FL", "Diffusion B-Factor"),
    ("Philips MR Imaging DD 001", 0x20051020, "SL", "Number of Chemical Shift"),
]


@pytest.mark.parametrize(("creator", "tag", "vr", "name"), KNOWN)
def test_known_vendor_elements(creator: str, tag: int, vr: str, name: str) -> None:
    assert private_entry(creator, tag) == PrivateEntry(vr, "1", name, False, (vr,))
    assert private_vr(creator, tag) == vr


@pytest.mark.parametrize("block", [0x10, 0x11, 0x4A, 0xFF])
def test_the_element_offset_matters_not_the_block(block: int) -> None:
    # PS3.5 §7.8.1: the creator in (0029,00BB) reserves (0029,BB00-BBFF), any BB.
    assert private_vr("SIEMENS CSA HEADER", 0x00290010 | (block << 8)) == "OB"


@pytest.mark.parametrize("creator", ["SIEMENS CSA HEADER ", " SIEMENS CSA HEADER", "SIEMENS CSA HEADER\x00"])
def test_creator_padding_is_ignored(creator: str) -> None:
    assert private_vr(creator, 0x00291010) == "OB"


def test_creator_case_and_inner_spaces_matter() -> None:
    assert private_vr("siemens csa header", 0x00291010) is None
    assert private_vr("SIEMENS  CSA HEADER", 0x00291010) is None
    assert private_vr("SIEMENS CM VA0  ACQU", 0x00191010) is not None  # the double space is the name


def test_unknown_creator_or_offset_gives_none() -> None:
    assert private_entry("NO SUCH VENDOR", 0x00291010) is None
    assert private_vr("NO SUCH VENDOR", 0x00291010) is None
    assert private_vr("SIEMENS CSA HEADER", 0x002910FE) is None
    assert private_vr("SIEMENS CSA HEADER", 0x00311010) is None  # another group


@pytest.mark.parametrize("element", [0x0000, 0x0010, 0x0029, 0x00FF, 0x0F10])
def test_elements_outside_the_private_blocks_are_never_answered(element: int) -> None:
    # Group length, creator slots and (gggg,0100-0FFF) are not private data elements.
    assert private_vr("SIEMENS CSA HEADER", 0x00290000 | element) is None


def test_out_of_range_tags_give_none() -> None:
    assert private_vr("SIEMENS CSA HEADER", -1) is None
    assert private_vr("SIEMENS CSA HEADER", 0x1_0029_1010) is None


def test_a_fixed_element_number_wins_over_the_offset_rule() -> None:
    # pydicom lists ELSCINT1 (01F1,1026) as FD but (01F1,xx26) as DS.
    assert private_vr("ELSCINT1", 0x01F11026) == "FD"
    assert private_vr("ELSCINT1", 0x01F11126) == "DS"


def test_group_ranges_cover_odd_groups_only() -> None:
    assert private_vr("PAPYRUS 3.0", 0x60011010) == "US"
    assert private_vr("PAPYRUS 3.0", 0x603312C0) == "SQ"
    assert private_vr("PAPYRUS 3.0", 0x60001010) is None
    assert private_vr("PAPYRUS 3.0", 0x61011010) is None


def test_a_creator_row_does_not_hide_the_elements() -> None:
    # GDCM lists (0019,10xx) "Private Element Creator" for GEMS_ACQU_01; PS3.5 puts the
    # creator at (0019,0010), and (0019,1002) is an element of the block.
    assert private_vr("GEMS_ACQU_01", 0x00191002) == "SL"


def test_two_vrs_are_kept_and_the_first_is_the_vr() -> None:
    entry = private_entry("FDMS 1.0", 0x002710A3)
    assert entry is not None
    assert (entry.vr, entry.vrs, entry.vm) == ("US", ("US", "SS"), "1-n")


def test_dcmtk_adds_elements_pydicom_lacks() -> None:
    assert private_vr("CMR42 CIRCLECVI", 0x00251030) == "OB"  # fixed element number
    assert private_vr("CMR42 CIRCLECVI", 0x00251130) is None
    assert private_vr("DCMTK_ANONYMIZER", 0x00091010) == "UI"
    assert private_vr("INTELERAD MEDICAL SYSTEMS", 0x00291001) == "FD"


_KEY = re.compile(r"^([0-9A-F]{2})([0-9A-F]{2}|xx)([0-9A-F]{2}|xx)([0-9A-F]{2}|xx)$")


def _probe(key: str) -> int | None:
    """A real tag for a pydicom row, in block 4A where the row leaves the block open."""
    match = _KEY.match(key)
    assert match is not None, key
    high, low, block, offset = match.groups()
    if offset == "xx":
        return None  # GDCM's rows for the creator element itself
    group = int(high + ("33" if low == "xx" else low), 16)
    block_number = 0x4A if block in ("xx", "00") else int(block, 16)
    return (group << 16) | (block_number << 8) | int(offset, 16)


def test_every_pydicom_private_element_has_pydicoms_vr() -> None:
    mismatches = []
    checked = 0
    for creator, rows in private_dictionaries.items():
        for key, (vr_text, vm, name, _retired) in rows.items():
            tag = _probe(key)
            if tag is None:
                continue
            checked += 1
            entry = private_entry(creator, tag)
            expected_vr = re.split(r" or |_", vr_text)[0]
            if entry is None or (entry.vr, entry.vm, entry.name) != (expected_vr, vm, name):
                mismatches.append((creator, key, (vr_text, vm, name), entry))
    assert checked > 10_000
    assert mismatches == []


def test_committed_module_is_what_the_generator_writes() -> None:
    generator = load_script("generate_private_dictionary")
    if not generator.DCMTK_PATH.is_file():
        pytest.skip("DCMTK's private.dic is not installed")
    assert generator.main(["--check"]) == 0
