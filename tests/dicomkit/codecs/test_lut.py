"""The display pipeline, colour conversion and palettes, with pydicom.pixels as the oracle.

pydicom's ``apply_modality_lut`` / ``apply_voi_lut`` produce values in their own
output range (the stored range mapped through the rescale for windows, the
table's bit depth for VOI LUTs); the oracle here scales that range to 0..255,
applies the MONOCHROME1 inversion and rounds. Our 8-bit rendering must match it
within one grey level for every grayscale image of the corpus and for data sets
built to exercise each LUT kind.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.pixels.processing import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    apply_windowing,
    convert_color_space,
)

from dicomkit.codecs import color
from dicomkit.codecs.lut import Window, apply_window, is_inverted, to_display, windows
from dicomkit.codecs.pixels import get_frame, pixel_format, set_pixel_data
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.value_codec import ElementValue
from dicomkit.errors import CodecError, DicomError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file
from tests.corpus import DATA_ROOT, corpus_files

LENIENT = ReadOptions(validation=Validation.LENIENT)


def _oracle_display(pds: pydicom.Dataset, stored: np.ndarray) -> np.ndarray:
    """pydicom's modality + VOI, scaled to 8 bits as PS3.4 N.2 implies."""
    values = apply_modality_lut(stored, pds)
    out: npt.NDArray[np.float64]
    if "VOILUTSequence" in pds:
        bits = int(pds.VOILUTSequence[0].LUTDescriptor[2])
        out = apply_voi_lut(values, pds).astype(np.float64) / (2**bits - 1)
    elif "WindowCenter" in pds and "WindowWidth" in pds:
        windowed = apply_windowing(values, pds)
        low, high = _pydicom_window_range(pds)
        out = (windowed - low) / (high - low)
    else:
        values = values.astype(np.float64)
        out = (values - values.min()) / max(values.max() - values.min(), 1e-12)
        if values.max() == values.min():
            out = np.zeros_like(values)
    shape = str(pds.get("PresentationLUTShape", "")).upper()
    if shape == "INVERSE" or (not shape and pds.PhotometricInterpretation == "MONOCHROME1"):
        out = 1.0 - out
    return np.rint(out * 255.0)


