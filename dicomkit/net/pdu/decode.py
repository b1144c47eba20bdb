"""Bounded reading of Upper Layer wire structures (PS3.8 §9.3.1).

The reading half of the PDU codec, below ``items.py`` and ``pdus.py``: a cursor whose
every read is checked against what remains of its region, the item iterator shared by all
items that hold sub-items, the text decoders (UID, AE title, ISO 646 strings) and the PDU
header check that the connection applies *before* it buffers a PDU body.

Invariants:

- Nothing is read past the end of the region a length field delimits; a length that
  claims more than remains raises :class:`PDUError` at once, before any slice or copy.
- Every failure is a :class:`PDUError` carrying the A-ABORT reason to send back and the
  offset (from the start of the PDU) where it was found.
- Regions are ``memoryview`` slices: reading an item does not copy its body.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final

from dicomkit.errors import PDUError
from dicomkit.net.pdu.codes import AbortReason, PDUType

__all__ = [
    "ITEM_HEADER",
    "PDU_HEADER",
    "Reader",
    "check_pdu_header",
    "decode_ae_title",
    "decode_text",
    "decode_uid",
    "invalid",
    "iter_items",
    "read_pdu_header",
]

PDU_HEADER: Final = struct.Struct(">BxL")  # PDU-type, reserved, PDU-length
ITEM_HEADER: Final = struct.Struct(">BxH")  # Item-type, reserved, Item-length
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">L")

MAX_UID_LENGTH: Final = 64
_UID_CHARS: Final = frozenset(b"0123456789.")
# ISO 646:1990 basic G0 set without control characters; the AE VR also excludes backslash.
_G0_PRINTABLE: Final = frozenset(range(0x20, 0x7F))
_AE_CHARS: Final = _G0_PRINTABLE - {0x5C}
# Fixed-length PDUs (PS3.8 §9.3.4, 9.3.6-9.3.8): their PDU-length is always 4.
_FIXED_LENGTH: Final = frozenset(
    {PDUType.A_ASSOCIATE_RJ, PDUType.A_RELEASE_RQ, PDUType.A_RELEASE_RP, PDUType.A_ABORT}
)


def invalid(reason: str, offset: int) -> PDUError:
    """A PDUError for an invalid parameter value (A-ABORT reason 6)."""
    return PDUError(reason, abort_reason=AbortReason.INVALID_PDU_PARAMETER_VALUE, offset=offset)


class Reader:
    """A cursor over one bounded region; each read checks what remains first.

    ``base`` is the absolute offset of the region in the PDU, used in error reports.
    """

    __slots__ = ("_base", "_pos", "_view")

    def __init__(self, data: bytes | memoryview, base: int = 0) -> None:
        self._view = data if isinstance(data, memoryview) else memoryview(data)
        self._pos = 0
        self._base = base

    @property
    def offset(self) -> int:
        """Absolute offset of the next byte to read."""
        return self._base + self._pos

    @property
    def remaining(self) -> int:
        return len(self._view) - self._pos

    def _need(self, n: int, what: str) -> None:
        if n > len(self._view) - self._pos:
            raise invalid(f"{what} needs {n} bytes, {self.remaining} remain", self.offset)

    def u8(self, what: str) -> int:
        self._need(1, what)
        value: int = self._view[self._pos]
        self._pos += 1
        return value

    def u16(self, what: str) -> int:
        self._need(2, what)
        (value,) = _U16.unpack_from(self._view, self._pos)
        self._pos += 2
        return int(value)

    def u32(self, what: str) -> int:
        self._need(4, what)
        (value,) = _U32.unpack_from(self._view, self._pos)
        self._pos += 4
        return int(value)

    def take(self, n: int, what: str) -> memoryview:
        """The next ``n`` bytes as a view (no copy)."""
        self._need(n, what)
        view = self._view[self._pos : self._pos + n]
        self._pos += n
        return view

    def skip(self, n: int, what: str) -> None:
        self._need(n, what)
        self._pos += n

    def rest(self) -> memoryview:
        """Everything that remains, as a view."""
        view = self._view[self._pos :]
        self._pos = len(self._view)
        return view

    def items(self) -> Iterator[tuple[int, memoryview, int]]:
        """Split everything that remains into items (see :func:`iter_items`)."""
        start = self.offset
        return iter_items(self.rest(), start)

    def expect_end(self, what: str) -> None:
        if self._pos != len(self._view):
            raise invalid(f"{self.remaining} unexpected bytes after {what}", self.offset)


def iter_items(data: memoryview, base: int) -> Iterator[tuple[int, memoryview, int]]:
    """Split a region into items: yields (item type, whole item incl. header, offset).

    Each item's 2-byte length is checked against what remains of ``data``.
    """
    pos = 0
    end = len(data)
    while pos < end:
        if end - pos < ITEM_HEADER.size:
            raise invalid(f"item header needs 4 bytes, {end - pos} remain", base + pos)
        item_type, length = ITEM_HEADER.unpack_from(data, pos)
        stop = pos + ITEM_HEADER.size + length
        if stop > end:
            raise invalid(
                f"item 0x{item_type:02X} declares {length} bytes, {end - pos - 4} remain", base + pos
            )
        yield item_type, data[pos:stop], base + pos
        pos = stop


def decode_uid(data: memoryview, offset: int, what: str) -> str:
    """A UID field (PS3.8 Annex F): 1-64 digits and dots; trailing NUL padding tolerated."""
    raw = bytes(data).rstrip(b"\x00")
    if not raw or len(raw) > MAX_UID_LENGTH or not _UID_CHARS.issuperset(raw):
        raise invalid(f"{what} is not a valid UID", offset)
    return raw.decode("ascii")


def decode_text(data: memoryview, offset: int, what: str, *, max_length: int) -> str:
    """An ISO 646 G0 string of 1..max_length characters (e.g. Implementation Version Name)."""
    raw = bytes(data).rstrip(b"\x00")
    if not raw or len(raw) > max_length or not _G0_PRINTABLE.issuperset(raw):
        raise invalid(f"{what} is not 1-{max_length} ISO 646 characters", offset)
    return raw.decode("ascii")


def decode_ae_title(data: memoryview, offset: int, what: str) -> str:
    """A 16-byte AE title field; leading and trailing spaces are not significant.

    An all-space title is returned as "" so that negotiation can reject it with the
    proper A-ASSOCIATE-RJ reason instead of aborting.
    """
    raw = bytes(data).rstrip(b"\x00")
    if not _AE_CHARS.issuperset(raw):
        raise invalid(f"{what} has characters outside ISO 646 G0", offset)
    return raw.decode("ascii").strip(" ")


def read_pdu_header(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """PDU-type and PDU-length from the first 6 bytes (caller ensures there are 6)."""
    pdu_type, length = PDU_HEADER.unpack_from(data, 0)
    return int(pdu_type), int(length)


def check_pdu_header(pdu_type: int, length: int, *, max_pdata: int, max_associate: int) -> None:
    """Check a declared PDU length before the body is buffered (PS3.8 §9.3.1).

    Args:
        max_pdata: the largest P-DATA-TF PDU-length accepted (the Maximum Length we
            announced, PS3.8 Annex D.1).
        max_associate: the largest A-ASSOCIATE-RQ/AC PDU-length accepted.

    Raises:
        PDUError: unrecognized PDU type (reason 1) or a length out of bounds (reason 6).
    """
    if pdu_type == PDUType.P_DATA_TF:
        limit = max_pdata
    elif pdu_type in (PDUType.A_ASSOCIATE_RQ, PDUType.A_ASSOCIATE_AC):
        limit = max_associate
    elif pdu_type in _FIXED_LENGTH:
        if length != 4:
            raise invalid(f"PDU type 0x{pdu_type:02X} must have length 4, not {length}", 2)
        return
    else:
        raise PDUError(
            f"unrecognized PDU type 0x{pdu_type:02X}", abort_reason=AbortReason.UNRECOGNIZED_PDU, offset=0
        )
    if length > limit:
        raise invalid(f"PDU length {length} exceeds the maximum of {limit}", 2)
