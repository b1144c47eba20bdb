"""JPEG XL: what it can and cannot encode, round trips."""

from __future__ import annotations

import numpy as np
import pytest

from dicomkit.codecs import PixelFormat, get_codec
from dicomkit.errors import CodecError

LOSSLESS = get_codec("1.2.840.10008.1.2.4.110")
RECOMPRESSION = get_codec("1.2.840.10008.1.2.4.111")
LOSSY = get_codec("1.2.840.10008.1.2.4.112")


def test_signed_data_and_jpeg_recompression_are_not_encoded() -> None:
    signed = PixelFormat(4, 4, 1, 16, 16, 1, 0, "MONOCHROME2")
    assert not LOSSLESS.can_encode(signed)
    with pytest.raises(CodecError, match="cannot encode"):
        LOSSLESS.encode_frame(np.zeros((4, 4), np.int16), signed)
    assert not RECOMPRESSION.can_encode(PixelFormat(4, 4, 1, 8, 8, 0, 0, "MONOCHROME2"))


def test_recompression_syntax_decodes_jpeg_xl_streams() -> None:
    fmt = PixelFormat(9, 7, 3, 8, 8, 0, 0, "RGB")
    array = np.random.default_rng(0).integers(0, 255, fmt.shape, dtype=np.uint8)
    encoded = LOSSLESS.encode_frame(array, fmt)
    np.testing.assert_array_equal(RECOMPRESSION.decode_frame(encoded, fmt), array)


def test_twelve_bit_lossless_round_trip() -> None:
    fmt = PixelFormat(31, 29, 1, 16, 12, 0, 0, "MONOCHROME2")
    array = np.random.default_rng(1).integers(0, 4095, fmt.shape, endpoint=True).astype(np.uint16)
    np.testing.assert_array_equal(LOSSLESS.decode_frame(LOSSLESS.encode_frame(array, fmt), fmt), array)


def test_distance_option_is_validated() -> None:
    fmt = PixelFormat(4, 4, 1, 8, 8, 0, 0, "MONOCHROME2")
    with pytest.raises(CodecError, match="distance"):
        LOSSY.encode_frame(np.zeros((4, 4), np.uint8), fmt, distance=0)
    assert len(LOSSY.encode_frame(np.zeros((4, 4), np.uint8), fmt, distance=3.0, effort=3)) > 0
