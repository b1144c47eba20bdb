"""Whole data sets transcoded between syntaxes: pixels, attributes, and pydicom's reading of the result."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.pixels.utils import pixel_array as pydicom_pixel_array

from dicomkit.codecs import CodecOptions
from dicomkit.codecs.encapsulation import frame_fragments
from dicomkit.codecs.pixels import get_frame, pixel_array, pixel_format, set_pixel_data
from dicomkit.codecs.registry import get_codec
from dicomkit.codecs.transcode import transcode
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.errors import CodecError, UnsupportedTransferSyntaxError
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file
from tests.corpus import DATA_ROOT

FILES = DATA_ROOT / "test_files"
EXPLICIT = "1.2.840.10008.1.2.1"
BIG = "1.2.840.10008.1.2.2"
RLE = "1.2.840.10008.1.2.5"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_LS = "1.2.840.10008.1.2.4.80"
JPEG_LS_NEAR = "1.2.840.10008.1.2.4.81"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
J2K = "1.2.840.10008.1.2.4.91"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"

LOSSLESS = [EXPLICIT, BIG, RLE, JPEG_LOSSLESS_SV1, JPEG_LS, J2K_LOSSLESS, HTJ2K_LOSSLESS]
SOURCES = ["CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_rle_2frame.dcm", "rtdose_expb.dcm", "JPEG2000.dcm"]


def _round_trip(ds: Dataset, syntax: str, meta: Dataset | None = None) -> tuple[Dataset, str, bytes]:
    buffer = io.BytesIO()
    write_file(buffer, ds, transfer_syntax_uid=syntax, meta=meta)
    back = read_file(buffer.getvalue())
    return back.dataset, back.transfer_syntax, buffer.getvalue()


def _pydicom(data: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(pydicom_pixel_array(io.BytesIO(data), as_rgb=False))


@pytest.mark.parametrize("target", LOSSLESS)
@pytest.mark.parametrize("name", SOURCES)
def test_lossless_transcoding_keeps_every_pixel_and_pydicom_agrees(name: str, target: str) -> None:
    source = read_file(FILES / name)
    original = pixel_array(source.dataset, transfer_syntax=source.transfer_syntax)
    fmt_bits = source.dataset.get_int(tags.BitsAllocated)
    if target not in (EXPLICIT, BIG) and not get_codec(target).can_encode(pixel_format(source.dataset)):
        with pytest.raises(CodecError):
            transcode(source.dataset, source.transfer_syntax, target)
        return
    result = transcode(source.dataset, source.transfer_syntax, target)
    ds, syntax, data = _round_trip(result, target, source.meta)
    assert syntax == target
    assert np.array_equal(pixel_array(ds, transfer_syntax=syntax), original)
    assert np.array_equal(_pydicom(data).reshape(original.shape), original), f"{fmt_bits}-bit"
    assert ds.get_str(tags.SOPInstanceUID) == source.dataset.get_str(tags.SOPInstanceUID)
    assert (ds.get_str(tags.LossyImageCompression) or "00") == (
        source.dataset.get_str(tags.LossyImageCompression) or "00"
    )
    assert (tags.PixelData in ds and ds[tags.PixelData].undefined_length) == (target not in (EXPLICIT, BIG))


def test_the_input_data_set_is_left_alone() -> None:
    source = read_file(FILES / "CT_small.dcm")
    before = source.dataset.copy()
    transcode(source.dataset, source.transfer_syntax, J2K, psnr=40.0)
    assert source.dataset == before


def test_a_lossy_step_marks_the_data_and_gets_a_new_instance_uid() -> None:
    source = read_file(FILES / "CT_small.dcm")
    result = transcode(source.dataset, source.transfer_syntax, J2K, psnr=45.0)
    assert result.get_str(tags.LossyImageCompression) == "01"
    assert result.get_strs(tags.LossyImageCompressionMethod) == ["ISO_15444_1"]
    (ratio,) = result.get_floats(tags.LossyImageCompressionRatio)
    encoded = result[tags.PixelData].value
    assert isinstance(encoded, bytes)
    (frame,) = frame_fragments(encoded, 1)
    assert ratio == pytest.approx(128 * 128 * 2 / len(frame), rel=0.01)
    old_uid = source.dataset.get_str(tags.SOPInstanceUID)
    assert result.get_str(tags.SOPInstanceUID) not in (None, old_uid)
    # A second lossy step adds a ratio and a method (C.7.6.1.1.5: values accumulate).
    again = transcode(result, J2K, JPEG_LS_NEAR, near=3)
    assert again.get_strs(tags.LossyImageCompressionMethod) == ["ISO_15444_1", "ISO_14495_1"]
    assert len(again.get_floats(tags.LossyImageCompressionRatio)) == 2
    assert again.get_str(tags.SOPInstanceUID) != result.get_str(tags.SOPInstanceUID)


@pytest.mark.parametrize(("target", "options"), [(J2K, {"reversible": True}), (JPEG_LS_NEAR, {"near": 0})])
def test_lossless_settings_of_a_lossy_syntax_are_not_a_lossy_step(target: str, options: CodecOptions) -> None:
    source = read_file(FILES / "CT_small.dcm")
    result = transcode(source.dataset, source.transfer_syntax, target, **options)
    assert tags.LossyImageCompression not in result
    assert result.get_str(tags.SOPInstanceUID) == source.dataset.get_str(tags.SOPInstanceUID)
    assert np.array_equal(pixel_array(result, transfer_syntax=target), pixel_array(source.dataset))


def test_decompressing_lossy_data_keeps_the_uid_and_the_lossy_mark() -> None:
    source = read_file(FILES / "SC_rgb_jpeg_dcmtk.dcm")
    for tag in (
        tags.LossyImageCompression,
        tags.LossyImageCompressionMethod,
        tags.LossyImageCompressionRatio,
    ):
        source.dataset.delete(tag)
    result = transcode(source.dataset, source.transfer_syntax, EXPLICIT)
    assert result.get_str(tags.SOPInstanceUID) == source.dataset.get_str(tags.SOPInstanceUID)
    assert result.get_str(tags.LossyImageCompression) == "01"
    assert result.get_strs(tags.LossyImageCompressionMethod) == ["ISO_10918_1"]


def test_rgb_to_jpeg_baseline_is_stored_as_ybr_full_422_and_decodes_close_to_the_original() -> None:
    source = read_file(FILES / "SC_rgb_small_odd.dcm")
    rgb = pixel_array(source.dataset)
    big = Dataset()
    big.merge(source.dataset)
    set_pixel_data(big, np.repeat(np.repeat(rgb, 8, axis=1), 8, axis=2)[0], photometric_interpretation="RGB")
    result = transcode(big, EXPLICIT, JPEG_BASELINE, quality=95)
    assert result.get_str(tags.PhotometricInterpretation) == "YBR_FULL_422"
    assert result.get_int(tags.PlanarConfiguration) == 0
    ds, syntax, data = _round_trip(result, JPEG_BASELINE, source.meta)
    back = get_frame(ds, 0, transfer_syntax=syntax, as_rgb=True)
    assert np.abs(back.astype(int) - pixel_array(big)[0].astype(int)).mean() < 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.dcmread(io.BytesIO(data)).pixel_array
    assert np.abs(theirs.astype(int) - back.astype(int)).max() <= 3


def test_jpeg_ybr_full_422_decompressed_becomes_ybr_full_or_rgb() -> None:
    source = read_file(FILES / "examples_ybr_color.dcm")
    kept = transcode(source.dataset, source.transfer_syntax, EXPLICIT)
    assert kept.get_str(tags.PhotometricInterpretation) == "YBR_FULL"
    as_rgb = transcode(source.dataset, source.transfer_syntax, EXPLICIT, ybr_to_rgb=True)
    assert as_rgb.get_str(tags.PhotometricInterpretation) == "RGB"
    expected = pixel_array(source.dataset, transfer_syntax=source.transfer_syntax, as_rgb=True)
    assert np.array_equal(pixel_array(as_rgb), expected)


def test_rle_colour_is_planar_and_j2k_colour_uses_the_component_transform() -> None:
    source = read_file(FILES / "SC_rgb_small_odd.dcm")
    assert transcode(source.dataset, EXPLICIT, RLE).get_int(tags.PlanarConfiguration) == 1
    j2k = transcode(source.dataset, EXPLICIT, J2K_LOSSLESS)
    assert j2k.get_str(tags.PhotometricInterpretation) == "YBR_RCT"
    back = transcode(j2k, J2K_LOSSLESS, EXPLICIT)
    assert back.get_str(tags.PhotometricInterpretation) == "RGB"
    assert np.array_equal(pixel_array(back), pixel_array(source.dataset))


def test_extended_offset_table_is_written_on_request_and_used_to_find_frames() -> None:
    source = read_file(FILES / "SC_rgb_rle_2frame.dcm")
    result = transcode(source.dataset, source.transfer_syntax, JPEG_LS, offset_table="extended")
    assert tags.ExtendedOffsetTable in result and tags.ExtendedOffsetTableLengths in result
    ds, syntax, data = _round_trip(result, JPEG_LS, source.meta)
    expected = pixel_array(source.dataset, transfer_syntax=source.transfer_syntax)
    assert np.array_equal(get_frame(ds, 1, transfer_syntax=syntax), expected[1])
    assert np.array_equal(_pydicom(data), expected)
    native = transcode(result, JPEG_LS, EXPLICIT)
    assert tags.ExtendedOffsetTable not in native


def test_what_the_target_cannot_encode_is_refused() -> None:
    source = read_file(FILES / "CT_small.dcm")  # signed 16-bit
    with pytest.raises(CodecError, match="cannot encode"):
        transcode(source.dataset, source.transfer_syntax, JPEG_BASELINE)
    palette = read_file(FILES / "examples_palette.dcm")
    with pytest.raises(CodecError, match="PALETTE COLOR"):
        transcode(palette.dataset, palette.transfer_syntax, JPEG_BASELINE)
    with pytest.raises(UnsupportedTransferSyntaxError):
        transcode(source.dataset, source.transfer_syntax, "1.2.840.10008.1.2.4.100")
    with pytest.raises(CodecError, match="options"):
        transcode(source.dataset, source.transfer_syntax, BIG, quality=3)


def test_big_endian_32_bit_samples_convert_whole() -> None:
    source = read_file(FILES / "rtdose_expb.dcm")
    expected = pixel_array(source.dataset)
    result = transcode(source.dataset, BIG, EXPLICIT)
    ds, _, data = _round_trip(result, EXPLICIT, source.meta)
    assert np.array_equal(pixel_array(ds), expected)
    assert np.array_equal(_pydicom(data), expected)
    again = transcode(ds, EXPLICIT, BIG)
    ds, _, data = _round_trip(again, BIG, source.meta)
    assert np.array_equal(pixel_array(ds), expected)
    assert np.array_equal(_pydicom(data), expected)
