"""The PS3.6 data dictionary: tag <-> keyword, VR, VM, name and retired status.

Sits at the bottom of ``dicomkit.data``: the readers, writers, datasets and dump tools
ask it what a tag is. The facts live in the generated ``_dictionary.py`` (regenerate
with ``scripts/generate_dictionary.py``); this module adds the rules the standard
states in words rather than as rows:

- Repeating groups (PS3.5 §7.6): (50xx,eeee) curves and (60xx,eeee) overlays in the
  even groups 00-1E, the retired (7Fxx,eeee), (0020,31xx), (0028,04x0-3),
  (0028,08x0-8), (1000,xxx0-5) and (1010,xxxx).
- Group Length (gggg,0000) (PS3.5 §7.2): UL, VM 1, in every group; retired except for
  the command (0000) and file meta (0002) groups, which the registry names.
- Private Creator (gggg,0010-00FF) in a private group (PS3.5 §7.8.1): LO, VM 1.

Precedence: a registry row, then group length, then private creator, then repeaters.

Invariants:
- ``vr_for_tag`` costs one dict lookup for every tag the registry lists by number;
  only misses fall back to the rules above.
- A repeating-group keyword maps to its first group (e.g. OverlayData -> (6000,3000)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dicomkit.data import _dictionary
from dicomkit.data.tag import Tag, is_private_creator
from dicomkit.errors import DictionaryError

__all__ = [
    "DICTIONARY_EDITION",
    "DictEntry",
    "keyword_for_tag",
    "lookup",
    "lookup_keyword",
    "name_for_tag",
    "tag_for_keyword",
    "vr_for_tag",
]

DICTIONARY_EDITION: Final = _dictionary.EDITION

_Entry = _dictionary.Entry
_Repeater = tuple[int, int, _Entry]

_GROUP_LENGTH: Final[_Entry] = (("UL",), "1", "Group Length", "", True)
_PRIVATE_CREATOR: Final[_Entry] = (("LO",), "1", "Private Creator", "", False)


@dataclass(frozen=True, slots=True)
class DictEntry:
    """What the dictionary says about one tag.

    ``vr`` is the first of ``vrs`` (``"OB"`` for "OB or OW"); elements that may take
    several VRs list them all in ``vrs``, and the reader chooses by context (PS3.5 A.1).
    The item and delimitation tags (FFFE,E0xx) have no VR: ``vr == ""``, ``vrs == ()``.
    """

    tag: int
    vr: str
    vrs: tuple[str, ...]
    vm: str
    name: str
    keyword: str
    retired: bool


_EXACT: Final[Mapping[int, _Entry]] = _dictionary.DICTIONARY

# The hot path of the implicit-VR reader: tag -> first VR, for every registry row that has one.
_VR_BY_TAG: Final[Mapping[int, str]] = {tag: entry[0][0] for tag, entry in _EXACT.items() if entry[0]}


def _index_repeaters() -> Mapping[int, tuple[_Repeater, ...]]:
    """Repeaters by the high byte of their group, which every repeater fixes."""
    index: dict[int, list[_Repeater]] = {}
    for repeater in _dictionary.REPEATERS:
        index.setdefault(repeater[1] >> 24, []).append(repeater)
    return {high: tuple(rules) for high, rules in index.items()}


_REPEATERS_BY_HIGH_BYTE: Final = _index_repeaters()


def _index_keywords() -> Mapping[str, tuple[int, _Entry]]:
    index: dict[str, tuple[int, _Entry]] = {}
    for _mask, value, entry in _dictionary.REPEATERS:
        if entry[3]:
            index[entry[3]] = (value, entry)
    for tag, entry in _EXACT.items():
        if entry[3]:
            index[entry[3]] = (tag, entry)
    return index


_BY_KEYWORD: Final = _index_keywords()


def _rule_entry(tag: int) -> _Entry | None:
    """The entry for a tag the registry does not list by number, if a rule covers it."""
    if not 0 <= tag <= 0xFFFFFFFF:
        return None
    if tag & 0xFFFF == 0:
        return _GROUP_LENGTH
    if (tag >> 16) & 1:
        # Odd groups hold no repeaters; only their creator elements are defined.
        return _PRIVATE_CREATOR if is_private_creator(tag) else None
    for mask, value, entry in _REPEATERS_BY_HIGH_BYTE.get(tag >> 24, ()):
        if tag & mask == value:
            return entry
    return None


def _entry_for(tag: int) -> _Entry | None:
    entry = _EXACT.get(tag)
    return entry if entry is not None else _rule_entry(tag)


def _make(tag: int, entry: _Entry) -> DictEntry:
    vrs, vm, name, keyword, retired = entry
    return DictEntry(Tag(tag), vrs[0] if vrs else "", vrs, vm, name, keyword, retired)


def lookup(tag: int) -> DictEntry | None:
    """The dictionary entry for ``tag``, or None for unknown (e.g. private) elements."""
    entry = _entry_for(tag)
    return None if entry is None else _make(tag, entry)


def lookup_keyword(keyword: str) -> DictEntry | None:
    """The entry for a PS3.6 keyword (``"PatientName"``), or None if there is none."""
    found = _BY_KEYWORD.get(keyword)
    return None if found is None else _make(*found)


def tag_for_keyword(keyword: str) -> Tag:
    """The tag of a PS3.6 keyword; repeating-group keywords give their first group.

    Raises:
        DictionaryError: the keyword is not in the dictionary.
    """
    found = _BY_KEYWORD.get(keyword)
    if found is None:
        raise DictionaryError(f"unknown DICOM keyword: {keyword!r}")
    return Tag(found[0])


def keyword_for_tag(tag: int) -> str:
    """The keyword of ``tag``; ``""`` if unknown or if the standard gives it none."""
    entry = _entry_for(tag)
    return "" if entry is None else entry[3]


def name_for_tag(tag: int) -> str:
    """The PS3.6 name of ``tag`` (``"Patient's Name"``); ``""`` if unknown."""
    entry = _entry_for(tag)
    return "" if entry is None else entry[2]


def vr_for_tag(tag: int) -> str:
    """The (first) VR of ``tag`` for implicit-VR decoding; ``"UN"`` if unknown or VR-less."""
    vr = _VR_BY_TAG.get(tag)
    if vr is not None:
        return vr
    entry = _rule_entry(tag)
    return entry[0][0] if entry is not None and entry[0] else "UN"
