"""RLE Lossless (PS3.5 Annex G): round trips, oracles (pydicom, pylibjpeg-rle, DCMTK), bad input."""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydicom.encaps import generate_frames
from pydicom.pixels.decoders.rle import _rle_decode_frame, _rle_decode_segment
from pydicom.pixels.encoders.base import EncodeRunner
from pydicom.pixels.encoders.native import _encode_frame as pydicom_rle_encode
from pydicom.uid import RLELossless
from rle.utils import encode_pixel_data as pylibjpeg_rle_encode

from dicomkit.codecs.format import PixelFormat
from dicomkit.codecs.rle import RLELosslessCodec, decode_segment, encode_segment, parse_header
from dicomkit.errors import CodecError

CODEC = RLELosslessCodec()


def pixel_format(rows: int, columns: int, spp: int, bits: int, signed: bool, planar: int = 0) -> PixelFormat:
    return PixelFormat(
        rows=rows,
        columns=columns,
        samples_per_pixel=spp,
        bits_allocated=bits,
        bits_stored=bits,
        pixel_representation=int(signed),
        planar_configuration=planar,
        photometric_interpretation="MONOCHROME2" if spp == 1 else "RGB",
    )


@st.composite
def frames(draw: st.DrawFn, max_side: int = 24) -> tuple[PixelFormat, np.ndarray]:
    """A random frame: any bit depth RLE holds, sign, 1 or 3 samples, sizes from 1x1, runs likely."""
    bits = draw(st.sampled_from([8, 16, 32]))
    spp = draw(st.sampled_from([1, 3]))
    fmt = pixel_format(
        draw(st.integers(1, max_side)),
        draw(st.integers(1, max_side)),
        spp,
        bits,
        draw(st.booleans()),
        draw(st.integers(0, 1)) if spp == 3 else 0,
    )
    info = np.iinfo(fmt.dtype)
    # A small alphabet makes long runs; the full range makes literal runs.
    alphabet = draw(st.sampled_from(["small", "full"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if alphabet == "small":
        values = rng.integers(-2, 3, size=fmt.shape)
        array = np.repeat(values.reshape(-1), draw(st.integers(1, 200)))[: values.size]
        array = np.resize(array, fmt.shape).astype(fmt.dtype)
    else:
        array = rng.integers(info.min, info.max, size=fmt.shape, dtype=fmt.dtype, endpoint=True)
    return fmt, array


def _pydicom_runner(fmt: PixelFormat) -> EncodeRunner:
    """pydicom's RLE encode runner holding the options its native encoder reads."""
    runner = EncodeRunner(RLELossless)
    runner.set_option("rows", fmt.rows)
    runner.set_option("columns", fmt.columns)
    runner.set_option("samples_per_pixel", fmt.samples_per_pixel)
    runner.set_option("bits_allocated", fmt.bits_allocated)
    return runner


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_round_trip_is_exact_for_every_depth_sign_and_sample_count(
    case: tuple[PixelFormat, np.ndarray],
) -> None:
    fmt, array = case
    for min_run in (2, 3):
        encoded = CODEC.encode_frame(array, fmt, min_replicate_run=min_run)
        decoded = CODEC.decode_frame(encoded, fmt)
        assert decoded.dtype == fmt.dtype
        assert decoded.shape == fmt.shape
        np.testing.assert_array_equal(decoded, array)


@settings(max_examples=100, deadline=None)
@given(frames())
def test_encoder_output_is_byte_identical_to_pydicom_and_pylibjpeg_rle(
    case: tuple[PixelFormat, np.ndarray],
) -> None:
    fmt, array = case
    ours = CODEC.encode_frame(array, fmt)
    assert ours == pydicom_rle_encode(array.tobytes(), _pydicom_runner(fmt))
    assert ours == pylibjpeg_rle_encode(
        array.tobytes(),
        rows=fmt.rows,
        columns=fmt.columns,
        samples_per_pixel=fmt.samples_per_pixel,
        bits_allocated=fmt.bits_allocated,
        byteorder="<",
    )


@settings(max_examples=60, deadline=None)
@given(frames())
def test_decoder_matches_pydicom_on_pydicom_encoded_frames(case: tuple[PixelFormat, np.ndarray]) -> None:
    fmt, array = case
    encoded = pydicom_rle_encode(array.tobytes(), _pydicom_runner(fmt))
    ours = CODEC.decode_frame(encoded, fmt)
    # pydicom returns little-endian bytes in planar order (all of sample 0, then 1, ...)
    theirs = _rle_decode_frame(encoded, fmt.rows, fmt.columns, fmt.samples_per_pixel, fmt.bits_allocated)
    planes = np.frombuffer(bytes(theirs), dtype=fmt.dtype).reshape(
        fmt.samples_per_pixel, fmt.rows, fmt.columns
    )
    np.testing.assert_array_equal(ours.reshape(fmt.rows, fmt.columns, -1), planes.transpose(1, 2, 0))


def test_header_lists_segments_most_significant_byte_first_and_pads_odd_segments() -> None:
    fmt = pixel_format(1, 2, 1, 16, signed=False)
    encoded = CODEC.encode_frame(np.array([[0x0102, 0x0304]], dtype=np.uint16), fmt)
    count, first, second, *unused = struct.unpack_from("<16L", encoded)
    assert (count, first, second) == (2, 64, 68)
    assert unused == [0] * 13
    # MSBs 01 03 as one literal run (header 1), odd length so padded with 0x00
    assert encoded[first:second] == bytes([1, 1, 3, 0])
    assert encoded[second:] == bytes([1, 2, 4, 0])


def test_long_runs_split_at_128_and_rows_are_encoded_separately() -> None:
    # each row: replicate 128 (0x81) + a one-byte literal run (0x00); never a run across rows
    assert encode_segment(np.full((2, 129), 7, dtype=np.uint8)) == bytes([0x81, 7, 0x00, 7]) * 2
    # a remainder of two stays a replicate run (257 - 2 = 0xFF)
    assert encode_segment(np.full((1, 130), 7, dtype=np.uint8)) == bytes([0x81, 7, 0xFF, 7])


def test_dcmtk_style_keeps_two_byte_repeats_inside_literal_runs_except_at_row_end() -> None:
    plane = np.array([[1, 2, 2, 3, 4, 4]], dtype=np.uint8)
    assert encode_segment(plane) == bytes([0x00, 1, 0xFF, 2, 0x00, 3, 0xFF, 4])
    assert encode_segment(plane, min_replicate_run=3) == bytes([3, 1, 2, 2, 3, 0xFF, 4, 0])  # padded


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("dcmcrle") is None, reason="DCMTK dcmcrle not installed")
@pytest.mark.parametrize("bits,spp", [(8, 1), (16, 1), (8, 3), (16, 3), (32, 1)])
def test_dcmtk_style_is_byte_identical_to_dcmcrle(tmp_path: Path, bits: int, spp: int) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(bits * 10 + spp)
    fmt = pixel_format(23, 97, spp, bits, signed=False)
    array = rng.integers(0, 3, size=fmt.shape).astype(fmt.dtype)
    array.reshape(-1)[::7] = rng.integers(0, 200, size=array.reshape(-1)[::7].shape)
    array[5:9] = 9  # long runs too

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel = fmt.rows, fmt.columns, spp
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit, ds.PixelRepresentation = bits - 1, 0
    ds.PhotometricInterpretation = fmt.photometric_interpretation
    if spp == 3:
        ds.PlanarConfiguration = 0
    ds.PixelData = array.tobytes()
    ds.save_as(tmp_path / "in.dcm", enforce_file_format=True)
    subprocess.run(["dcmcrle", str(tmp_path / "in.dcm"), str(tmp_path / "out.dcm")], check=True)
    theirs = next(generate_frames(pydicom.dcmread(tmp_path / "out.dcm").PixelData, number_of_frames=1))

    assert CODEC.encode_frame(array, fmt, min_replicate_run=3) == theirs
    np.testing.assert_array_equal(CODEC.decode_frame(theirs, fmt), array)


# ----------------------------------------------------------------------------- bad input


def _valid_frame() -> tuple[PixelFormat, bytes]:
    fmt = pixel_format(8, 9, 3, 16, signed=True)
    array = np.random.default_rng(1).integers(-5, 5, size=fmt.shape).astype(fmt.dtype)
    return fmt, CODEC.encode_frame(array, fmt)


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda b: b[:40], "shorter than its 64-byte header"),
        (lambda b: struct.pack("<L", 16) + b[4:], "declares 16 segments"),
        (lambda b: struct.pack("<L", 0) + b[4:], "declares 0 segments"),
        (lambda b: struct.pack("<L", 5) + b[4:], "expected 6"),
        (lambda b: b[:4] + struct.pack("<L", 10) + b[8:], "offset 10"),
        (lambda b: b[:8] + struct.pack("<L", 1 << 30) + b[12:], "outside"),
        (lambda b: b[:-30], "segment 5"),
    ],
)
def test_malformed_frames_raise_codec_error_naming_the_frame(
    mutate: Callable[[bytes], bytes], reason: str
) -> None:
    fmt, encoded = _valid_frame()
    with pytest.raises(CodecError, match=reason) as info:
        CODEC.decode_frame(mutate(encoded), fmt, frame=7)
    assert info.value.frame == 7


