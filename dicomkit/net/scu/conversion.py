"""Conversion of an instance to another transfer syntax, streamed from its file (PS3.5 §7, §8.2, A.1-A.5).

Part of ``dicomkit.net.scu``, beside ``instances``, whose ``encode_for`` converts in
memory and is this module's oracle and fallback. :func:`open_converted` gives a readable
stream of the data set re-encoded and its exact length, which the Storage SCU and the
C-MOVE/C-GET SCP send with ``fragment_stream`` as they send a file unchanged::

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

Through the codecs (``scu.pixel_conversion``, on ``codecs.transcode``'s per-frame
functions, so the attributes change as ``transcode`` changes them):

- compressed to native: Pixel Data is decoded a frame at a time as the stream is read;
  its length is the frame count times the first frame's native length, known up front;
- to a compressed syntax: every frame is encoded now, one at a time, into a temporary
  file (the Basic Offset Table ``encode_for`` writes needs every frame's length before
  the first byte), then sent from it;
- to Deflated Explicit VR Little Endian: the Explicit VR Little Endian stream is
  deflated now into a temporary file, so its length is known too.

What does not stream (a deflated source, a syntax without a codec, 1-bit frames packed
across frame boundaries, native layouts that cannot be read a frame at a time) goes
through ``encode_for`` in memory: ``ConvertedStream.streamed`` is then False.

Invariants:
    * the bytes are ``instances.encode_for(instance, target)``'s, and so is any error
      found before the first byte (a value that cannot be swapped, a malformed data set);
    * memory: the elements not copied, plus a chunk and its swapped copy (or one frame
      decoded and its bytes), whatever the size of the copied values;
    * what can fail before the first byte does (a malformed data set, a first frame
      that does not decode, a frame the target cannot encode); a later frame that does
      not decode raises ``CodecError`` from ``read``, and the sender aborts the
      association, as for a file that shrank while it was read;
    * chunks are a multiple of 8 bytes, so no swap unit (2, 4 or 8 bytes) straddles two;
    * every part has even length (a copied value of odd length gets a zero byte, as the
      writer pads it), so the data set has too, as PDV fragments must.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Final

from dicomkit.codecs.registry import known_transfer_syntaxes
from dicomkit.data import tags
from dicomkit.data.charset import Charset
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.pixel_byte_order import cell_size, is_native_ow_pixel_data, swap_pixel_cells
from dicomkit.data.value_codec import swap_bytes
from dicomkit.data.vr import VR, VR_INFO
from dicomkit.errors import EncodeError
from dicomkit.net.scu.instances import Instance, encode_for
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_dataset_at
from dicomkit.part10.transfer_syntax import EXPLICIT_VR_LITTLE_ENDIAN, transfer_syntax
from dicomkit.part10.writer import encode_dataset

if TYPE_CHECKING:
    from dicomkit.net.scu.pixel_conversion import ProducedValue

__all__ = ["DEFER_SIZE", "ConvertedStream", "open_converted", "streams_conversion"]

#: Values longer than this stay in the file while parsing; large binary ones are copied.
DEFER_SIZE: Final = 64 * 1024
#: Bytes read from the file at a time: a multiple of every swap unit (8 bytes).
_CHUNK: Final = 1024 * 1024
#: Long-length binary VRs: their values are bytes to copy, and their header has a 32-bit length.
_COPIED_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_UNDEFINED: Final = 0xFFFFFFFF

_Swap = Callable[[bytes], bytes]


def streams_conversion(source_syntax: str, target_syntax: str) -> bool:
    """Whether :func:`open_converted` streams between these syntaxes (for pixel data the
    codecs take a frame at a time): any pair of syntaxes, but from a deflated data set
    (it cannot be parsed in parts), to or from a syntax without a codec, and from a
    compressed syntax to itself (which would decode and encode again)."""
    source, target = transfer_syntax(source_syntax), transfer_syntax(target_syntax)
    if source.deflated or (source_syntax == target_syntax and source.encapsulated):
        return False
    known = known_transfer_syntaxes()
    return all(not ts.encapsulated or ts.uid in known for ts in (source, target))


@dataclass(frozen=True, slots=True)
class _Copy:
    """A value copied chunk by chunk (from the file, unless it was read), through ``swap``
    if the byte order changes."""

    element: Element
    swap: _Swap | None


@dataclass(frozen=True, slots=True)
class _Produced:
    """A value the codecs produce (``scu.pixel_conversion``), through ``swap`` if the
    byte order changes."""

    value: ProducedValue
    swap: _Swap | None


_Part = bytes | _Copy | _Produced


def _part_length(part: _Part) -> int:
    if isinstance(part, bytes):
        return len(part)
    if isinstance(part, _Produced):
        return part.value.length
    return part.element.length + part.element.length % 2


class ConvertedStream:
    """A data set re-encoded while it is read (see the module docstring); ``length`` bytes.

    ``read`` as a file's: up to ``size`` bytes, ``b""`` at the end. A copied value that
    the file no longer holds whole raises ``TruncatedError`` (the file changed since it
    was parsed); a frame that cannot be decoded raises ``CodecError``. ``streamed`` is
    False when the data set was converted in memory (``encode_for``) instead.
    """

    def __init__(self, parts: Sequence[_Part], *, streamed: bool = True) -> None:
        self.length = sum(_part_length(part) for part in parts)
        self.streamed = streamed
        self._produced = [part.value for part in parts if isinstance(part, _Produced)]
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
        """Stop: further reads give ``b""``; temporary files and the source file a value
        is being decoded from are closed (temporary files are so removed)."""
        chunks, self._chunks = self._chunks, iter(())
        if isinstance(chunks, Generator):
            chunks.close()  # closes the producers it is inside, and their files
        self._chunk, self._position = b"", 0
        for value in self._produced:
            if value.spool is not None:
                value.spool.close()
        self._produced = []

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
    that a malformed one is refused before anything is sent; decodes the first frame
    of compressed pixel data, encodes every frame for a compressed target and deflates
    a deflated one now, for the same reason. What does not stream
    (:func:`streams_conversion`, or a pixel format the codecs do not take a frame at a
    time) is converted in memory by ``encode_for``. ``defer_size`` is at least 2: the
    reader must hold Pixel Representation's value to tell US from SS.

    Raises:
        ValueError: ``defer_size`` < 2.
        DicomFormatError: the data set cannot be read.
        CodecError: compressed pixel data that cannot be decoded or encoded for the target.
        EncodeError: a value the target syntax cannot hold, as ``encode_for`` raises.
        OSError: the file cannot be read (or a temporary file written).
    """
    if defer_size < 2:
        raise ValueError(f"defer_size {defer_size} would defer Pixel Representation")
    if not streams_conversion(instance.transfer_syntax, target_syntax):
        return _in_memory(instance, target_syntax)
    source = transfer_syntax(instance.transfer_syntax)
    target = transfer_syntax(target_syntax)
    options = ReadOptions(defer_size=defer_size)
    dataset = read_dataset_at(instance.path, instance.dataset_offset, instance.transfer_syntax, options)
    produced: ProducedValue | None = None
    if source.encapsulated or target.encapsulated:
        from dicomkit.net.scu import pixel_conversion  # numpy and codecs only when needed

        convert = (
            pixel_conversion.encoded_pixel_data
            if target.encapsulated
            else pixel_conversion.decoded_pixel_data
        )
        converted = convert(dataset, instance.transfer_syntax, target_syntax)
        if converted is None:
            return _in_memory(instance, target_syntax)
        dataset, produced = converted
    written = EXPLICIT_VR_LITTLE_ENDIAN if target.deflated else target_syntax
    try:
        parts = _parts(dataset, produced, source_little=source.little_endian, target_syntax=written)
    except BaseException:
        if produced is not None and produced.spool is not None:
            produced.spool.close()
        raise
    if target.deflated:
        return ConvertedStream([_deflated(parts)])
    return ConvertedStream(parts)


