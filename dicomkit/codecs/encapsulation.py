"""Encapsulated pixel data: items, offset tables and frames (PS3.5 §A.4).

The value of an encapsulated Pixel Data element (undefined length) is a run of
items, little endian whatever the transfer syntax::

    (FFFE,E000) len  Basic Offset Table: UL offsets, one per frame, or empty
    (FFFE,E000) len  fragment 1
    (FFFE,E000) len  fragment 2 ...
    (FFFE,E0DD) 0    Sequence Delimitation Item

Offsets (basic and extended) count from the first byte of the first item
*after* the Basic Offset Table. The Extended Offset Table ((7FE0,0001) OV with
lengths in (7FE0,0002) OV, PS3.3 C.7.6.3.1.8) replaces the basic one for large
data; when it is present the basic table is empty and every frame lies in one
fragment.

Frames are located in this order of preference: Extended Offset Table, Basic
Offset Table, then scanning the fragments: one fragment per frame when the
counts match, all fragments when there is one frame, otherwise codestream
markers (PS3.5 §8.2: each frame is one JPEG / JPEG-LS / JPEG 2000 / JPEG XL
codestream, so a fragment that starts with a start-of-codestream marker starts a
frame).

Functions here accept the value with or without the trailing Sequence
Delimitation Item; ``encapsulate`` returns it without (the writer adds the
delimiter that closes the element). :func:`get_frame_from` takes a value left in
its file as a read function instead of a buffer, and reads the item headers and
the frame's own fragments only. :func:`iter_frames_from` gives every frame in
order, walking the item headers once: ``get_frame_from`` for each frame of a
value without offset tables would walk them once per frame.

Security bounds: every item length is checked against the bytes left before
anything is sliced; walking the items reads 8 bytes per item and is bounded by
the value length; fragments are returned as zero-copy ``memoryview`` slices.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from dicomkit.errors import CodecError, DecodeError, EncodeError, LengthError, TruncatedError

__all__ = [
    "FragmentIndex",
    "encapsulate",
    "encapsulate_extended",
    "frame_fragments",
    "get_frame",
    "get_frame_from",
    "index_fragments",
    "iter_frames_from",
    "pack_extended_offsets",
    "parse_fragments",
    "unpack_extended_offsets",
]

PIXEL_DATA_TAG = 0x7FE00010
_ITEM = b"\xfe\xff\x00\xe0"
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0"
_ITEM_HEADER = struct.Struct("<4sL")
_UNDEFINED_LENGTH = 0xFFFFFFFF
_MAX_BASIC_OFFSET = 0xFFFFFFFF

# Codestream signatures that open a frame (PS3.5 §8.2 and ISO/IEC 18181-2).
_FRAME_STARTS = (
    b"\xff\xd8",  # JPEG / JPEG-LS SOI
    b"\xff\x4f\xff\x51",  # JPEG 2000 / HTJ2K SOC + SIZ
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # JP2 box (not allowed by DICOM, but seen)
    b"\xff\x0a",  # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL \r\n\x87\n",  # JPEG XL container
)

ExtendedTable = Sequence[int] | bytes | bytearray | memoryview
Buffer = bytes | bytearray | memoryview
#: ``read(offset, length)``: exactly ``length`` bytes of the value from ``offset`` (or raises).
ReadAt = Callable[[int, int], Buffer]


def _reader(value: Buffer) -> tuple[ReadAt, int]:
    view = memoryview(value).cast("B")
    return (lambda offset, length: view[offset : offset + length]), len(view)


@dataclass(frozen=True, slots=True)
class FragmentIndex:
    """Where the items of an encapsulated value are, without copying them.

    Attributes:
        basic_offsets: the Basic Offset Table entries (empty when it is).
        first_item: offset of the first item after the Basic Offset Table.
        items: ``(item_offset, value_offset, value_length)`` of each fragment,
            offsets measured from the start of the value.
    """

    basic_offsets: tuple[int, ...]
    first_item: int
    items: tuple[tuple[int, int, int], ...]


def index_fragments(value: Buffer) -> FragmentIndex:
    """Walk the item headers of an encapsulated value.

    Raises:
        TruncatedError: an item header or value runs past the end.
        DecodeError: a tag other than Item / Sequence Delimitation Item, an
            undefined item length, or data after the delimiter.
        LengthError: a Basic Offset Table whose length is not a multiple of 4.
    """
    return _index(*_reader(value))


def _index(read: ReadAt, size: int) -> FragmentIndex:
    """:func:`index_fragments` of a value of ``size`` bytes read through ``read``."""
    position = 0
    items: list[tuple[int, int, int]] = []
    basic: tuple[int, ...] | None = None
    first_item = 0
    while position < size:
        if size - position < _ITEM_HEADER.size:
            raise TruncatedError(
                "encapsulated pixel data ends inside an item header", offset=position, tag=PIXEL_DATA_TAG
            )
        tag, length = _ITEM_HEADER.unpack(read(position, _ITEM_HEADER.size))
        if tag == _SEQUENCE_DELIMITER:
            if length != 0:
                raise LengthError(
                    f"sequence delimitation item has length {length}", offset=position, tag=PIXEL_DATA_TAG
                )
            if position + _ITEM_HEADER.size != size:
                raise DecodeError(
                    "data after the sequence delimitation item", offset=position + 8, tag=PIXEL_DATA_TAG
                )
            break
        if tag != _ITEM:
            raise DecodeError(
                f"expected an item tag (FFFE,E000), found {tag.hex()}", offset=position, tag=PIXEL_DATA_TAG
            )
        if length == _UNDEFINED_LENGTH:
            raise DecodeError(
                "encapsulated pixel data item has undefined length", offset=position, tag=PIXEL_DATA_TAG
            )
        start = position + _ITEM_HEADER.size
        if length > size - start:
            raise TruncatedError(
                f"item of {length} bytes runs past the end ({size - start} left)",
                offset=position,
                tag=PIXEL_DATA_TAG,
            )
        if basic is None:
            if length % 4:
                raise LengthError(
                    f"basic offset table length {length} is not a multiple of 4",
                    offset=position,
                    tag=PIXEL_DATA_TAG,
                )
            basic = struct.unpack(f"<{length // 4}L", read(start, length)) if length else ()
            first_item = start + length
        else:
            items.append((position, start, length))
        position = start + length
    if basic is None:
        raise TruncatedError(
            "encapsulated pixel data has no basic offset table item", offset=0, tag=PIXEL_DATA_TAG
        )
    return FragmentIndex(basic_offsets=basic, first_item=first_item, items=tuple(items))


def parse_fragments(value: Buffer) -> tuple[list[int], list[memoryview]]:
    """Split an encapsulated value into its Basic Offset Table and fragments (zero-copy)."""
    index = index_fragments(value)
    view = memoryview(value).cast("B")
    fragments = [view[start : start + length] for _, start, length in index.items]
    return list(index.basic_offsets), fragments


def frame_fragments(
    value: Buffer,
    number_of_frames: int,
    *,
    extended_offsets: ExtendedTable | None = None,
    extended_lengths: ExtendedTable | None = None,
) -> list[bytes]:
    """Return the encoded bytes of every frame.

    Raises:
        CodecError: with the frame concerned, when the items are malformed or
            frame boundaries cannot be determined.
    """
    read, size = _reader(value)
    index = _index_for_frames(read, size, number_of_frames)
    groups = _frame_groups(read, index, number_of_frames, extended_offsets, extended_lengths)
    return [_join(read, index, group, frame) for frame, group in enumerate(groups)]


def get_frame(
    value: Buffer,
    frame: int,
    number_of_frames: int,
    *,
    extended_offsets: ExtendedTable | None = None,
    extended_lengths: ExtendedTable | None = None,
) -> bytes:
    """Return the encoded bytes of one frame, copying no other frame's data.

    Only item headers (and, without offset tables, the first bytes of each
    fragment) are read to locate the frame.
    """
    read, size = _reader(value)
    return get_frame_from(
        read,
        size,
        frame,
        number_of_frames,
        extended_offsets=extended_offsets,
        extended_lengths=extended_lengths,
    )


def get_frame_from(
    read: ReadAt,
    size: int,
    frame: int,
    number_of_frames: int,
    *,
    extended_offsets: ExtendedTable | None = None,
    extended_lengths: ExtendedTable | None = None,
) -> bytes:
    """:func:`get_frame` of a value of ``size`` bytes that ``read`` reads (left in its file).

    Reads the item headers, the frame's own fragments and, without offset tables, the
    first bytes of each fragment: never the other frames.

    Raises:
        CodecError: as :func:`get_frame`, also when ``read`` fails (a file that shrank).
    """
    if not 0 <= frame < number_of_frames:
        raise CodecError(f"frame index outside 0..{number_of_frames - 1}", frame=frame)
    try:
        if extended_offsets is not None:
            return _extended_frame(read, size, frame, number_of_frames, extended_offsets, extended_lengths)
        direct = _basic_frame(read, size, frame, number_of_frames)
        if direct is not None:
            return direct
    except DecodeError as exc:  # a read that failed (TruncatedError: the file shrank)
        raise CodecError(f"encapsulated pixel data cannot be read: {exc}", frame=frame) from exc
    index = _index_for_frames(read, size, number_of_frames, frame=frame)
    try:
        groups = _frame_groups(read, index, number_of_frames, None, None)
        return _join(read, index, groups[frame], frame)
    except DecodeError as exc:
        raise CodecError(f"encapsulated pixel data cannot be read: {exc}", frame=frame) from exc


def iter_frames_from(
    read: ReadAt,
    size: int,
    number_of_frames: int,
    *,
    extended_offsets: ExtendedTable | None = None,
    extended_lengths: ExtendedTable | None = None,
) -> Iterator[bytes]:
    """Every frame's encoded bytes in order, of a value of ``size`` bytes that ``read`` reads:
    the frames :func:`get_frame_from` returns one by one, with the item headers walked once.

    A value whose items cannot all be walked (a malformed item, say) is read frame by
    frame with :func:`get_frame_from` instead, so the frames before the damage are
    still given and the error names the frame it stops at.

    Raises:
        CodecError: naming the frame, as :func:`get_frame_from`.
    """
    if number_of_frames < 1:
        raise CodecError(f"number of frames {number_of_frames} below 1", frame=0)
    try:
        index = _index(read, size)
        groups = _frame_groups(read, index, number_of_frames, extended_offsets, extended_lengths)
    except (DecodeError, CodecError):
        for frame in range(number_of_frames):
            yield get_frame_from(
                read,
                size,
                frame,
                number_of_frames,
                extended_offsets=extended_offsets,
                extended_lengths=extended_lengths,
            )
        return
    for frame, group in enumerate(groups):
        try:
            data = _join(read, index, group, frame)
        except DecodeError as exc:  # a read that failed (TruncatedError: the file shrank)
            raise CodecError(f"encapsulated pixel data cannot be read: {exc}", frame=frame) from exc
        yield data


def encapsulate(
    frames: Sequence[bytes], *, with_offset_table: bool = True, fragment_size: int | None = None
) -> bytes:
    """Encapsulate encoded frames into a Pixel Data value (without the delimiter).

    Each frame starts a new fragment; ``fragment_size`` (even, at least 2)
    splits larger frames over several. Odd-length fragments are padded with
    0x00 (PS3.5 §A.4: item values have even length).

    Raises:
        EncodeError: a bad fragment size, or offsets beyond the 32-bit Basic
            Offset Table (use ``encapsulate_extended``).
    """
    if fragment_size is not None and (fragment_size < 2 or fragment_size % 2):
        raise EncodeError(f"fragment size must be even and at least 2, got {fragment_size}")
    body = bytearray()
    offsets: list[int] = []
    for frame in frames:
        offsets.append(len(body))
        step = fragment_size or max(len(frame), 1)
        chunks = [frame[i : i + step] for i in range(0, len(frame), step)] or [b""]
        for chunk in chunks:
            padded = len(chunk) + (len(chunk) & 1)
            body += _ITEM_HEADER.pack(_ITEM, padded)
            body += chunk
            if padded != len(chunk):
                body += b"\x00"
    if with_offset_table and offsets and offsets[-1] > _MAX_BASIC_OFFSET:
        raise EncodeError("frame offsets exceed the 32-bit basic offset table; use encapsulate_extended")
    table = struct.pack(f"<{len(offsets)}L", *offsets) if with_offset_table else b""
    return _ITEM_HEADER.pack(_ITEM, len(table)) + table + bytes(body)


def encapsulate_extended(frames: Sequence[bytes]) -> tuple[bytes, list[int], list[int]]:
    """Encapsulate with an empty Basic Offset Table, one fragment per frame.

    Returns ``(value, offsets, lengths)`` for the Extended Offset Table
    (7FE0,0001) and its lengths (7FE0,0002); pack them with
    ``pack_extended_offsets``.
    """
    value = encapsulate(frames, with_offset_table=False)
    offsets: list[int] = []
    position = 0
    for frame in frames:
        offsets.append(position)
        position += _ITEM_HEADER.size + len(frame) + (len(frame) & 1)
    # Lengths are the (even, padded) item lengths, as pydicom and DCMTK write them.
    return value, offsets, [len(frame) + (len(frame) & 1) for frame in frames]


def pack_extended_offsets(values: Sequence[int]) -> bytes:
    """Encode Extended Offset Table (or Lengths) values as OV (64-bit little endian)."""
    return struct.pack(f"<{len(values)}Q", *values)


def unpack_extended_offsets(data: Buffer) -> list[int]:
    """Decode an OV Extended Offset Table (or Lengths) value."""
    if len(data) % 8:
        raise LengthError(f"extended offset table length {len(data)} is not a multiple of 8")
    return list(struct.unpack(f"<{len(data) // 8}Q", data))


# ----------------------------------------------------------------------- helpers


def _index_for_frames(
    read: ReadAt, size: int, number_of_frames: int, *, frame: int | None = None
) -> FragmentIndex:
    if number_of_frames < 1:
        raise CodecError(f"number of frames {number_of_frames} below 1", frame=frame)
    try:
        return _index(read, size)
    except DecodeError as exc:
        raise CodecError(f"malformed encapsulated pixel data: {exc}", frame=frame) from exc


def _frame_groups(
    read: ReadAt,
    index: FragmentIndex,
    number_of_frames: int,
    extended_offsets: ExtendedTable | None,
    extended_lengths: ExtendedTable | None,
) -> list[tuple[int, int, int | None]]:
    """Per frame: (first item, end item, byte length or None for the whole items)."""
    if extended_offsets is not None:
        return _extended_groups(index, number_of_frames, extended_offsets, extended_lengths)
    groups = _basic_groups(index, number_of_frames)
    if groups is not None:
        return groups
    return _scanned_groups(read, index, number_of_frames)


def _basic_groups(index: FragmentIndex, number_of_frames: int) -> list[tuple[int, int, int | None]] | None:
    """Frames from the Basic Offset Table, or None when it is empty or unusable."""
    offsets = index.basic_offsets
    if not offsets or len(offsets) != number_of_frames:
        return None
    item_at = {item_offset - index.first_item: n for n, (item_offset, _, _) in enumerate(index.items)}
    firsts = [item_at.get(offset) for offset in offsets]
    if any(first is None for first in firsts) or firsts[0] != 0:
        return None
    starts = [first for first in firsts if first is not None]
    if any(b <= a for a, b in itertools.pairwise(starts)):
        return None
    ends = [*starts[1:], len(index.items)]
    return [(start, end, None) for start, end in zip(starts, ends)]


def _scanned_groups(
    read: ReadAt, index: FragmentIndex, number_of_frames: int
) -> list[tuple[int, int, int | None]]:
    count = len(index.items)
    if count == number_of_frames:
        return [(n, n + 1, None) for n in range(count)]
    if count < number_of_frames:
        raise CodecError(f"{count} fragments cannot hold {number_of_frames} frames", frame=count)
    if number_of_frames == 1:
        return [(0, count, None)]
    starts = [
        n
        for n, (_, start, length) in enumerate(index.items)
        if bytes(read(start, min(length, 12))).startswith(_FRAME_STARTS)
    ]
    if len(starts) != number_of_frames or starts[0] != 0:
        raise CodecError(
            f"cannot tell the frames apart: {count} fragments, {number_of_frames} frames, "
            f"no offset table, {len(starts)} codestream starts",
            frame=min(len(starts), number_of_frames - 1),
        )
    ends = [*starts[1:], count]
    return [(start, end, None) for start, end in zip(starts, ends)]


def _extended_groups(
    index: FragmentIndex,
    number_of_frames: int,
    extended_offsets: ExtendedTable,
    extended_lengths: ExtendedTable | None,
) -> list[tuple[int, int, int | None]]:
    offsets = _table(extended_offsets)
    lengths = _table(extended_lengths) if extended_lengths is not None else None
    if len(offsets) != number_of_frames or (lengths is not None and len(lengths) != number_of_frames):
        raise CodecError(
            f"extended offset table has {len(offsets)} offsets"
            f"{'' if lengths is None else f' and {len(lengths)} lengths'} for {number_of_frames} frames"
        )
    item_at = {item_offset - index.first_item: n for n, (item_offset, _, _) in enumerate(index.items)}
    groups: list[tuple[int, int, int | None]] = []
    for frame, offset in enumerate(offsets):
        first = item_at.get(offset)
        if first is None:
            raise CodecError(f"extended offset {offset} is not the start of an item", frame=frame)
        groups.append((first, first + 1, None if lengths is None else lengths[frame]))
    return groups


def _extended_frame(
    read: ReadAt,
    size: int,
    frame: int,
    number_of_frames: int,
    extended_offsets: ExtendedTable,
    extended_lengths: ExtendedTable | None,
) -> bytes:
    """One frame straight from the Extended Offset Table: two item headers read."""
    offsets = _table(extended_offsets)
    lengths = _table(extended_lengths) if extended_lengths is not None else None
    if len(offsets) != number_of_frames or (lengths is not None and len(lengths) != number_of_frames):
        raise CodecError("extended offset table does not match the number of frames", frame=frame)
    try:
        if size < _ITEM_HEADER.size:
            raise TruncatedError("no basic offset table item", offset=0, tag=PIXEL_DATA_TAG)
        tag, bot_length = _ITEM_HEADER.unpack(read(0, _ITEM_HEADER.size))
        if tag != _ITEM or bot_length == _UNDEFINED_LENGTH:
            raise DecodeError("expected the basic offset table item", offset=0, tag=PIXEL_DATA_TAG)
        position = _ITEM_HEADER.size + bot_length + offsets[frame]
        if position + _ITEM_HEADER.size > size:
            raise TruncatedError("extended offset points past the end", offset=position, tag=PIXEL_DATA_TAG)
        tag, length = _ITEM_HEADER.unpack(read(position, _ITEM_HEADER.size))
        if tag != _ITEM or length == _UNDEFINED_LENGTH:
            raise DecodeError(
                "extended offset does not point at an item", offset=position, tag=PIXEL_DATA_TAG
            )
        start = position + _ITEM_HEADER.size
        if length > size - start:
            raise TruncatedError("fragment runs past the end", offset=position, tag=PIXEL_DATA_TAG)
    except DecodeError as exc:
        raise CodecError(f"malformed encapsulated pixel data: {exc}", frame=frame) from exc
    wanted = length if lengths is None else lengths[frame]
    if wanted > length:
        raise CodecError(f"extended length {wanted} exceeds its fragment ({length} bytes)", frame=frame)
    return bytes(read(start, wanted))


def _basic_frame(read: ReadAt, size: int, frame: int, number_of_frames: int) -> bytes | None:
    """One frame through the Basic Offset Table, reading only its own items.

    Returns None when the table is empty or does not fit the items it points
    to; the caller then indexes every item instead.
    """
    if size < _ITEM_HEADER.size:
        return None
    tag, table_length = _ITEM_HEADER.unpack(read(0, _ITEM_HEADER.size))
    first_item = _ITEM_HEADER.size + table_length
    if tag != _ITEM or table_length != 4 * number_of_frames or first_item > size:
        return None
    offsets = struct.unpack(f"<{number_of_frames}L", read(_ITEM_HEADER.size, table_length))
    if offsets[0] != 0 or any(b <= a for a, b in itertools.pairwise(offsets)):
        return None
    position = first_item + offsets[frame]
    end = first_item + offsets[frame + 1] if frame + 1 < number_of_frames else size
    parts: list[Buffer] = []
    while position < end:
        if size - position < _ITEM_HEADER.size:
            return None
        tag, length = _ITEM_HEADER.unpack(read(position, _ITEM_HEADER.size))
        if tag == _SEQUENCE_DELIMITER and frame + 1 == number_of_frames:
            break
        start = position + _ITEM_HEADER.size
        if tag != _ITEM or length == _UNDEFINED_LENGTH or length > end - start:
            return None
        parts.append(read(start, length))
        position = start + length
    if not parts:
        return None
    return b"".join(parts)


def _join(read: ReadAt, index: FragmentIndex, group: tuple[int, int, int | None], frame: int) -> bytes:
    first, end, length = group
    data = b"".join(read(start, size) for _, start, size in index.items[first:end])
    if length is not None:
        if length > len(data):
            raise CodecError(
                f"extended length {length} exceeds its fragment ({len(data)} bytes)", frame=frame
            )
        data = data[:length]
    return data


def _table(values: ExtendedTable) -> list[int]:
    if isinstance(values, bytes | bytearray | memoryview):
        try:
            return unpack_extended_offsets(values)
        except LengthError as exc:
            raise CodecError(str(exc)) from exc
    return [int(v) for v in values]
