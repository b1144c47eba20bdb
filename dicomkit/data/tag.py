"""Data element tags (PS3.5 §7.1): a (group, element) pair packed in 32 bits.

``Tag`` is an ``int`` subclass so tags are cheap dictionary keys that compare equal
to the plain ``0xGGGGEEEE`` integer; the subclass adds readable formatting and the
group/element split. Well-known item delimiters live here too (PS3.5 §7.5).
"""

from __future__ import annotations

import re

__all__ = [
    "ITEM",
    "ITEM_DELIMITATION",
    "SEQUENCE_DELIMITATION",
    "Tag",
    "is_private",
    "is_private_creator",
    "tag_from_string",
]


class Tag(int):
    """A data element tag; ``Tag(0x00100010)`` or ``Tag(0x0010, 0x0010)``."""

    __slots__ = ()

    def __new__(cls, value: int, element: int | None = None) -> Tag:
        if element is not None:
            if not (0 <= value <= 0xFFFF and 0 <= element <= 0xFFFF):
                raise ValueError(f"tag group/element out of range: {value:#x}, {element:#x}")
            value = (value << 16) | element
        elif not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"tag out of range: {value:#x}")
        return super().__new__(cls, value)

    @property
    def group(self) -> int:
        return self >> 16

    @property
    def element(self) -> int:
        return self & 0xFFFF

    @property
    def is_private(self) -> bool:
        return is_private(self)

    @property
    def is_private_creator(self) -> bool:
        return is_private_creator(self)

    def __repr__(self) -> str:
        return f"({self >> 16:04X},{self & 0xFFFF:04X})"

    __str__ = __repr__


ITEM = Tag(0xFFFEE000)
ITEM_DELIMITATION = Tag(0xFFFEE00D)
SEQUENCE_DELIMITATION = Tag(0xFFFEE0DD)

_TAG_TEXT = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,?\s*([0-9A-Fa-f]{4})\s*\)?$")


def tag_from_string(text: str) -> Tag:
    """Parse ``"(0010,0010)"``, ``"0010,0010"`` or ``"00100010"``."""
    match = _TAG_TEXT.match(text.strip())
    if match is None:
        raise ValueError(f"not a tag: {text!r}")
    return Tag(int(match.group(1), 16), int(match.group(2), 16))


def is_private(tag: int) -> bool:
    """Odd groups other than 0001, 0003, 0005, 0007 and FFFF are private (PS3.5 §7.8)."""
    group = tag >> 16
    return bool(group & 1) and group not in (1, 3, 5, 7, 0xFFFF)


def is_private_creator(tag: int) -> bool:
    """(gggg,0010-00FF) in a private group reserves a block (PS3.5 §7.8.1)."""
    return is_private(tag) and 0x0010 <= (tag & 0xFFFF) <= 0x00FF