def test_segment_that_decodes_short_is_reported_with_its_index() -> None:
    with pytest.raises(CodecError, match="segment 3 decodes to 3 bytes, expected 10") as info:
        decode_segment(bytes([0xFE, 9]), 10, frame=2, segment=3)
    assert info.value.frame == 2


def test_literal_run_cut_by_end_of_segment_is_truncation() -> None:
    with pytest.raises(CodecError, match="truncated"):
        decode_segment(bytes([9, 1, 2, 3]), 10)


def test_trailing_padding_and_noop_headers_are_ignored() -> None:
    decoded = decode_segment(bytes([0x80, 0xFD, 5, 0x80, 0x00]), 4)
    assert decoded.tolist() == [5, 5, 5, 5]


def test_excess_output_is_cut_to_the_plane_size() -> None:
    assert decode_segment(bytes([0x81, 1, 0x81, 2]), 130).tolist() == [1] * 128 + [2, 2]
    assert decode_segment(bytes([3, 1, 2, 3, 4]), 0).size == 0


# Segments built run by run. A segment compressed 3:1 or better is walked one
# stretch of two-byte runs at a time ("dense"), any other one run at a time.

_DENSE = 40  # replicate runs of 128 put in front to make a segment dense


def _replicates(count: int) -> bytes:
    return bytes([0x81, 9]) * count


