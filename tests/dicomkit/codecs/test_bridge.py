"""The imagecodecs bridge: sign handling and the declared-size guard."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from dicomkit.codecs import PixelFormat
from dicomkit.codecs.bridge import check_declared_size, finish_decoded, sign_extend
from dicomkit.errors import CodecError


def test_sign_extension_from_bits_stored() -> None:
    raw = np.array([0x0FFF, 0x0800, 0x07FF], dtype=np.int16)
    assert sign_extend(raw, 12).tolist() == [-1, -2048, 2047]


def test_unsigned_stream_for_signed_data_is_sign_extended() -> None:
    fmt = PixelFormat(1, 3, 1, 16, 12, 1, 0, "MONOCHROME2")
    decoded = finish_decoded(np.array([[0x0FFF, 1, 0x0800]], dtype=np.uint16), fmt, frame=0)
    assert decoded.dtype == np.int16
    assert decoded.tolist() == [[-1, 1, -2048]]


def test_signed_stream_for_unsigned_data_keeps_the_low_bits() -> None:
    fmt = PixelFormat(1, 2, 1, 16, 12, 0, 0, "MONOCHROME2")
    decoded = finish_decoded(np.array([[-1, 5]], dtype=np.int16), fmt, frame=0)
    assert decoded.tolist() == [[0x0FFF, 5]]


def test_wider_decoded_samples_than_allocated_are_rejected() -> None:
    fmt = PixelFormat(1, 1, 1, 8, 8, 0, 0, "MONOCHROME2")
    with pytest.raises(CodecError, match="do not fit") as info:
        finish_decoded(np.zeros((1, 1), np.uint16), fmt, frame=3)
    assert info.value.frame == 3


def test_declared_size_guard_reads_jpeg_sof_and_j2k_siz() -> None:
    fmt = PixelFormat(10, 20, 1, 8, 8, 0, 0, "MONOCHROME2")
    sof = b"\xff\xd8" + b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 60000, 60000, 1) + b"\x01\x11\x00"
    with pytest.raises(CodecError, match="60000x60000x1"):
        check_declared_size(sof, fmt, frame=0)
    siz = b"\xff\x4f\xff\x51" + struct.pack(">HH4I4IH", 41, 0, 20, 10, 0, 0, 20, 10, 0, 0, 1)
    check_declared_size(siz, fmt, frame=0)  # matches: no error
    with pytest.raises(CodecError, match="10x20x1, the pixel format 10x20x3"):
        check_declared_size(siz, PixelFormat(10, 20, 3, 8, 8, 0, 0, "RGB"), frame=0)
