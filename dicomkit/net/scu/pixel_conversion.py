"""Pixel Data converted through the codecs a frame at a time, for ``scu.conversion`` (PS3.5 §8.2, A.4).

Part of ``dicomkit.net.scu``, below ``conversion`` (which assembles the data set around
the value built here) and above ``dicomkit.codecs.transcode`` (which says what each
frame becomes and which attributes change: the same functions ``transcode`` itself
uses, so the bytes are ``instances.encode_for``'s)::

    encapsulated -> native   [frame 0 decoded][frame 1 decoded] ... [pad]  produced as read
    any -> encapsulated      [BOT item][item: frame 0 encoded][item] ... [delimiter]
                             frames encoded into a spool file first, then read from it

Compressed to native is the common case (a peer that accepts no compressed syntax of
ours): the length is known from the first frame (every frame decodes to the same
size), so the value is decoded while it is sent. An encapsulated target needs its
Basic Offset Table, hence every frame's encoded length, before its first byte: the
frames are encoded into an anonymous temporary file, one at a time, and sent from it.

Invariants:
    * memory: one frame decoded and its encoded (or native) bytes, whatever the number
      of frames; the spool file holds the encoded frames, never memory;
    * a frame that decodes to another size than the first raises ``CodecError`` when
      it is reached, as ``encode_for`` refuses frames it cannot stack;
    * :func:`decoded_pixel_data` and :func:`encoded_pixel_data` return None for what
      they do not convert frame by frame (the caller then uses ``encode_for``).
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import IO, Final

from dicomkit.codecs.pixels import PIXEL_DATA_TAGS, native_bytes, pixel_format
from dicomkit.codecs.transcode import FrameEncoder, decode_frames, native_header, transcode
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.errors import CodecError

__all__ = ["ProducedValue", "decoded_pixel_data", "encoded_pixel_data", "spooled"]

_ITEM: Final = struct.Struct("<HHL")
_CHUNK: Final = 1024 * 1024
_FLOAT_TAGS: Final = (tags.FloatPixelData, tags.DoubleFloatPixelData)


@dataclass(slots=True)
class ProducedValue:
    """A Pixel Data value of ``length`` bytes (even) that ``chunks`` yields piece by piece.

    ``vr`` is the element's VR in the target; ``undefined_length`` for encapsulated data
    (``length`` then counts the items and the Sequence Delimitation Item).
    """

    vr: str
    length: int
    undefined_length: bool
    chunks: Iterator[bytes]
    #: The temporary file ``chunks`` reads, closed with the stream (None: produced as read).
    spool: IO[bytes] | None = None


#: The data set as converted (Pixel Data still the source's element) and the new value
#: (None: the data set has no pixel data at its top level).
Converted = tuple[Dataset, ProducedValue | None]


def decoded_pixel_data(dataset: Dataset, source_syntax: str, target_syntax: str) -> Converted | None:
    """Encapsulated Pixel Data of ``dataset`` (parsed with large values deferred) decoded
    for a native target: the data set as ``transcode`` updates it (Pixel Data still the
    source's element) and the native value. Frame 0 is decoded now, so a format the
    codec cannot read fails before anything is sent.

    None: Pixel Data that is not encapsulated (7FE0,0010), or 1-bit frames (packed end to end across frame
    boundaries, PS3.5 §8.1.1).

    Raises:
        CodecError, UnsupportedTransferSyntaxError: frame 0 cannot be decoded.
    """
    if not any(tag in dataset for tag in PIXEL_DATA_TAGS):
        return transcode(dataset, source_syntax, target_syntax), None  # icons in sequences only
    element = dataset.get_element(tags.PixelData)
    if element is None or not element.undefined_length or any(tag in dataset for tag in _FLOAT_TAGS):
        return None
    if pixel_format(dataset).bits_allocated == 1:
        return None
    header, fmt = native_header(dataset, source_syntax, target_syntax)
    frames = decode_frames(dataset, source_syntax)
    try:
        first = native_bytes(next(frames)[None], fmt)
    except BaseException:
        frames.close()
        raise
    count = fmt.number_of_frames
    length = len(first) * count

    def chunks() -> Iterator[bytes]:
        with closing(frames):
            yield first
            for index, frame in enumerate(frames, start=1):
                data = native_bytes(frame[None], fmt)
                if len(data) != len(first):
                    raise CodecError(
                        f"frame decodes to {len(data)} bytes, frame 0 to {len(first)}", frame=index
                    )
                yield data
        if length % 2:
            yield b"\x00"

    vr = "OW" if fmt.bits_allocated > 8 else "OB"
    return header, ProducedValue(vr, length + length % 2, False, chunks())


def encoded_pixel_data(dataset: Dataset, source_syntax: str, target_syntax: str) -> Converted | None:
    """Pixel Data of ``dataset`` encoded for an encapsulated target, every frame now, into
    a temporary file: the data set as ``transcode`` updates it (Pixel Data still the
    source's element) and the encapsulated value, read from that file as it is sent.

    None: float pixel data (which no codec takes), or native Pixel Data left in the file in a layout
    that cannot be read a frame at a time (``pixels.get_frame`` would load it whole
    for each frame).

    Raises:
        CodecError, UnsupportedTransferSyntaxError: as ``transcode``.
        OSError: the spool file cannot be written.
    """
    if not any(tag in dataset for tag in PIXEL_DATA_TAGS):
        return transcode(dataset, source_syntax, target_syntax), None  # icons in sequences only
    element = dataset.get_element(tags.PixelData)
    if element is None or any(tag in dataset for tag in _FLOAT_TAGS):
        return None
    if not element.undefined_length and element.is_deferred:
        fmt = pixel_format(dataset)
        big_endian_bytes = not element.little_endian and element.vr == "OW" and fmt.bits_allocated <= 8
        if fmt.bits_allocated % 8 or big_endian_bytes or fmt.photometric_interpretation == "YBR_FULL_422":
            return None
    encoder = FrameEncoder(dataset, source_syntax, target_syntax)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the chunks, or below
    try:
        lengths = []
        for frame in encoder.encode_frames():
            padded = len(frame) + len(frame) % 2
            spool.write(_ITEM.pack(0xFFFE, 0xE000, padded))
            spool.write(frame)
            if padded != len(frame):
                spool.write(b"\x00")
            lengths.append(len(frame))
        table = encoder.offset_table("basic", lengths)
        header = encoder.header(lengths, table)
        header.add(element)  # the source's, replaced by the value produced here
        offsets = b""
        if table == "basic":
            position, entries = 0, []
            for length in lengths:
                entries.append(position)
                position += _ITEM.size + length + length % 2
            offsets = struct.pack(f"<{len(entries)}L", *entries)
        head = _ITEM.pack(0xFFFE, 0xE000, len(offsets)) + offsets
        tail = _ITEM.pack(0xFFFE, 0xE0DD, 0)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    length = len(head) + size + len(tail)
    return header, ProducedValue("OB", length, True, spooled(spool, head=head, tail=tail), spool)


def spooled(spool: IO[bytes], *, head: bytes = b"", tail: bytes = b"") -> Iterator[bytes]:
    """``head``, what ``spool`` holds from its position on (in chunks), then ``tail``;
    the file is closed at the end."""
    with spool:
        if head:
            yield head
        while chunk := spool.read(_CHUNK):
            yield chunk
        if tail:
            yield tail
