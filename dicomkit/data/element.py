"""Data elements (PS3.5 §7.1): a tag, a VR and a value that decodes lazily.

An element read from a file keeps its raw value bytes, the byte order and the
character set they were encoded with; ``value`` decodes them on first access and
caches the result. Setting ``value`` drops the raw bytes. A value too large to keep
in memory may be *deferred*: only its file offset is kept until it is asked for.

Invariants:
    * exactly one of (raw bytes / deferred reference, decoded value) is the source
      of truth: ``_value is _UNDECODED`` means the raw form is.
    * sequence elements (VR SQ) always hold a decoded ``list[Dataset]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from dicomkit.data.charset import DEFAULT_CHARSET, Charset
from dicomkit.data.tag import Tag
from dicomkit.data.value_codec import ElementValue, Scalar, decode_value, encode_value, swap_bytes
from dicomkit.data.vr import VR, VR_INFO, VRKind
from dicomkit.errors import DecodeError, TruncatedError

if TYPE_CHECKING:
    from dicomkit.data.dataset import Dataset

__all__ = ["DeferredValue", "Element", "raw_element"]


@dataclass(frozen=True, slots=True)
class DeferredValue:
    """A value left in its file: read on demand from ``path`` at ``offset``."""

    path: str
    offset: int
    length: int

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes of the value from ``offset`` on (e.g. one frame of Pixel Data)."""
        if offset < 0 or length < 0 or offset + length > self.length:
            raise TruncatedError(
                f"range {offset}+{length} outside a value of {self.length} bytes", offset=self.offset
            )
        return DeferredValue(self.path, self.offset + offset, length).load()

    def load(self) -> bytes:
        try:
            with open(self.path, "rb") as fp:
                fp.seek(self.offset)
                data = fp.read(self.length)
        except OSError as exc:
            raise TruncatedError(f"deferred value unreadable: {exc}", offset=self.offset) from None
        if len(data) != self.length:
            raise TruncatedError(
                f"deferred value needs {self.length} bytes, file has {len(data)}", offset=self.offset
            )
        return data


class _Undecoded:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<undecoded>"


_UNDECODED: Final = _Undecoded()

_KIND = {vr.value: info.kind for vr, info in VR_INFO.items()}
_ITEM_SIZE = {vr.value: info.item_size for vr, info in VR_INFO.items()}


