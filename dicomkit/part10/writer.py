"""Writing data sets and PS3.10 files in any native transfer syntax (PS3.5 §7, PS3.10 §7).

Converts between implicit/explicit VR and byte orders (swapping binary values item
by item, and native OW Pixel Data with 32 or 64 bits allocated cell by cell: see
``_Encoder.pixel_data``), pads values to even length, writes sequences and items
with defined or undefined lengths, and writes encapsulated pixel data unchanged. A
value too long for a VR's 16-bit explicit length is written as UN (PS3.5 §6.2.2).
"""

from __future__ import annotations

import enum
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from dicomkit.data.charset import DEFAULT_CHARSET, Charset
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.pixel_byte_order import cell_size, is_native_ow_pixel_data, swap_pixel_cells
from dicomkit.data.vr import LONG_LENGTH_VRS
from dicomkit.errors import EncodeError
from dicomkit.part10.meta import build_file_meta
from dicomkit.part10.transfer_syntax import EXPLICIT_VR_LITTLE_ENDIAN, transfer_syntax

__all__ = ["SequenceLength", "WriteOptions", "encode_dataset", "write_dataset", "write_file"]

_CHARSET_TAG = 0x00080005
_PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF


class SequenceLength(enum.Enum):
    UNDEFINED = "undefined"  # delimitation items (what most writers produce)
    DEFINED = "defined"  # explicit byte lengths


@dataclass(frozen=True, slots=True)
class WriteOptions:
    sequence_length: SequenceLength = SequenceLength.UNDEFINED
    preamble: bytes | None = None  # 128 bytes; zeros when None


class _Encoder:
    def __init__(self, *, implicit: bool, little: bool, encapsulated: bool, options: WriteOptions) -> None:
        self.implicit = implicit
        self.little = little
        self.encapsulated = encapsulated
        self.defined = options.sequence_length is SequenceLength.DEFINED
        end = "<" if little else ">"
        self.implicit_header = struct.Struct(f"{end}HHL")
        self.short_header = struct.Struct(f"{end}HH2sH")
        self.long_header = struct.Struct(f"{end}HH2s2xL")
        self.item_header = struct.Struct(f"{end}HHL")

    def dataset(self, dataset: Dataset, charset: Charset, out: list[bytes]) -> None:
        own = dataset.get_element(_CHARSET_TAG)
        if own is not None:
            charset = Charset.from_value(dataset.get_strs(_CHARSET_TAG))
        for element in dataset.elements():
            value = None
            if element.little_endian != self.little and is_native_ow_pixel_data(element):
                value = self.pixel_data(element, dataset, charset)
            self.element(element, charset, out, value=value)

    def pixel_data(self, element: Element, dataset: Dataset, charset: Charset) -> bytes | None:
        """Native OW Pixel Data changing byte order: 32/64-bit cells are swapped whole.

        OW is swapped word by word (PS3.5 Table 6.2-1, §7.3), which DCMTK applies to
        every cell size. pydicom, our oracle, reads 32/64-bit cells in big endian as
        whole numbers (its rtdose_expb.dcm is stored so), and so does our decoder
        (codecs.pixels); writing the same keeps LE -> BE -> LE byte-exact and our big
        endian output readable by pydicom. See docs/dicomkit/big_endian_pixel_data.md.
        None (the usual word swap) for other cell sizes.
        """
        size = cell_size(dataset)
        if size == 2:
            return None
        stored = element.encode(little_endian=element.little_endian, charset=charset)
        return swap_pixel_cells(stored, size)

    def element(
        self, element: Element, charset: Charset, out: list[bytes], *, value: bytes | None = None
    ) -> None:
        tag = element.tag
        vr = element.vr
        group, elem = tag >> 16, tag & 0xFFFF
        if vr == "SQ":
            self.sequence(element, charset, out)
            return
        if element.undefined_length:
            self.encapsulated_value(element, out)
            return
        if value is None:
            value = element.encode(little_endian=self.little, charset=charset)
        if self.implicit:
            out.append(self.implicit_header.pack(group, elem, len(value)))
        elif vr in LONG_LENGTH_VRS:
            out.append(self.long_header.pack(group, elem, vr.encode(), len(value)))
        elif len(value) > 0xFFFF:
            # Too long for a 16-bit length: UN keeps the bytes (PS3.5 6.2.2). UN is
            # always little endian inside, so this is only done for little endian output.
            if not self.little:
                raise EncodeError(f"{tag} value of {len(value)} bytes is too long for {vr}")
            out.append(self.long_header.pack(group, elem, b"UN", len(value)))
        else:
            out.append(self.short_header.pack(group, elem, vr.encode(), len(value)))
        out.append(value)

    def encapsulated_value(self, element: Element, out: list[bytes]) -> None:
        if not self.encapsulated:
            raise EncodeError(
                f"{element.tag} holds encapsulated (compressed) data; write it in its encapsulated "
                "transfer syntax or decompress it first"
            )
        raw = element.raw_bytes()
        if raw is None:
            value = element.value
            if not isinstance(value, bytes):
                raise EncodeError(f"{element.tag}: encapsulated value must be bytes")
            raw = value
        group, elem = element.tag >> 16, element.tag & 0xFFFF
        if self.implicit:
            out.append(self.implicit_header.pack(group, elem, _UNDEFINED))
        else:
            out.append(self.long_header.pack(group, elem, element.vr.encode(), _UNDEFINED))
        out.append(raw)
        out.append(self.item_header.pack(0xFFFE, 0xE0DD, 0))

    def sequence(self, element: Element, charset: Charset, out: list[bytes]) -> None:
        group, elem = element.tag >> 16, element.tag & 0xFFFF
        items: list[bytes] = []
        for item in element.sequence:
            body: list[bytes] = []
            self.dataset(item, charset, body)
            encoded = b"".join(body)
            if self.defined:
                items.append(self.item_header.pack(0xFFFE, 0xE000, len(encoded)))
                items.append(encoded)
            else:
                items.append(self.item_header.pack(0xFFFE, 0xE000, _UNDEFINED))
                items.append(encoded)
                items.append(self.item_header.pack(0xFFFE, 0xE00D, 0))
        content = b"".join(items)
        length = len(content) if self.defined else _UNDEFINED
        if self.implicit:
            out.append(self.implicit_header.pack(group, elem, length))
        else:
            out.append(self.long_header.pack(group, elem, b"SQ", length))
        out.append(content)
        if not self.defined:
            out.append(self.item_header.pack(0xFFFE, 0xE0DD, 0))


