"""JPEG (ITU-T T.81) transfer syntaxes via imagecodecs (PS3.5 §8.2.1, §A.4.1).

================================  =========  ====================================
transfer syntax                   UID        what we write
================================  =========  ====================================
JPEG Baseline (Process 1)         .4.50      8-bit lossy, DCT, Huffman
JPEG Extended (Process 2 & 4)     .4.51      8- or 12-bit lossy (12 when Bits
                                             Stored > 8)
JPEG Lossless (Process 14)        .4.57      2..16-bit lossless, predictor 1..7
JPEG Lossless SV1 (Process 14)    .4.70      the same with predictor 1
================================  =========  ====================================

Colour (PS3.5 §8.2.1, PS3.3 C.7.6.3.1.2): a lossy colour frame is normally
stored as YCbCr. Decoding returns samples in the colour space the Photometric
Interpretation names: YCbCr (upsampled) for ``YBR_FULL_422`` / ``YBR_FULL``, RGB
for ``RGB``; converting YBR to RGB for display is the caller's step. Encoding
RGB to a lossy syntax converts to YCbCr with 4:2:2 subsampling by default, so
``encoded_format`` reports ``YBR_FULL_422`` (or ``YBR_FULL`` with
``subsampling="444"``); ``convert_rgb=False`` stores RGB as is (Adobe marker,
no transform). Lossless syntaxes never transform colour.

JPEG streams carry no signedness: signed samples are written as their low Bits
Stored bits and sign-extended on decode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Unpack

import imagecodecs
import numpy as np

from dicomkit.codecs.bridge import (
    call_codec,
    call_encoder,
    check_declared_size,
    finish_decoded,
    int_option,
    jpeg_is_ycbcr,
    jpeg_precision,
    reject_unknown,
    to_unsigned_pattern,
)
from dicomkit.codecs.format import CodecOptions, PixelArray, PixelFormat
from dicomkit.errors import CodecError, UnsupportedTransferSyntaxError

__all__ = [
    "JPEG_BASELINE_8BIT",
    "JPEG_EXTENDED_12BIT",
    "JPEG_LOSSLESS",
    "JPEG_LOSSLESS_SV1",
    "JPEGCodec",
    "make_codec",
]

JPEG_BASELINE_8BIT = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED_12BIT = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"

_LOSSY_OPTIONS = frozenset({"quality", "subsampling", "convert_rgb"})
_LOSSLESS_OPTIONS = frozenset({"predictor"})
_YBR = ("YBR_FULL", "YBR_FULL_422")


@dataclass(frozen=True, slots=True)
class JPEGCodec:
    """One of the four JPEG transfer syntaxes in current use."""

    transfer_syntax: str
    lossy: bool
    max_bits: int

    def can_encode(self, fmt: PixelFormat) -> bool:
        if fmt.samples_per_pixel not in (1, 3) or fmt.bits_allocated not in (8, 16):
            return False
        if self.lossy:
            return (
                not fmt.is_signed
                and fmt.bits_stored <= self.max_bits
                and fmt.bits_allocated <= self.max_bits + 4
            )
        return 2 <= fmt.bits_stored <= 16

    def encoded_format(self, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> PixelFormat:
        photometric = fmt.photometric_interpretation
        if self.lossy:
            reject_unknown(options, _LOSSY_OPTIONS, "JPEG")
            if fmt.samples_per_pixel == 3:
                converts = photometric in _YBR or (
                    photometric == "RGB" and _bool(options, "convert_rgb", True)
                )
                if converts:
                    photometric = "YBR_FULL_422" if _subsampling(options) == "422" else "YBR_FULL"
        else:
            reject_unknown(options, _LOSSLESS_OPTIONS, "JPEG Lossless")
        return replace(fmt, photometric_interpretation=photometric)

    def decode_frame(self, data: bytes, fmt: PixelFormat, *, frame: int = 0) -> PixelArray:
        check_declared_size(data, fmt, frame=frame)
        if self.lossy:
            kwargs: dict[str, object] = {}
            if fmt.samples_per_pixel == 3 and fmt.photometric_interpretation.startswith("YBR"):
                kwargs["outcolorspace"] = "YCbCr"  # keep the stored colour space
            elif fmt.samples_per_pixel == 3 and not jpeg_is_ycbcr(data):
                # RGB without a JFIF / Adobe marker saying otherwise: no transform
                kwargs["colorspace"] = kwargs["outcolorspace"] = "RGB"
            decoded = call_codec(imagecodecs.jpeg8_decode, data, frame=frame, **kwargs)
        else:
            # libjpeg-turbo only: imagecodecs' other lossless JPEG decoders
            # (liblj92 ljpeg_decode, jpegsof3_decode) crash the process on corrupt input.
            decoded = call_codec(imagecodecs.jpeg8_decode, data, frame=frame)
        return finish_decoded(decoded, fmt, frame=frame, precision=jpeg_precision(data))

    def encode_frame(self, array: PixelArray, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> bytes:
        if not self.can_encode(fmt):
            raise CodecError(
                f"{self.transfer_syntax} cannot encode {fmt.bits_stored}-bit "
                f"{'signed' if fmt.is_signed else 'unsigned'} x {fmt.samples_per_pixel}"
            )
        target = self.encoded_format(fmt, **options)
        if self.lossy:
            precision = 8 if fmt.bits_stored <= 8 else 12
        else:
            precision = fmt.bits_stored
        samples = to_unsigned_pattern(array, fmt, bits=min(precision, fmt.bits_stored))
        samples = samples.astype(np.uint8 if precision <= 8 else np.uint16)
        if self.lossy:
            kwargs = self._lossy_arguments(fmt, target, options)
            return call_encoder(imagecodecs.jpeg8_encode, samples, frame=0, bitspersample=precision, **kwargs)
        predictor = 1
        if self.transfer_syntax == JPEG_LOSSLESS:
            predictor = int_option(options, "predictor", 1, 1, 7)
        elif "predictor" in options and options["predictor"] != 1:
            raise CodecError("JPEG Lossless SV1 (1.2.840.10008.1.2.4.70) requires predictor 1")
        colour: dict[str, object] = {}
        if fmt.samples_per_pixel == 3:
            colour = {"colorspace": "RGB", "outcolorspace": "RGB"}  # no colour transform
        return call_encoder(
            imagecodecs.jpeg8_encode,
            samples,
            frame=0,
            lossless=True,
            predictor=predictor,
            bitspersample=precision,
            **colour,
        )

    def _lossy_arguments(
        self, fmt: PixelFormat, target: PixelFormat, options: Mapping[str, object]
    ) -> dict[str, object]:
        kwargs: dict[str, object] = {"level": int_option(options, "quality", 90, 1, 100)}
        if fmt.samples_per_pixel == 3:
            stored_ybr = target.photometric_interpretation in _YBR
            kwargs["colorspace"] = "YCbCr" if fmt.photometric_interpretation in _YBR else "RGB"
            kwargs["outcolorspace"] = "YCbCr" if stored_ybr else "RGB"
            kwargs["subsampling"] = _subsampling(options) if stored_ybr else "444"
        return kwargs


def _subsampling(options: Mapping[str, object]) -> str:
    value = options.get("subsampling", "422")
    if value not in ("422", "444"):
        raise CodecError(f"option subsampling must be '422' or '444', got {value!r}")
    return str(value)


def _bool(options: Mapping[str, object], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise CodecError(f"option {name} must be a bool, got {value!r}")
    return value


_CODECS = MappingProxyType(
    {
        JPEG_BASELINE_8BIT: (True, 8),
        JPEG_EXTENDED_12BIT: (True, 12),
        JPEG_LOSSLESS: (False, 16),
        JPEG_LOSSLESS_SV1: (False, 16),
    }
)


def make_codec(transfer_syntax: str) -> JPEGCodec:
    """Registry entry point."""
    try:
        lossy, max_bits = _CODECS[transfer_syntax]
    except KeyError:
        raise UnsupportedTransferSyntaxError(f"{transfer_syntax} is not a JPEG transfer syntax") from None
    return JPEGCodec(transfer_syntax, lossy, max_bits)
