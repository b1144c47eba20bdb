"""The header of a C-STORE data set is read from its first fragments, whatever their sizes,
and only when it really is all in; anything unusual is left to the commit's whole read."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.archive.services.header_ahead import MAX_HEAD, DatasetHead, HeaderReader
from dicomkit.data import uids
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_dataset
from tests.builders import encode_ct, make_ct

PIXEL_DATA = 0x7FE00010
_MARKER = b"\xe0\x7f\x10\x00"


def _feed_all(reader: HeaderReader, data: bytes, sizes: list[int]) -> list[tuple[int, int, DatasetHead]]:
    """Feed ``data`` in pieces of the given sizes (cycled); the (bytes fed before, bytes fed
    after, result) of each piece that returned something."""
    found = []
    view = memoryview(data)
    position = 0
    index = 0
    while position < len(data):
        size = sizes[index % len(sizes)]
        index += 1
        head = reader.feed(view[position : position + size])
        if head is not None:
            found.append((position, min(position + size, len(data)), head))
        position += size
    return found


def _header_end(data: bytes, ts: str) -> int:
    """Where Pixel Data's element header ends (explicit VR OW: 12 bytes, implicit: 8)."""
    start = data.index(_MARKER if ts != uids.ExplicitVRBigEndian else b"\x7f\xe0\x00\x10")
    return start + (8 if ts == uids.ImplicitVRLittleEndian else 12)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=6),
    ts=st.sampled_from([uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian, uids.ExplicitVRBigEndian]),
)
def test_the_header_comes_once_with_the_piece_that_completes_pixel_datas_element_header(
    sizes: list[int], ts: str
) -> None:
    dataset = make_ct()
    data = encode_ct(dataset, ts)
    reader = HeaderReader(ts)
    found = _feed_all(reader, data, sizes)

    assert len(found) == 1
    before, after, head = found[0]
    assert before < _header_end(data, ts) <= after  # the very piece that completed it
    assert head.end == data.index(_MARKER if ts != uids.ExplicitVRBigEndian else b"\x7f\xe0\x00\x10")
    assert head.dataset == read_dataset(data, ts, ReadOptions(stop_before=PIXEL_DATA))
    assert reader.done


def test_pixel_datas_tag_inside_a_value_is_not_taken_for_the_end_of_the_header() -> None:
    dataset = make_ct()
    # Overlay Data (6000,3000) comes before Pixel Data and holds Pixel Data's tag bytes.
    dataset.set(0x60003000, _MARKER * 40 + b"\x00" * 8, "OB")
    data = encode_ct(dataset)
    for size in (7, 100, 4096, len(data)):
        found = _feed_all(HeaderReader(uids.ExplicitVRLittleEndian), data, [size])
        assert len(found) == 1
        head = found[0][2]
        assert 0x60003000 in head.dataset and PIXEL_DATA not in head.dataset
        assert data[head.end : head.end + 4] == _MARKER


def test_a_data_set_without_pixel_data_gives_no_header() -> None:
    data = encode_ct(make_ct(PixelData=None))
    reader = HeaderReader(uids.ExplicitVRLittleEndian)
    assert _feed_all(reader, data, [64]) == []


def test_a_deflated_data_set_is_left_to_the_commit() -> None:
    assert HeaderReader(uids.DeflatedExplicitVRLittleEndian).done


def test_a_data_set_encoded_otherwise_than_negotiated_is_left_to_the_commit() -> None:
    data = encode_ct(make_ct(), uids.ExplicitVRLittleEndian)
    reader = HeaderReader(uids.ImplicitVRLittleEndian)
    assert _feed_all(reader, data, [1000]) == []
    assert reader.done


def test_a_header_larger_than_the_bound_is_left_to_the_commit() -> None:
    dataset = make_ct()
    dataset.set(0x60003000, b"\x01" * MAX_HEAD, "OB")
    reader = HeaderReader(uids.ExplicitVRLittleEndian)
    assert _feed_all(reader, encode_ct(dataset), [65536]) == []
    assert reader.done


def test_a_value_running_past_the_data_set_never_gives_a_header() -> None:
    dataset = make_ct()
    data = encode_ct(dataset)
    at = data.index(_MARKER)
    # An Overlay Data element whose length claims a gigabyte, just before Pixel Data.
    broken = data[:at] + b"\x00\x60\x00\x30OB\x00\x00" + (10**9).to_bytes(4, "little") + data[at:]
    reader = HeaderReader(uids.ExplicitVRLittleEndian)
    assert _feed_all(reader, broken, [4096]) == []


def test_the_header_does_not_share_the_fragments_buffer() -> None:
    buffer = bytearray(encode_ct(make_ct()))
    head = HeaderReader(uids.ExplicitVRLittleEndian).feed(memoryview(buffer))
    buffer[:] = bytes(len(buffer))  # the network layer reuses its buffers
    assert head is not None
    assert head.dataset.get_str("PatientName") == "Doe^John"


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=5000),
    ts=st.sampled_from([uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian, uids.ExplicitVRBigEndian]),
)
def test_a_native_pixel_data_value_ends_where_the_data_set_ends(size: int, ts: str) -> None:
    data = encode_ct(make_ct(), ts)
    [(_, _, head)] = _feed_all(HeaderReader(ts), data, [size])
    assert head.native_value_end(ts) == len(data)


def test_encapsulated_pixel_data_has_no_native_value_end() -> None:
    head = DatasetHead(make_ct(), 100, b"\xe0\x7f\x10\x00OB\0\0\xff\xff\xff\xff")
    assert head.native_value_end(uids.JPEGBaseline8Bit) is None


def test_an_unusual_pixel_data_header_has_no_native_value_end() -> None:
    odd = DatasetHead(make_ct(), 100, b"\xe0\x7f\x10\x00OW\0\0\x03\x00\x00\x00")
    other_vr = DatasetHead(make_ct(), 100, b"\xe0\x7f\x10\x00UN\0\0\x04\x00\x00\x00")
    reserved = DatasetHead(make_ct(), 100, b"\xe0\x7f\x10\x00OW\x01\0\x04\x00\x00\x00")
    unread = DatasetHead(make_ct(), 100)
    for head in (odd, other_vr, reserved, unread):
        assert head.native_value_end(uids.ExplicitVRLittleEndian) is None
    assert (
        DatasetHead(make_ct(), 100, b"\xe0\x7f\x10\x00OW\0\0\x04\x00\x00\x00").native_value_end(
            uids.ExplicitVRLittleEndian
        )
        == 116
    )
