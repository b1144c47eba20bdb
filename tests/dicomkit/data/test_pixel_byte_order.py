"""Byte order of native OW Pixel Data with 32/64 bits allocated: cells swap whole."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.pixel_byte_order import (
    cell_size,
    is_native_ow_pixel_data,
    little_endian_pixel_bytes,
    swap_pixel_cells,
)


def _with_bits(value: int | str | None, vr: str = "US") -> Dataset:
    ds = Dataset()
    if value is not None:
        ds.set(tags.BitsAllocated, value, vr)
    return ds


@pytest.mark.parametrize(("bits", "size"), [(None, 2), (1, 2), (8, 2), (16, 2), (24, 2), (32, 4), (64, 8)])
def test_cell_size_follows_bits_allocated_32_and_64_only(bits: int | None, size: int) -> None:
    assert cell_size(_with_bits(bits)) == size


def test_an_unreadable_bits_allocated_gives_ow_words() -> None:
    ds = Dataset()
    ds.add(Element(tags.BitsAllocated, "US", raw=b"\x20"))  # 1 byte: not a US value
    assert cell_size(ds) == 2
    assert cell_size(_with_bits("x", "LO")) == 2


@given(st.binary(max_size=40), st.sampled_from([2, 4, 8]))
def test_swapping_twice_gives_back_any_bytes(data: bytes, size: int) -> None:
    assert swap_pixel_cells(swap_pixel_cells(data, size), size) == data


def test_whole_cells_reverse_and_the_rest_swaps_in_words() -> None:
    assert swap_pixel_cells(bytes(range(1, 10)), 4) == bytes([4, 3, 2, 1, 8, 7, 6, 5, 9])
    assert swap_pixel_cells(bytes(range(1, 12)), 8) == bytes([8, 7, 6, 5, 4, 3, 2, 1, 10, 9, 11])


def test_only_native_ow_pixel_data_is_concerned() -> None:
    assert is_native_ow_pixel_data(Element(tags.PixelData, "OW", b"\x00\x00"))
    assert not is_native_ow_pixel_data(Element(tags.PixelData, "OB", b"\x00\x00"))
    assert not is_native_ow_pixel_data(Element(tags.PixelData, "OW", b"", undefined_length=True))
    assert not is_native_ow_pixel_data(Element(tags.FloatPixelData, "OF", b"\x00\x00\x00\x00"))


def test_little_endian_pixel_bytes_of_either_byte_order() -> None:
    ds = _with_bits(32)
    little = Element(tags.PixelData, "OW", raw=bytes(range(8)), little_endian=True)
    big = Element(tags.PixelData, "OW", raw=bytes([3, 2, 1, 0, 7, 6, 5, 4]), little_endian=False)
    assert little_endian_pixel_bytes(little, ds) == bytes(range(8))
    assert little_endian_pixel_bytes(big, ds) == bytes(range(8))


def test_merging_the_same_32_bit_pixels_in_the_other_byte_order_is_no_conflict() -> None:
    mine = _with_bits(32)
    mine.add(Element(tags.PixelData, "OW", raw=bytes(range(8)), little_endian=True))
    theirs = _with_bits(32)
    theirs.add(Element(tags.PixelData, "OW", raw=bytes([3, 2, 1, 0, 7, 6, 5, 4]), little_endian=False))
    mine.merge(theirs)  # MergePolicy.ERROR: raises on a real conflict
    assert mine == theirs
