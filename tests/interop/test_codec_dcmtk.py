"""Files we compress are decompressed by DCMTK (dcmdrle, dcmdjpeg, dcmdjpls) to the pixels we decode.

For each encoder (RLE, the JPEG processes, JPEG-LS) a few images of the pydicom
corpus are transcoded by ``dicomkit.codecs.transcode`` and written; DCMTK's tool
decompresses the file to Explicit VR Little Endian; that file, read back by
dicomkit and by pydicom, holds the same pixels as our own decoding of what we
wrote. Lossless codecs must agree exactly. The DCT processes may differ by one
grey level (ITU-T T.81 A.3.3 bounds the IDCT error, IJG and libjpeg-turbo round
differently); colour stays YCbCr on both sides (``dcmdjpeg +cn``).
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from pydicom.pixels.utils import pixel_array as pydicom_pixel_array

from dicomkit.codecs import CodecOptions
from dicomkit.codecs.pixels import pixel_array
from dicomkit.codecs.transcode import transcode
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file
from tests.corpus import DATA_ROOT

FILES = DATA_ROOT / "test_files"
EXPLICIT = "1.2.840.10008.1.2.1"
DCT = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}


CASES: list[tuple[str, list[str], str, CodecOptions, str]] = [
    # (tool, extra tool arguments, target syntax, options, source file)
    ("dcmdrle", [], "1.2.840.10008.1.2.5", {}, "CT_small.dcm"),
    ("dcmdrle", [], "1.2.840.10008.1.2.5", {}, "SC_rgb_small_odd.dcm"),
    ("dcmdrle", [], "1.2.840.10008.1.2.5", {}, "rtdose.dcm"),
    ("dcmdrle", [], "1.2.840.10008.1.2.5", {}, "SC_rgb_jpeg_dcmd.dcm"),
    ("dcmdjpeg", ["+cn"], "1.2.840.10008.1.2.4.50", {"quality": 90}, "SC_rgb_jpeg_dcmd.dcm"),
    ("dcmdjpeg", ["+cn"], "1.2.840.10008.1.2.4.50", {"quality": 75}, "image_dfl.dcm"),
    ("dcmdjpeg", ["+cn"], "1.2.840.10008.1.2.4.51", {"quality": 90}, "examples_overlay.dcm"),
    ("dcmdjpeg", [], "1.2.840.10008.1.2.4.57", {"predictor": 6}, "examples_overlay.dcm"),
    ("dcmdjpeg", [], "1.2.840.10008.1.2.4.70", {}, "CT_small.dcm"),
    ("dcmdjpeg", [], "1.2.840.10008.1.2.4.70", {}, "SC_rgb_jpeg_dcmd.dcm"),
    ("dcmdjpls", [], "1.2.840.10008.1.2.4.80", {}, "CT_small.dcm"),
    ("dcmdjpls", [], "1.2.840.10008.1.2.4.80", {}, "SC_rgb_jpeg_dcmd.dcm"),
    ("dcmdjpls", [], "1.2.840.10008.1.2.4.81", {"near": 3}, "examples_overlay.dcm"),
    ("dcmdjpls", [], "1.2.840.10008.1.2.4.81", {"near": 2}, "SC_rgb_jpeg_dcmd.dcm"),
]


@pytest.mark.parametrize(
    ("tool", "arguments", "target", "options", "name"),
    CASES,
    ids=[f"{case[0]}-{case[2].rsplit('.', 1)[-1]}-{case[4]}" for case in CASES],
)
def test_dcmtk_decodes_our_files_to_our_pixels(
    tmp_path: Path, tool: str, arguments: list[str], target: str, options: CodecOptions, name: str
) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} (DCMTK) is not installed")
    source = read_file(FILES / name)
    encoded = transcode(source.dataset, source.transfer_syntax, target, **options)
    ours_path = tmp_path / "ours.dcm"
    write_file(ours_path, encoded, transfer_syntax_uid=target, meta=source.meta)
    ours = read_file(ours_path)
    expected = pixel_array(ours.dataset, transfer_syntax=target)

    decoded_path = tmp_path / "dcmtk.dcm"
    result = subprocess.run(
        [tool, *arguments, str(ours_path), str(decoded_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    theirs = read_file(decoded_path)
    assert theirs.transfer_syntax == EXPLICIT
    decoded = pixel_array(theirs.dataset, transfer_syntax=theirs.transfer_syntax)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_pydicom = np.asarray(pydicom_pixel_array(decoded_path, as_rgb=False))
    tolerance = 1 if target in DCT else 0
    assert decoded.shape == expected.shape
    assert np.abs(decoded.astype(np.int64) - expected.astype(np.int64)).max() <= tolerance
    assert (
        np.abs(by_pydicom.reshape(expected.shape).astype(np.int64) - expected.astype(np.int64)).max()
        <= tolerance
    )
    if target.endswith(".81") or target in DCT:
        original = pixel_array(source.dataset, transfer_syntax=source.transfer_syntax)
        assert not np.array_equal(original, expected) or original.size < 64  # lossy really was lossy
