"""PixelFormat: validation and derived sizes (PS3.3 C.7.6.3)."""

from __future__ import annotations

import dataclasses
from typing import TypedDict, get_args

import numpy as np
import pytest

from dicomkit.codecs import IntegerSample, PixelFormat
from dicomkit.codecs.pixels import pixel_format, set_pixel_data
from dicomkit.data.dataset import Dataset
from dicomkit.errors import CodecError


def test_derived_sizes_and_dtype() -> None:
    fmt = PixelFormat(512, 256, 3, 16, 12, 1, 0, "RGB", number_of_frames=4)
    assert fmt.frame_length == 512 * 256 * 3 * 2
    assert fmt.dtype == np.dtype("<i2")
    assert fmt.shape == (512, 256, 3)
    assert PixelFormat(3, 3, 1, 1, 1, 0, 0, "MONOCHROME2").frame_length == 2  # 9 bits
    assert PixelFormat(3, 3, 1, 32, 32, 0, 0, "MONOCHROME2").dtype == np.dtype("<u4")


@pytest.mark.parametrize("signed", [0, 1])
@pytest.mark.parametrize("bits", [1, 8, 16, 32, 64])
def test_dtype_is_one_of_the_integer_sample_types(bits: int, signed: int) -> None:
    dtype = PixelFormat(2, 2, 1, bits, bits, signed, 0, "MONOCHROME2").dtype
    assert dtype.type in get_args(IntegerSample)
    assert dtype.kind == ("i" if signed and bits > 1 else "u")


@pytest.mark.parametrize("float_type", [np.float32, np.float64])
def test_float_pixel_data_formats_give_the_sample_width_as_an_unsigned_dtype(float_type: type) -> None:
    ds = Dataset()
    set_pixel_data(ds, np.zeros((2, 3), float_type))
    assert pixel_format(ds).dtype == np.dtype(f"<u{np.dtype(float_type).itemsize}")


class _Counts(TypedDict, total=False):
    """The PixelFormat fields the impossible-format cases set."""

    rows: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    samples_per_pixel: int
    number_of_frames: int


@pytest.mark.parametrize(
    "kwargs,problem",
    [
        ({"rows": 0}, "rows/columns"),
        ({"bits_allocated": 12}, "bits allocated"),
        ({"bits_stored": 17}, "bits stored"),
        ({"pixel_representation": 2}, "pixel representation"),
        ({"samples_per_pixel": 5}, "samples per pixel"),
        ({"number_of_frames": 0}, "number of frames"),
    ],
)
def test_impossible_formats_are_codec_errors(kwargs: _Counts, problem: str) -> None:
    valid = PixelFormat(
        rows=4,
        columns=4,
        samples_per_pixel=1,
        bits_allocated=16,
        bits_stored=16,
        pixel_representation=0,
        planar_configuration=0,
        photometric_interpretation="MONOCHROME2",
    )
    with pytest.raises(CodecError, match=problem):
        dataclasses.replace(valid, **kwargs)
