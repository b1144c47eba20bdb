"""JPEG-LS (ITU-T T.87) transfer syntaxes via imagecodecs / CharLS (PS3.5 §8.2.3, §A.4.3).

============================  ======  ==========================================
transfer syntax               UID     what we write
============================  ======  ==========================================
JPEG-LS Lossless              .4.80   NEAR = 0
JPEG-LS Near-Lossless         .4.81   NEAR = ``near`` option (default 2): every
                                      sample within +-NEAR of the original
============================  ======  ==========================================

No colour transform is applied (PS3.5 §8.2.3); the Photometric Interpretation
is unchanged by encoding. The stream's precision is that of the container
(8 or 16 bits), which imagecodecs fixes; a JPEG-LS stream has no signedness, so
signed samples are written as their two's complement bit patterns and
sign-extended from the stream's precision on decode, which reads both these
streams and those whose precision equals Bits Stored. (Extending from Bits
Stored instead would turn a near-lossless -2050 for 12-bit data into +2046.)
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
    check_declared_size,
    finish_decoded,
    int_option,
    jpeg_precision,
    reject_unknown,
    to_unsigned_pattern,
)
from dicomkit.codecs.format import CodecOptions, PixelArray, PixelFormat
from dicomkit.errors import CodecError, UnsupportedTransferSyntaxError

__all__ = ["JPEG_LS_LOSSLESS", "JPEG_LS_NEAR_LOSSLESS", "JPEGLSCodec", "make_codec"]

JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
JPEG_LS_NEAR_LOSSLESS = "1.2.840.10008.1.2.4.81"

_MAX_NEAR = 255  # T.87 allows up to min(255, MAXVAL/2); CharLS checks the exact bound


@dataclass(frozen=True, slots=True)
class JPEGLSCodec:
    """JPEG-LS lossless (``lossy=False``) or near-lossless."""

    transfer_syntax: str
    lossy: bool

    def can_encode(self, fmt: PixelFormat) -> bool:
        return fmt.samples_per_pixel in (1, 3) and fmt.bits_allocated in (8, 16) and fmt.bits_stored >= 2

    def encoded_format(self, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> PixelFormat:
        self._near(options)
        return fmt

    def decode_frame(self, data: bytes, fmt: PixelFormat, *, frame: int = 0) -> PixelArray:
        check_declared_size(data, fmt, frame=frame)
        # CharLS spends seconds on a stream cut short before failing; a complete
        # frame ends with EOI (and at most the item's pad byte), PS3.5 8.2.3.
        if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise CodecError("JPEG-LS stream does not end with an EOI marker (truncated?)", frame=frame)
        decoded = call_codec(imagecodecs.jpegls_decode, data, frame=frame)
        return finish_decoded(decoded, fmt, frame=frame, precision=jpeg_precision(data))

    def encode_frame(self, array: PixelArray, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> bytes:
        if not self.can_encode(fmt):
            raise CodecError(f"JPEG-LS cannot encode {fmt.bits_allocated}-bit x {fmt.samples_per_pixel}")
        near = self._near(options)
        samples = to_unsigned_pattern(array, fmt)
        if fmt.bits_allocated == 16 and fmt.bits_stored <= 8 and not fmt.is_signed:
            samples = samples.astype(np.uint8)  # 8-bit precision compresses better
        return call_encoder(imagecodecs.jpegls_encode, samples, frame=0, level=near)

    def _near(self, options: Mapping[str, object]) -> int:
        reject_unknown(options, frozenset({"near"}) if self.lossy else frozenset(), "JPEG-LS")
        return int_option(options, "near", 2, 0, _MAX_NEAR) if self.lossy else 0


def make_codec(transfer_syntax: str) -> JPEGLSCodec:
    """Registry entry point."""
    if transfer_syntax not in (JPEG_LS_LOSSLESS, JPEG_LS_NEAR_LOSSLESS):
        raise UnsupportedTransferSyntaxError(f"{transfer_syntax} is not a JPEG-LS transfer syntax")
    return JPEGLSCodec(transfer_syntax, transfer_syntax == JPEG_LS_NEAR_LOSSLESS)
