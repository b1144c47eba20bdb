"""Encapsulated pixel data (PS3.5 A.4): items, offset tables, frame location, bad input."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.encaps import encapsulate as pydicom_encapsulate
from pydicom.encaps import encapsulate_extended as pydicom_encapsulate_extended
from pydicom.encaps import generate_frames

from dicomkit.codecs.encapsulation import (
    ReadAt,
    encapsulate,
    encapsulate_extended,
    frame_fragments,
    get_frame,
    get_frame_from,
    index_fragments,
    iter_frames_from,
    pack_extended_offsets,
    parse_fragments,
    unpack_extended_offsets,
)
from dicomkit.errors import CodecError, DecodeError, EncodeError, LengthError, TruncatedError

ITEM = b"\xfe\xff\x00\xe0"
DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"


def item(value: bytes) -> bytes:
    return ITEM + struct.pack("<L", len(value)) + value


encoded_frames = st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=6)


@settings(max_examples=100, deadline=None)
@given(encoded_frames, st.booleans(), st.sampled_from([None, 2, 4, 10]))
def test_encapsulate_then_locate_returns_every_frame(
    frames: list[bytes], bot: bool, size: int | None
) -> None:
    value = encapsulate(frames, with_offset_table=bot, fragment_size=size)
    padded = [f + b"\x00" * (len(f) % 2) for f in frames]
    if bot or size is None:  # without a table, several fragments per frame need markers
        assert frame_fragments(value, len(frames)) == padded
        assert [get_frame(value, i, len(frames)) for i in range(len(frames))] == padded
    # with or without the delimiter the writer appends; one frame takes every fragment
    assert frame_fragments(value + DELIMITER, 1) == [b"".join(padded)] or len(frames) > 1
    if len(frames) == 1:
        assert frame_fragments(value + DELIMITER, 1) == padded


@settings(max_examples=50, deadline=None)
@given(encoded_frames, st.booleans())
def test_encapsulate_is_byte_identical_to_pydicom(frames: list[bytes], bot: bool) -> None:
    assert encapsulate(frames, with_offset_table=bot) == pydicom_encapsulate(frames, has_bot=bot)


@settings(max_examples=50, deadline=None)
@given(encoded_frames)
def test_extended_offset_table_matches_pydicom_and_locates_frames(frames: list[bytes]) -> None:
    value, offsets, lengths = encapsulate_extended(frames)
    theirs = pydicom_encapsulate_extended(frames)
    assert (value, pack_extended_offsets(offsets), pack_extended_offsets(lengths)) == theirs
    padded = [f + b"\x00" * (len(f) % 2) for f in frames]
    assert frame_fragments(value, len(frames), extended_offsets=offsets, extended_lengths=lengths) == padded
    for index in range(len(frames)):
        assert (
            get_frame(value, index, len(frames), extended_offsets=theirs[1], extended_lengths=theirs[2])
            == padded[index]
        )


def _counting_reader(value: bytes) -> tuple[list[int], ReadAt]:
    """A read function over ``value`` and the list it appends each read's length to."""
    reads: list[int] = []

    def read(offset: int, length: int) -> bytes:
        reads.append(length)
        return value[offset : offset + length]

    return reads, read


@settings(max_examples=100, deadline=None)
@given(encoded_frames, st.sampled_from(["basic", "none", "extended"]), st.sampled_from([None, 2, 4]))
def test_iterating_the_frames_gives_what_get_frame_gives_one_by_one(
    frames: list[bytes], table: str, size: int | None
) -> None:
    offsets = lengths = None
    if table == "extended":
        value, offsets, lengths = encapsulate_extended(frames)
    else:
        value = encapsulate(frames, with_offset_table=table == "basic", fragment_size=size)
    count = len(frames)
    _, read = _counting_reader(value)
    try:
        expected = [
            get_frame(value, i, count, extended_offsets=offsets, extended_lengths=lengths)
            for i in range(count)
        ]
    except CodecError:  # several fragments per frame without a table or markers
        with pytest.raises(CodecError):
            list(
                iter_frames_from(read, len(value), count, extended_offsets=offsets, extended_lengths=lengths)
            )
        return
    assert list(
        iter_frames_from(read, len(value), count, extended_offsets=offsets, extended_lengths=lengths)
    ) == (expected)