@pytest.mark.parametrize("replicates", [0, _DENSE])
def test_literal_run_crossing_the_plane_end_needs_only_the_bytes_it_contributes(replicates: int) -> None:
    segment = _replicates(replicates) + bytes([9, 1, 2, 3])  # a 10-byte literal run, 3 bytes left
    length = 128 * replicates + 3
    assert decode_segment(segment, length).tolist() == [9] * (length - 3) + [1, 2, 3]
    with pytest.raises(CodecError, match="segment 4 is truncated"):
        decode_segment(segment, length + 1, segment=4)


@pytest.mark.parametrize("replicates", [0, _DENSE])
@pytest.mark.parametrize("runs", range(1, 10))
def test_every_count_of_runs_decodes_whatever_its_remainder_by_four(replicates: int, runs: int) -> None:
    # the walks take four steps per pass and keep every fourth position; the
    # runs of a last, partial pass must all be found, and none past the end
    literals = b"".join(bytes([1, index, index + 100]) for index in range(runs))
    expected = [9] * (128 * replicates) + [value for index in range(runs) for value in (index, index + 100)]
    segment = _replicates(replicates) + literals
    assert decode_segment(segment, len(expected)).tolist() == expected
    assert decode_segment(segment + b"\x00", len(expected)).tolist() == expected  # odd padding
    with pytest.raises(CodecError, match="decodes to"):
        decode_segment(segment, len(expected) + 1)


@pytest.mark.parametrize("replicates", [0, _DENSE])
def test_replicate_run_without_its_value_byte_is_truncation(replicates: int) -> None:
    segment = _replicates(replicates) + bytes([0x81])  # the last header has no byte to repeat
    with pytest.raises(CodecError, match="truncated"):
        decode_segment(segment, 128 * replicates + 1)


@pytest.mark.parametrize("replicates", [0, _DENSE])
def test_noop_headers_anywhere_are_skipped(replicates: int) -> None:
    segment = b"\x80" + _replicates(replicates) + b"\x80\x80" + bytes([2, 1, 2, 3, 0x80, 0xFF, 4, 0x80])
    expected = [9] * (128 * replicates) + [1, 2, 3, 4, 4]
    assert decode_segment(segment, len(expected)).tolist() == expected


