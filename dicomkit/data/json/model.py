"""Shared facts of the DICOM JSON Model (PS3.18 F.2): types, VR groups, element paths.

Layer: ``dicomkit.data.json``; used by :mod:`.encode` (to JSON) and :mod:`.decode`
(from JSON).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias

from dicomkit.data.tag import Tag
from dicomkit.data.vr import VR_INFO

if TYPE_CHECKING:
    from dicomkit.data.element import Element

__all__ = [
    "BULK_DATA_VRS",
    "INLINE_BINARY_VRS",
    "BulkDataLoader",
    "BulkDataURIProvider",
    "JSONValue",
    "element_path",
    "json_type",
]

#: Any JSON value, as the ``json`` module builds and reads it.
JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
#: ``(element, path) -> URI or None``; the path interleaves tags and item indices:
#: ``(tag,)`` at top level, ``(sequence_tag, item_index, ..., tag)`` below.
BulkDataURIProvider: TypeAlias = "Callable[[Element, tuple[int, ...]], str | None]"
#: ``URI -> value bytes`` (little endian for binary VRs).
BulkDataLoader: TypeAlias = Callable[[str], bytes]

#: VRs whose value may be replaced by a BulkDataURI (PS3.18 F.2.2).
BULK_DATA_VRS = frozenset(
    {"DS", "FL", "FD", "IS", "LT", "OB", "OD", "OF", "OL", "OV", "OW"}
    | {"SL", "SS", "ST", "SV", "UC", "UL", "UN", "US", "UT", "UV"}
)
#: VRs whose value is given as InlineBinary (PS3.18 F.2.2, F.2.7).
INLINE_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})

KIND = {vr.value: info.kind for vr, info in VR_INFO.items()}
ITEM_SIZE = {vr.value: info.item_size for vr, info in VR_INFO.items()}
SINGLE_VALUED = frozenset(vr.value for vr, info in VR_INFO.items() if not info.multi_valued)
PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
CHARSET_TAG = 0x00080005
#: Beyond this magnitude a JSON number read as an IEEE double loses digits.
MAX_SAFE_INTEGER = 2**53
#: JSON has no tokens for these; FL/FD values use the strings instead.
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def element_path(path: Sequence[int]) -> str:
    """``(0008,1115)[0].(0020,000E)`` for a path of tags and item indices."""
    parts: list[str] = []
    for position, step in enumerate(path):
        if position % 2:
            parts.append(f"[{step}]")
        else:
            parts.append(("." if parts else "") + str(Tag(step)))
    return "".join(parts)


def json_type(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