def _parts(
    dataset: Dataset, produced: ProducedValue | None, *, source_little: bool, target_syntax: str
) -> list[_Part]:
    """The data set in ``target_syntax`` (not deflated) as parts: runs of elements encoded
    by the writer, copied values, and ``produced`` in place of Pixel Data."""
    target = transfer_syntax(target_syntax)
    charset = _charset(dataset)
    order = "<" if target.little_endian else ">"
    implicit_header = struct.Struct(order + "HHL")
    explicit_header = struct.Struct(order + "HH2s2xL")
    parts: list[_Part] = []
    run = Dataset()
    for element in dataset.elements():
        replaced = produced is not None and element.tag == tags.PixelData
        if not replaced and not _copied(element):
            run.add(element)
            continue
        if run:
            parts.append(_encode_run(run, charset, target_syntax))
            run = Dataset()
        group, number = element.tag >> 16, element.tag & 0xFFFF
        if produced is not None and replaced:
            vr, length = produced.vr, _UNDEFINED if produced.undefined_length else produced.length
            swap: _Swap | None = None
            if not target.little_endian and vr == "OW":  # native frames, little endian as decoded
                swap = partial(swap_pixel_cells, size=cell_size(dataset))
            part: _Part = _Produced(produced, swap)
        else:
            vr, length = element.vr, element.length + element.length % 2
            swap = _swap_for(element, dataset) if source_little != target.little_endian else None
            part = _Copy(element, swap)
        if target.implicit_vr:
            parts.append(implicit_header.pack(group, number, length))
        else:
            parts.append(explicit_header.pack(group, number, vr.encode(), length))
        parts.append(part)
    if run:
        parts.append(_encode_run(run, charset, target_syntax))
    return parts


