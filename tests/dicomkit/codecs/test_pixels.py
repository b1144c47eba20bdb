"""Pixel data of whole data sets: pydicom (with its pylibjpeg plugins) is the oracle.

Every file of pydicom's corpus that holds pixel data decodes, through
``pixel_array``, to the array pydicom's ``pixel_array`` gives. DCT-based JPEG
(baseline / extended) is not bit-exact across decoders (ITU-T T.81 A.3.3 only
bounds the IDCT error), so those may differ by 1, and by a few levels after
a YCbCr -> RGB conversion (libjpeg converts in fixed point, we in float).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydicom.pixels.utils import pixel_array as pydicom_pixel_array

from dicomkit.codecs.encapsulation import encapsulate
from dicomkit.codecs.pixels import (
    get_frame,
    iter_frames,
    number_of_frames,
    pixel_array,
    pixel_format,
    set_pixel_data,
)
from dicomkit.codecs.rle import RLELosslessCodec
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.errors import CodecError, DicomError, UnsupportedTransferSyntaxError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file
from tests.corpus import DATA_ROOT, corpus_files

DCT_JPEG = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
LENIENT = ReadOptions(validation=Validation.LENIENT)
RLE = "1.2.840.10008.1.2.5"


def _pixel_files() -> list[Path]:
    found = []
    for path in corpus_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, force=True, stop_before_pixels=False)
            except Exception:
                continue
        if any(tag in ds for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009)):
            found.append(path)
    return found


PIXEL_FILES = _pixel_files()


def _pydicom_frames(path: Path, *, as_rgb: bool) -> np.ndarray | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            return np.asarray(pydicom_pixel_array(ds, as_rgb=as_rgb))
        except Exception:
            return None


def _as_frames(expected: np.ndarray, ours: np.ndarray) -> np.ndarray:
    return expected.reshape(ours.shape) if expected.size == ours.size else expected


def test_the_corpus_has_native_encapsulated_float_and_one_bit_files() -> None:
    names = {p.name for p in PIXEL_FILES}
    assert {"CT_small.dcm", "liver_1frame.dcm", "MR_small_RLE.dcm", "examples_ybr_color.dcm"} <= names
    assert len(PIXEL_FILES) > 90


@pytest.mark.parametrize("path", PIXEL_FILES, ids=lambda p: str(p.relative_to(DATA_ROOT)))
@pytest.mark.parametrize("as_rgb", [False, True], ids=["stored", "rgb"])
def test_pixel_array_matches_pydicom(path: Path, as_rgb: bool) -> None:
    expected = _pydicom_frames(path, as_rgb=as_rgb)
    try:
        dicom_file = read_file(path, LENIENT)
        ours = pixel_array(dicom_file.dataset, transfer_syntax=dicom_file.transfer_syntax, as_rgb=as_rgb)
    except DicomError:
        # We may refuse only what pydicom cannot decode either (truncated, no Bits Allocated ...).
        assert expected is None, "pydicom decodes this file, we refuse it"
        return
    if expected is None:
        pytest.skip("pydicom cannot decode this file; nothing to compare with")
    assert ours.shape[0] == number_of_frames(dicom_file.dataset)
    expected = _as_frames(expected, ours)
    assert ours.shape == expected.shape
    difference = np.abs(ours.astype(np.float64) - expected.astype(np.float64))
    tolerance = 0
    if dicom_file.transfer_syntax in DCT_JPEG:
        tolerance = 3 if as_rgb else 1
    assert difference.max(initial=0) <= tolerance
    assert ours.dtype.kind == expected.dtype.kind


@pytest.mark.parametrize(
    "name", ["SC_rgb_rle_2frame.dcm", "rtdose.dcm", "examples_ybr_color.dcm", "rtdose_expb.dcm"]
)
def test_each_frame_alone_equals_its_slice_of_the_whole(name: str) -> None:
    dicom_file = read_file(DATA_ROOT / "test_files" / name)
    syntax = dicom_file.transfer_syntax
    whole = pixel_array(dicom_file.dataset, transfer_syntax=syntax)
    assert whole.shape[0] > 1
    for index in (whole.shape[0] - 1, 0, whole.shape[0] // 2):
        assert np.array_equal(get_frame(dicom_file.dataset, index, transfer_syntax=syntax), whole[index])
    assert np.array_equal(np.stack(list(iter_frames(dicom_file.dataset, transfer_syntax=syntax))), whole)


def _rle_dataset(frames: np.ndarray, *, with_offset_table: bool, fragment_size: int | None = None) -> Dataset:
    ds = Dataset()
    set_pixel_data(ds, frames)
    fmt = pixel_format(ds)
    codec = RLELosslessCodec()
    encoded = [codec.encode_frame(frame, fmt) for frame in frames]
    value = encapsulate(encoded, with_offset_table=with_offset_table, fragment_size=fragment_size)
    ds.add(Element(tags.PixelData, "OB", value, undefined_length=True))
    return ds


@pytest.mark.parametrize("with_offset_table", [True, False])
def test_a_frame_is_found_with_or_without_an_offset_table(with_offset_table: bool) -> None:
    frames = np.random.default_rng(3).integers(0, 4096, (6, 16, 20), dtype=np.uint16)
    ds = _rle_dataset(frames, with_offset_table=with_offset_table)
    for index in (5, 2):
        assert np.array_equal(get_frame(ds, index, transfer_syntax=RLE), frames[index])


def test_encapsulated_data_without_its_transfer_syntax_is_refused() -> None:
    ds = _rle_dataset(np.zeros((2, 4, 4), dtype=np.uint8), with_offset_table=True)
    with pytest.raises(UnsupportedTransferSyntaxError):
        get_frame(ds, 0)


@pytest.mark.parametrize("index", [-1, 2])
def test_a_frame_outside_the_data_set_is_a_codec_error_naming_it(index: int) -> None:
    ds = _rle_dataset(np.zeros((2, 4, 4), dtype=np.uint8), with_offset_table=True)
    with pytest.raises(CodecError) as caught:
        get_frame(ds, index, transfer_syntax=RLE)
    assert caught.value.frame == index


def test_a_truncated_fragment_is_a_codec_error_naming_the_frame() -> None:
    frames = np.random.default_rng(4).integers(0, 255, (3, 32, 32), dtype=np.uint8)
    ds = _rle_dataset(frames, with_offset_table=True)
    value = ds[tags.PixelData].value
    assert isinstance(value, bytes)
    ds.add(Element(tags.PixelData, "OB", value[:-40], undefined_length=True))
    assert np.array_equal(get_frame(ds, 0, transfer_syntax=RLE), frames[0])
    with pytest.raises(CodecError) as caught:
        get_frame(ds, 2, transfer_syntax=RLE)
    assert caught.value.frame == 2
    assert "frame 2" in str(caught.value)


def test_a_corrupt_jpeg_frame_is_a_codec_error_naming_the_frame() -> None:
    path = DATA_ROOT / "test_files" / "examples_ybr_color.dcm"
    dicom_file = read_file(path)
    from dicomkit.codecs.encapsulation import frame_fragments

    value = dicom_file.dataset[tags.PixelData].raw_bytes()
    assert value is not None
    frames = frame_fragments(value, number_of_frames(dicom_file.dataset))
    frames[7] = frames[7][:20] + bytes(len(frames[7]) - 20)
    dicom_file.dataset.add(Element(tags.PixelData, "OB", encapsulate(frames), undefined_length=True))
    with pytest.raises(CodecError) as caught:
        get_frame(dicom_file.dataset, 7, transfer_syntax=dicom_file.transfer_syntax)
    assert caught.value.frame == 7


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_fragments_raise_only_dicomkit_errors(data: st.DataObject) -> None:
    frames = np.arange(2 * 8 * 8, dtype=np.uint16).reshape(2, 8, 8)
    ds = _rle_dataset(frames, with_offset_table=data.draw(st.booleans()))
    encapsulated = ds[tags.PixelData].value
    assert isinstance(encapsulated, bytes)
    value = bytearray(encapsulated)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(value) - 1))
        value[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(value)))
    ds.add(Element(tags.PixelData, "OB", bytes(value[:cut]), undefined_length=True))
    with contextlib.suppress(DicomError):  # anything else escaping fails the test
        get_frame(ds, data.draw(st.integers(0, 1)), transfer_syntax=RLE)


# ------------------------------------------------------------ set_pixel_data


def _pydicom_reads(ds: Dataset, syntax: str = "1.2.840.10008.1.2.1") -> np.ndarray:
    ds.set(tags.SOPClassUID, "1.2.840.10008.5.1.4.1.1.7", "UI")
    ds.set(tags.SOPInstanceUID, "1.2.3.4", "UI")
    buffer = io.BytesIO()
    write_file(buffer, ds, transfer_syntax_uid=syntax)
    return np.asarray(pydicom_pixel_array(io.BytesIO(buffer.getvalue()), as_rgb=False))


_DTYPES = st.sampled_from(["u1", "i1", "u2", "i2", "u4", "i4"])


@settings(max_examples=40, deadline=None)
@given(
    dtype=_DTYPES,
    frames=st.integers(1, 3),
    rows=st.integers(1, 5),
    columns=st.integers(1, 5),
    colour=st.booleans(),
    planar=st.integers(0, 1),
    syntax=st.sampled_from(["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"]),
    data=st.data(),
)
def test_set_pixel_data_round_trips_and_pydicom_agrees(
    dtype: str,
    frames: int,
    rows: int,
    columns: int,
    colour: bool,
    planar: int,
    syntax: str,
    data: st.DataObject,
) -> None:
    info = np.iinfo(np.dtype(dtype))
    # The writer swaps big endian OW in 16-bit words (transcode handles wider samples).
    assume(syntax != "1.2.840.10008.1.2.2" or info.bits <= 16)
    bits = data.draw(st.integers(1, info.bits))
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if info.min < 0 else (0, (1 << bits) - 1)
    shape = (frames, rows, columns, 3) if colour else (frames, rows, columns)
    seed = data.draw(st.integers(0, 2**32 - 1))
    array = np.random.default_rng(seed).integers(low, high, shape, dtype=dtype, endpoint=True)
    ds = Dataset()
    set_pixel_data(
        ds, array, photometric_interpretation="RGB" if colour else "MONOCHROME2", bits_stored=bits,
        planar_configuration=planar,
    )  # fmt: skip
    assert np.array_equal(pixel_array(ds), array)
    assert ds.get_int(tags.HighBit) == bits - 1
    theirs = _pydicom_reads(ds, syntax)
    assert np.array_equal(theirs.reshape(array.shape), array)
    written = io.BytesIO()
    write_file(written, ds, transfer_syntax_uid=syntax)
    back = read_file(written.getvalue())
    assert np.array_equal(pixel_array(back.dataset, transfer_syntax=back.transfer_syntax), array)


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"])
def test_one_bit_frames_are_not_byte_aligned(syntax: str) -> None:
    frames = np.random.default_rng(5).integers(0, 2, (3, 3, 5), dtype=np.uint8).astype(bool)
    ds = Dataset()
    set_pixel_data(ds, frames)
    packed = ds[tags.PixelData].value
    assert isinstance(packed, bytes) and len(packed) == (3 * 15 + 7) // 8
    assert np.array_equal(get_frame(ds, 2), frames[2])
    theirs = _pydicom_reads(ds, syntax)
    assert np.array_equal(theirs, frames.astype(np.uint8))


def test_eight_bit_samples_in_big_endian_ow_words() -> None:
    """PS3.5 A.3: 8-bit data written as OW in big endian has its bytes swapped in pairs."""
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    ds = Dataset()
    set_pixel_data(ds, array)
    ds.add(Element(tags.PixelData, "OW", ds[tags.PixelData].value))
    ds.set(tags.SOPClassUID, "1.2.840.10008.5.1.4.1.1.7", "UI")
    ds.set(tags.SOPInstanceUID, "1.2.3.4", "UI")
    buffer = io.BytesIO()
    write_file(buffer, ds, transfer_syntax_uid="1.2.840.10008.1.2.2")
    back = read_file(buffer.getvalue())
    assert not back.dataset[tags.PixelData].little_endian
    assert np.array_equal(pixel_array(back.dataset), array)
    theirs = pydicom_pixel_array(io.BytesIO(buffer.getvalue()))
    assert np.array_equal(theirs, array)


@pytest.mark.parametrize("dtype", ["<f4", "<f8"])
def test_float_pixel_data_round_trips(dtype: str) -> None:
    array = np.random.default_rng(6).normal(0, 100, (2, 4, 6)).astype(dtype)
    ds = Dataset()
    set_pixel_data(ds, array)
    expected_tag = tags.FloatPixelData if dtype == "<f4" else tags.DoubleFloatPixelData
    assert expected_tag in ds and tags.PixelData not in ds and tags.BitsStored not in ds
    assert np.array_equal(pixel_array(ds), array)
    for syntax in ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"):
        assert np.array_equal(_pydicom_reads(ds.copy(), syntax), array)


def test_samples_above_bits_stored_are_masked_or_sign_extended() -> None:
    ds = Dataset()
    set_pixel_data(ds, np.array([[0x0FFF, 0xF001, 0x0800]], dtype=np.uint16))
    ds.set(tags.BitsStored, 12, "US")
    assert pixel_array(ds)[0].tolist() == [[4095, 1, 2048]]
    ds.set(tags.PixelRepresentation, 1, "US")
    assert pixel_array(ds)[0].tolist() == [[-1, 1, -2048]]


def test_values_that_do_not_fit_bits_stored_are_refused() -> None:
    with pytest.raises(CodecError):
        set_pixel_data(Dataset(), np.array([[4096]], dtype=np.uint16), bits_stored=12)


def test_a_missing_attribute_is_a_codec_error() -> None:
    ds = Dataset()
    set_pixel_data(ds, np.zeros((2, 2), dtype=np.uint8))
    ds.delete(tags.Rows)
    with pytest.raises(CodecError, match="0028,0010"):
        pixel_array(ds)
