"""Pixel format description and the codec interface (PS3.3 C.7.6.3, PS3.5 §8).

``PixelFormat`` is the handful of Image Pixel Module attributes that fix how one
frame of pixel data is laid out; every codec takes one. ``Codec`` is the
interface each transfer syntax's implementation satisfies; the registry
(``registry.py``) hands them out keyed by transfer syntax UID.

Conventions shared by every codec:

* ``decode_frame`` returns an array of shape ``(rows, columns)`` for one sample
  per pixel, ``(rows, columns, samples)`` otherwise, whatever the planar
  configuration of the encoded data (planar configuration is a property of the
  *native* byte layout, PS3.3 C.7.6.3.1.3); its dtype is ``PixelFormat.dtype``.
* ``encode_frame`` takes the same shape and describes its input with ``fmt``.
  ``encoded_format(fmt)`` tells what the Image Pixel Module must say about the
  encoded result (JPEG baseline turns RGB into YBR_FULL_422, JPEG 2000 with a
  component transform into YBR_RCT / YBR_ICT, PS3.5 §8.2).
* Values are the stored bit patterns: bits above Bits Stored are not masked on
  decode (PS3.5 §8.1.1 leaves them undefined; callers that care mask them), but a
  codec whose stream cannot carry signedness (JPEG, JPEG-LS) sign-extends from
  its precision when Pixel Representation is 1.

Invariants: ``PixelFormat`` is validated on construction, so codecs can size
buffers from it; every failure a codec reports is a ``CodecError`` carrying the
frame index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias, TypedDict, Unpack

import numpy as np
import numpy.typing as npt

from dicomkit.errors import CodecError

__all__ = ["Codec", "CodecOptions", "IntegerSample", "PixelArray", "PixelFormat"]

PixelArray: TypeAlias = npt.NDArray[np.generic]
"""A decoded frame: ``(rows, columns)`` or ``(rows, columns, samples)``."""

IntegerSample: TypeAlias = (
    np.uint8 | np.uint16 | np.uint32 | np.uint64 | np.int8 | np.int16 | np.int32 | np.int64
)
"""The scalar types ``PixelFormat.dtype`` can be (Bits Allocated 1, 8, 16, 32, 64)."""


class CodecOptions(TypedDict, total=False):
    """The encoding options of all codecs, for ``Codec.encode_frame`` and ``transcode``.

    Each codec takes only its own (native syntaxes none) and raises ``CodecError`` for
    any other name or a value outside the range given here.
    """

    # RLE Lossless: repeats this long or longer become replicate runs (default 2; 3 as DCMTK)
    min_replicate_run: Literal[2, 3]
    # JPEG Baseline / Extended (.4.50, .4.51)
    quality: int  # 1..100, default 90
    subsampling: Literal["422", "444"]  # of RGB stored as YCbCr, default "422"
    convert_rgb: bool  # store RGB as YCbCr, default True
    # JPEG Lossless (.4.57): predictor 1..7, default 1; SV1 (.4.70) allows only 1
    predictor: int
    # JPEG-LS Near-Lossless (.4.81): NEAR 0..255, default 2
    near: int
    # JPEG 2000 and HTJ2K
    mct: bool  # multiple-component transform of RGB, default True
    reversible: bool  # lossless coding in the lossy .4.91 / .4.203, default False there
    psnr: float  # JPEG 2000 (.4.91) target in dB, 1..200, default 50
    qstep: float  # HTJ2K (.4.203) quantisation step, 1e-6..1, default 0.001
    # JPEG XL
    effort: int  # 1..9, default 7
    distance: float  # JPEG XL (.4.112) butteraugli distance, (0, 25], default 1.0


_ALLOWED_BITS_ALLOCATED = frozenset({1, 8, 16, 32, 64})
_MAX_DIMENSION = 0xFFFF  # Rows and Columns are US (PS3.3 C.7.6.3)


@dataclass(frozen=True, slots=True)
class PixelFormat:
    """The layout of one frame, from the Image Pixel Module (PS3.3 C.7.6.3).

    Raises ``CodecError`` on construction when the attributes cannot describe
    pixel data (zero rows, Bits Stored above Bits Allocated, ...).
    """

    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    planar_configuration: int
    photometric_interpretation: str
    number_of_frames: int = 1

    def __post_init__(self) -> None:
        problems = []
        if not (1 <= self.rows <= _MAX_DIMENSION and 1 <= self.columns <= _MAX_DIMENSION):
            problems.append(f"rows/columns {self.rows}x{self.columns} out of range 1..65535")
        if not 1 <= self.samples_per_pixel <= 4:
            problems.append(f"samples per pixel {self.samples_per_pixel} not in 1..4")
        if self.bits_allocated not in _ALLOWED_BITS_ALLOCATED:
            problems.append(f"bits allocated {self.bits_allocated} not one of 1, 8, 16, 32, 64")
        if not 1 <= self.bits_stored <= self.bits_allocated:
            problems.append(f"bits stored {self.bits_stored} not in 1..{self.bits_allocated}")
        if self.pixel_representation not in (0, 1):
            problems.append(f"pixel representation {self.pixel_representation} not 0 or 1")
        if self.planar_configuration not in (0, 1):
            problems.append(f"planar configuration {self.planar_configuration} not 0 or 1")
        if self.number_of_frames < 1:
            problems.append(f"number of frames {self.number_of_frames} below 1")
        if problems:
            raise CodecError("invalid pixel format: " + "; ".join(problems))

    @property
    def pixels(self) -> int:
        """Pixels in one frame (rows x columns)."""
        return self.rows * self.columns

    @property
    def samples(self) -> int:
        """Samples in one frame (pixels x samples per pixel)."""
        return self.rows * self.columns * self.samples_per_pixel

    @property
    def bytes_per_sample(self) -> int:
        """Bytes holding one sample natively (0 for packed 1-bit data)."""
        return self.bits_allocated // 8

    @property
    def frame_length(self) -> int:
        """Bytes of one native frame; 1-bit frames are rounded up to a whole byte.

        Consecutive 1-bit frames are not byte aligned in native pixel data
        (PS3.5 §8.1.1), so use ``frame_bit_offset`` to locate them.
        """
        return (self.samples * self.bits_allocated + 7) // 8

    def frame_bit_offset(self, frame: int) -> int:
        """Bit offset of ``frame`` in native pixel data."""
        return frame * self.samples * self.bits_allocated

    @property
    def dtype(self) -> np.dtype[IntegerSample]:
        """Numpy dtype of one native sample (little endian; uint8 for 1-bit data).

        Always an integer: a format does not say whether its samples are floats, so for
        Float / Double Float Pixel Data (``pixels.pixel_format``: Bits Allocated 32 / 64,
        Pixel Representation 0) this is ``<u4`` / ``<u8``, the samples' width; the float
        readers use ``<f4`` / ``<f8`` themselves.
        """
        if self.bits_allocated == 1:
            return np.dtype(np.uint8)
        kind = "i" if self.pixel_representation else "u"
        return np.dtype(f"<{kind}{self.bits_allocated // 8}")

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one decoded frame."""
        if self.samples_per_pixel == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples_per_pixel)

    @property
    def is_signed(self) -> bool:
        return self.pixel_representation == 1


