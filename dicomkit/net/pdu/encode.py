"""Writing of Upper Layer wire structures (PS3.8 §9.3.1), with precompiled structs.

The writing half of the PDU codec, below ``items.py`` and ``pdus.py``: item and PDU
framing, the text encoders (UID, AE title, ISO 646 strings) and the P-DATA-TF fast path
used for every DIMSE fragment. Values are validated here, at encode time, so that building
a PDU object stays cheap; an unencodable value raises :class:`EncodeError`.

Big Endian throughout (PS3.8 §9.3.1); only PDV contents follow the negotiated transfer
syntax, and those are opaque here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final

from dicomkit.errors import EncodeError
from dicomkit.net.pdu.codes import PDUType

__all__ = [
    "U16",
    "encode_ae_title",
    "encode_item",
    "encode_pdata",
    "encode_pdu",
    "encode_text",
    "encode_uid",
]

_PDU_HEADER: Final = struct.Struct(">BxL")
_ITEM_HEADER: Final = struct.Struct(">BxH")
U16: Final = struct.Struct(">H")
# P-DATA-TF header with one PDV item header: PDU-type, reserved, PDU-length,
# Item-length, Presentation-context-ID, Message Control Header (PS3.8 §9.3.5, Annex E).
_PDATA_ONE_PDV: Final = struct.Struct(">BxLLBB")
_PDV_HEADER: Final = struct.Struct(">LBB")

_MAX_ITEM_BODY: Final = 0xFFFF
_MAX_PDU_BODY: Final = 0xFFFFFFFF
_UID_CHARS: Final = frozenset("0123456789.")
_AE_CHARS: Final = frozenset(chr(c) for c in range(0x20, 0x7F)) - {"\\"}
_G0_PRINTABLE: Final = frozenset(chr(c) for c in range(0x20, 0x7F))


def encode_item(item_type: int, body: bytes) -> bytes:
    """Frame an item: type, reserved, 2-byte length, body."""
    if len(body) > _MAX_ITEM_BODY:
        raise EncodeError(f"item 0x{item_type:02X} body of {len(body)} bytes exceeds 65535")
    return _ITEM_HEADER.pack(item_type, len(body)) + body


def encode_pdu(pdu_type: PDUType, parts: Iterable[bytes | memoryview]) -> bytes:
    """Frame a PDU: type, reserved, 4-byte length, then the joined parts."""
    body = b"".join(parts)
    if len(body) > _MAX_PDU_BODY:
        raise EncodeError(f"PDU body of {len(body)} bytes exceeds 2**32 - 1")
    return _PDU_HEADER.pack(pdu_type, len(body)) + body


def encode_pdata(values: Iterable[tuple[int, int, bytes | memoryview]]) -> bytes:
    """A P-DATA-TF PDU from (context ID, message control header, fragment) triples.

    The common single-PDV case costs one struct pack and one concatenation.
    """
    values = tuple(values)
    if len(values) == 1:
        context_id, header, fragment = values[0]
        n = len(fragment)
        if n > _MAX_PDU_BODY - 6:
            raise EncodeError(f"PDV fragment of {n} bytes is too long")
        return _PDATA_ONE_PDV.pack(PDUType.P_DATA_TF, n + 6, n + 2, context_id, header) + fragment
    if not values:
        raise EncodeError("a P-DATA-TF PDU needs at least one presentation data value")
    parts: list[bytes | memoryview] = []
    for context_id, header, fragment in values:
        parts.append(_PDV_HEADER.pack(len(fragment) + 2, context_id, header))
        parts.append(fragment)
    return encode_pdu(PDUType.P_DATA_TF, parts)


def encode_uid(uid: str, what: str) -> bytes:
    """A UID without padding (PS3.8 Annex F)."""
    if not uid or len(uid) > 64 or not _UID_CHARS.issuperset(uid):
        raise EncodeError(f"{what} {uid!r} is not a valid UID")
    return uid.encode("ascii")


def encode_ae_title(title: str, what: str) -> bytes:
    """A 16-byte AE title field, space padded (PS3.8 Table 9-11)."""
    if len(title) > 16 or not _AE_CHARS.issuperset(title):
        raise EncodeError(f"{what} {title!r} is not an AE title of at most 16 ISO 646 characters")
    return title.encode("ascii").ljust(16, b" ")


def encode_text(text: str, what: str, *, max_length: int) -> bytes:
    """An ISO 646 G0 string of 1..max_length characters."""
    if not text or len(text) > max_length or not _G0_PRINTABLE.issuperset(text):
        raise EncodeError(f"{what} {text!r} is not 1-{max_length} ISO 646 characters")
    return text.encode("ascii")
