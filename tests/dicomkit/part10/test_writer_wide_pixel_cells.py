"""The writer changes the byte order of 32/64-bit native Pixel Data cell by cell.

Explicit VR Big Endian holds each 32- or 64-bit pixel cell as one big-endian number, as
pydicom reads it (docs/dicomkit/big_endian_pixel_data.md). Judges: byte-exact round
trips, our decoder, and pydicom's ``pixel_array``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
import pytest
from pydicom.data import get_testdata_file

from dicomkit.codecs.pixels import pixel_array, set_pixel_data
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.part10.options import DicomFile
from dicomkit.part10.reader import read_dataset, read_file
from dicomkit.part10.transfer_syntax import (
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
)
from dicomkit.part10.writer import encode_dataset, write_file

SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.2"  # RT Dose


def _image(dtype: str) -> npt.NDArray[np.generic]:
    """Two 3x5 frames whose every byte differs from its neighbours (so any wrong swap shows)."""
    size = np.dtype(dtype).itemsize
    data = ((np.arange(30 * size) * 7 + 1) % 251).astype(np.uint8)
    return data.view(f"<{dtype[0]}{size}").astype(dtype).reshape(2, 3, 5)


def _dataset(array: npt.NDArray[np.generic]) -> Dataset:
    ds = Dataset()
    ds.set(tags.SOPClassUID, SOP_CLASS, "UI")
    ds.set(tags.SOPInstanceUID, "1.2.3.4.5", "UI")
    set_pixel_data(ds, array)
    return ds


def _write_read(ds: Dataset, syntax: str) -> tuple[bytes, DicomFile]:
    buffer = io.BytesIO()
    write_file(buffer, ds, transfer_syntax_uid=syntax)
    return buffer.getvalue(), read_file(buffer.getvalue())


def _pydicom_pixels(data: bytes | Path) -> npt.NDArray[np.generic]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        return np.asarray(pydicom.dcmread(source).pixel_array)


def _pixel_bytes(ds: Dataset) -> bytes:
    raw = ds[tags.PixelData].raw_bytes()
    assert raw is not None
    return raw


@pytest.mark.parametrize("dtype", ["uint32", "int32", "uint64"])
def test_little_to_big_to_little_endian_is_byte_exact(dtype: str) -> None:
    ds = _dataset(_image(dtype))
    original = ds[tags.PixelData].encode(little_endian=True, charset=ds.charset)
    _, big = _write_read(ds, EXPLICIT_VR_BIG_ENDIAN)
    assert not big.dataset[tags.PixelData].little_endian
    assert np.array_equal(pixel_array(big.dataset), _image(dtype))
    _, little = _write_read(big.dataset, EXPLICIT_VR_LITTLE_ENDIAN)
    assert _pixel_bytes(little.dataset) == original


@pytest.mark.parametrize("dtype", ["uint32", "int32", "uint64"])
def test_a_big_endian_file_we_write_decodes_the_same_with_us_and_with_pydicom(dtype: str) -> None:
    array = _image(dtype)
    data, big = _write_read(_dataset(array), EXPLICIT_VR_BIG_ENDIAN)
    assert np.array_equal(pixel_array(big.dataset), array)
    assert np.array_equal(_pydicom_pixels(data), array)


@pytest.mark.parametrize("dtype", ["uint32", "uint64"])
def test_a_big_endian_file_stores_each_cell_as_one_big_endian_number(dtype: str) -> None:
    array = _image(dtype)
    _, big = _write_read(_dataset(array), EXPLICIT_VR_BIG_ENDIAN)
    assert _pixel_bytes(big.dataset) == array.astype(f">u{array.itemsize}").tobytes()


def test_encode_dataset_converts_cells_whole_as_the_storage_scu_sends_them() -> None:
    """encode_dataset is what C-STORE and C-MOVE/C-GET re-encoding send, with no transcode step."""
    array = _image("uint32")
    ds = _dataset(array)
    big = read_dataset(encode_dataset(ds, EXPLICIT_VR_BIG_ENDIAN), EXPLICIT_VR_BIG_ENDIAN)
    assert np.array_equal(pixel_array(big), array)
    little = read_dataset(encode_dataset(big, IMPLICIT_VR_LITTLE_ENDIAN), IMPLICIT_VR_LITTLE_ENDIAN)
    assert _pixel_bytes(little) == array.astype("<u4").tobytes()


@pytest.mark.parametrize("name", ["rtdose_expb.dcm", "rtdose_expb_1frame.dcm"])
def test_pydicom_big_endian_rtdose_through_little_endian_gives_back_its_pixel_bytes(name: str) -> None:
    path = Path(get_testdata_file(name) or "")
    source = read_file(path)
    expected = _pydicom_pixels(path)
    data, little = _write_read(source.dataset, EXPLICIT_VR_LITTLE_ENDIAN)
    assert np.array_equal(pixel_array(little.dataset).reshape(expected.shape), expected)
    assert np.array_equal(_pydicom_pixels(data), expected)
    data, big = _write_read(little.dataset, EXPLICIT_VR_BIG_ENDIAN)
    assert _pixel_bytes(big.dataset) == _pixel_bytes(source.dataset)
    assert np.array_equal(_pydicom_pixels(data), expected)


def test_the_big_endian_and_little_endian_reading_of_the_same_pixels_are_equal() -> None:
    ds = _dataset(_image("uint32"))
    _, big = _write_read(ds, EXPLICIT_VR_BIG_ENDIAN)
    assert big.dataset == ds
    assert ds == big.dataset


def test_16_bit_pixel_data_still_swaps_in_words() -> None:
    array = _image("uint16")
    _, big = _write_read(_dataset(array), EXPLICIT_VR_BIG_ENDIAN)
    assert _pixel_bytes(big.dataset) == array.astype(">u2").tobytes()


def test_an_icon_image_follows_its_own_bits_allocated() -> None:
    ds = _dataset(_image("uint16"))
    icon_array = _image("uint32")[0]
    icon = Dataset()
    set_pixel_data(icon, icon_array)
    ds.set(tags.IconImageSequence, [icon], "SQ")
    _, big = _write_read(ds, EXPLICIT_VR_BIG_ENDIAN)
    assert _pixel_bytes(big.dataset[tags.IconImageSequence].sequence[0]) == icon_array.astype(">u4").tobytes()
    assert _pixel_bytes(big.dataset) == _image("uint16").astype(">u2").tobytes()


def test_a_value_not_a_whole_number_of_cells_round_trips_byte_exact() -> None:
    """A malformed length: the whole cells are swapped whole, the 2-byte rest as a word."""
    ds = _dataset(_image("uint32"))
    value = bytes(range(1, 11))  # two 32-bit cells and two bytes over
    ds.add(Element(tags.PixelData, "OW", value))
    _, big = _write_read(ds, EXPLICIT_VR_BIG_ENDIAN)
    assert _pixel_bytes(big.dataset) == bytes([4, 3, 2, 1, 8, 7, 6, 5, 10, 9])
    _, little = _write_read(big.dataset, EXPLICIT_VR_LITTLE_ENDIAN)
    assert _pixel_bytes(little.dataset) == value


def test_without_bits_allocated_pixel_data_is_swapped_in_words() -> None:
    ds = Dataset()
    ds.add(Element(tags.PixelData, "OW", bytes(range(1, 9))))
    big = read_dataset(encode_dataset(ds, EXPLICIT_VR_BIG_ENDIAN), EXPLICIT_VR_BIG_ENDIAN)
    assert _pixel_bytes(big) == bytes([2, 1, 4, 3, 6, 5, 8, 7])
