"""Every compressed file of pydicom's corpus decodes, frame by frame, as pydicom decodes it.

pydicom (with its pylibjpeg plugins: libjpeg, OpenJPEG, RLE) is the oracle. Its
frames come from ``pixel_array(..., as_rgb=False)`` so that both sides keep the
stored colour space. DCT-based JPEG (baseline / extended) is not bit-exact
across decoders (T.81 A.3.3 only bounds the IDCT error), so those may differ by 1.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from pydicom.pixels.utils import pixel_array

from dicomkit.codecs import PixelFormat, frame_fragments, get_codec
from dicomkit.codecs.registry import known_transfer_syntaxes

TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"
DCT_JPEG = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}


def _compressed_files() -> list[Path]:
    files = []
    for path in sorted(TEST_FILES.rglob("*.dcm")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                meta = pydicom.dcmread(path, stop_before_pixels=True).file_meta
            syntax = str(meta.TransferSyntaxUID)
        except Exception:
            continue
        if syntax in known_transfer_syntaxes() and pydicom.uid.UID(syntax).is_compressed:
            files.append(path)
    return files


FILES = _compressed_files()


def test_the_corpus_has_files_for_every_family() -> None:
    syntaxes = {str(pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in FILES}
    for uid in (
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.90",
    ):
        assert uid in syntaxes


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_frames_decode_as_pydicom_decodes_them(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        try:
            expected = pixel_array(path, as_rgb=False)
            value = ds.PixelData
        except Exception:
            pytest.skip("pydicom cannot decode this file")
    syntax = str(ds.file_meta.TransferSyntaxUID)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    fmt = PixelFormat(
        rows=ds.Rows,
        columns=ds.Columns,
        samples_per_pixel=ds.SamplesPerPixel,
        bits_allocated=ds.BitsAllocated,
        bits_stored=ds.BitsStored,
        pixel_representation=ds.PixelRepresentation,
        planar_configuration=int(getattr(ds, "PlanarConfiguration", 0) or 0),
        photometric_interpretation=ds.PhotometricInterpretation,
        number_of_frames=frames,
    )
    if frames == 1:
        expected = expected[np.newaxis]
    codec = get_codec(syntax)
    decoded = np.stack(
        [codec.decode_frame(data, fmt, frame=n) for n, data in enumerate(frame_fragments(value, frames))]
    )
    assert decoded.shape == expected.shape
    assert decoded.dtype == expected.dtype
    if syntax in DCT_JPEG:
        difference = np.abs(decoded.astype(np.int64) - expected.astype(np.int64))
        assert difference.max() <= 1
    else:
        np.testing.assert_array_equal(decoded, expected)
