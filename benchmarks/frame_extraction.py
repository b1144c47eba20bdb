"""One frame out of a 500-frame object without decoding the rest, dicomkit vs pydicom.

The object: 500 frames of 256 x 256 x 16-bit (12 bits stored) phantom slices,
each frame different, written three ways: JPEG-LS Lossless with a Basic Offset
Table, the same without one (frames found by scanning fragment headers and
codestream markers), and native Explicit VR Little Endian. Frame 250 is asked for.

* ``from file``: open the file and return frame 250. Ours:
  ``read_file(path, ReadOptions(defer_size=1 MiB))`` then ``get_frame``; pydicom:
  ``pydicom.pixels.pixel_array(path, index=250)``, its own one-frame path.
* ``in memory``: the data set is already read. Ours: ``get_frame(ds, 250)``;
  pydicom: ``get_decoder(ts).as_array(ds, index=250)``.
* ``decode all``, for scale: pydicom's ``ds.pixel_array[250]`` decodes all 500.

Run: ``python -m benchmarks frame_extraction [--repeat N]``.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels.decoders.base import Decoder, get_decoder
from pydicom.pixels.utils import pixel_array

from benchmarks import Comparison, Report, measure
from dicomkit.codecs.pixels import get_frame, set_pixel_data
from dicomkit.codecs.transcode import OffsetTable, transcode
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file

FRAMES = 500
SIDE = 256
INDEX = 250
EXPLICIT = "1.2.840.10008.1.2.1"
JPEG_LS = "1.2.840.10008.1.2.4.80"
DEFERRED = ReadOptions(defer_size=1 << 20)


def volume() -> np.ndarray:
    z, y, x = np.mgrid[:FRAMES, :SIDE, :SIDE].astype(np.float32)
    body = (x - SIDE / 2) ** 2 + (y - SIDE / 2) ** 2 < (SIDE * (0.3 + 0.1 * np.sin(z / 40))) ** 2
    structure = 1040 + 80 * np.sin(x / 13 + z / 17) * np.cos(y / 19)
    noise = np.random.default_rng(0).normal(0, 6, body.shape)
    return np.where(body, structure + noise, 24).clip(0, 4095).astype(np.uint16)


def _write(directory: Path, frames: np.ndarray) -> dict[str, Path]:
    ds = Dataset()
    ds.set(tags.SOPClassUID, "1.2.840.10008.5.1.4.1.1.2.1", "UI")
    ds.set(tags.SOPInstanceUID, "1.2.826.0.1.3680043.10.2", "UI")
    set_pixel_data(ds, frames, bits_stored=12)
    paths: dict[str, Path] = {}
    cases: tuple[tuple[str, str, OffsetTable], ...] = (
        ("JPEG-LS, basic offset table", JPEG_LS, "basic"),
        ("JPEG-LS, no offset table", JPEG_LS, "none"),
        ("native", EXPLICIT, "basic"),
    )
    for case, syntax, offset_table in cases:
        path = directory / f"{len(paths)}.dcm"
        encoded = transcode(ds, EXPLICIT, syntax, offset_table=offset_table)
        write_file(path, encoded, transfer_syntax_uid=syntax)
        paths[case] = path
    return paths


def _ours_from_file(path: Path) -> Callable[[], np.ndarray]:
    def run() -> np.ndarray:
        dicom_file = read_file(path, DEFERRED)
        return get_frame(dicom_file.dataset, INDEX, transfer_syntax=dicom_file.transfer_syntax)

    return run


def _theirs_from_file(path: Path) -> Callable[[], np.ndarray]:
    def run() -> np.ndarray:
        return pixel_array(path, index=INDEX)

    return run


def main(repeat: int = 9) -> Report:
    report = Report(
        title=f"Frame {INDEX} of a {FRAMES}-frame object ({SIDE}x{SIDE}x16-bit)",
        peer="pydicom 3 one-frame paths (pixel_array(path, index=...), Decoder.as_array(ds, index=...))",
        goal="faster than pydicom; cost independent of the frame count",
        parameters={"frames": FRAMES, "frame": INDEX, "side": SIDE},
    )
    frames = volume()
    size = frames[INDEX].nbytes
    with tempfile.TemporaryDirectory() as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case, path in _write(Path(directory), frames).items():
            ours, theirs = _ours_from_file(path), _theirs_from_file(path)
            if not (np.array_equal(ours(), frames[INDEX]) and np.array_equal(theirs(), frames[INDEX])):
                raise AssertionError(f"{case}: frame {INDEX} differs")
            report.rows.append(
                Comparison(
                    case,
                    "from file",
                    size,
                    ours=measure(ours, repeat=repeat),
                    peer=measure(theirs, repeat=repeat),
                )
            )
            ours_file = read_file(path)
            pds = pydicom.dcmread(path)
            decoder = get_decoder(pds.file_meta.TransferSyntaxUID)

            def ours_in_memory(
                ds: Dataset = ours_file.dataset, syntax: str = ours_file.transfer_syntax
            ) -> np.ndarray:
                return get_frame(ds, INDEX, transfer_syntax=syntax)

            def theirs_in_memory(pds: pydicom.Dataset = pds, decoder: Decoder = decoder) -> np.ndarray:
                return decoder.as_array(pds, index=INDEX)[0]

            report.rows.append(
                Comparison(
                    case,
                    "in memory",
                    size,
                    ours=measure(ours_in_memory, repeat=repeat),
                    peer=measure(theirs_in_memory, repeat=repeat),
                )
            )
            if case.startswith("JPEG-LS, basic"):

                def decode_all(pds: pydicom.Dataset = pds) -> np.ndarray:
                    frame: np.ndarray = pds.pixel_array[INDEX]  # numpy types an int index as Any
                    return frame

                all_timing = measure(decode_all, repeat=max(1, repeat // 3), warmup=0)
                report.rows.append(
                    Comparison(
                        case,
                        "vs decoding all",
                        size,
                        ours=measure(ours_in_memory, repeat=repeat),
                        peer=all_timing,
                    )
                )
    report.notes.append("ratio = peer median / our median; MB/s count the one frame's native bytes.")
    report.notes.append(
        "'vs decoding all' compares our one-frame path with pydicom's Dataset.pixel_array, "
        "which decodes all 500 frames first."
    )
    return report