def _in_memory(instance: Instance, target_syntax: str) -> ConvertedStream:
    """``encode_for``'s bytes (padded to even, as PDV fragments must be) as a stream."""
    data = encode_for(instance, target_syntax)
    return ConvertedStream([data + b"\x00" if len(data) % 2 else data], streamed=False)


def _deflated(parts: Sequence[_Part]) -> _Produced:
    """The parts deflated (PS3.5 A.5: raw deflate, as the writer compresses, padded to
    even) into a temporary file, read back as the stream is: the deflated length is
    known before the first byte, and memory holds a chunk, not the data set."""
    from dicomkit.net.scu.pixel_conversion import ProducedValue, spooled

    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the stream
    try:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        for chunk in _chunks(parts):
            spool.write(compressor.compress(chunk))
        spool.write(compressor.flush())
        if spool.tell() % 2:
            spool.write(b"\x00")
        length = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        for part in parts:
            if isinstance(part, _Produced) and part.value.spool is not None:
                part.value.spool.close()
        raise
    for part in parts:  # read whole into the deflated spool
        if isinstance(part, _Produced) and part.value.spool is not None:
            part.value.spool.close()
    return _Produced(ProducedValue("OB", length, False, spooled(spool), spool), None)


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


def _chunks(parts: Sequence[_Part]) -> Iterator[bytes]:
    for part in parts:
        if isinstance(part, bytes):
            if part:
                yield part
            continue
        if isinstance(part, _Produced):
            swap = part.swap
            for chunk in part.value.chunks:
                yield chunk if swap is None else swap(chunk)
            continue
        element, copy_swap = part.element, part.swap
        length = element.length
        for offset in range(0, length, _CHUNK):
            chunk = element.read_range(offset, min(_CHUNK, length - offset))
            yield chunk if copy_swap is None else copy_swap(chunk)
        if length % 2:
            yield b"\x00"
