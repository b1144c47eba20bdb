"""The data set parser: encoded elements to a ``Dataset`` (PS3.5 §7.1, §7.5, Annex A.4).

Handles implicit and explicit VR, both byte orders, defined and undefined lengths
of sequences and items, encapsulated pixel data (kept raw: Basic Offset Table and
fragments byte for byte), UN values whose VR the dictionary knows, and ambiguous
VRs in implicit-VR streams (US/SS by Pixel Representation, OB/OW).

Values stay raw: an element holds its value bytes and the byte order and character
set they were encoded with, and decodes on access (see ``data.element``).

Bounds: every declared length is compared with what the input still holds before
any slice or read; nesting depth is capped; nothing but dicomkit errors escape.
"""

from __future__ import annotations

import struct

from dicomkit.data.charset import DEFAULT_CHARSET, Charset
from dicomkit.data.dataset import Dataset
from dicomkit.data.dictionary import lookup
from dicomkit.data.element import DeferredValue, Element, raw_element
from dicomkit.data.private_dictionary import private_vr
from dicomkit.data.tag import Tag
from dicomkit.data.vr import LONG_LENGTH_VRS, VALID_VRS
from dicomkit.errors import (
    CharsetError,
    DecodeError,
    DicomError,
    InvalidVRError,
    LengthError,
    TruncatedError,
)
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.source import Source

__all__ = ["Parser"]

UNDEFINED = 0xFFFFFFFF
ITEM = 0xFFFEE000
ITEM_DELIM = 0xFFFEE00D
SEQ_DELIM = 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
CHARSET = 0x00080005
PIXEL_REPRESENTATION = 0x00280103

_HEADERS = {
    (True, True): struct.Struct("<HHL"),  # implicit, little
    (True, False): struct.Struct(">HHL"),
    (False, True): struct.Struct("<HH2sH"),  # explicit, little
    (False, False): struct.Struct(">HH2sH"),
}
_U32 = {True: struct.Struct("<L"), False: struct.Struct(">L")}
_TAG_LEN = {True: struct.Struct("<HHL"), False: struct.Struct(">HHL")}
_LONG_VR_BYTES = frozenset(vr.encode() for vr in LONG_LENGTH_VRS)
_VALID_VR_BYTES = frozenset(vr.encode() for vr in VALID_VRS)
_VR_STR = {vr.encode(): vr for vr in VALID_VRS}
_US_OR_SS = frozenset({("US", "SS"), ("SS", "US"), ("US", "SS", "OW")})
_OB_OR_OW = frozenset({("OB", "OW"), ("OW", "OB")})


