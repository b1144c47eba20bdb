"""Native (uncompressed) pixel data as a codec (PS3.5 §8.1.1, §8.2, §A.4.11).

Native frames are the samples themselves, so "decoding" is a reshape:

* planar configuration 0 interleaves samples per pixel (R1 G1 B1 R2 ...), 1
  stores each colour plane whole (R1 R2 ... G1 G2 ... B1 ...), PS3.3 C.7.6.3.1.3;
* 1-bit samples are packed eight to a byte, first pixel in the least
  significant bit, and consecutive frames are *not* byte aligned: use
  ``native_frame`` to cut frame *n* out of the whole value;
* Explicit VR Big Endian stores multi-byte samples most significant byte first.
  (When its Pixel Data has VR OW and 8 bits allocated, the reader must also undo
  the 16-bit word swap before calling this codec.)

Encapsulated Uncompressed Explicit VR Little Endian (.1.2.1.98) holds native
frames, one per fragment, and uses this codec too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Unpack

import numpy as np

from dicomkit.codecs.format import CodecOptions, PixelArray, PixelFormat, check_frame_array
from dicomkit.errors import CodecError, UnsupportedTransferSyntaxError

__all__ = [
    "ENCAPSULATED_UNCOMPRESSED",
    "EXPLICIT_VR_BIG_ENDIAN",
    "EXPLICIT_VR_LITTLE_ENDIAN",
    "DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN",
    "IMPLICIT_VR_LITTLE_ENDIAN",
    "NativeCodec",
    "make_codec",
    "native_frame",
]

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
ENCAPSULATED_UNCOMPRESSED = "1.2.840.10008.1.2.1.98"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"

_NATIVE = frozenset(
    {
        IMPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_LITTLE_ENDIAN,
        ENCAPSULATED_UNCOMPRESSED,
        DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_BIG_ENDIAN,
    }
)


@dataclass(frozen=True, slots=True)
class NativeCodec:
    """Uncompressed frames, little or big endian."""

    transfer_syntax: str
    lossy: bool = False

    @property
    def big_endian(self) -> bool:
        return self.transfer_syntax == EXPLICIT_VR_BIG_ENDIAN

    def can_encode(self, fmt: PixelFormat) -> bool:
        return True

    def encoded_format(self, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> PixelFormat:
        _no_options(options)
        return fmt

    def decode_frame(self, data: bytes, fmt: PixelFormat, *, frame: int = 0) -> PixelArray:
        if len(data) not in (fmt.frame_length, fmt.frame_length + (fmt.frame_length & 1)):
            raise CodecError(f"native frame has {len(data)} bytes, expected {fmt.frame_length}", frame=frame)
        if fmt.bits_allocated == 1:
            raw = np.frombuffer(data, dtype=np.uint8, count=fmt.frame_length)
            flat = np.unpackbits(raw, bitorder="little", count=fmt.samples)
        else:
            dtype = fmt.dtype.newbyteorder(">") if self.big_endian else fmt.dtype
            flat = np.frombuffer(data, dtype=dtype, count=fmt.samples).astype(fmt.dtype)
        spp = fmt.samples_per_pixel
        if spp == 1:
            return flat.reshape(fmt.rows, fmt.columns)
        if fmt.planar_configuration == 1:
            return np.ascontiguousarray(flat.reshape(spp, fmt.rows, fmt.columns).transpose(1, 2, 0))
        return flat.reshape(fmt.rows, fmt.columns, spp)

    def encode_frame(self, array: PixelArray, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> bytes:
        _no_options(options)
        check_frame_array(array, fmt)
        samples = np.asarray(array)
        if fmt.samples_per_pixel > 1 and fmt.planar_configuration == 1:
            samples = samples.transpose(2, 0, 1)
        if fmt.bits_allocated == 1:
            bits = np.ascontiguousarray(samples, dtype=np.uint8).reshape(-1) & 1
            return np.packbits(bits, bitorder="little").tobytes()
        dtype = fmt.dtype.newbyteorder(">") if self.big_endian else fmt.dtype
        return np.ascontiguousarray(samples, dtype=dtype).tobytes()


def native_frame(value: bytes | memoryview, fmt: PixelFormat, frame: int) -> bytes:
    """Cut frame ``frame`` out of a native Pixel Data value (1-bit frames need not be aligned).

    ``NativeCodec.decode_frame`` wants exactly one frame (plus at most one pad byte).
    """
    if not 0 <= frame < fmt.number_of_frames:
        raise CodecError(f"frame index outside 0..{fmt.number_of_frames - 1}", frame=frame)
    start_bit = fmt.frame_bit_offset(frame)
    bits = fmt.samples * fmt.bits_allocated
    if (start_bit + bits + 7) // 8 > len(value):
        raise CodecError(f"pixel data of {len(value)} bytes ends before frame {frame}", frame=frame)
    start, shift = divmod(start_bit, 8)
    if shift == 0:
        return bytes(value[start : start + fmt.frame_length])
    covering = np.frombuffer(value, dtype=np.uint8, count=(shift + bits + 7) // 8, offset=start)
    unpacked = np.unpackbits(covering, bitorder="little")[shift : shift + bits]
    return np.packbits(unpacked, bitorder="little").tobytes()


def _no_options(options: Mapping[str, object]) -> None:
    if options:
        raise CodecError(f"native pixel data takes no encoding options, got {sorted(options)}")


def make_codec(transfer_syntax: str) -> NativeCodec:
    """Registry entry point."""
    if transfer_syntax not in _NATIVE:
        raise UnsupportedTransferSyntaxError(f"{transfer_syntax} is not a native transfer syntax")
    return NativeCodec(transfer_syntax)