class Element:
    """One data element. Create with a decoded value, or (readers) with ``raw`` bytes."""

    __slots__ = ("_raw", "_value", "charset", "little_endian", "tag", "undefined_length", "vr")

    tag: Tag
    vr: str
    little_endian: bool
    charset: Charset | None
    undefined_length: bool

    def __init__(
        self,
        tag: int,
        vr: VR | str,
        value: ElementValue | _Undecoded = _UNDECODED,
        *,
        raw: bytes | DeferredValue | None = None,
        little_endian: bool = True,
        charset: Charset | None = None,
        undefined_length: bool = False,
    ) -> None:
        self.tag = tag if type(tag) is Tag else Tag(tag)
        self.vr = str(vr)
        self.little_endian = little_endian
        self.charset = charset
        self.undefined_length = undefined_length
        if isinstance(value, _Undecoded):
            if raw is None:
                raw = b""
            if self.vr == "SQ":
                raise DecodeError("a sequence element needs its items, not raw bytes", tag=self.tag)
            self._raw: bytes | DeferredValue | None = raw
            self._value: ElementValue | _Undecoded = _UNDECODED
        else:
            self._raw = None
            self._value = _normalise(self.vr, value)

    # ------------------------------------------------------------------ value

    @property
    def value(self) -> ElementValue:
        """The decoded value (decoded on first access, then cached)."""
        if self._value is _UNDECODED:
            raw = self._load_raw()
            try:
                self._value = decode_value(
                    self.vr, raw, little_endian=self.little_endian, charset=self.charset
                )
            except DecodeError as exc:
                raise type(exc)(exc.reason, offset=exc.offset, tag=self.tag) from None
            if _KIND.get(self.vr) is not VRKind.BYTES:
                self._raw = None  # text/number values are small: keep one form
        return self._value  # type: ignore[return-value]

    @value.setter
    def value(self, value: ElementValue) -> None:
        self._value = _normalise(self.vr, value)
        self._raw = None

    @property
    def values(self) -> Sequence[Scalar] | list[Dataset]:
        """The value as a list: ``[]`` when empty, one item per value otherwise."""
        value = self.value
        if value is None or value == "" or value == b"":
            return []
        if isinstance(value, list):
            return value
        return [value]

    @property
    def vm(self) -> int:
        """Value multiplicity of the current value."""
        if _KIND.get(self.vr) is VRKind.BYTES:
            return 1 if self.length else 0
        return len(self.values)

    @property
    def sequence(self) -> list[Dataset]:
        """The items of a sequence element."""
        if self.vr != "SQ":
            raise TypeError(f"{self.tag} is {self.vr}, not a sequence")
        return self._value  # type: ignore[return-value]

    @property
    def is_raw(self) -> bool:
        """True while the value is still held in its encoded form."""
        return self._value is _UNDECODED

    @property
    def is_deferred(self) -> bool:
        return isinstance(self._raw, DeferredValue)

    @property
    def length(self) -> int:
        """Length in bytes of the encoded value as held (excluding any padding added on write)."""
        if isinstance(self._raw, DeferredValue):
            return self._raw.length
        if self._raw is not None:
            return len(self._raw)
        if self.vr == "SQ":
            return 0
        return len(self.encode(little_endian=self.little_endian, charset=self.charset or DEFAULT_CHARSET))

    def _load_raw(self) -> bytes:
        raw = self._raw
        if isinstance(raw, DeferredValue):
            return raw.load()
        return raw if raw is not None else b""

    @property
    def deferred(self) -> DeferredValue | None:
        """Where a value left in its file is (None when the value is held)."""
        raw = self._raw
        return raw if isinstance(raw, DeferredValue) else None

    def read_range(self, offset: int, length: int) -> bytes:
        """Part of the encoded value without loading the rest when it is deferred.

        Raises:
            TruncatedError: the range is outside the value (or the file shrank).
        """
        raw = self._raw
        if isinstance(raw, DeferredValue):
            return raw.read(offset, length)
        data = (
            raw
            if raw is not None
            else self.encode(little_endian=self.little_endian, charset=self.charset or DEFAULT_CHARSET)
        )
        if offset < 0 or length < 0 or offset + length > len(data):
            raise TruncatedError(
                f"range {offset}+{length} outside a value of {len(data)} bytes", tag=self.tag
            )
        return data[offset : offset + length]

    def raw_bytes(self) -> bytes | None:
        """The encoded value bytes as read (loading a deferred value), or None if decoded."""
        if self._raw is None:
            return None
        return self._load_raw()

    # --------------------------------------------------------------- encoding

    def encode(self, *, little_endian: bool, charset: Charset) -> bytes:
        """The value bytes for the given byte order and character set (even length).

        Raw bytes are reused when the encoding context allows it: same character
        set for text, byte swapping only for binary VRs.
        """
        kind = _KIND.get(self.vr)
        if self._raw is not None:
            raw = self._load_raw()
            if kind is VRKind.BYTES or kind is VRKind.NUMBER or kind is VRKind.TAG:
                if little_endian != self.little_endian:
                    size = 2 if kind is VRKind.TAG else _ITEM_SIZE.get(self.vr, 1)
                    raw = swap_bytes(raw, size)
                return raw + b"\x00" if len(raw) % 2 else raw
            if kind is VRKind.ASCII or (self.charset or DEFAULT_CHARSET) == charset:
                if len(raw) % 2:
                    return raw + (b"\x00" if self.vr == "UI" else b" ")
                return raw
        if kind is VRKind.BYTES and isinstance(self._value, bytes) and little_endian != self.little_endian:
            data = swap_bytes(self._value, _ITEM_SIZE.get(self.vr, 1))
            return data + b"\x00" if len(data) % 2 else data
        return encode_value(self.vr, self.value, little_endian=little_endian, charset=charset)

    # ------------------------------------------------------------- dictionary

    @property
    def keyword(self) -> str:
        from dicomkit.data.dictionary import keyword_for_tag

        return keyword_for_tag(self.tag)

    @property
    def name(self) -> str:
        from dicomkit.data.dictionary import name_for_tag

        return name_for_tag(self.tag)

    # ---------------------------------------------------------------- helpers

    def copy(self) -> Element:
        """A deep copy (raw bytes are immutable and shared)."""
        new = Element.__new__(Element)
        new.tag = self.tag
        new.vr = self.vr
        new.little_endian = self.little_endian
        new.charset = self.charset
        new.undefined_length = self.undefined_length
        new._raw = self._raw
        value = self._value
        if self.vr == "SQ" and isinstance(value, list):
            new._value = [item.copy() for item in self.sequence]
        elif isinstance(value, list):
            new._value = value.copy()
        else:
            new._value = value
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Element):
            return NotImplemented
        if self.tag != other.tag or self.vr != other.vr:
            return False
        if (
            self._raw is not None
            and other._raw is not None
            and self.little_endian == other.little_endian
            and self.charset == other.charset
        ):
            return _strip_pad(self._load_raw()) == _strip_pad(other._load_raw())
        if _KIND.get(self.vr) is VRKind.BYTES and self.little_endian != other.little_endian:
            return self.encode(little_endian=True, charset=DEFAULT_CHARSET) == other.encode(
                little_endian=True, charset=DEFAULT_CHARSET
            )
        return bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self._value is _UNDECODED:
            shown = f"<{self.length} raw bytes>"
        elif self.vr == "SQ":
            shown = f"<{len(self.sequence)} item(s)>"
        elif isinstance(self._value, bytes) and len(self._value) > 32:
            shown = f"<{len(self._value)} bytes>"
        else:
            shown = repr(self._value)
        return f"Element({self.tag} {self.vr} {shown})"


_new_tag = int.__new__
_new_object = object.__new__


def raw_element(tag: int, vr: str, raw: bytes, little_endian: bool, charset: Charset | None) -> Element:
    """An element holding raw value bytes, built without validation (the readers' hot path).

    The caller guarantees ``0 <= tag <= 0xFFFFFFFF`` and a valid non-sequence VR string.
    """
    element: Element = _new_object(Element)
    element.tag = _new_tag(Tag, tag)
    element.vr = vr
    element.little_endian = little_endian
    element.charset = charset
    element.undefined_length = False
    element._raw = raw
    element._value = _UNDECODED
    return element


def _strip_pad(data: bytes) -> bytes:
    return data.rstrip(b"\x00 ") if data[-1:] in (b"\x00", b" ") else data


def _normalise(vr: str, value: ElementValue) -> ElementValue:
    """Validate the Python type of a value assigned by a user, keep it in canonical form."""
    kind = _KIND.get(vr)
    if kind is VRKind.SEQUENCE:
        if value is None:
            return []
        if not isinstance(value, list):
            raise TypeError("a sequence value is a list of Dataset")
        return value
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        if len(value) == 0:
            return "" if kind in (VRKind.TEXT, VRKind.ASCII) else None
        if len(value) == 1:
            first = value[0]
            return first if isinstance(first, str | int | float | bytes) else value
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, os.PathLike):
        raise TypeError("element values are not paths")
    return value