class Parser:
    """Parses elements from a ``Source`` with one transfer syntax."""

    def __init__(self, source: Source, *, implicit: bool, little: bool, options: ReadOptions) -> None:
        self.src = source
        self.implicit = implicit
        self.little = little
        self.options = options
        self.findings: list[str] = []

    # ------------------------------------------------------------------ entry

    def parse(self, pos: int, end: int | None = None) -> tuple[Dataset, int]:
        """Parse a top-level data set from ``pos`` to ``end`` (None: end of input)."""
        limit = self.src.size if end is None else end
        return self._dataset(pos, limit, self.implicit, self.little, DEFAULT_CHARSET, 0, None, top=True)

    # ---------------------------------------------------------------- dataset

    def _dataset(
        self,
        pos: int,
        end: int,
        implicit: bool,
        little: bool,
        charset: Charset,
        depth: int,
        pixel_rep: int | None,
        *,
        top: bool = False,
        until_item_delim: bool = False,
    ) -> tuple[Dataset, int]:
        """Parse elements until ``end`` or (undefined-length item) the Item Delimitation Item."""
        if depth > self.options.max_depth:
            raise DecodeError(f"sequences nested deeper than {self.options.max_depth}", offset=pos)
        src = self.src
        lenient = self.options.lenient
        stop_before = self.options.stop_before if top else None
        defer_size = self.options.defer_size if src.path is not None else None
        header = _HEADERS[(implicit, little)]
        implicit_header = _HEADERS[(True, little)]
        u32 = _U32[little]
        dataset = Dataset()
        dataset.parent_charset = charset if depth else None
        elements = dataset._elements  # the parser appends in file order, noting any tag out of order
        last_tag = -1  # the highest tag so far
        buf = src.buf
        buf_start = src.start
        buf_end = buf_start + len(buf)
        while pos < end:
            if pos + 12 > buf_end:
                # Refill (rare): fewer than 12 bytes are buffered from here.
                if not src.ensure(pos, min(12, max(end - pos, 8))) and not src.ensure(pos, 8):
                    if top and end >= src.size and pos == src.size:
                        break
                    raise TruncatedError("element header cut short", offset=pos)
                buf = src.buf
                buf_start = src.start
                buf_end = buf_start + len(buf)
            buf_pos = pos - buf_start
            if implicit:
                group, elem, length = header.unpack_from(buf, buf_pos)
                tag = (group << 16) | elem
                vr_bytes = b""
                value_pos = pos + 8
            else:
                group, elem, vr_bytes, length = header.unpack_from(buf, buf_pos)
                tag = (group << 16) | elem
                value_pos = pos + 8
                if group == 0xFFFE:
                    # Item tags carry no VR, even in explicit VR (PS3.5 §7.5).
                    length = u32.unpack_from(buf, buf_pos + 4)[0]
                elif vr_bytes in _LONG_VR_BYTES:
                    if pos + 12 > buf_end:
                        raise TruncatedError("element header cut short", offset=pos, tag=tag)
                    length = u32.unpack_from(buf, buf_pos + 8)[0]
                    value_pos = pos + 12
                elif vr_bytes not in _VALID_VR_BYTES:
                    if not lenient:
                        raise InvalidVRError(f"invalid VR {vr_bytes!r}", offset=pos + 4, tag=tag)
                    if not (b"AA" <= vr_bytes <= b"ZZ"):
                        # A writer switched to implicit VR here; read this element so.
                        group, elem, length = implicit_header.unpack_from(buf, buf_pos)
                        vr_bytes = b""
                        self.findings.append(f"implicit VR element {Tag(tag)} in explicit VR data set")
                    else:
                        self.findings.append(f"unknown VR {vr_bytes!r} at {Tag(tag)} read as UN")
                        vr_bytes = b"UN"

            if group == 0xFFFE:
                if tag == ITEM_DELIM:
                    if until_item_delim:
                        return dataset, value_pos
                    if lenient:
                        self.findings.append(f"stray item delimiter at offset {pos}")
                        pos = value_pos
                        continue
                    raise DecodeError("item delimiter outside an undefined-length item", offset=pos, tag=tag)
                if tag == SEQ_DELIM or tag == ITEM:
                    if top and lenient:
                        self.findings.append(f"stray {Tag(tag)} at offset {pos}")
                        pos = value_pos + (0 if length == UNDEFINED else length)
                        continue
                    if not top and tag == SEQ_DELIM and until_item_delim and lenient:
                        # Item without its delimiter: the sequence ended.
                        return dataset, pos
                    raise DecodeError(f"unexpected {Tag(tag)} in a data set", offset=pos, tag=tag)

            if stop_before is not None and tag >= stop_before:
                return dataset, pos
            if tag <= last_tag:
                # PS3.5 §7.1 forbids both; pydicom and DCMTK read on, so we do too and say so.
                dataset._sorted = False  # here, as an undefined-length item returns from the loop
                self._out_of_order(elements, tag, last_tag, pos)
            else:
                last_tag = tag

            vr = _VR_STR.get(vr_bytes) if vr_bytes else None
            if vr is None:
                vr = self._implicit_vr(tag, pixel_rep, length)
                if vr == "UN" and group & 1:
                    vr = self._private_vr(elements, tag) or vr

            if length == UNDEFINED:
                element, pos = self._undefined(
                    tag, vr, value_pos, end, implicit, little, charset, depth, pixel_rep
                )
            else:
                if length > end - value_pos:
                    raise TruncatedError(
                        f"value length {length} exceeds the {max(end - value_pos, 0)} bytes that remain",
                        offset=value_pos,
                        tag=tag,
                    )
                next_pos = value_pos + length
                if vr == "SQ" or (vr == "UN" and implicit and self._holds_items(value_pos, length, little)):
                    # An unknown implicit-VR value that starts with an item is a sequence.
                    items, _ = self._items(
                        value_pos, next_pos, implicit, little, charset, depth, pixel_rep, False
                    )
                    element = Element(tag, "SQ", items)
                elif vr == "UN" and not implicit and (known := self._known_vrs(elements, tag)) is not None:
                    element = self._un_to_known(tag, known, value_pos, next_pos, charset, depth, pixel_rep)
                elif defer_size is not None and length > defer_size and tag != CHARSET:
                    element = Element(
                        tag,
                        vr,
                        raw=DeferredValue(src.path or "", value_pos, length),
                        little_endian=little,
                        charset=charset,
                    )
                    src.skip_to(next_pos)
                else:
                    if next_pos <= buf_end:
                        raw = buf[value_pos - buf_start : next_pos - buf_start]
                    else:
                        raw = src.take(value_pos, length)
                    element = raw_element(tag, vr, raw, little, charset)
                    if tag == CHARSET:
                        charset = self._charset(raw, value_pos)
                    elif tag == PIXEL_REPRESENTATION and length >= 2:
                        pixel_rep = int.from_bytes(raw[:2], "little" if little else "big")
                pos = next_pos
            elements[tag] = element
        if until_item_delim:
            if lenient:
                self.findings.append("undefined-length item without Item Delimitation Item")
                return dataset, pos
            raise TruncatedError("undefined-length item has no Item Delimitation Item", offset=pos)
        return dataset, pos

    # --------------------------------------------------------------- helpers

    def _out_of_order(self, elements: dict[int, Element], tag: int, highest: int, pos: int) -> None:
        """Record an element at ``pos`` that repeats an earlier tag or comes below ``highest``.

        A repeated element replaces the earlier one, as pydicom keeps the last (DCMTK keeps the
        first). Strict mode records these too rather than refusing: the archive keeps data sets
        as received and reads them strictly again on retrieve, and both peers read such files.
        """
        if tag in elements:
            self.findings.append(
                f"element {Tag(tag)} at offset {pos} repeats an earlier one; the later value is kept"
            )
        else:
            self.findings.append(
                f"element {Tag(tag)} at offset {pos} is out of ascending tag order (after {Tag(highest)})"
            )

    def _implicit_vr(self, tag: int, pixel_rep: int | None, length: int) -> str:
        """VR for an implicit-VR element: dictionary VR, with ambiguous ones resolved."""
        if tag & 0x10000 and tag >> 16 not in (1, 3, 5, 7, 0xFFFF):
            element = tag & 0xFFFF
            if element == 0:
                return "UL"  # group length
            if 0x10 <= element <= 0xFF:
                return "LO"  # private creator
            return "SQ" if length == UNDEFINED else "UN"
        entry = lookup(tag)
        if entry is None:
            return "SQ" if length == UNDEFINED else "UN"
        vrs = entry.vrs
        if len(vrs) == 1:
            return vrs[0]
        if vrs in _US_OR_SS:
            if tag == 0x00283006:
                return "OW" if length != 2 else "US"
            return "SS" if pixel_rep == 1 else "US"
        if vrs in _OB_OR_OW:
            return "OB" if length == UNDEFINED else "OW"
        return vrs[0]

    @staticmethod
    def _private_vr(elements: dict[int, Element], tag: int) -> str | None:
        """VR of a private element from the private dictionary, by its block's creator."""
        creator_element = elements.get((tag & 0xFFFF0000) | ((tag >> 8) & 0xFF))
        if creator_element is None:
            return None
        raw = creator_element.raw_bytes()
        value = creator_element.value if raw is None else raw.decode("latin-1")
        if not isinstance(value, str):
            return None
        return private_vr(value.strip(" \x00"), tag)

    def _holds_items(self, pos: int, length: int, little: bool) -> bool:
        """Whether a value of unknown VR begins with a sequence item tag."""
        if length < 8 or not self.src.ensure(pos, 8):
            return False
        group, elem, _ = _TAG_LEN[little].unpack_from(self.src.buf, pos - self.src.start)
        return bool(((group << 16) | elem) == ITEM)

    def _known_vrs(self, elements: dict[int, Element], tag: int) -> tuple[str, ...] | None:
        """The dictionary VRs of a tag stored as UN, when a dictionary knows better."""
        if tag & 0x10000 and tag & 0xFFFF > 0xFF:
            private = self._private_vr(elements, tag)
            return None if private is None or private == "UN" else (private,)
        entry = lookup(tag)
        if entry is None or not entry.vrs or entry.vr == "UN":
            return None
        return entry.vrs

    def _charset(self, raw: bytes, pos: int) -> Charset:
        text = raw.decode("latin-1").rstrip("\x00 ")
        terms = [term.strip() for term in text.split("\\")]
        try:
            charset = Charset.from_value(terms, strict=not self.options.lenient)
        except CharsetError as exc:
            raise CharsetError(exc.reason, offset=pos, tag=CHARSET) from None
        self.findings.extend(getattr(charset, "findings", ()))
        return charset

    def _un_to_known(
        self,
        tag: int,
        vrs: tuple[str, ...],
        pos: int,
        end: int,
        charset: Charset,
        depth: int,
        pixel_rep: int | None,
    ) -> Element:
        """An explicit UN whose tag the dictionary knows: its value is implicit VR LE (PS3.5 §6.2.2)."""
        vr = vrs[0]
        if len(vrs) > 1:
            vr = self._implicit_vr(tag, pixel_rep, end - pos)
        if vr == "SQ":
            items, _ = self._items(pos, end, True, True, charset, depth, pixel_rep, False)
            return Element(tag, "SQ", items)
        return Element(tag, vr, raw=self.src.take(pos, end - pos), little_endian=True, charset=charset)

    def _undefined(
        self,
        tag: int,
        vr: str,
        pos: int,
        end: int,
        implicit: bool,
        little: bool,
        charset: Charset,
        depth: int,
        pixel_rep: int | None,
    ) -> tuple[Element, int]:
        """An element of undefined length: a sequence, or encapsulated pixel data (PS3.5 A.4)."""
        if vr == "SQ" or vr == "UN":
            # UN of undefined length is a sequence encoded in implicit VR LE (PS3.5 §6.2.2).
            item_implicit, item_little = (True, True) if vr == "UN" else (implicit, little)
            items, after = self._items(pos, end, item_implicit, item_little, charset, depth, pixel_rep, True)
            element = Element(tag, "SQ", items)
            element.undefined_length = True
            return element, after
        if vr not in ("OB", "OW"):
            raise LengthError(f"undefined length is not allowed for VR {vr}", offset=pos, tag=tag)
        value_end = self._scan_fragments(pos, end, little)
        length = value_end - pos
        src = self.src
        defer_size = self.options.defer_size if src.path is not None else None
        if defer_size is not None and length > defer_size:
            # Compressed frames left in the file, as a large defined-length value is: the
            # scan above read only the item headers (a chunk at each).
            deferred = DeferredValue(src.path or "", pos, length)
            element = Element(tag, vr, raw=deferred, little_endian=little, undefined_length=True)
            src.skip_to(value_end)
            return element, value_end + 8
        raw = src.take(pos, length)
        element = Element(tag, vr, raw=raw, little_endian=little, undefined_length=True)
        return element, value_end + 8

    def _scan_fragments(self, pos: int, end: int, little: bool) -> int:
        """Offset of the Sequence Delimitation Item that ends encapsulated data."""
        src = self.src
        tag_len = _TAG_LEN[little]
        while True:
            if pos + 8 > end or not src.ensure(pos, 8):
                raise TruncatedError("encapsulated pixel data has no Sequence Delimitation Item", offset=pos)
            group, elem, length = tag_len.unpack_from(src.buf, pos - src.start)
            tag = (group << 16) | elem
            if tag == SEQ_DELIM:
                return pos
            if tag != ITEM:
                raise DecodeError(
                    f"expected an item in encapsulated pixel data, found {Tag(tag)}", offset=pos
                )
            if length == UNDEFINED or length > end - pos - 8:
                raise TruncatedError(f"fragment length {length} exceeds what remains", offset=pos + 4)
            pos += 8 + length

    def _items(
        self,
        pos: int,
        end: int,
        implicit: bool,
        little: bool,
        charset: Charset,
        depth: int,
        pixel_rep: int | None,
        undefined: bool,
    ) -> tuple[list[Dataset], int]:
        """Sequence items from ``pos``; until ``end`` (defined length) or the delimiter."""
        src = self.src
        tag_len = _TAG_LEN[little]
        items: list[Dataset] = []
        while True:
            if not undefined and pos >= end:
                return items, pos
            if pos + 8 > end or not src.ensure(pos, 8):
                raise TruncatedError("sequence item header cut short", offset=pos)
            group, elem, length = tag_len.unpack_from(src.buf, pos - src.start)
            tag = (group << 16) | elem
            if tag == SEQ_DELIM:
                if undefined:
                    return items, pos + 8
                if self.options.lenient:
                    self.findings.append(f"sequence delimiter inside defined-length sequence at {pos}")
                    pos += 8
                    continue
                raise DecodeError("sequence delimiter in a defined-length sequence", offset=pos)
            if tag != ITEM:
                raise DecodeError(f"expected a sequence item, found {Tag(tag)}", offset=pos, tag=tag)
            start = pos + 8
            if length == UNDEFINED:
                item, pos = self._dataset(
                    start, end, implicit, little, charset, depth + 1, pixel_rep, until_item_delim=True
                )
            else:
                if length > end - start:
                    if not self.options.lenient or end - start < 0:
                        raise TruncatedError(f"item length {length} exceeds what remains", offset=pos + 4)
                    self.findings.append(f"item at offset {pos} overruns its sequence; cut at the end")
                    length = end - start
                item, pos = self._dataset(
                    start, start + length, implicit, little, charset, depth + 1, pixel_rep
                )
            items.append(item)


def wrap_errors(exc: Exception, pos: int | None = None) -> DicomError:
    """Turn a stray low-level exception into a DecodeError (defensive last resort)."""
    if isinstance(exc, DicomError):
        return exc
    return DecodeError(f"malformed data: {type(exc).__name__}: {exc}", offset=pos)