class Codec(Protocol):
    """One transfer syntax's pixel codec; frame in, frame out, no I/O."""

    @property
    def transfer_syntax(self) -> str:
        """The transfer syntax UID this codec implements."""
        ...

    @property
    def lossy(self) -> bool:
        """True when encoding may lose information."""
        ...

    def decode_frame(self, data: bytes, fmt: PixelFormat, *, frame: int = 0) -> PixelArray:
        """Decode one frame's encoded bytes; ``frame`` only labels errors."""
        ...

    def encode_frame(self, array: PixelArray, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> bytes:
        """Encode one frame described by ``fmt``; each codec takes its own ``CodecOptions``."""
        ...

    def can_encode(self, fmt: PixelFormat) -> bool:
        """True when ``encode_frame`` supports frames of this format."""
        ...

    def encoded_format(self, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> PixelFormat:
        """The pixel format describing what ``encode_frame(…, fmt, **options)`` produces."""
        ...


def check_frame_array(array: PixelArray, fmt: PixelFormat, *, frame: int = 0) -> None:
    """Raise ``CodecError`` unless ``array`` has the shape of one frame of ``fmt``."""
    if array.shape != fmt.shape:
        raise CodecError(f"array shape {array.shape} does not match pixel format {fmt.shape}", frame=frame)
    if array.dtype.kind not in "ui" or array.dtype.itemsize > max(fmt.bits_allocated // 8, 1):
        raise CodecError(
            f"array dtype {array.dtype} cannot hold {fmt.bits_allocated}-bit samples losslessly",
            frame=frame,
        )
