"""Frames of Pixel Data left in the file (deferred) are read one by one, not whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dicomkit.codecs.pixels import get_frame, number_of_frames
from dicomkit.errors import CodecError
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_file
from tests.corpus import DATA_ROOT

MULTI_FRAME = DATA_ROOT / "test_files" / "rtdose.dcm"


def test_each_deferred_frame_equals_the_frame_of_a_full_read() -> None:
    full = read_file(MULTI_FRAME).dataset
    deferred = read_file(MULTI_FRAME, ReadOptions(defer_size=1024)).dataset
    assert deferred[0x7FE00010].is_deferred
    frames = number_of_frames(full)
    assert frames > 1
    for index in range(frames):
        np.testing.assert_array_equal(get_frame(deferred, index), get_frame(full, index))
    assert deferred[0x7FE00010].is_deferred  # the whole value was never loaded


def test_a_frame_past_the_end_of_a_shrunk_file_is_a_codec_error_naming_it(tmp_path: Path) -> None:
    copy = tmp_path / "dose.dcm"
    copy.write_bytes(MULTI_FRAME.read_bytes())
    deferred = read_file(copy, ReadOptions(defer_size=1024)).dataset
    last = number_of_frames(deferred) - 1
    copy.write_bytes(MULTI_FRAME.read_bytes()[:-10])
    get_frame(deferred, 0)
    with pytest.raises(CodecError) as excinfo:
        get_frame(deferred, last)
    assert excinfo.value.frame == last
