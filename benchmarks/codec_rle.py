"""RLE Lossless: dicomkit's numpy codec against pydicom's pure-Python RLE handler.

Frames are 512 x 512 x 16-bit, one sample. Several contents, because RLE speed
depends on the number of runs rather than on the byte count:

* ``ct`` - pydicom's CT_small.dcm (128 x 128, real CT) tiled 4 x 4;
* ``ct512-693`` and ``ct512-j2kr`` - the two real 512 x 512 CT slices in pydicom's test
  data (693_J2KI.dcm and J2K_pixelrep_mismatch.dcm, decoded by pydicom): whole CT
  slices, with the patient, the table and the air around them;
* ``phantom`` - a synthetic body in air with smooth structure and noise;
* ``noise`` - uniform random 16-bit values (almost no runs, the worst case).

Decode: ``RLELosslessCodec.decode_frame`` (bytes -> ndarray) against
``pydicom.pixels.decoders.rle._rle_decode_frame`` plus ``numpy.frombuffer``.
Encode: ``encode_frame`` against ``pydicom.pixels.encoders.native._encode_frame``;
both produce identical bytes (checked before timing).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pydicom
import pydicom.data
from pydicom.pixels.decoders.rle import _rle_decode_frame
from pydicom.pixels.encoders.base import EncodeRunner
from pydicom.pixels.encoders.native import _encode_frame
from pydicom.uid import RLELossless

from benchmarks import Comparison, Report, measure
from dicomkit.codecs.format import PixelFormat
from dicomkit.codecs.rle import RLELosslessCodec

SIDE = 512
FORMAT = PixelFormat(SIDE, SIDE, 1, 16, 16, 1, 0, "MONOCHROME2")


def _runner() -> EncodeRunner:
    """pydicom's runner with the options its RLE encoder reads for one frame."""
    runner = EncodeRunner(RLELossless)
    for name, value in (("rows", SIDE), ("columns", SIDE), ("samples_per_pixel", 1), ("bits_allocated", 16)):
        runner.set_option(name, value)
    return runner


def _pixels(name: str) -> np.ndarray:
    """The first frame of one of pydicom's test files, as int16."""
    path = pydicom.data.get_testdata_file(name)
    if not isinstance(path, str):  # a path unless read=True; None when pydicom lacks it
        raise FileNotFoundError(f"pydicom's {name}")
    pixels = pydicom.dcmread(path).pixel_array.astype(np.int16)
    if pixels.shape != (SIDE, SIDE) and name != "CT_small.dcm":
        raise ValueError(f"{name} is {pixels.shape}, not {SIDE} x {SIDE}")
    return pixels


def frames() -> dict[str, np.ndarray]:
    ct = _pixels("CT_small.dcm")
    y, x = np.mgrid[:SIDE, :SIDE]
    body = (x - SIDE / 2) ** 2 / 0.8 + (y - SIDE / 2) ** 2 < (SIDE * 0.4) ** 2
    structure = 40 + 60 * np.sin(x / 23) * np.cos(y / 31) + 300 * ((x - 300) ** 2 + (y - 200) ** 2 < 900)
    noise = np.random.default_rng(0).normal(0, 8, (SIDE, SIDE))
    phantom = np.where(body, structure + noise, -1000).astype(np.int16)
    uniform = np.random.default_rng(1).integers(-32768, 32767, (SIDE, SIDE), dtype=np.int16, endpoint=True)
    return {
        "ct": np.tile(ct, (SIDE // ct.shape[0], SIDE // ct.shape[1])),
        "ct512-693": _pixels("693_J2KI.dcm"),
        "ct512-j2kr": _pixels("J2K_pixelrep_mismatch.dcm"),
        "phantom": phantom,
        "noise": uniform,
    }


def main(repeat: int = 9) -> Report:
    codec = RLELosslessCodec()
    runner = _runner()
    report = Report(
        title="RLE Lossless, 512x512x16-bit frames",
        peer="pydicom 3 pure-Python RLE handler (pydicom.pixels.decoders.rle / encoders.native)",
        goal="at least 3x pydicom",
        parameters={"frame_bytes": FORMAT.frame_length},
    )
    for case, array in frames().items():
        encoded = codec.encode_frame(array, FORMAT)
        if encoded != _encode_frame(array.tobytes(), runner):
            raise AssertionError(f"{case}: encoders disagree")

        def peer_decode(data: bytes = encoded) -> np.ndarray:
            return np.frombuffer(_rle_decode_frame(data, SIDE, SIDE, 1, 16), dtype="<i2").reshape(SIDE, SIDE)

        if not np.array_equal(codec.decode_frame(encoded, FORMAT), peer_decode()):
            raise AssertionError(f"{case}: decoders disagree")
        size = FORMAT.frame_length
        report.rows.append(
            Comparison(
                case,
                "decode",
                size,
                ours=measure(partial(codec.decode_frame, encoded, FORMAT), repeat=repeat),
                peer=measure(peer_decode, repeat=repeat),
            )
        )
        native = array.tobytes()
        report.rows.append(
            Comparison(
                case,
                "encode",
                size,
                ours=measure(partial(codec.encode_frame, array, FORMAT), repeat=repeat),
                peer=measure(partial(_encode_frame, native, runner), repeat=max(3, repeat // 3)),
            )
        )
        report.notes.append(f"{case}: compressed to {len(encoded)} bytes ({size / len(encoded):.2f}:1)")
    for operation in ("decode", "encode"):
        rows = [row for row in report.rows if row.operation == operation]
        size = sum(row.size for row in rows)
        ours = sum(row.ours.median for row in rows)
        peer = sum(row.peer.median for row in rows)
        report.notes.append(
            f"all frames, {operation}: ours {size / ours / 1e6:.0f} MB/s, "
            f"pydicom {size / peer / 1e6:.0f} MB/s, ratio {peer / ours:.1f}x (sum of medians)"
        )
    report.notes.append(
        "ratio = peer median / our median. Finding run headers is sequential, so decoding keeps one "
        "Python step per PackBits run (per stretch of two-byte runs in segments compressed 3:1 or "
        "better), four steps per loop pass; the rest is numpy (one repeat, literal runs copied as "
        "power-of-two windows)."
    )
    return report