def test_iterating_frames_without_a_table_reads_each_item_header_once() -> None:
    count = 2000
    value = encapsulate([b"%06d" % n for n in range(count)], with_offset_table=False) + DELIMITER
    reads, read = _counting_reader(value)
    frames = list(iter_frames_from(read, len(value), count))
    assert frames == [b"%06d" % n for n in range(count)]
    # one header read per item (and the delimiter) plus one value read per frame;
    # get_frame_from per frame would read about count**2 / 2 headers
    assert len(reads) <= 2 * count + 2
    reads.clear()
    get_frame_from(read, len(value), count - 1, count)
    assert len(reads) > count  # what each frame would cost without the iterator


def test_iterating_a_value_with_a_damaged_item_gives_the_frames_before_it() -> None:
    value = bytearray(encapsulate([b"first!", b"second", b"third!"]))
    value[-14:-10] = b"\x00" * 4  # the last item's tag
    _, read = _counting_reader(bytes(value))
    frames = iter_frames_from(read, len(value), 3)
    assert next(frames) == b"first!"
    assert next(frames) == b"second"
    with pytest.raises(CodecError) as info:
        next(frames)
    assert info.value.frame == 2


def test_iterating_a_value_that_shrank_names_the_frame_it_stops_at() -> None:
    value = encapsulate([b"first!", b"second", b"third!"], with_offset_table=False)
    whole = len(value)

    def read(offset: int, length: int) -> bytes:
        data = value[offset : offset + length]
        if offset > 30 and len(data) == length and length == 6:  # the file shrank after the walk
            raise TruncatedError("the file ends in the pixel data", offset=offset)
        return data

    frames = iter_frames_from(read, whole, 3)
    assert next(frames) == b"first!"
    with pytest.raises(CodecError) as info:
        list(frames)
    assert info.value.frame in (1, 2)


def test_basic_offset_table_groups_several_fragments_per_frame() -> None:
    value = encapsulate([b"aaaaaa", b"bbbb", b"cc"], fragment_size=2)
    basic, fragments = parse_fragments(value)
    assert basic == [0, 30, 50]
    assert [bytes(f) for f in fragments] == [b"aa"] * 3 + [b"bb"] * 2 + [b"cc"]
    assert frame_fragments(value, 3) == [b"aaaaaa", b"bbbb", b"cc"]
    assert get_frame(value, 1, 3) == b"bbbb"


def test_get_frame_with_a_table_reads_only_its_own_items() -> None:
    value = bytearray(encapsulate([b"first!", b"second", b"third!"]))
    value[-14:-10] = b"\x00" * 4  # corrupt the last item's tag: other frames stay readable
    assert get_frame(bytes(value), 0, 3) == b"first!"
    assert get_frame(bytes(value), 1, 3) == b"second"
    with pytest.raises(CodecError) as info:
        get_frame(bytes(value), 2, 3)
    assert info.value.frame == 2


def test_without_a_table_codestream_markers_split_fragments_into_frames() -> None:
    jpeg_1 = [b"\xff\xd8\x01\x02", b"\x03\xff\xd9"]
    jpeg_2 = [b"\xff\xd8\x04\x05", b"\x06\x07", b"\xff\xd9"]
    j2k = [b"\xff\x4f\xff\x51\x00\x00", b"\xff\xd9"]
    value = item(b"") + b"".join(item(f) for f in [*jpeg_1, *jpeg_2, *j2k])
    assert frame_fragments(value, 3) == [b"".join(jpeg_1), b"".join(jpeg_2), b"".join(j2k)]
    assert get_frame(value, 1, 3) == b"".join(jpeg_2)


