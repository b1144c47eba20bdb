"""JPEG transfer syntaxes: colour handling, options, and decoding by another decoder (libjpeg)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from libjpeg.utils import decode as libjpeg_decode

from dicomkit.codecs import PixelFormat, get_codec
from dicomkit.codecs.bridge import jpeg_segments
from dicomkit.errors import CodecError

BASELINE = get_codec("1.2.840.10008.1.2.4.50")
EXTENDED = get_codec("1.2.840.10008.1.2.4.51")
LOSSLESS = get_codec("1.2.840.10008.1.2.4.57")
LOSSLESS_SV1 = get_codec("1.2.840.10008.1.2.4.70")
RGB = PixelFormat(32, 24, 3, 8, 8, 0, 0, "RGB")


def gradient(fmt: PixelFormat) -> np.ndarray:
    y, x = np.mgrid[: fmt.rows, : fmt.columns]
    peak = (1 << fmt.bits_stored) - 1
    channels = [
        x * peak // max(fmt.columns - 1, 1),
        y * peak // max(fmt.rows - 1, 1),
        (x + y) * peak // 60 % peak,
    ]
    image = np.stack(channels[: fmt.samples_per_pixel], axis=-1)
    return image.reshape(fmt.shape).astype(fmt.dtype)


def sof(encoded: bytes) -> tuple[int, bytes]:
    """(marker, payload) of the frame header."""
    return next((m, p) for m, p in jpeg_segments(encoded) if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xCC))


def test_rgb_to_baseline_is_stored_as_ybr_full_422() -> None:
    encoded = BASELINE.encode_frame(gradient(RGB), RGB)
    stored = BASELINE.encoded_format(RGB)
    assert stored.photometric_interpretation == "YBR_FULL_422"
    marker, payload = sof(encoded)
    assert marker == 0xC0  # baseline
    assert payload[6 + 1] == 0x21  # first component sampled 2x1: 4:2:2
    # decoding under YBR_FULL_422 yields YCbCr; under RGB, RGB close to the input
    ycbcr = BASELINE.decode_frame(encoded, stored)
    rgb = BASELINE.decode_frame(encoded, RGB)
    assert np.abs(rgb.astype(int) - gradient(RGB)).mean() < 3
    assert np.abs(ycbcr.astype(int) - rgb.astype(int)).max() > 20


def test_subsampling_444_is_stored_as_ybr_full_and_convert_rgb_false_keeps_rgb() -> None:
    assert BASELINE.encoded_format(RGB, subsampling="444").photometric_interpretation == "YBR_FULL"
    assert BASELINE.encoded_format(RGB, convert_rgb=False).photometric_interpretation == "RGB"
    encoded = BASELINE.encode_frame(gradient(RGB), RGB, convert_rgb=False, quality=95)
    adobe = [p for m, p in jpeg_segments(encoded) if m == 0xEE]
    assert adobe and adobe[0][11] == 0  # Adobe APP14, transform 0: no colour conversion
    assert np.abs(BASELINE.decode_frame(encoded, RGB).astype(int) - gradient(RGB)).mean() < 3


def test_quality_option_changes_size_and_is_bounded() -> None:
    fmt = PixelFormat(64, 64, 1, 8, 8, 0, 0, "MONOCHROME2")
    noisy = np.random.default_rng(0).integers(0, 255, fmt.shape, dtype=np.uint8)
    assert len(BASELINE.encode_frame(noisy, fmt, quality=20)) < len(
        BASELINE.encode_frame(noisy, fmt, quality=95)
    )
    with pytest.raises(CodecError, match="quality"):
        BASELINE.encode_frame(noisy, fmt, quality=0)


def test_extended_writes_12_bit_precision_when_bits_stored_exceeds_8() -> None:
    fmt = PixelFormat(16, 16, 1, 16, 12, 0, 0, "MONOCHROME2")
    encoded = EXTENDED.encode_frame(gradient(fmt), fmt)
    marker, payload = sof(encoded)
    assert (marker, payload[0]) == (0xC1, 12)
    np.testing.assert_allclose(libjpeg_decode(encoded), gradient(fmt), atol=8)


def test_lossy_syntaxes_refuse_what_they_cannot_hold() -> None:
    assert not BASELINE.can_encode(PixelFormat(4, 4, 1, 16, 12, 0, 0, "MONOCHROME2"))
    assert not EXTENDED.can_encode(PixelFormat(4, 4, 1, 16, 16, 0, 0, "MONOCHROME2"))
    assert not BASELINE.can_encode(PixelFormat(4, 4, 1, 8, 8, 1, 0, "MONOCHROME2"))


@pytest.mark.parametrize(
    "bits,signed", [(8, False), (12, False), (16, False), (12, True), (16, True), (5, False)]
)
@pytest.mark.parametrize("spp", [1, 3])
def test_lossless_output_is_read_exactly_by_libjpeg(bits: int, signed: bool, spp: int) -> None:
    fmt = PixelFormat(
        20, 17, spp, 8 if bits <= 8 else 16, bits, int(signed), 0, "MONOCHROME2" if spp == 1 else "RGB"
    )
    rng = np.random.default_rng(bits)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    array = rng.integers(low, high, size=fmt.shape, endpoint=True).astype(fmt.dtype)
    encoded = LOSSLESS_SV1.encode_frame(array, fmt)
    marker, payload = sof(encoded)
    assert (marker, payload[0]) == (0xC3, bits)  # process 14, precision = Bits Stored
    theirs = libjpeg_decode(encoded).astype(np.int64)
    expected = array.astype(np.int64) & ((1 << bits) - 1)  # a JPEG stream holds the low bits
    np.testing.assert_array_equal(theirs.reshape(fmt.shape), expected)
    np.testing.assert_array_equal(LOSSLESS_SV1.decode_frame(encoded, fmt), array)


@pytest.mark.parametrize("predictor", range(1, 8))
def test_every_predictor_round_trips_under_jpeg_lossless(predictor: int) -> None:
    fmt = PixelFormat(9, 11, 1, 16, 16, 0, 0, "MONOCHROME2")
    array = np.random.default_rng(predictor).integers(0, 65535, fmt.shape, dtype=np.uint16)
    encoded = LOSSLESS.encode_frame(array, fmt, predictor=predictor)
    scan = next(p for m, p in jpeg_segments(encoded) if m == 0xDA)
    assert scan[-3] == predictor  # Ss = selection value
    np.testing.assert_array_equal(LOSSLESS.decode_frame(encoded, fmt), array)
    np.testing.assert_array_equal(libjpeg_decode(encoded), array)


def test_sv1_syntax_rejects_other_predictors() -> None:
    fmt = PixelFormat(2, 2, 1, 8, 8, 0, 0, "MONOCHROME2")
    with pytest.raises(CodecError, match="predictor 1"):
        LOSSLESS_SV1.encode_frame(np.zeros((2, 2), np.uint8), fmt, predictor=3)


def test_lossless_never_changes_photometric_interpretation() -> None:
    assert LOSSLESS.encoded_format(RGB).photometric_interpretation == "RGB"
    ybr = dataclasses.replace(RGB, photometric_interpretation="YBR_FULL")
    assert LOSSLESS.encoded_format(ybr) == ybr
