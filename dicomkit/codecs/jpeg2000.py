"""JPEG 2000 and HTJ2K transfer syntaxes via imagecodecs (PS3.5 §8.2.4, §8.2.7, §A.4.4, §A.4.11).

======================================  ======  ==============================================
transfer syntax                         UID     what we write (imagecodecs back end)
======================================  ======  ==============================================
JPEG 2000 Lossless Only                 .4.90   reversible 5/3 wavelet (OpenJPEG)
JPEG 2000                               .4.91   irreversible 9/7, target ``psnr`` dB (default
                                                50); ``reversible=True`` for lossless
HTJ2K Lossless Only                     .4.201  reversible, HT block coder (OpenJPH)
HTJ2K Lossless RPCL                     .4.202  reversible, RPCL progression, TLM markers
HTJ2K                                   .4.203  irreversible, quantisation step ``qstep``
                                                (default 0.001); ``reversible=True`` allowed
======================================  ======  ==============================================

Codestreams only (no JP2 box), as PS3.5 requires. Signed samples are coded as
signed components. Colour (PS3.3 C.7.6.3.1.2): encoding RGB applies the
multiple-component transform unless ``mct=False``, so ``encoded_format`` says
``YBR_RCT`` (reversible) or ``YBR_ICT`` (irreversible); the decoder undoes the
transform, so decoded samples of YBR_RCT / YBR_ICT data are RGB. A stream
whose signedness disagrees with Pixel Representation is reinterpreted from
Bits Stored, as other toolkits do.
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
    reject_unknown,
)
from dicomkit.codecs.format import CodecOptions, PixelArray, PixelFormat, check_frame_array
from dicomkit.errors import CodecError, UnsupportedTransferSyntaxError

__all__ = [
    "HTJ2K",
    "HTJ2K_LOSSLESS",
    "HTJ2K_LOSSLESS_RPCL",
    "JPEG2000",
    "JPEG2000_LOSSLESS",
    "JPEG2000Codec",
    "make_codec",
]

JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG2000 = "1.2.840.10008.1.2.4.91"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K = "1.2.840.10008.1.2.4.203"

_OPTIONS = MappingProxyType(
    {
        JPEG2000_LOSSLESS: frozenset({"mct"}),
        JPEG2000: frozenset({"mct", "psnr", "reversible"}),
        HTJ2K_LOSSLESS: frozenset({"mct"}),
        HTJ2K_LOSSLESS_RPCL: frozenset({"mct"}),
        HTJ2K: frozenset({"mct", "qstep", "reversible"}),
    }
)


@dataclass(frozen=True, slots=True)
class JPEG2000Codec:
    """A JPEG 2000 Part 1 or Part 15 (HTJ2K) transfer syntax."""

    transfer_syntax: str
    lossy: bool
    high_throughput: bool

    def can_encode(self, fmt: PixelFormat) -> bool:
        return fmt.samples_per_pixel in (1, 3) and fmt.bits_allocated in (8, 16)

    def encoded_format(self, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> PixelFormat:
        reversible, mct, _ = self._settings(fmt, options)
        if mct:
            return replace(fmt, photometric_interpretation="YBR_RCT" if reversible else "YBR_ICT")
        return fmt

    def decode_frame(self, data: bytes, fmt: PixelFormat, *, frame: int = 0) -> PixelArray:
        check_declared_size(data, fmt, frame=frame)
        # OpenJPEG decodes both Part 1 and HT codestreams; OpenJPH only HT ones.
        decoded = call_codec(imagecodecs.jpeg2k_decode, data, frame=frame)
        return finish_decoded(decoded, fmt, frame=frame)

    def encode_frame(self, array: PixelArray, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> bytes:
        if not self.can_encode(fmt):
            raise CodecError(f"JPEG 2000 cannot encode {fmt.bits_allocated}-bit x {fmt.samples_per_pixel}")
        reversible, mct, level = self._settings(fmt, options)
        check_frame_array(array, fmt)
        samples = np.ascontiguousarray(array, dtype=fmt.dtype.newbyteorder("="))
        if fmt.bits_stored <= 8 and fmt.bits_allocated == 16:
            samples = samples.astype(np.int8 if fmt.is_signed else np.uint8)
        if self.high_throughput:
            return call_encoder(
                imagecodecs.htj2k_encode,
                samples,
                frame=0,
                level=level,
                reversible=reversible,
                rgb=mct,
                tlm=self.transfer_syntax == HTJ2K_LOSSLESS_RPCL,
            )
        return call_encoder(
            imagecodecs.jpeg2k_encode,
            samples,
            frame=0,
            level=level,
            reversible=reversible,
            mct=mct,
            codecformat="J2K",
            bitspersample=fmt.bits_stored,
        )

    def _settings(self, fmt: PixelFormat, options: Mapping[str, object]) -> tuple[bool, bool, float | None]:
        """(reversible, multiple-component transform, level) from the options."""
        reject_unknown(options, _OPTIONS[self.transfer_syntax], "JPEG 2000")
        reversible = _bool(options, "reversible", not self.lossy)
        mct = _bool(options, "mct", True) and fmt.samples_per_pixel == 3
        mct = mct and fmt.photometric_interpretation == "RGB"
        level: float | None = None
        if not reversible:
            name, default, low, high = (
                ("qstep", 0.001, 1e-6, 1.0) if self.high_throughput else ("psnr", 50.0, 1.0, 200.0)
            )
            level = _float(options, name, default, low, high)
        return reversible, mct, level


def _bool(options: Mapping[str, object], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise CodecError(f"option {name} must be a bool, got {value!r}")
    return value


def _float(options: Mapping[str, object], name: str, default: float, low: float, high: float) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise CodecError(f"option {name} must be a number in {low}..{high}, got {value!r}")
    return float(value)


_CODECS = MappingProxyType(
    {
        JPEG2000_LOSSLESS: (False, False),
        JPEG2000: (True, False),
        HTJ2K_LOSSLESS: (False, True),
        HTJ2K_LOSSLESS_RPCL: (False, True),
        HTJ2K: (True, True),
    }
)


def make_codec(transfer_syntax: str) -> JPEG2000Codec:
    """Registry entry point."""
    try:
        lossy, high_throughput = _CODECS[transfer_syntax]
    except KeyError:
        raise UnsupportedTransferSyntaxError(
            f"{transfer_syntax} is not a JPEG 2000 transfer syntax"
        ) from None
    return JPEG2000Codec(transfer_syntax, lossy, high_throughput)
