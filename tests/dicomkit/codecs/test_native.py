"""Native pixel data: planar configuration, byte order, packed 1-bit frames."""

from __future__ import annotations

import numpy as np
import pytest

from dicomkit.codecs import PixelFormat, get_codec
from dicomkit.codecs.native import native_frame
from dicomkit.errors import CodecError

LITTLE = get_codec("1.2.840.10008.1.2.1")
BIG = get_codec("1.2.840.10008.1.2.2")


def test_planar_configuration_1_stores_whole_colour_planes() -> None:
    fmt = PixelFormat(1, 2, 3, 8, 8, 0, 1, "RGB")
    array = np.array([[[1, 2, 3], [4, 5, 6]]], dtype=np.uint8)
    assert LITTLE.encode_frame(array, fmt) == bytes([1, 4, 2, 5, 3, 6])
    np.testing.assert_array_equal(LITTLE.decode_frame(bytes([1, 4, 2, 5, 3, 6]), fmt), array)
    interleaved = PixelFormat(1, 2, 3, 8, 8, 0, 0, "RGB")
    assert LITTLE.encode_frame(array, interleaved) == bytes([1, 2, 3, 4, 5, 6])


def test_big_endian_swaps_multi_byte_samples() -> None:
    fmt = PixelFormat(1, 2, 1, 16, 16, 1, 0, "MONOCHROME2")
    array = np.array([[0x0102, -2]], dtype=np.int16)
    assert BIG.encode_frame(array, fmt) == b"\x01\x02\xff\xfe"
    assert LITTLE.encode_frame(array, fmt) == b"\x02\x01\xfe\xff"
    np.testing.assert_array_equal(BIG.decode_frame(b"\x01\x02\xff\xfe", fmt), array)


def test_one_bit_frames_are_packed_least_significant_bit_first_and_unaligned() -> None:
    fmt = PixelFormat(1, 3, 1, 1, 1, 0, 0, "MONOCHROME2", number_of_frames=3)
    frames = [np.array([[1, 0, 1]]), np.array([[1, 1, 0]]), np.array([[0, 0, 1]])]
    bits = np.concatenate([f.reshape(-1) for f in frames]).astype(np.uint8)
    value = np.packbits(bits, bitorder="little").tobytes()  # 9 bits over 2 bytes
    assert LITTLE.encode_frame(frames[0].astype(np.uint8), fmt) == b"\x05"
    for index, frame in enumerate(frames):
        decoded = LITTLE.decode_frame(native_frame(value, fmt, index), fmt)
        np.testing.assert_array_equal(decoded, frame)


def test_wrong_frame_length_is_rejected() -> None:
    fmt = PixelFormat(2, 2, 1, 16, 16, 0, 0, "MONOCHROME2")
    with pytest.raises(CodecError, match="expected 8") as info:
        LITTLE.decode_frame(b"\x00" * 7, fmt, frame=2)
    assert info.value.frame == 2
    with pytest.raises(CodecError, match="ends before frame 1"):
        native_frame(b"\x00" * 12, PixelFormat(2, 2, 1, 16, 16, 0, 0, "MONOCHROME2", number_of_frames=2), 1)