def test_long_stretches_of_two_byte_runs_across_a_parity_change_decode() -> None:
    # 300 two-byte runs (more than one 127-run step), a three-byte literal run
    # that moves the runs to odd positions, then 200 more two-byte runs
    segment = bytes([0xFE, 1]) * 150 + bytes([0, 2]) * 150 + bytes([1, 3, 4]) + bytes([0x81, 5]) * 200
    expected = [1] * 450 + [2] * 150 + [3, 4] + [5] * 25600
    assert 3 * len(segment) <= len(expected)
    assert decode_segment(segment, len(expected)).tolist() == expected


@st.composite
def packbits_segments(draw: st.DrawFn) -> tuple[bytes, int]:
    """A well-formed segment of literal, replicate and no-op runs, and a plane size it covers."""
    kinds = ["literal", "replicate", "one", "noop"]
    if draw(st.booleans()):  # mostly two-byte runs, so often dense
        kinds = ["replicate"] * 6 + ["one"] * 3 + kinds
    segment = bytearray()
    produced = 0
    for kind in draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=300)):
        if kind == "literal":
            payload = draw(st.binary(min_size=1, max_size=128))
            segment += bytes([len(payload) - 1]) + payload
            produced += len(payload)
        elif kind == "replicate":
            count = draw(st.integers(2, 128))
            segment += bytes([257 - count, draw(st.integers(0, 255))])
            produced += count
        elif kind == "one":
            segment += bytes([0, draw(st.integers(0, 255))])
            produced += 1
        else:
            segment.append(0x80)
    assume(produced > 0)
    return bytes(segment), draw(st.integers(max(1, produced // 2), produced))


@settings(max_examples=300, deadline=None)
@given(packbits_segments())
def test_segments_decode_like_pydicom_whatever_their_runs(case: tuple[bytes, int]) -> None:
    segment, length = case
    expected = bytes(_rle_decode_segment(segment))[:length]
    assert decode_segment(segment, length).tobytes() == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0xC0, 0xFF]), max_size=400).map(bytes),
    st.integers(1, 30000),
)
def test_random_mostly_two_byte_runs_decode_like_pydicom_or_raise(raw: bytes, length: int) -> None:
    try:
        decoded = decode_segment(raw, length)
    except CodecError:
        return
    assert decoded.tobytes() == bytes(_rle_decode_segment(raw))[:length]


def test_sixty_four_bit_samples_round_trip() -> None:
    fmt = pixel_format(5, 7, 1, 64, signed=True)
    info = np.iinfo(np.int64)
    array = np.random.default_rng(3).integers(info.min, info.max, size=fmt.shape, dtype=np.int64)
    array[1] = -7  # runs too
    np.testing.assert_array_equal(CODEC.decode_frame(CODEC.encode_frame(array, fmt), fmt), array)


def test_header_offsets_must_increase() -> None:
    header = struct.pack("<16L", 2, 100, 64, *([0] * 13)) + bytes(64)
    with pytest.raises(CodecError, match="segment 1 offset 64"):
        parse_header(header)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzzed_frames_decode_or_raise_codec_error(data: st.DataObject) -> None:
    fmt, encoded = _valid_frame()
    buffer = bytearray(encoded)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(buffer) - 1))
        buffer[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buffer)))
    for candidate in (bytes(buffer), bytes(buffer[:cut])):
        try:
            decoded = CODEC.decode_frame(candidate, fmt, frame=3)
        except CodecError as exc:
            assert exc.frame == 3
        else:
            assert decoded.shape == fmt.shape


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 300))
def test_random_bytes_as_a_segment_never_escape_codec_error(raw: bytes, length: int) -> None:
    try:
        decoded = decode_segment(raw, length)
    except CodecError:
        return
    assert decoded.shape == (length,)


def test_cannot_encode_more_than_fifteen_segments() -> None:
    fmt = PixelFormat(2, 2, 4, 32, 32, 0, 0, "ARGB")
    assert not CODEC.can_encode(fmt)
    with pytest.raises(CodecError):
        CODEC.encode_frame(np.zeros(fmt.shape, dtype=fmt.dtype), fmt)


