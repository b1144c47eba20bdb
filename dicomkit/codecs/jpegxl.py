"""JPEG XL transfer syntaxes via imagecodecs / libjxl (PS3.5 §8.2.9, §A.4.12).

============================  =======  ===========================================
transfer syntax               UID      what we do
============================  =======  ===========================================
JPEG XL Lossless              .4.110   lossless modular coding
JPEG XL JPEG Recompression    .4.111   decode only: imagecodecs cannot re-wrap an
                                       existing JPEG bitstream losslessly
JPEG XL                       .4.112   lossy, butteraugli ``distance`` (default
                                       1.0) and ``effort`` options
============================  =======  ===========================================

libjxl codes unsigned integers of up to 16 bits, so signed pixel data is not
encoded (``can_encode`` says so); the stream's bit depth is Bits Stored. The
Photometric Interpretation is unchanged by encoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Unpack

import imagecodecs
import numpy as np

from dicomkit.codecs.bridge import (
    call_codec,
    call_encoder,
    finish_decoded,
    int_option,
    reject_unknown,
    to_unsigned_pattern,
)
from dicomkit.codecs.format import CodecOptions, PixelArray, PixelFormat
from dicomkit.errors import CodecError, UnsupportedTransferSyntaxError

__all__ = [
    "JPEG_XL",
    "JPEG_XL_JPEG_RECOMPRESSION",
    "JPEG_XL_LOSSLESS",
    "JPEGXLCodec",
    "make_codec",
]

JPEG_XL_LOSSLESS = "1.2.840.10008.1.2.4.110"
JPEG_XL_JPEG_RECOMPRESSION = "1.2.840.10008.1.2.4.111"
JPEG_XL = "1.2.840.10008.1.2.4.112"


@dataclass(frozen=True, slots=True)
class JPEGXLCodec:
    """One of the three JPEG XL transfer syntaxes."""

    transfer_syntax: str
    lossy: bool

    def can_encode(self, fmt: PixelFormat) -> bool:
        return (
            self.transfer_syntax != JPEG_XL_JPEG_RECOMPRESSION
            and not fmt.is_signed
            and fmt.samples_per_pixel in (1, 3)
            and fmt.bits_allocated in (8, 16)
        )

    def encoded_format(self, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> PixelFormat:
        self._arguments(options)
        return fmt

    def decode_frame(self, data: bytes, fmt: PixelFormat, *, frame: int = 0) -> PixelArray:
        decoded = call_codec(imagecodecs.jpegxl_decode, data, frame=frame)
        if decoded.dtype.kind == "f":
            raise CodecError("JPEG XL stream decodes to floating point samples", frame=frame)
        return finish_decoded(decoded, fmt, frame=frame)

    def encode_frame(self, array: PixelArray, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> bytes:
        if not self.can_encode(fmt):
            raise CodecError(
                f"{self.transfer_syntax} cannot encode {fmt.bits_stored}-bit "
                f"{'signed' if fmt.is_signed else 'unsigned'} x {fmt.samples_per_pixel}"
            )
        kwargs = self._arguments(options)
        samples = to_unsigned_pattern(array, fmt, bits=fmt.bits_stored)
        samples = samples.astype(np.uint8 if fmt.bits_stored <= 8 else np.uint16)
        return call_encoder(
            imagecodecs.jpegxl_encode, samples, frame=0, bitspersample=fmt.bits_stored, **kwargs
        )

    def _arguments(self, options: Mapping[str, object]) -> dict[str, object]:
        if not self.lossy:
            reject_unknown(options, frozenset({"effort"}), "JPEG XL Lossless")
            return {"lossless": True, "effort": int_option(options, "effort", 7, 1, 9)}
        reject_unknown(options, frozenset({"distance", "effort"}), "JPEG XL")
        distance = options.get("distance", 1.0)
        if isinstance(distance, bool) or not isinstance(distance, int | float) or not 0.0 < distance <= 25.0:
            raise CodecError(f"option distance must be a number in (0, 25], got {distance!r}")
        return {"distance": float(distance), "effort": int_option(options, "effort", 7, 1, 9)}


def make_codec(transfer_syntax: str) -> JPEGXLCodec:
    """Registry entry point."""
    if transfer_syntax not in (JPEG_XL_LOSSLESS, JPEG_XL_JPEG_RECOMPRESSION, JPEG_XL):
        raise UnsupportedTransferSyntaxError(f"{transfer_syntax} is not a JPEG XL transfer syntax")
    return JPEGXLCodec(transfer_syntax, transfer_syntax != JPEG_XL_LOSSLESS)
