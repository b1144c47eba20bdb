"""The bridge to imagecodecs shared by the JPEG-family codecs (PS3.5 §8.2).

imagecodecs (BSD) does the compression; this module makes its behaviour fit
the DICOM model:

* every exception it raises becomes a ``CodecError`` naming the frame;
* before decoding, the codestream's declared size (JPEG SOF, JPEG-LS SOF55,
  JPEG 2000 SIZ) is checked against the Image Pixel Module, so a crafted
  header cannot make the decoder allocate more than one frame's worth;
* decoded arrays are checked for shape and brought to ``PixelFormat.dtype``,
  with the sign handling PS3.5 implies: JPEG and JPEG-LS streams carry no
  signedness, so signed samples are sign-extended from Bits Stored; a JPEG 2000
  stream whose signedness disagrees with Pixel Representation is reinterpreted
  the same way;
* encoding options are parsed from ``**options`` with explicit types and
  unknown names rejected.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from dicomkit.codecs.format import PixelArray, PixelFormat, check_frame_array
from dicomkit.errors import CodecError

__all__ = [
    "call_codec",
    "call_encoder",
    "check_declared_size",
    "finish_decoded",
    "int_option",
    "jpeg_is_ycbcr",
    "jpeg_precision",
    "jpeg_segments",
    "mask_bits",
    "reject_unknown",
    "sign_extend",
    "to_unsigned_pattern",
]

# JPEG start-of-frame markers (ITU-T T.81 B.1.1.3) and JPEG-LS SOF55 (T.87).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xDA)) | {0x01}
_SIZ = struct.Struct(">IIII")  # Xsiz Ysiz XOsiz YOsiz, after SOC, SIZ, Lsiz, Rsiz


def call_codec(function: Callable[..., object], data: object, *, frame: int, **kwargs: object) -> PixelArray:
    """Call an imagecodecs decoder, turning any failure into ``CodecError``."""
    try:
        result = function(data, **kwargs)
    except MemoryError as exc:
        raise CodecError("not enough memory to decode", frame=frame) from exc
    except Exception as exc:  # imagecodecs raises its own types, ValueError, RuntimeError ...
        raise CodecError(f"{type(exc).__name__}: {exc}", frame=frame) from exc
    if not isinstance(result, np.ndarray):
        raise CodecError(f"decoder returned {type(result).__name__}, not an array", frame=frame)
    return result


def call_encoder(
    function: Callable[..., object], array: PixelArray, *, frame: int, **kwargs: object
) -> bytes:
    """Call an imagecodecs encoder, turning any failure into ``CodecError``."""
    try:
        result = function(array, **kwargs)
    except Exception as exc:
        raise CodecError(f"{type(exc).__name__}: {exc}", frame=frame) from exc
    if not isinstance(result, bytes | bytearray):
        raise CodecError(f"encoder returned {type(result).__name__}, not bytes", frame=frame)
    return bytes(result)


def check_declared_size(data: bytes, fmt: PixelFormat, *, frame: int) -> None:
    """Reject a JPEG / JPEG-LS / JPEG 2000 stream whose header declares another frame size.

    Streams whose header cannot be found are left to the decoder (which then
    fails on its own); only a *found* size that disagrees is rejected.
    """
    declared = _jpeg_size(data) if data[:2] == b"\xff\xd8" else None
    if data[:4] == b"\xff\x4f\xff\x51" and len(data) >= 8 + _SIZ.size:
        width, height, x_origin, y_origin = _SIZ.unpack_from(data, 8)
        declared = (height - y_origin, width - x_origin, _j2k_components(data))
    if declared is None:
        return
    rows, columns, components = declared
    if (rows not in (0, fmt.rows)) or columns != fmt.columns or components != fmt.samples_per_pixel:
        raise CodecError(
            f"codestream declares {rows}x{columns}x{components}, the pixel format "
            f"{fmt.rows}x{fmt.columns}x{fmt.samples_per_pixel}",
            frame=frame,
        )


def jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of each JPEG / JPEG-LS marker segment before the first scan.

    Stops quietly at anything unexpected; bounded by ``len(data)``.
    """
    position = 2
    size = len(data)
    while position + 4 <= size:
        if data[position] != 0xFF:
            return
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _STANDALONE_MARKERS:
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        if length < 2 or position + 2 + length > size:
            return
        yield marker, data[position + 4 : position + 2 + length]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return
        position += 2 + length