def encode_dataset(
    dataset: Dataset,
    transfer_syntax_uid: str,
    options: WriteOptions | None = None,
) -> bytes:
    """The data set encoded in a transfer syntax, without File Meta (deflated if the syntax is)."""
    ts = transfer_syntax(transfer_syntax_uid)
    encoder = _Encoder(
        implicit=ts.implicit_vr,
        little=ts.little_endian,
        encapsulated=ts.encapsulated,
        options=options or WriteOptions(),
    )
    out: list[bytes] = []
    encoder.dataset(dataset, dataset.parent_charset or DEFAULT_CHARSET, out)
    data = b"".join(out)
    if ts.deflated:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = compressor.compress(data) + compressor.flush()
        if len(data) % 2:
            data += b"\x00"
    return data


write_dataset = encode_dataset


def write_file(
    destination: str | os.PathLike[str] | BinaryIO,
    dataset: Dataset,
    *,
    transfer_syntax_uid: str | None = None,
    meta: Dataset | None = None,
    options: WriteOptions | None = None,
) -> None:
    """Write a PS3.10 file: preamble, ``DICM``, File Meta, then the data set.

    The transfer syntax defaults to the one in ``meta``, else Explicit VR Little Endian.
    File Meta is rebuilt (required elements rewritten; optional ones of ``meta`` kept).
    """
    options = options or WriteOptions()
    ts_uid = transfer_syntax_uid or (meta.get_str(0x00020010) if meta is not None else None)
    ts_uid = ts_uid or EXPLICIT_VR_LITTLE_ENDIAN
    file_meta = build_file_meta(dataset, ts_uid, previous=meta)
    data = encode_file(dataset, file_meta, ts_uid, options)
    if isinstance(destination, str | os.PathLike):
        with open(destination, "wb") as fp:
            fp.write(data)
    else:
        destination.write(data)


def encode_file(dataset: Dataset, file_meta: Dataset, ts_uid: str, options: WriteOptions) -> bytes:
    """The bytes of a PS3.10 file with the given (already built) File Meta."""
    preamble = options.preamble if options.preamble is not None else bytes(128)
    if len(preamble) != 128:
        raise EncodeError("the preamble is 128 bytes")
    meta_encoder = _Encoder(implicit=False, little=True, encapsulated=False, options=WriteOptions())
    body: list[bytes] = []
    for element in file_meta.elements():
        if element.tag != 0x00020000:
            meta_encoder.element(element, DEFAULT_CHARSET, body)
    meta_bytes = b"".join(body)
    group_length = struct.pack("<HH2sHL", 0x0002, 0x0000, b"UL", 4, len(meta_bytes))
    return b"".join((preamble, b"DICM", group_length, meta_bytes, encode_dataset(dataset, ts_uid, options)))
