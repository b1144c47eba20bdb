"""JPEG-LS: the NEAR bound, signed data, decoding by another decoder (libjpeg), truncation."""

from __future__ import annotations

import numpy as np
import pytest
from libjpeg.utils import decode as libjpeg_decode

from dicomkit.codecs import PixelFormat, get_codec
from dicomkit.codecs.bridge import jpeg_segments
from dicomkit.errors import CodecError

LOSSLESS = get_codec("1.2.840.10008.1.2.4.80")
NEAR = get_codec("1.2.840.10008.1.2.4.81")


@pytest.mark.parametrize("near", [1, 2, 5])
@pytest.mark.parametrize("signed", [False, True])
def test_near_lossless_keeps_every_sample_within_near(near: int, signed: bool) -> None:
    fmt = PixelFormat(33, 17, 1, 16, 12, int(signed), 0, "MONOCHROME2")
    low = -2048 if signed else 0
    array = np.random.default_rng(near).integers(low, low + 4095, fmt.shape, endpoint=True).astype(fmt.dtype)
    encoded = NEAR.encode_frame(array, fmt, near=near)
    scan = next(p for m, p in jpeg_segments(encoded) if m == 0xDA)
    assert scan[-3] == near  # NEAR parameter of the scan header (T.87 C.2.3)
    decoded = NEAR.decode_frame(encoded, fmt)
    assert np.abs(decoded.astype(int) - array.astype(int)).max() <= near


@pytest.mark.parametrize("spp", [1, 3])
@pytest.mark.parametrize("bits,signed", [(8, False), (16, False), (16, True), (12, True)])
def test_lossless_output_is_read_exactly_by_libjpeg(spp: int, bits: int, signed: bool) -> None:
    allocated = 8 if bits == 8 else 16
    fmt = PixelFormat(21, 13, spp, allocated, bits, int(signed), 0, "MONOCHROME2" if spp == 1 else "RGB")
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    array = np.random.default_rng(bits).integers(low, high, fmt.shape, endpoint=True).astype(fmt.dtype)
    encoded = LOSSLESS.encode_frame(array, fmt)
    # the stream holds the two's complement bit patterns of the container
    unsigned = array.view(array.dtype.str.replace("i", "u"))
    np.testing.assert_array_equal(libjpeg_decode(encoded).reshape(fmt.shape), unsigned)
    np.testing.assert_array_equal(LOSSLESS.decode_frame(encoded, fmt), array)


def test_truncated_stream_fails_fast_with_the_frame() -> None:
    fmt = PixelFormat(16, 16, 1, 8, 8, 0, 0, "MONOCHROME2")
    encoded = LOSSLESS.encode_frame(np.arange(256, dtype=np.uint8).reshape(16, 16), fmt)
    with pytest.raises(CodecError, match="EOI") as info:
        LOSSLESS.decode_frame(encoded[: len(encoded) // 2], fmt, frame=5)
    assert info.value.frame == 5
    # the item's pad byte after EOI is fine
    assert LOSSLESS.decode_frame(encoded + b"\x00", fmt).shape == (16, 16)


def test_near_option_only_on_the_near_lossless_syntax() -> None:
    fmt = PixelFormat(2, 2, 1, 8, 8, 0, 0, "MONOCHROME2")
    with pytest.raises(CodecError):
        LOSSLESS.encode_frame(np.zeros((2, 2), np.uint8), fmt, near=2)
    with pytest.raises(CodecError):
        NEAR.encode_frame(np.zeros((2, 2), np.uint8), fmt, near=-1)