def jpeg_is_ycbcr(data: bytes) -> bool:
    """True when a 3-component JPEG says its samples are YCbCr (JFIF, or Adobe transform 1)."""
    for marker, payload in jpeg_segments(data):
        if marker == 0xE0 and payload.startswith(b"JFIF\x00"):
            return True
        if marker == 0xEE and payload.startswith(b"Adobe") and len(payload) >= 12:
            return payload[11] != 0
    return False


def jpeg_precision(data: bytes) -> int | None:
    """Sample precision P of a JPEG / JPEG-LS frame header, or None when none is found."""
    for marker, payload in jpeg_segments(data):
        if marker in _SOF_MARKERS and payload:
            return int(payload[0])
    return None


def _jpeg_size(data: bytes) -> tuple[int, int, int] | None:
    """(rows, columns, components) from the first SOF marker segment."""
    for marker, payload in jpeg_segments(data):
        if marker in _SOF_MARKERS and len(payload) >= 6:
            rows, columns, components = struct.unpack_from(">HHB", payload, 1)
            return rows, columns, components
    return None


def _j2k_components(data: bytes) -> int:
    offset = 8 + _SIZ.size + 16  # tile sizes and tile origin follow the image origin
    if len(data) < offset + 2:
        return 0
    (components,) = struct.unpack_from(">H", data, offset)
    return int(components)


def finish_decoded(
    decoded: PixelArray, fmt: PixelFormat, *, frame: int, precision: int | None = None
) -> PixelArray:
    """Check a decoder's output and bring it to ``fmt.dtype`` and ``fmt.shape``.

    An unsigned result for signed pixel data (JPEG and JPEG-LS streams have no
    signedness; some JPEG 2000 encoders drop it) is sign-extended from the
    stream's ``precision`` when known, else from Bits Stored; a signed result
    for unsigned pixel data keeps the low Bits Stored.
    """
    if decoded.shape != fmt.shape:
        if decoded.ndim == 3 and decoded.shape[2] == 1 and decoded.shape[:2] == fmt.shape:
            decoded = decoded[:, :, 0]
        else:
            raise CodecError(f"decoded shape {decoded.shape}, expected {fmt.shape}", frame=frame)
    if decoded.dtype.kind not in "ui" or decoded.dtype.itemsize > fmt.dtype.itemsize:
        raise CodecError(f"decoded {decoded.dtype} samples do not fit {fmt.bits_allocated} bits", frame=frame)
    if fmt.is_signed:
        result = decoded.astype(fmt.dtype)
        return result if decoded.dtype.kind == "i" else sign_extend(result, precision or fmt.bits_stored)
    if decoded.dtype.kind == "i":
        unsigned = decoded.view(decoded.dtype.str.replace("i", "u")).astype(fmt.dtype)
        return mask_bits(unsigned, fmt.bits_stored)
    return decoded.astype(fmt.dtype)


def sign_extend(array: PixelArray, bits: int) -> PixelArray:
    """Sign-extend the low ``bits`` of each sample of a signed array."""
    width = array.dtype.itemsize * 8
    if array.dtype.kind != "i" or bits >= width:
        return array
    shift = np.array(width - bits, dtype=array.dtype)
    return np.right_shift(np.left_shift(array, shift), shift)


def mask_bits(array: PixelArray, bits: int) -> PixelArray:
    """Keep the low ``bits`` of each sample of an unsigned array."""
    if bits >= array.dtype.itemsize * 8:
        return array
    return np.bitwise_and(array, np.array((1 << bits) - 1, dtype=array.dtype))


def to_unsigned_pattern(array: PixelArray, fmt: PixelFormat, *, bits: int | None = None) -> PixelArray:
    """The stored bit patterns as unsigned integers, keeping only the low ``bits``.

    Used for codestreams without signedness; ``bits`` None keeps the full
    container (JPEG-LS, whose precision is the container's).
    """
    check_frame_array(array, fmt)
    native = np.ascontiguousarray(array, dtype=fmt.dtype)
    unsigned = native.view(native.dtype.str.replace("i", "u"))
    return unsigned if bits is None else mask_bits(unsigned, bits)


def reject_unknown(options: Mapping[str, object], allowed: frozenset[str], codec: str) -> None:
    unknown = set(options) - allowed
    if unknown:
        raise CodecError(f"unknown {codec} encoding options {sorted(unknown)}; allowed {sorted(allowed)}")


def int_option(options: Mapping[str, object], name: str, default: int, low: int, high: int) -> int:
    """An integer option within [low, high]."""
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CodecError(f"option {name} must be an integer in {low}..{high}, got {value!r}")
    return value