def _pydicom_window_range(pds: pydicom.Dataset) -> tuple[float, float]:
    """The output range ``apply_windowing`` maps a window onto."""
    if pds.get("ModalityLUTSequence"):
        return 0.0, float(2 ** int(pds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1)
    bits = int(pds.BitsStored)
    low, high = (
        (0.0, 2.0**bits - 1)
        if pds.PixelRepresentation == 0
        else (-(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1)
    )
    if "RescaleSlope" in pds and "RescaleIntercept" in pds:
        slope, intercept = float(pds.RescaleSlope), float(pds.RescaleIntercept)
        low, high = low * slope + intercept, high * slope + intercept
    return low, high


def _grayscale_files() -> list[Path]:
    found = []
    for path in corpus_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pds = pydicom.dcmread(path, force=True)
                if pds.get("SamplesPerPixel") != 1 or pds.get("PhotometricInterpretation") == "PALETTE COLOR":
                    continue
                pds.pixel_array  # noqa: B018
            except Exception:
                continue
        found.append(path)
    return found


@pytest.mark.parametrize("path", _grayscale_files(), ids=lambda p: str(p.relative_to(DATA_ROOT)))
def test_rendering_matches_pydicom_modality_and_voi_within_one_grey_level(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(path, force=True)
        stored = pds.pixel_array
    if int(pds.get("NumberOfFrames", 1) or 1) > 1:
        stored = stored[0]
    dicom_file = read_file(path, LENIENT)
    frame = get_frame(dicom_file.dataset, 0, transfer_syntax=dicom_file.transfer_syntax)
    ours = to_display(dicom_file.dataset, frame)
    assert ours.dtype == np.uint8 and ours.shape == stored.shape
    assert np.abs(ours.astype(np.float64) - _oracle_display(pds, stored)).max() <= 1


# ------------------------------------------------------- constructed data sets


def _image(values: np.ndarray, **attributes: ElementValue) -> Dataset:
    ds = Dataset()
    set_pixel_data(ds, values)
    ds.set(tags.SOPClassUID, "1.2.840.10008.5.1.4.1.1.7", "UI")
    ds.set(tags.SOPInstanceUID, "1.2.3.4", "UI")
    for keyword, value in attributes.items():
        ds.set(keyword, value)
    return ds


def _lut_item(first: int, bits: int, table: list[int]) -> Dataset:
    item = Dataset()
    item.set(tags.LUTDescriptor, [len(table), first, bits], "US")
    item.set(tags.LUTData, table, "US")
    return item


def _both(ds: Dataset) -> tuple[np.ndarray, pydicom.Dataset, np.ndarray]:
    buffer = io.BytesIO()
    write_file(buffer, ds, transfer_syntax_uid="1.2.840.10008.1.2.1")
    pds = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
    back = read_file(buffer.getvalue())
    frame = get_frame(back.dataset, 0)
    return to_display(back.dataset, frame).astype(np.float64), pds, pds.pixel_array


RAMP = np.arange(-1200, 2896, 4, dtype=np.int16).reshape(32, 32)


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
@pytest.mark.parametrize(("center", "width"), [(40.0, 400.0), (300.0, 1.0), (-500.5, 1500.0)])
def test_each_voi_lut_function_matches_pydicom(function: str, center: float, width: float) -> None:
    if function != "LINEAR" and width == 1.0:
        width = 0.5
    ds = _image(
        RAMP,
        RescaleSlope=1.0,
        RescaleIntercept=-1024.0,
        WindowCenter=center,
        WindowWidth=width,
        VOILUTFunction=function,
    )
    ours, pds, stored = _both(ds)
    assert np.abs(ours - _oracle_display(pds, stored)).max() <= 1


def test_modality_and_voi_lut_sequences_match_pydicom() -> None:
    values = np.arange(0, 1024, dtype=np.uint16).reshape(32, 32)
    ds = _image(values)
    modality = _lut_item(100, 16, [int(4095 * math.sqrt(i / 799)) for i in range(800)])
    modality.set(tags.ModalityLUTType, "OD", "LO")
    ds.set(tags.ModalityLUTSequence, [modality], "SQ")
    ds.set(tags.VOILUTSequence, [_lut_item(0, 16, [min(65535, i * 20) for i in range(4096)])], "SQ")
    ours, pds, stored = _both(ds)
    assert np.abs(ours - _oracle_display(pds, stored)).max() <= 1
    assert ours.max() > 200  # the tables were used, not skipped


def test_an_explicit_window_overrides_the_data_set() -> None:
    ds = _image(RAMP, WindowCenter=5000.0, WindowWidth=10.0)
    frame = get_frame(ds, 0)
    everything_white = to_display(ds, frame)
    assert everything_white.max() == 0
    shown = to_display(ds, frame, window=Window(846.0, 4100.0))
    assert shown.min() <= 1 and shown.max() >= 254


def test_the_second_window_is_chosen_by_index() -> None:
    ds = _image(RAMP, WindowCenter=[0.0, 2000.0], WindowWidth=[100.0, 200.0])
    assert [w.center for w in windows(ds)] == [0.0, 2000.0]
    frame = get_frame(ds, 0)
    assert not np.array_equal(to_display(ds, frame, voi_index=1), to_display(ds, frame))


def test_linear_window_follows_ps3_3_c_11_2_1_2_1() -> None:
    window = Window(2048.0, 4096.0)
    values = np.array([0.0, 2047.5, 4095.0, -10.0, 5000.0])
    out = apply_window(values, window)
    assert out[0] == pytest.approx((0 - 2047.5) / 4095 + 0.5)
    assert out[1] == pytest.approx(0.5)
    assert out[3] == 0.0 and out[4] == 1.0


@pytest.mark.parametrize(("photometric", "shape", "inverted"), [
    ("MONOCHROME1", None, True),
    ("MONOCHROME2", None, False),
    ("MONOCHROME2", "INVERSE", True),
    ("MONOCHROME1", "INVERSE", True),
    ("MONOCHROME2", "IDENTITY", False),
])  # fmt: skip
def test_presentation_lut_shape_and_monochrome1_invert(
    photometric: str, shape: str | None, inverted: bool
) -> None:
    ds = _image(np.array([[0, 100]], dtype=np.uint8), PhotometricInterpretation=photometric)
    if shape:
        ds.set(tags.PresentationLUTShape, shape, "CS")
    assert is_inverted(ds) is inverted
    assert to_display(ds, get_frame(ds, 0)).tolist() == ([[255, 0]] if inverted else [[0, 255]])


@pytest.mark.parametrize(
    ("center", "width", "function"), [(0, 0.5, "LINEAR"), (0, 0, "SIGMOID"), (0, 1, "CUBIC")]
)
def test_unusable_windows_are_codec_errors(center: float, width: float, function: str) -> None:
    with pytest.raises(CodecError):
        Window(center, width, function)


# ------------------------------------------------------------------- colour


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_ybr_to_rgb_matches_pydicom_within_one(seed: int) -> None:
    ybr = np.random.default_rng(seed).integers(0, 255, (4, 5, 3), dtype=np.uint8, endpoint=True)
    ours = color.ybr_to_rgb(ybr).astype(np.int16)
    theirs = convert_color_space(ybr.copy(), "YBR_FULL", "RGB").astype(np.int16)
    assert np.abs(ours - theirs).max() <= 1


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([8, 12, 16]))
def test_rgb_through_ybr_and_back_is_within_one(seed: int, bits: int) -> None:
    dtype = np.uint8 if bits == 8 else np.uint16
    rgb = np.random.default_rng(seed).integers(0, (1 << bits) - 1, (3, 7, 3), dtype=dtype, endpoint=True)
    back = color.ybr_to_rgb(color.rgb_to_ybr(rgb, bits=bits), bits=bits)
    assert np.abs(back.astype(np.int32) - rgb.astype(np.int32)).max() <= 1


def test_native_ybr_full_422_is_upsampled_as_pydicom_does() -> None:
    path = DATA_ROOT / "test_files" / "SC_ybr_full_422_uncompressed.dcm"
    dicom_file = read_file(path)
    ours = get_frame(dicom_file.dataset, 0)
    from pydicom.pixels.utils import pixel_array

    assert np.array_equal(ours, pixel_array(path, as_rgb=False))
    assert np.array_equal(get_frame(dicom_file.dataset, 0, as_rgb=True), pixel_array(path))


def test_palette_colour_matches_pydicom() -> None:
    path = DATA_ROOT / "test_files" / "examples_palette.dcm"
    dicom_file = read_file(path)
    indices = get_frame(dicom_file.dataset, 0)
    ours = color.apply_palette(indices, color.palette_lut(dicom_file.dataset))
    pds = pydicom.dcmread(path)
    assert np.array_equal(ours, apply_color_lut(pds.pixel_array, pds))
    rendered = to_display(dicom_file.dataset, indices)
    assert rendered.shape == (*indices.shape, 3) and rendered.dtype == np.uint8


def _segmented(ds: Dataset, words: list[int], entries: int, first: int) -> None:
    for name in ("Red", "Green", "Blue"):
        ds.set(f"{name}PaletteColorLookupTableDescriptor", [entries, first, 16], "US")
        ds.set(f"Segmented{name}PaletteColorLookupTableData", np.asarray(words, "<u2").tobytes(), "OW")


def test_segmented_palettes_match_pydicom() -> None:
    # discrete 0..3, linear ramp to 60000 over 100, discrete, then an indirect copy of the first two
    words = [0, 4, 0, 1000, 2000, 3000, 1, 100, 60000, 0, 2, 50, 40, 2, 2, 0, 0]
    ds = _image(np.arange(0, 256, dtype=np.uint8).reshape(16, 16), PhotometricInterpretation="PALETTE COLOR")
    _segmented(ds, words, 210, 10)
    palette = color.palette_lut(ds)
    ours = color.apply_palette(get_frame(ds, 0), palette)
    buffer = io.BytesIO()
    write_file(buffer, ds, transfer_syntax_uid="1.2.840.10008.1.2.1")
    pds = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
    theirs = apply_color_lut(pds.pixel_array, pds)
    assert ours.shape == theirs.shape
    assert np.abs(ours.astype(np.int64) - theirs.astype(np.int64)).max() <= 1
    assert len(palette.red) == 4 + 100 + 2 + 104


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 0xFFFF), max_size=40), st.integers(1, 300))
def test_arbitrary_segmented_data_expands_or_raises_codec_error(words: list[int], entries: int) -> None:
    try:
        table = color.expand_segmented_lut(np.asarray(words, dtype=np.uint16), entries)
    except DicomError:
        return
    assert len(table) <= entries
    assert table.dtype == np.uint16


def test_pixel_format_of_palette_image() -> None:
    ds = _image(np.zeros((2, 2), np.uint8), PhotometricInterpretation="PALETTE COLOR")
    assert pixel_format(ds).photometric_interpretation == "PALETTE COLOR"
    with pytest.raises(CodecError):
        color.palette_lut(ds)
