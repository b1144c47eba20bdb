"""Decode and encode MB/s per transfer syntax on 512 x 512 x 16-bit frames, dicomkit vs pydicom.

The frame is a synthetic CT-like phantom (body in air, smooth structure, noise)
stored as unsigned 16-bit with 12 bits stored, the common CT/MR layout; JPEG
Baseline, which is 8-bit only, gets the same phantom scaled to 8 bits (so its
MB/s count half the bytes). MB/s are native (uncompressed) bytes per second.

Decode: ``dicomkit.codecs.pixels.get_frame(ds, 0, transfer_syntax=...)`` on a
data set read by dicomkit, against ``pydicom.pixels.get_decoder(ts).as_array``
on the same file read by pydicom (pylibjpeg plugins for JPEG / JPEG-LS / JPEG
2000 / HTJ2K, pylibjpeg-rle or pydicom's own for RLE: the fastest available).
Encode: ``Codec.encode_frame`` against pydicom's encoder where pydicom has one
(RLE, JPEG 2000); other syntaxes have no pydicom encoder and report ours only.
Both sides' decoded frames are checked equal (within the codec's loss) before
timing.

Run: ``python -m benchmarks codec_throughput [--repeat N]``.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import numpy as np
import pydicom
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.encoders.base import EncodeOptions, get_encoder

from benchmarks import Comparison, Report, Timing, measure
from dicomkit.codecs.format import CodecOptions, PixelFormat
from dicomkit.codecs.pixels import get_frame, set_pixel_data
from dicomkit.codecs.registry import available_transfer_syntaxes, get_codec
from dicomkit.codecs.transcode import transcode
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file

SIDE = 512
EXPLICIT = "1.2.840.10008.1.2.1"
SYNTAXES: dict[str, tuple[str, CodecOptions]] = {
    "1.2.840.10008.1.2.5": ("RLE Lossless", {}),
    "1.2.840.10008.1.2.4.50": ("JPEG Baseline (8-bit)", {"quality": 90}),
    "1.2.840.10008.1.2.4.51": ("JPEG Extended 12-bit", {"quality": 90}),
    "1.2.840.10008.1.2.4.57": ("JPEG Lossless P14", {}),
    "1.2.840.10008.1.2.4.70": ("JPEG Lossless SV1", {}),
    "1.2.840.10008.1.2.4.80": ("JPEG-LS Lossless", {}),
    "1.2.840.10008.1.2.4.81": ("JPEG-LS Near-Lossless", {"near": 2}),
    "1.2.840.10008.1.2.4.90": ("JPEG 2000 Lossless", {}),
    "1.2.840.10008.1.2.4.91": ("JPEG 2000", {"psnr": 50.0}),
    "1.2.840.10008.1.2.4.201": ("HTJ2K Lossless", {}),
    "1.2.840.10008.1.2.4.203": ("HTJ2K", {}),
    "1.2.840.10008.1.2.4.110": ("JPEG XL Lossless", {}),
}
# How far a lossy decode may be from pydicom's (different decoders round differently).
_TOLERANCE = {"1.2.840.10008.1.2.4.50": 1, "1.2.840.10008.1.2.4.51": 1}


def phantom(bits: int) -> np.ndarray:
    y, x = np.mgrid[:SIDE, :SIDE]
    body = (x - SIDE / 2) ** 2 / 0.8 + (y - SIDE / 2) ** 2 < (SIDE * 0.4) ** 2
    structure = 1040 + 60 * np.sin(x / 23) * np.cos(y / 31) + 300 * ((x - 300) ** 2 + (y - 200) ** 2 < 900)
    noise = np.random.default_rng(0).normal(0, 8, (SIDE, SIDE))
    values = np.where(body, structure + noise, 24).clip(0, 4095)
    if bits == 8:
        return (values / 16).astype(np.uint8)
    return values.astype(np.uint16)


def _dataset(array: np.ndarray, bits_stored: int) -> Dataset:
    ds = Dataset()
    ds.set(tags.SOPClassUID, "1.2.840.10008.5.1.4.1.1.2", "UI")
    ds.set(tags.SOPInstanceUID, "1.2.826.0.1.3680043.10.1", "UI")
    set_pixel_data(ds, array, bits_stored=bits_stored)
    return ds


def _file(ds: Dataset, syntax: str, options: CodecOptions) -> bytes:
    encoded = transcode(ds, EXPLICIT, syntax, **options)
    buffer = io.BytesIO()
    write_file(buffer, encoded, transfer_syntax_uid=syntax)
    return buffer.getvalue()


def _pydicom_encode(syntax: str, array: np.ndarray, fmt: PixelFormat, options: CodecOptions) -> bytes | None:
    try:
        encoder = get_encoder(syntax)
    except NotImplementedError:
        return None
    if not encoder.is_available:
        return None
    kwargs: EncodeOptions = {
        "rows": fmt.rows,
        "columns": fmt.columns,
        "samples_per_pixel": 1,
        "bits_allocated": fmt.bits_allocated,
        "bits_stored": fmt.bits_stored,
        "pixel_representation": 0,
        "photometric_interpretation": "MONOCHROME2",
        "number_of_frames": 1,
    }
    if syntax == "1.2.840.10008.1.2.4.91":
        kwargs["j2k_psnr"] = [float(options.get("psnr", 50.0))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return encoder.encode(array, **kwargs)


def main(repeat: int = 9) -> Report:
    report = Report(
        title="Codec throughput per transfer syntax, 512x512x16-bit frames (12 bits stored)",
        peer="pydicom 3 handlers in the same run (pylibjpeg-libjpeg / -openjpeg / -rle plugins)",
        goal="decode at least on par with pydicom; encode where pydicom can",
        parameters={"frame": f"{SIDE}x{SIDE}", "bits_allocated": 16, "bits_stored": 12},
    )
    available = set(available_transfer_syntaxes())
    for syntax, (name, options) in SYNTAXES.items():
        if syntax not in available:
            report.notes.append(f"{name}: codec unavailable here, skipped")
            continue
        _measure_syntax(report, syntax, name, options, repeat)
    report.notes.append(
        "ratio = peer median / our median. Decode rows are data-set level on both sides "
        "(locate the frame in the encapsulated value, decode, apply Bits Stored)."
    )
    return report


def _peer_decoder(syntax: str, data: bytes) -> Callable[[], np.ndarray] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(io.BytesIO(data))
        try:
            decoder = get_decoder(syntax)
        except NotImplementedError:
            return None

    def decode() -> np.ndarray:
        return decoder.as_array(pds, index=0)[0]

    try:
        decode()
    except Exception:  # no plugin here decodes it
        return None
    return decode


def _measure_syntax(report: Report, syntax: str, name: str, options: CodecOptions, repeat: int) -> None:
    bits = 8 if syntax == "1.2.840.10008.1.2.4.50" else 16
    array = phantom(bits)
    data = _file(_dataset(array, 8 if bits == 8 else 12), syntax, options)
    ours_file = read_file(data)
    fmt = PixelFormat(SIDE, SIDE, 1, bits, 8 if bits == 8 else 12, 0, 0, "MONOCHROME2")
    size = fmt.frame_length
    codec = get_codec(syntax)

    def ours_decode() -> np.ndarray:
        return get_frame(ours_file.dataset, 0, transfer_syntax=syntax)

    def ours_encode() -> bytes:
        return codec.encode_frame(array, fmt, **options)

    encoded_size = len(ours_encode())
    decode_timing = measure(ours_decode, repeat=repeat)
    encode_timing = measure(ours_encode, repeat=repeat)
    peer_decode = _peer_decoder(syntax, data)
    if peer_decode is not None:
        difference = np.abs(ours_decode().astype(np.int64) - peer_decode().astype(np.int64)).max()
        if difference > _TOLERANCE.get(syntax, 0):
            raise AssertionError(f"{name}: decoders disagree by {difference}")
        report.rows.append(
            Comparison(name, "decode", size, ours=decode_timing, peer=measure(peer_decode, repeat=repeat))
        )
    else:
        report.notes.append(f"{name}: pydicom cannot decode it; ours {_figure(size, decode_timing)}")
    if _pydicom_encode(syntax, array, fmt, options) is not None:

        def peer_encode() -> bytes | None:
            return _pydicom_encode(syntax, array, fmt, options)

        report.rows.append(
            Comparison(name, "encode", size, ours=encode_timing, peer=measure(peer_encode, repeat=repeat))
        )
    else:
        report.notes.append(f"{name}: pydicom has no encoder; ours encodes {_figure(size, encode_timing)}")
    report.notes.append(f"{name}: the phantom compresses {size / encoded_size:.2f}:1")


def _figure(size: int, timing: Timing) -> str:
    return (
        f"{size / timing.median / 1e6:.1f} MB/s (median {timing.median * 1e3:.2f} ms, "
        f"p95 {timing.p95 * 1e3:.2f} ms)"
    )
