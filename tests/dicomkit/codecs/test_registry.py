"""The codec registry, and properties every registered codec must have.

Lossless codecs round-trip random frames exactly; lossy ones stay above a
stated PSNR with their default options; corrupt or truncated input raises
CodecError naming the frame (never another exception).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.codecs import (
    CodecOptions,
    PixelFormat,
    available_transfer_syntaxes,
    get_codec,
    is_encapsulated,
)
from dicomkit.codecs.registry import known_transfer_syntaxes
from dicomkit.errors import CodecError, UnsupportedTransferSyntaxError

LOSSLESS = [uid for uid in available_transfer_syntaxes() if not get_codec(uid).lossy]
LOSSY = [
    uid for uid in available_transfer_syntaxes() if get_codec(uid).lossy and uid != "1.2.840.10008.1.2.4.111"
]

# Minimum PSNR (dB, against the Bits Stored peak) with default options on a
# smooth image with 0.5 % noise, as stated in the codec docstrings.
MIN_PSNR = {
    "1.2.840.10008.1.2.4.50": 35.0,  # JPEG baseline, quality 90
    "1.2.840.10008.1.2.4.51": 35.0,  # JPEG extended, quality 90
    "1.2.840.10008.1.2.4.81": 40.0,  # JPEG-LS NEAR=2 (also: max error <= 2)
    "1.2.840.10008.1.2.4.91": 40.0,  # JPEG 2000, target 50 dB
    "1.2.840.10008.1.2.4.203": 40.0,  # HTJ2K, qstep 0.001
    "1.2.840.10008.1.2.4.112": 38.0,  # JPEG XL, distance 1.0
}


def test_every_transfer_syntax_the_issue_names_is_available() -> None:
    expected = {
        "1.2.840.10008.1.2.5",
        *(f"1.2.840.10008.1.2.4.{n}" for n in (50, 51, 57, 70, 80, 81, 90, 91, 201, 202, 203, 110, 111, 112)),
    }
    assert expected <= set(available_transfer_syntaxes())


def test_unknown_syntax_is_unsupported() -> None:
    with pytest.raises(UnsupportedTransferSyntaxError):
        get_codec("1.2.840.10008.1.2.4.100")  # MPEG-2: video, no frame codec
    assert "1.2.840.10008.1.2.4.100" not in known_transfer_syntaxes()


def test_encapsulation_follows_the_transfer_syntax() -> None:
    assert not is_encapsulated("1.2.840.10008.1.2.1")
    assert not is_encapsulated("1.2.840.10008.1.2.2")
    assert is_encapsulated("1.2.840.10008.1.2.1.98")
    assert is_encapsulated("1.2.840.10008.1.2.4.90")


def test_codecs_report_their_syntax() -> None:
    for uid in available_transfer_syntaxes():
        assert get_codec(uid).transfer_syntax == uid


@st.composite
def frames(draw: st.DrawFn, uid: str) -> tuple[PixelFormat, np.ndarray]:
    """A random frame the codec says it can encode: bit depth, sign, 1 or 3 samples, odd sizes."""
    codec = get_codec(uid)
    spp = draw(st.sampled_from([1, 3]))
    allocated = draw(st.sampled_from([8, 16]))
    stored = draw(st.integers(2 if allocated == 8 else 9, allocated))
    fmt = PixelFormat(
        rows=draw(st.integers(1, 19)),
        columns=draw(st.integers(1, 19)),
        samples_per_pixel=spp,
        bits_allocated=allocated,
        bits_stored=stored,
        pixel_representation=draw(st.integers(0, 1)),
        planar_configuration=draw(st.integers(0, 1)) if spp == 3 else 0,
        photometric_interpretation="MONOCHROME2" if spp == 1 else "RGB",
    )
    if not codec.can_encode(fmt):
        fmt = dataclasses.replace(fmt, pixel_representation=0)
    if not codec.can_encode(fmt):
        fmt = dataclasses.replace(fmt, samples_per_pixel=1, photometric_interpretation="MONOCHROME2")
    assert codec.can_encode(fmt), fmt
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    low, high = (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if fmt.is_signed else (0, (1 << stored) - 1)
    return fmt, rng.integers(low, high, size=fmt.shape, endpoint=True).astype(fmt.dtype)


@pytest.mark.parametrize("uid", LOSSLESS)
def test_lossless_round_trip_is_exact(uid: str) -> None:
    codec = get_codec(uid)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(frames(uid))
    def round_trip(case: tuple[PixelFormat, np.ndarray]) -> None:
        fmt, array = case
        encoded = codec.encode_frame(array, fmt)
        decoded = codec.decode_frame(encoded, codec.encoded_format(fmt))
        assert decoded.dtype == fmt.dtype
        np.testing.assert_array_equal(decoded, array)

    round_trip()


def smooth_frame(fmt: PixelFormat, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[: fmt.rows, : fmt.columns]
    peak = (1 << fmt.bits_stored) - 1
    # np.mgrid is typed Any; the grid, and so the image, is float64
    image: npt.NDArray[np.float64] = peak / 2 + peak / 3 * np.sin(x / 7) * np.cos(y / 5)
    if fmt.samples_per_pixel == 3:
        image = np.stack([image, image * 0.9, peak - image * 0.8], axis=-1)
    noise = np.random.default_rng(seed).normal(0, peak / 200, image.shape)
    return np.clip(image + noise, 0, peak).astype(fmt.dtype)


def psnr(a: np.ndarray, b: np.ndarray, bits: int) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(((1 << bits) - 1) ** 2 / mse)


@pytest.mark.parametrize("uid", LOSSY)
@pytest.mark.parametrize("spp,bits", [(1, 8), (3, 8), (1, 12)])
def test_lossy_round_trip_stays_above_the_stated_psnr(uid: str, spp: int, bits: int) -> None:
    codec = get_codec(uid)
    fmt = PixelFormat(64, 48, spp, 8 if bits == 8 else 16, bits, 0, 0, "MONOCHROME2" if spp == 1 else "RGB")
    if not codec.can_encode(fmt):
        pytest.skip(f"{uid} does not encode {bits}-bit")
    array = smooth_frame(fmt)
    encoded = codec.encode_frame(array, fmt)
    stored = codec.encoded_format(fmt)
    if stored.photometric_interpretation.startswith("YBR_FULL"):
        stored = dataclasses.replace(stored, photometric_interpretation="RGB")  # ask for RGB back
    decoded = codec.decode_frame(encoded, stored)
    assert decoded.shape == array.shape
    assert psnr(array, decoded, bits) >= MIN_PSNR[uid]


@pytest.mark.parametrize("uid", [u for u in available_transfer_syntaxes() if is_encapsulated(u)])
def test_corrupt_or_truncated_frames_raise_codec_error_naming_the_frame(uid: str) -> None:
    codec = get_codec(uid)
    fmt = PixelFormat(16, 16, 1, 8, 8, 0, 0, "MONOCHROME2")
    if codec.can_encode(fmt):
        encoded = codec.encode_frame(smooth_frame(fmt), fmt)
    else:  # JPEG XL recompression: decode-only; feed it a JPEG XL stream
        encoded = get_codec("1.2.840.10008.1.2.4.112").encode_frame(smooth_frame(fmt), fmt)

    @settings(max_examples=25, deadline=None)
    @given(st.data())
    def corrupt(data: st.DataObject) -> None:
        buffer = bytearray(encoded)
        for _ in range(data.draw(st.integers(1, 6))):
            buffer[data.draw(st.integers(0, len(buffer) - 1))] = data.draw(st.integers(0, 255))
        for candidate in (bytes(buffer), encoded[: data.draw(st.integers(0, len(encoded) - 1))]):
            try:
                decoded = codec.decode_frame(candidate, fmt, frame=4)
            except CodecError as exc:
                assert exc.frame == 4
            else:
                assert decoded.shape == fmt.shape

    corrupt()
    with pytest.raises(CodecError) as info:
        codec.decode_frame(b"", fmt, frame=9)
    assert info.value.frame == 9


# RLE and encapsulated native frames declare no size: their output is cut to the
# pixel format, so they cannot be made to allocate more.
SIZED_STREAMS = [
    u
    for u in available_transfer_syntaxes()
    if is_encapsulated(u) and u not in ("1.2.840.10008.1.2.5", "1.2.840.10008.1.2.1.98")
]


@pytest.mark.parametrize("uid", SIZED_STREAMS)
def test_stream_declaring_another_size_is_rejected_before_decoding(uid: str) -> None:
    codec = get_codec(uid)
    big = PixelFormat(32, 40, 1, 8, 8, 0, 0, "MONOCHROME2")
    if not codec.can_encode(big):
        pytest.skip("decode-only syntax")
    encoded = codec.encode_frame(smooth_frame(big), big)
    with pytest.raises(CodecError) as info:
        codec.decode_frame(encoded, dataclasses.replace(big, rows=16), frame=1)
    assert info.value.frame == 1


TINY = PixelFormat(2, 2, 1, 8, 8, 0, 0, "MONOCHROME2")


@pytest.mark.parametrize("uid", [u for u in available_transfer_syntaxes() if get_codec(u).can_encode(TINY)])
def test_unknown_encoding_options_are_rejected(uid: str) -> None:
    fmt = TINY
    with pytest.raises(CodecError):
        # an option outside CodecOptions is the point: untyped callers (the CLI) can pass one
        get_codec(uid).encode_frame(np.zeros((2, 2), np.uint8), fmt, no_such_option=1)  # type: ignore[call-arg]


# One valid setting of every CodecOptions key, each on its own.
ONE_OPTION: list[CodecOptions] = [
    {"min_replicate_run": 3},
    {"quality": 80},
    {"subsampling": "444"},
    {"convert_rgb": False},
    {"predictor": 1},
    {"near": 1},
    {"mct": False},
    {"reversible": True},
    {"psnr": 60.0},
    {"qstep": 0.01},
    {"effort": 3},
    {"distance": 2.0},
]


def test_codec_options_are_exactly_the_options_the_codecs_take() -> None:
    assert {name for options in ONE_OPTION for name in options} == CodecOptions.__optional_keys__
    taken: set[str] = set()
    for uid in available_transfer_syntaxes():
        codec = get_codec(uid)
        for options in ONE_OPTION:
            try:
                codec.encoded_format(TINY, **options)
            except CodecError:
                continue
            taken.update(options)
    assert taken == CodecOptions.__optional_keys__


def test_wrong_array_shape_is_rejected() -> None:
    fmt = PixelFormat(2, 2, 1, 8, 8, 0, 0, "MONOCHROME2")
    for uid in ("1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.1"):
        with pytest.raises(CodecError, match="shape"):
            get_codec(uid).encode_frame(np.zeros((3, 2), np.uint8), fmt)
