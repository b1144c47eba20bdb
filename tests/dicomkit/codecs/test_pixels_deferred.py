"""Frames of Pixel Data left in the file (deferred) are read one by one, not whole."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from dicomkit.codecs.pixels import get_frame, iter_frames, number_of_frames
from dicomkit.codecs.transcode import transcode
from dicomkit.data import uids
from dicomkit.errors import CodecError
from dicomkit.part10.options import DicomFile, ReadOptions
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file
from tests.builders import make_ct
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


# ---------------------------------------------------------- encapsulated (compressed)

FRAMES = 48


@pytest.fixture(scope="module")
def rle_multiframe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """48 RLE frames of 256x256 noise (about 6 MiB), and the pixels they hold."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 4096, size=(FRAMES, 256, 256), dtype=np.uint16)
    native = make_ct(
        Rows=256,
        Columns=256,
        NumberOfFrames=str(FRAMES),
        PixelData=pixels.tobytes(),
        BitsStored=12,
        HighBit=11,
    )
    compressed = transcode(native, uids.ExplicitVRLittleEndian, uids.RLELossless)
    path = tmp_path_factory.mktemp("rle") / "multiframe.dcm"
    write_file(path, compressed, transfer_syntax_uid=uids.RLELossless)
    return path, pixels


def test_a_compressed_frame_left_in_the_file_is_read_alone(rle_multiframe: tuple[Path, np.ndarray]) -> None:
    path, pixels = rle_multiframe
    dicom = read_file(path, ReadOptions(defer_size=4096))
    element = dicom.dataset[0x7FE00010]
    assert element.is_deferred and element.undefined_length
    tracemalloc.start()
    try:
        frame = get_frame(dicom.dataset, 40, transfer_syntax=dicom.transfer_syntax)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(frame, pixels[40])
    assert peak < element.length // 8  # one frame's bytes and its decoding, not the value
    assert element.is_deferred


def test_every_compressed_frame_left_in_the_file_equals_a_full_reads(
    rle_multiframe: tuple[Path, np.ndarray],
) -> None:
    path, pixels = rle_multiframe
    full = read_file(path)
    deferred = read_file(path, ReadOptions(defer_size=4096))
    for index in range(FRAMES):
        ours = get_frame(deferred.dataset, index, transfer_syntax=deferred.transfer_syntax)
        np.testing.assert_array_equal(
            ours, get_frame(full.dataset, index, transfer_syntax=full.transfer_syntax)
        )
        np.testing.assert_array_equal(ours, pixels[index])


def _read_then_cut(path: Path, tmp_path: Path) -> DicomFile:
    """A copy of ``path`` read with its pixel data left in the file, then cut by a quarter."""
    copy = tmp_path / "cut.dcm"
    copy.write_bytes(path.read_bytes())
    deferred = read_file(copy, ReadOptions(defer_size=4096))
    copy.write_bytes(path.read_bytes()[: -path.stat().st_size // 4])
    return deferred


def test_a_compressed_frame_past_the_end_of_a_shrunk_file_is_a_codec_error_naming_it(
    rle_multiframe: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    deferred = _read_then_cut(rle_multiframe[0], tmp_path)
    with pytest.raises(CodecError) as excinfo:
        get_frame(deferred.dataset, FRAMES - 1, transfer_syntax=deferred.transfer_syntax)
    assert excinfo.value.frame == FRAMES - 1


def test_iterating_compressed_frames_left_in_the_file_gives_every_frame(
    rle_multiframe: tuple[Path, np.ndarray],
) -> None:
    path, pixels = rle_multiframe
    deferred = read_file(path, ReadOptions(defer_size=4096))
    frames = list(iter_frames(deferred.dataset, transfer_syntax=deferred.transfer_syntax))
    np.testing.assert_array_equal(np.stack(frames), pixels)
    full = read_file(path)
    np.testing.assert_array_equal(
        np.stack(list(iter_frames(full.dataset, transfer_syntax=full.transfer_syntax))), pixels
    )


def test_iterating_frames_of_a_shrunk_file_stops_at_the_first_frame_it_cannot_read(
    rle_multiframe: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, pixels = rle_multiframe
    deferred = _read_then_cut(path, tmp_path)
    frames = iter_frames(deferred.dataset, transfer_syntax=deferred.transfer_syntax)
    np.testing.assert_array_equal(next(frames), pixels[0])
    with pytest.raises(CodecError) as excinfo:
        list(frames)
    frame = excinfo.value.frame
    assert frame is not None and 0 < frame < FRAMES