def test_unknown_options_are_rejected() -> None:
    fmt = pixel_format(1, 1, 1, 8, signed=False)
    with pytest.raises(CodecError, match="unknown"):
        CODEC.encode_frame(np.zeros((1, 1), np.uint8), fmt, quality=3)
    with pytest.raises(CodecError, match="2 or 3"):
        # a value outside Literal[2, 3] is the point: untyped callers (the CLI) can pass one
        CODEC.encode_frame(np.zeros((1, 1), np.uint8), fmt, min_replicate_run=4)  # type: ignore[arg-type]


# Frames of several segments: each segment is decoded and checked on its own,
# whatever runs its neighbours hold.


def _frame(segments: list[bytes]) -> bytes:
    offsets = [64]
    for segment in segments[:-1]:
        offsets.append(offsets[-1] + len(segment))
    return struct.pack("<16L", len(segments), *offsets, *([0] * (15 - len(offsets)))) + b"".join(segments)


@pytest.mark.parametrize(("bits", "spp"), [(8, 3), (32, 1), (16, 3)])
def test_frames_of_several_segments_mixing_dense_and_literal_planes_round_trip(bits: int, spp: int) -> None:
    fmt = pixel_format(64, 96, spp, bits, signed=False)
    rng = np.random.default_rng(bits + spp)
    array = rng.integers(0, np.iinfo(fmt.dtype).max, size=fmt.shape, dtype=fmt.dtype, endpoint=True)
    # the first sample's top byte becomes long runs (a dense segment); the last
    # sample's low byte stays random (literal runs)
    first = array.reshape(fmt.pixels, spp)[:, 0]
    runs = np.repeat(rng.integers(0, 2, size=fmt.pixels // 200 + 1), 200)[: fmt.pixels]
    first &= np.array(0xFF if bits > 8 else 0, dtype=fmt.dtype)
    first |= runs.astype(fmt.dtype) << (bits - 8)
    encoded = CODEC.encode_frame(array, fmt)
    offsets = parse_header(encoded)
    top = offsets[1] - offsets[0]  # the most significant plane of the first sample
    assert 3 * top <= fmt.pixels < 3 * (len(encoded) - offsets[-1])  # one dense, one literal segment
    np.testing.assert_array_equal(CODEC.decode_frame(encoded, fmt), array)


def test_rgb_planes_come_from_their_own_segments() -> None:
    fmt = pixel_format(1, 6, 3, 8, signed=False, planar=0)
    frame = _frame([bytes([0xFB, 7]), bytes([5, 1, 2, 3, 4, 5, 6]), bytes([0xFE, 9, 0x81, 0]) + b"\x00\x00"])
    decoded = CODEC.decode_frame(frame, fmt)
    assert decoded.tolist() == [[[7, 1, 9], [7, 2, 9], [7, 3, 9], [7, 4, 0], [7, 5, 0], [7, 6, 0]]]


def test_short_second_segment_is_reported_as_segment_1() -> None:
    fmt = pixel_format(1, 6, 3, 8, signed=False)
    frame = _frame([bytes([0xFB, 7]), bytes([0xFE, 1]), bytes([0xFB, 9])])
    with pytest.raises(CodecError, match="segment 1 decodes to 3 bytes, expected 6") as info:
        CODEC.decode_frame(frame, fmt, frame=4)
    assert info.value.frame == 4


def test_literal_run_of_second_segment_never_reads_into_the_third() -> None:
    # segment 1 declares six literal bytes but holds two; segment 2's bytes follow it
    fmt = pixel_format(1, 6, 1, 32, signed=False)
    frame = _frame([bytes([0xFB, 7]), bytes([5, 1, 2]), bytes([3, 4, 5, 6, 7, 8, 9]), bytes([0xFB, 0])])
    with pytest.raises(CodecError, match="segment 1 is truncated"):
        CODEC.decode_frame(frame, fmt)


def test_empty_last_segment_is_reported_not_an_index_error() -> None:
    fmt = pixel_format(1, 6, 1, 16, signed=False)
    frame = _frame([bytes([0xFB, 7]), b""])
    with pytest.raises(CodecError, match="segment 1 decodes to 0 bytes"):
        CODEC.decode_frame(frame, fmt)
