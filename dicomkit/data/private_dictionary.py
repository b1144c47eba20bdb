"""The private data dictionary: VR, VM and name of well-known vendors' private elements.

Private data elements (PS3.5 §7.8) are identified not by their tag alone but by the
Private Creator that reserved their block: (gggg,00BB) holds the creator string and
reserves (gggg,BB00-BBFF); the vendor defines each element by its offset ``xx`` in
(gggg,BBxx) whatever block ``BB`` it landed in (PS3.5 §7.8.1). An implicit-VR reader
asks this module for the VR of such an element; without an answer it must read UN.

The facts live in the generated ``_private_dictionary.py`` (regenerate with
``scripts/generate_private_dictionary.py``). A lookup tries, for the stripped creator:

1. a fixed element number (gggg,BBxx) the vendor documented as such;
2. the offset ``xx`` in group gggg, any block;
3. the offset ``xx`` in a range of (odd) groups, such as 6001-60FF.

Invariants:
- Only (gggg,1000-FFFF) are private data elements: lower element numbers (group length,
  creator slots) are never answered here; the PS3.6 dictionary covers them.
- ``private_vr`` costs two or three dict lookups; ranges are scanned only on a miss.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from dicomkit.data import _private_dictionary

__all__ = ["PrivateEntry", "private_entry", "private_vr"]

_Entry = _private_dictionary.Entry
_Range = tuple[int, int, int, _Entry]

# LO values may carry leading/trailing spaces (insignificant) and some writers pad with NUL.
_PADDING: Final = " \x00"


@dataclass(frozen=True, slots=True)
class PrivateEntry:
    """What the private dictionary says about one private data element.

    ``vr`` is the first of ``vrs``; the sources list two VRs for a few elements
    (``"US or SS"``, ``"OB or OW"``), which ``vrs`` keeps.
    """

    vr: str
    vm: str
    name: str
    retired: bool
    vrs: tuple[str, ...]


class _CreatorTables(NamedTuple):
    fixed: Mapping[int, _Entry]
    block: Mapping[int, _Entry]
    ranges: tuple[_Range, ...]


_EMPTY: Final[Mapping[int, _Entry]] = {}


def _index() -> Mapping[str, _CreatorTables]:
    """One dict lookup per creator finds all three of its tables."""
    creators = (
        set(_private_dictionary.FIXED)
        | set(_private_dictionary.BLOCK)
        | set(_private_dictionary.GROUP_RANGES)
    )
    return {
        creator: _CreatorTables(
            _private_dictionary.FIXED.get(creator, _EMPTY),
            _private_dictionary.BLOCK.get(creator, _EMPTY),
            _private_dictionary.GROUP_RANGES.get(creator, ()),
        )
        for creator in creators
    }


_BY_CREATOR: Final = _index()


def _find(creator: str, tag: int) -> _Entry | None:
    element = tag & 0xFFFF
    if element < 0x1000 or not 0 <= tag <= 0xFFFFFFFF:
        return None
    tables = _BY_CREATOR.get(creator)
    if tables is None:
        tables = _BY_CREATOR.get(creator.strip(_PADDING))
        if tables is None:
            return None
    fixed, block, ranges = tables
    entry = fixed.get(tag) if fixed else None
    if entry is not None:
        return entry
    group = tag >> 16
    offset = element & 0xFF
    entry = block.get((group << 8) | offset)
    if entry is not None:
        return entry
    for first, last, range_offset, range_entry in ranges:
        if range_offset == offset and first <= group <= last and group & 1:
            return range_entry
    return None


def private_entry(creator: str, tag: int) -> PrivateEntry | None:
    """The entry for private element ``tag`` (gggg,BBxx) reserved by ``creator``.

    ``creator`` is the value of (gggg,00BB); padding spaces and NULs are ignored, case
    is not. None when the creator or the element is unknown.
    """
    entry = _find(creator, tag)
    if entry is None:
        return None
    vrs, vm, name, retired = entry
    return PrivateEntry(vrs[0], vm, name, retired, vrs)


def private_vr(creator: str, tag: int) -> str | None:
    """The (first) VR of private element ``tag`` under ``creator``, or None if unknown."""
    entry = _find(creator, tag)
    return None if entry is None else entry[0][0]
