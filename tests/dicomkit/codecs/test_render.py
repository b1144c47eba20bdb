"""PNG rendering: our PNG writer read back by an independent decoder, and ``python -m dicomkit render``."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomkit.codecs.lut import Window, to_display
from dicomkit.codecs.pixels import get_frame
from dicomkit.codecs.render import encode_png, render_frame
from dicomkit.errors import CodecError
from dicomkit.part10.reader import read_file
from tests.corpus import DATA_ROOT

FILES = DATA_ROOT / "test_files"
REPO = Path(__file__).resolve().parents[3]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 20), columns=st.integers(1, 20), colour=st.booleans(), seed=st.integers(0, 2**32 - 1)
)
def test_png_decodes_to_the_image_written(rows: int, columns: int, colour: bool, seed: int) -> None:
    shape = (rows, columns, 3) if colour else (rows, columns)
    image = np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8, endpoint=True)
    data = encode_png(image)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert np.array_equal(imagecodecs.png_decode(data), image)


def test_every_chunk_carries_a_valid_crc() -> None:
    data = encode_png(np.zeros((2, 3), np.uint8))
    position = 8
    kinds = []
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        crc = int.from_bytes(data[position + 8 + length : position + 12 + length], "big")
        assert zlib.crc32(kind + body) == crc
        kinds.append(kind)
        position += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


@pytest.mark.parametrize(
    "image", [np.zeros((2, 2), np.uint16), np.zeros((2, 2, 4), np.uint8), np.zeros(3, np.uint8)]
)
def test_what_png_cannot_hold_here_is_refused(image: np.ndarray) -> None:
    with pytest.raises(CodecError):
        encode_png(image)


def test_render_frame_decodes_only_the_frame_asked_for() -> None:
    dicom_file = read_file(FILES / "examples_ybr_color.dcm")
    image = render_frame(dicom_file.dataset, 12, transfer_syntax=dicom_file.transfer_syntax)
    stored = get_frame(dicom_file.dataset, 12, transfer_syntax=dicom_file.transfer_syntax)
    assert np.array_equal(image, to_display(dicom_file.dataset, stored))
    assert image.shape == (240, 320, 3)


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dicomkit", "render", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_cli_renders_a_window_of_a_ct_slice(tmp_path: Path) -> None:
    out = tmp_path / "ct.png"
    result = _run(FILES / "CT_small.dcm", out, "--window=40,400")
    assert result.returncode == 0, result.stderr
    dicom_file = read_file(FILES / "CT_small.dcm")
    expected = to_display(dicom_file.dataset, get_frame(dicom_file.dataset, 0), window=Window(40.0, 400.0))
    assert np.array_equal(imagecodecs.png_decode(out.read_bytes()), expected)


def test_cli_renders_a_frame_of_a_multiframe_rle_file(tmp_path: Path) -> None:
    out = tmp_path / "frame.png"
    result = _run(FILES / "SC_rgb_rle_2frame.dcm", out, "--frame", "1")
    assert result.returncode == 0, result.stderr
    assert imagecodecs.png_decode(out.read_bytes()).shape == (100, 100, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--frame", "9"], "frame index outside 0..1"), (["--window=40,0"], "window width")],
)
def test_cli_errors_are_one_line_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x.png"
    result = _run(FILES / "SC_rgb_rle_2frame.dcm", out, *args)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not out.exists()
