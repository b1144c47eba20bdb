"""Native-to-native conversion of an instance, streamed from its file (PS3.5 §7, A.1-A.3).

Part of ``dicomkit.net.scu``, beside ``instances``, whose ``encode_for`` converts in
memory and still does what cannot stream: compressed syntaxes go through the codecs, and
a deflated target's length is unknown until it is compressed. Between Implicit VR Little
Endian, Explicit VR Little Endian and Explicit VR Big Endian, :func:`open_converted` gives
a readable stream of the data set re-encoded and its exact length, which the Storage SCU
and the C-MOVE/C-GET SCP send with ``fragment_stream`` as they send a file unchanged::

    file    [elements ...][7FE0,0010 OW n][Pixel Data value ............][elements ...]
    stream  [by the writer][header, target][copied in 1 MiB chunks,       ][by the writer]
                                           swapped if the byte order changes

The data set is parsed with values longer than ``defer_size`` left in the file. Each
top-level value left there whose VR is a long binary one (OB, OW, OF, OD, OL, OV, UN) is
copied in chunks: Pixel Data above all, but also Float Pixel Data or a large waveform.
Native Pixel Data is copied even when it was small enough to be read. The runs of
elements between copied values are encoded by the PS3.10 writer. Byte order follows
the writer (``dicomkit.data.pixel_byte_order``): native OW Pixel Data with 32 or 64 bits
allocated is swapped cell by cell, any other value item by item of its VR (OW words, OF
and OL 4 bytes, OD and OV 8), and OB and UN never.

Invariants:
    * the bytes are ``instances.encode_for(instance, target)``'s, and so is any error
      found before the first byte (a value that cannot be swapped, a malformed data set);
    * memory: the elements not copied, plus a chunk and its swapped copy, whatever the
      size of the copied values;
    * chunks are a multiple of 8 bytes, so no swap unit (2, 4 or 8 bytes) straddles two;
    * every part has even length (a copied value of odd length gets a zero byte, as the
      writer pads it), so the data set has too, as PDV fragments must.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Final

from dicomkit.data import tags
from dicomkit.data.charset import Charset
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.pixel_byte_order import cell_size, is_native_ow_pixel_data, swap_pixel_cells
from dicomkit.data.value_codec import swap_bytes
from dicomkit.data.vr import VR, VR_INFO
from dicomkit.errors import EncodeError
from dicomkit.net.scu.instances import Instance
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_dataset_at
from dicomkit.part10.transfer_syntax import transfer_syntax
from dicomkit.part10.writer import encode_dataset

__all__ = ["DEFER_SIZE", "ConvertedStream", "open_converted", "streams_conversion"]

#: Values longer than this stay in the file while parsing; large binary ones are copied.
DEFER_SIZE: Final = 64 * 1024
#: Bytes read from the file at a time: a multiple of every swap unit (8 bytes).
_CHUNK: Final = 1024 * 1024
#: Long-length binary VRs: their values are bytes to copy, and their header has a 32-bit length.
_COPIED_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})

_Swap = Callable[[bytes], bytes]


def streams_conversion(source_syntax: str, target_syntax: str) -> bool:
    """Whether :func:`open_converted` converts between these syntaxes: both native, not deflated."""
    source, target = transfer_syntax(source_syntax), transfer_syntax(target_syntax)
    return not (source.encapsulated or target.encapsulated or source.deflated or target.deflated)


@dataclass(frozen=True, slots=True)
class _Copy:
    """A value copied chunk by chunk (from the file, unless it was read), through ``swap``
    if the byte order changes."""

    element: Element
    swap: _Swap | None


class ConvertedStream:
    """A data set re-encoded while it is read (see the module docstring); ``length`` bytes.

    ``read`` as a file's: up to ``size`` bytes, ``b""`` at the end. A copied value that
    the file no longer holds whole raises ``TruncatedError`` (the file changed since it
    was parsed).
    """

    def __init__(self, parts: Sequence[bytes | _Copy]) -> None:
        self.length = sum(
            len(part) if isinstance(part, bytes) else part.element.length + part.element.length % 2
            for part in parts
        )
        self._chunks: Iterator[bytes] = _chunks(parts)
        self._chunk = b""
        self._position = 0

    def read(self, size: int = -1, /) -> bytes:
        pieces: list[bytes] = []
        wanted = self.length if size < 0 else size
        while wanted > 0:
            if self._position == len(self._chunk):
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._chunk, self._position = chunk, 0
                continue
            piece = self._chunk[self._position : self._position + wanted]
            self._position += len(piece)
            wanted -= len(piece)
            pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def close(self) -> None:
        """Stop: further reads give ``b""``."""
        self._chunks = iter(())
        self._chunk, self._position = b"", 0

    def __enter__(self) -> ConvertedStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def open_converted(
    instance: Instance, target_syntax: str, *, defer_size: int = DEFER_SIZE
) -> ConvertedStream:
    """The instance's data set re-encoded in ``target_syntax``, streamed (see the module docstring).

    Parses the whole data set now (values over ``defer_size`` left in the file), so
    that a malformed one is refused before anything is sent. ``defer_size`` is at least
    2: the reader must hold Pixel Representation's value to tell US from SS.

    Raises:
        ValueError: a conversion :func:`streams_conversion` refuses, or ``defer_size`` < 2.
        DicomFormatError: the data set cannot be read.
        EncodeError: a value the target syntax cannot hold, as ``encode_for`` raises.
        OSError: the file cannot be read.
    """
    if not streams_conversion(instance.transfer_syntax, target_syntax):
        raise ValueError(f"cannot stream a conversion from {instance.transfer_syntax} to {target_syntax}")
    if defer_size < 2:
        raise ValueError(f"defer_size {defer_size} would defer Pixel Representation")
    source = transfer_syntax(instance.transfer_syntax)
    target = transfer_syntax(target_syntax)
    options = ReadOptions(defer_size=defer_size)
    dataset = read_dataset_at(instance.path, instance.dataset_offset, instance.transfer_syntax, options)
    charset = _charset(dataset)
    order = "<" if target.little_endian else ">"
    implicit_header = struct.Struct(order + "HHL")
    explicit_header = struct.Struct(order + "HH2s2xL")
    parts: list[bytes | _Copy] = []
    run = Dataset()
    for element in dataset.elements():
        if not _copied(element):
            run.add(element)
            continue
        if run:
            parts.append(_encode_run(run, charset, target_syntax))
            run = Dataset()
        swap = _swap_for(element, dataset) if source.little_endian != target.little_endian else None
        group, number, length = element.tag >> 16, element.tag & 0xFFFF, element.length
        length += length % 2
        if target.implicit_vr:
            parts.append(implicit_header.pack(group, number, length))
        else:
            parts.append(explicit_header.pack(group, number, element.vr.encode(), length))
        parts.append(_Copy(element, swap))
    if run:
        parts.append(_encode_run(run, charset, target_syntax))
    return ConvertedStream(parts)


def _copied(element: Element) -> bool:
    """Whether a top-level value is copied chunk by chunk rather than written: a long
    binary value left in the file, and native Pixel Data whatever its size, whose byte
    order depends on Bits Allocated: the writer would look for that in the run that
    holds Pixel Data, and a copied value before it may have split them apart."""
    if element.vr not in _COPIED_VRS or element.undefined_length:
        return False
    return element.is_deferred or element.tag == tags.PixelData


def _encode_run(run: Dataset, charset: Charset | None, target_syntax: str) -> bytes:
    run.parent_charset = charset  # used unless the run holds (0008,0005) itself
    return encode_dataset(run, target_syntax)


def _charset(dataset: Dataset) -> Charset | None:
    """The data set's character set, as the writer works it out (None: the default)."""
    if tags.SpecificCharacterSet not in dataset:
        return None
    return Charset.from_value(dataset.get_strs(tags.SpecificCharacterSet))


def _swap_for(element: Element, dataset: Dataset) -> _Swap | None:
    """How a value changes byte order, as the writer changes it (``Element.encode``,
    ``_Encoder.pixel_data``). None when its bytes stay as they are."""
    if is_native_ow_pixel_data(element):
        size = cell_size(dataset)
        if size > 2:
            return partial(swap_pixel_cells, size=size)
    unit = VR_INFO[VR(element.vr)].item_size
    if unit <= 1:
        return None
    if element.length % unit:  # refused before the first byte, not mid-message
        raise EncodeError(f"cannot swap {element.length} bytes in {unit}-byte words")
    return partial(swap_bytes, item_size=unit)


def _chunks(parts: Sequence[bytes | _Copy]) -> Iterator[bytes]:
    for part in parts:
        if isinstance(part, bytes):
            if part:
                yield part
            continue
        element, swap = part.element, part.swap
        length = element.length
        for offset in range(0, length, _CHUNK):
            chunk = element.read_range(offset, min(_CHUNK, length - offset))
            yield chunk if swap is None else swap(chunk)
        if length % 2:
            yield b"\x00"