def test_single_frame_takes_every_fragment() -> None:
    value = item(b"") + item(b"ab") + item(b"cd") + DELIMITER
    assert frame_fragments(value, 1) == [b"abcd"]


def test_unusable_basic_offset_table_falls_back_to_scanning() -> None:
    value = item(struct.pack("<2L", 0, 3)) + item(b"ab") + item(b"cd")  # 3 is inside an item
    assert frame_fragments(value, 2) == [b"ab", b"cd"]


def test_frames_that_cannot_be_told_apart_raise_codec_error() -> None:
    value = item(b"") + item(b"ab") + item(b"cd") + item(b"ef")
    with pytest.raises(CodecError, match="cannot tell the frames apart"):
        frame_fragments(value, 2)
    with pytest.raises(CodecError, match="cannot hold 5 frames"):
        frame_fragments(value, 5)


@pytest.mark.parametrize(
    "value,error,offset",
    [
        (b"\xfe\xff\x00", TruncatedError, 0),
        (item(b"") + ITEM + struct.pack("<L", 100) + b"xx", TruncatedError, 8),
        (item(b"") + b"\xe0\x7f\x10\x00" + struct.pack("<L", 0), DecodeError, 8),
        (item(b"") + ITEM + b"\xff\xff\xff\xff", DecodeError, 8),
        (item(b"abc"), LengthError, 0),
        (item(b"") + DELIMITER + item(b"ab"), DecodeError, 16),
        (b"", TruncatedError, 0),
    ],
)
def test_malformed_items_raise_typed_errors_with_offsets(
    value: bytes, error: type[DecodeError], offset: int
) -> None:
    with pytest.raises(error) as info:
        index_fragments(value)
    assert info.value.offset == offset
    assert info.value.tag == 0x7FE00010
    with pytest.raises(CodecError) as frame_info:
        get_frame(value, 0, 1)
    assert frame_info.value.frame == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(1, 4))
def test_random_bytes_only_ever_raise_dicomkit_errors(value: bytes, frames: int) -> None:
    for candidate in (value, item(b"") + value):
        try:
            result = frame_fragments(candidate, frames)
        except CodecError:
            continue
        assert len(result) == frames


def test_extended_offset_that_is_not_an_item_start_is_rejected() -> None:
    value, _, lengths = encapsulate_extended([b"ab", b"cd"])
    with pytest.raises(CodecError, match="not the start of an item") as info:
        frame_fragments(value, 2, extended_offsets=[0, 3], extended_lengths=lengths)
    assert info.value.frame == 1
    with pytest.raises(CodecError) as info:
        get_frame(value, 1, 2, extended_offsets=[0, 300], extended_lengths=lengths)
    assert info.value.frame == 1


def test_extended_tables_round_trip_through_ov_bytes() -> None:
    assert unpack_extended_offsets(pack_extended_offsets([0, 2**40])) == [0, 2**40]
    with pytest.raises(LengthError):
        unpack_extended_offsets(b"\x00" * 9)


def test_bad_fragment_size_is_an_encode_error() -> None:
    with pytest.raises(EncodeError):
        encapsulate([b"ab"], fragment_size=3)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in TEST_FILES.glob("*.dcm") if p.stat().st_size < 5_000_000),
    ids=lambda p: p.name,
)
def test_frames_match_pydicom_on_its_encapsulated_corpus(path: Path) -> None:
    try:
        ds = pydicom.dcmread(path)
        syntax = ds.file_meta.TransferSyntaxUID
        value = ds.PixelData
    except Exception:
        pytest.skip("pydicom cannot read this file's pixel data")
    if not syntax.is_encapsulated:
        pytest.skip("native pixel data")
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    try:
        expected = list(generate_frames(value, number_of_frames=frames))
    except Exception:
        pytest.skip("pydicom cannot split this file's frames")
    assert frame_fragments(value, frames) == expected
    assert [get_frame(value, i, frames) for i in range(frames)] == expected
    _, read = _counting_reader(value)
    assert list(iter_frames_from(read, len(value), frames)) == expected
