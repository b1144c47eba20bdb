"""Encoding and decoding of element values by VR (PS3.5 §6.2, §7.1).

One function each way; both are pure. ``decode_value`` turns the raw bytes of one
element value into Python objects; ``encode_value`` turns them back into an
even-length byte string with the padding PS3.5 prescribes.

Python representation per VR kind (see ``vr.VRKind``):

============  ==========================================  ===================
kind          VM 1                                        VM > 1 / empty
============  ==========================================  ===================
text / ascii  ``str`` (DS: ``float``, IS: ``int``)        ``list`` / ``''``
number        ``int`` or ``float``                        ``list`` / ``None``
AT            ``Tag``                                     ``list`` / ``None``
bytes         ``bytes`` in the encoding's byte order      ``b''``
SQ            ``list[Dataset]`` (handled by the reader)
============  ==========================================  ===================
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

from dicomkit.data.charset import DEFAULT_CHARSET, Charset
from dicomkit.data.tag import Tag
from dicomkit.data.values.numbers import format_ds, parse_ds, parse_is
from dicomkit.data.vr import VR, VR_INFO, VRKind
from dicomkit.errors import DecodeError, EncodeError

if TYPE_CHECKING:
    from dicomkit.data.dataset import Dataset


__all__ = [
    "ElementValue",
    "Scalar",
    "decode_value",
    "encode_value",
    "format_ds",
    "parse_ds",
    "parse_is",
    "swap_bytes",
]

Scalar: TypeAlias = "str | int | float | bytes | Tag"
ElementValue: TypeAlias = (
    "Scalar | list[Scalar] | list[str] | list[int] | list[float] | list[Tag] | list[Dataset] | None"
)

_KIND = {vr.value: info.kind for vr, info in VR_INFO.items()}
_MULTI = {vr.value for vr, info in VR_INFO.items() if info.multi_valued}
_STRIP_BOTH = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM"})


def swap_bytes(data: bytes, item_size: int) -> bytes:
    """Reverse the byte order of each ``item_size``-byte word (for BE <-> LE)."""
    if item_size <= 1 or not data:
        return data
    if len(data) % item_size:
        raise EncodeError(f"cannot swap {len(data)} bytes in {item_size}-byte words")
    import numpy as np  # numpy is a hard dependency; imported lazily to keep import time low

    dtype = np.dtype(f"u{item_size}")
    return np.frombuffer(data, dtype=dtype).byteswap().tobytes()


def _unpack(vr: str, raw: bytes, little_endian: bool) -> list[Scalar]:
    info = VR_INFO[VR(vr)]
    size = info.item_size
    count, rest = divmod(len(raw), size)
    if rest:
        raise DecodeError(f"{vr} value of {len(raw)} bytes is not a multiple of {size}")
    fmt = f"{'<' if little_endian else '>'}{count}{info.struct_code}"
    return list(struct.unpack(fmt, raw))


def decode_value(
    vr: str,
    raw: bytes,
    *,
    little_endian: bool = True,
    charset: Charset | None = None,
) -> ElementValue:
    """Decode the value bytes of a non-sequence element.

    Raises:
        DecodeError: bytes that the VR cannot hold (the caller adds offset and tag).
    """
    kind = _KIND.get(vr)
    if kind is VRKind.BYTES or kind is None:
        return bytes(raw)
    if kind is VRKind.ASCII or kind is VRKind.TEXT:
        if not raw:
            return ""
        if kind is VRKind.TEXT:
            text = (charset or DEFAULT_CHARSET).decode(bytes(raw), vr)
        else:
            text = bytes(raw).decode("latin-1")
        if vr not in _MULTI:
            return text.rstrip("\x00 ")
        if vr in _STRIP_BOTH:
            parts = [part.strip("\x00 ") for part in text.split("\\")]
        else:
            parts = [part.rstrip("\x00 ") for part in text.split("\\")]
            if vr == "UI":
                parts = [part.strip("\x00 ") for part in parts]
        if vr == "DS" or vr == "IS":
            # Numbers when every value is valid; otherwise the text is kept as it is so that
            # nothing is lost (typed getters then raise DecodeError naming the bad value).
            try:
                if vr == "DS":
                    return _single_or_list([parse_ds(p) for p in parts if p])
                return _single_or_list([parse_is(p) for p in parts if p])
            except DecodeError:
                return parts[0] if len(parts) == 1 else list[Scalar](parts)
        if len(parts) == 1:
            return parts[0]
        return list[Scalar](parts)
    if kind is VRKind.NUMBER:
        if not raw:
            return None
        return _single_or_list(_unpack(vr, raw, little_endian))
    if kind is VRKind.TAG:
        if not raw:
            return None
        if len(raw) % 4:
            raise DecodeError(f"AT value of {len(raw)} bytes is not a multiple of 4")
        halves = struct.unpack(f"{'<' if little_endian else '>'}{len(raw) // 2}H", raw)
        tags = [Tag((halves[i] << 16) | halves[i + 1]) for i in range(0, len(halves), 2)]
        return _single_or_list(tags)
    raise DecodeError(f"a {vr} value is not decoded from bytes")  # SQ: the reader builds items


def _single_or_list(values: Sequence[Scalar]) -> ElementValue:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return list(values)


def _as_list(value: ElementValue) -> list[Scalar]:
    if value is None:
        return []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str | int | float | bytes)]
    return [value]


def encode_value(
    vr: str,
    value: ElementValue,
    *,
    little_endian: bool = True,
    charset: Charset | None = None,
) -> bytes:
    """Encode a Python value as the bytes of one element value, padded to even length.

    Raises:
        EncodeError: a value that the VR cannot hold.
    """
    kind = _KIND.get(vr)
    if kind is None:
        raise EncodeError(f"unknown VR {vr!r}")
    if kind is VRKind.SEQUENCE:
        raise EncodeError("sequences are encoded by the writer, item by item")
    if kind is VRKind.BYTES:
        if value is None:
            return b""
        if not isinstance(value, bytes | bytearray | memoryview):
            raise EncodeError(f"{vr} needs bytes, not {type(value).__name__}")
        data = bytes(value)
        return data + b"\x00" if len(data) % 2 else data
    values = _as_list(value)
    if kind is VRKind.NUMBER:
        info = VR_INFO[VR(vr)]
        try:
            return struct.pack(f"{'<' if little_endian else '>'}{len(values)}{info.struct_code}", *values)
        except (struct.error, TypeError, OverflowError) as exc:
            raise EncodeError(f"{vr} cannot hold {value!r}: {exc}") from None
    if kind is VRKind.TAG:
        halves: list[int] = []
        for item in values:
            if not isinstance(item, int) or not 0 <= item <= 0xFFFFFFFF:
                raise EncodeError(f"AT cannot hold {item!r}")
            halves += [item >> 16, item & 0xFFFF]
        return struct.pack(f"{'<' if little_endian else '>'}{len(halves)}H", *halves)
    texts = [_text_of(vr, item) for item in values]
    if len(texts) > 1 and vr not in _MULTI:
        raise EncodeError(f"{vr} holds a single value, got {len(texts)}")
    joined = "\\".join(texts)
    if kind is VRKind.TEXT:
        data = (charset or DEFAULT_CHARSET).encode(joined, vr)
    else:
        try:
            data = joined.encode("ascii")
        except UnicodeEncodeError:
            raise EncodeError(f"{vr} value must be ASCII: {joined!r}") from None
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    return data


def _text_of(vr: str, item: Scalar) -> str:
    if isinstance(item, str):
        return item
    if vr == "DS" and isinstance(item, int | float) and not isinstance(item, bool):
        return format_ds(item)
    if vr == "IS" and isinstance(item, int) and not isinstance(item, bool):
        if not -(2**31) <= item < 2**31:
            raise EncodeError(f"IS value out of range: {item}")
        return str(item)
    if vr == "IS" and isinstance(item, float) and item.is_integer():
        return str(int(item))
    raise EncodeError(f"{vr} cannot hold {item!r}")
