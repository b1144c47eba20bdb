"""Pixel data of a data set as numpy arrays, and back (PS3.3 C.7.6.3, PS3.5 §8).

This is the data-set level over the frame codecs::

    Dataset --pixel_format()--> PixelFormat
            --get_frame(i)----> one frame, decoding nothing else
            --pixel_array()---> (frames, rows, columns[, samples])
    array   --set_pixel_data()--> native Pixel Data + Image Pixel Module

Which pixel data element: (7FE0,0010) Pixel Data, else (7FE0,0008) Float Pixel
Data or (7FE0,0009) Double Float Pixel Data (PS3.3 C.7.6.24). Whether it is
encapsulated is read from the element itself (undefined length), so native
icon images inside a compressed file decode too; encapsulated data needs the
transfer syntax to choose a codec (``get_codec``).

Frames of encapsulated data are located through the Extended Offset Table,
the Basic Offset Table, or fragment scanning, in that order
(``encapsulation.get_frame``); native frames are sliced (``native_frame``, which
copes with 1-bit frames that do not start on a byte boundary).

Values returned are the stored values: samples above Bits Stored are masked
(unsigned) or sign-extended (signed), as PS3.5 §8.1.1 leaves those bits
undefined. Colour stays in the stored colour space unless ``as_rgb`` asks for
YBR_FULL / YBR_FULL_422 to be converted (native YBR_FULL_422 is always
upsampled to full resolution). JPEG 2000 YBR_RCT / YBR_ICT frames decode to RGB
already (the codestream's component transform is undone by the decoder).

Explicit VR Big Endian oddities handled here: multi-byte samples are read most
significant byte first, and 8- or 1-bit samples in an OW value sit in 16-bit
words whose bytes are swapped (PS3.5 §8.1.1, §A.3).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from dicomkit.codecs import color
from dicomkit.codecs.bridge import mask_bits, sign_extend
from dicomkit.codecs.encapsulation import ReadAt, get_frame_from, iter_frames_from
from dicomkit.codecs.encapsulation import get_frame as encapsulated_frame
from dicomkit.codecs.format import PixelArray, PixelFormat
from dicomkit.codecs.native import (
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    NativeCodec,
    native_frame,
)
from dicomkit.codecs.registry import get_codec
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import DeferredValue, Element
from dicomkit.data.value_codec import swap_bytes
from dicomkit.errors import CodecError, DicomError, TruncatedError, UnsupportedTransferSyntaxError

__all__ = [
    "PIXEL_DATA_TAGS",
    "get_frame",
    "is_float_pixel_data",
    "iter_frames",
    "native_bytes",
    "number_of_frames",
    "pixel_array",
    "pixel_data_element",
    "pixel_format",
    "set_pixel_data",
]

PIXEL_DATA_TAGS = (tags.PixelData, tags.FloatPixelData, tags.DoubleFloatPixelData)
_FLOAT_BITS = {tags.FloatPixelData: 32, tags.DoubleFloatPixelData: 64}
_YBR_TO_CONVERT = ("YBR_FULL", "YBR_FULL_422")
_MONOCHROME = ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR")


def pixel_data_element(ds: Dataset) -> Element:
    """The element holding the pixel data (integer, float or double float)."""
    for tag in PIXEL_DATA_TAGS:
        element = ds.get_element(tag)
        if element is not None:
            return element
    raise CodecError("the data set has no Pixel Data, Float Pixel Data or Double Float Pixel Data")


def is_float_pixel_data(ds: Dataset) -> bool:
    """True when the pixels are (7FE0,0008) or (7FE0,0009) floating point values."""
    return pixel_data_element(ds).tag in _FLOAT_BITS


def _int(ds: Dataset, tag: int, default: int | None = None) -> int:
    try:
        value = ds.get_int(tag, default)
    except (TypeError, ValueError, DicomError) as exc:
        raise CodecError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is not a usable integer: {exc}") from exc
    if value is None:
        raise CodecError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is required to decode pixel data")
    return value


def number_of_frames(ds: Dataset) -> int:
    """Number of Frames (0028,0008); 1 when absent or empty (PS3.3 C.7.6.6)."""
    frames = _int(ds, tags.NumberOfFrames, 1)
    return max(frames, 1)


def pixel_format(ds: Dataset) -> PixelFormat:
    """The Image Pixel Module of ``ds`` as a ``PixelFormat`` (validated).

    Float pixel data gets Bits Stored = Bits Allocated = 32 or 64 (the Floating
    Point Image Pixel Module has neither Bits Stored nor Pixel Representation).
    """
    element = pixel_data_element(ds)
    float_bits = _FLOAT_BITS.get(element.tag)
    bits_allocated = float_bits or _int(ds, tags.BitsAllocated)
    samples = _int(ds, tags.SamplesPerPixel, 1)
    photometric = (ds.get_str(tags.PhotometricInterpretation) or "").strip()
    if not photometric:
        photometric = "MONOCHROME2" if samples == 1 else "RGB"
    return PixelFormat(
        rows=_int(ds, tags.Rows),
        columns=_int(ds, tags.Columns),
        samples_per_pixel=samples,
        bits_allocated=bits_allocated,
        bits_stored=float_bits or _int(ds, tags.BitsStored, bits_allocated),
        pixel_representation=0 if float_bits else _int(ds, tags.PixelRepresentation, 0),
        planar_configuration=_int(ds, tags.PlanarConfiguration, 0) if samples > 1 else 0,
        photometric_interpretation=photometric,
        number_of_frames=number_of_frames(ds),
    )


def get_frame(
    ds: Dataset, index: int, *, transfer_syntax: str | None = None, as_rgb: bool = False
) -> PixelArray:
    """Frame ``index`` (0-based) as ``(rows, columns)`` or ``(rows, columns, samples)``.

    Only that frame is decoded; for encapsulated data only its fragments are
    copied. ``transfer_syntax`` is required when the pixel data is encapsulated.

    Raises:
        CodecError: naming the frame, when it cannot be located or decoded.
        UnsupportedTransferSyntaxError: encapsulated data without a usable codec.
    """
    fmt = pixel_format(ds)
    if not 0 <= index < fmt.number_of_frames:
        raise CodecError(f"frame index outside 0..{fmt.number_of_frames - 1}", frame=index)
    element = pixel_data_element(ds)
    return _finish(_decode(ds, element, fmt, index, transfer_syntax), fmt, as_rgb=as_rgb)


def iter_frames(
    ds: Dataset, *, transfer_syntax: str | None = None, as_rgb: bool = False
) -> Iterator[PixelArray]:
    """Every frame in order, decoded one at a time.

    Encapsulated Pixel Data has its item headers walked once for all frames (and a
    value left in its file is opened once): ``get_frame`` for each frame would walk
    them once per frame when there is no offset table, a cost that grows with the
    square of the number of frames.

    Raises:
        CodecError, UnsupportedTransferSyntaxError: as :func:`get_frame`, when the
            frame that cannot be located or decoded is reached.
    """
    fmt = pixel_format(ds)
    element = pixel_data_element(ds)
    if not element.undefined_length:
        for index in range(fmt.number_of_frames):
            yield get_frame(ds, index, transfer_syntax=transfer_syntax, as_rgb=as_rgb)
        return
    if transfer_syntax is None:
        raise UnsupportedTransferSyntaxError("encapsulated pixel data needs its transfer syntax to decode")
    codec = get_codec(transfer_syntax)
    for index, data in enumerate(_encapsulated_frames(ds, element, fmt.number_of_frames)):
        yield _finish(codec.decode_frame(data, fmt, frame=index), fmt, as_rgb=as_rgb)


def _encapsulated_frames(ds: Dataset, element: Element, count: int) -> Iterator[bytes]:
    """The encoded frames of encapsulated Pixel Data, in memory or left in its file."""
    extended_offsets = _optional_bytes(ds, tags.ExtendedOffsetTable)
    extended_lengths = _optional_bytes(ds, tags.ExtendedOffsetTableLengths)
    deferred = element.deferred
    if deferred is None:
        value = memoryview(_value(element))
        yield from iter_frames_from(
            lambda offset, length: value[offset : offset + length],
            len(value),
            count,
            extended_offsets=extended_offsets,
            extended_lengths=extended_lengths,
        )
        return
    try:
        with open(deferred.path, "rb") as fp:
            yield from iter_frames_from(
                _file_reader(fp.fileno(), deferred),
                deferred.length,
                count,
                extended_offsets=extended_offsets,
                extended_lengths=extended_lengths,
            )
    except OSError as exc:
        raise CodecError(f"pixel data cannot be read: {exc}") from exc


def pixel_array(ds: Dataset, *, transfer_syntax: str | None = None, as_rgb: bool = False) -> PixelArray:
    """All frames as one array of shape ``(frames, rows, columns[, samples])``.

    The frame axis is always there, also for single-frame images.
    """
    fmt = pixel_format(ds)
    first = get_frame(ds, 0, transfer_syntax=transfer_syntax, as_rgb=as_rgb)
    out = np.empty((fmt.number_of_frames, *first.shape), dtype=first.dtype)
    out[0] = first
    for index in range(1, fmt.number_of_frames):
        out[index] = get_frame(ds, index, transfer_syntax=transfer_syntax, as_rgb=as_rgb)
    return out


# ------------------------------------------------------------------ decoding


def _value(element: Element) -> bytes:
    raw = element.raw_bytes()
    if raw is not None:
        return raw
    try:
        value = element.value
    except DicomError as exc:
        raise CodecError(f"pixel data cannot be read: {exc}") from exc
    if not isinstance(value, bytes):
        raise CodecError(f"pixel data element holds {type(value).__name__}, not bytes")
    return value


def _decode(
    ds: Dataset, element: Element, fmt: PixelFormat, index: int, transfer_syntax: str | None
) -> PixelArray:
    if element.undefined_length:
        if transfer_syntax is None:
            raise UnsupportedTransferSyntaxError(
                "encapsulated pixel data needs its transfer syntax to decode"
            )
        codec = get_codec(transfer_syntax)
        extended_offsets = _optional_bytes(ds, tags.ExtendedOffsetTable)
        extended_lengths = _optional_bytes(ds, tags.ExtendedOffsetTableLengths)
        deferred = element.deferred
        if deferred is not None:
            data = _frame_from_file(deferred, index, fmt.number_of_frames, extended_offsets, extended_lengths)
        else:
            data = encapsulated_frame(
                _value(element),
                index,
                fmt.number_of_frames,
                extended_offsets=extended_offsets,
                extended_lengths=extended_lengths,
            )
        return codec.decode_frame(data, fmt, frame=index)
    big_endian = not element.little_endian
    if (
        element.is_deferred
        and fmt.bits_allocated % 8 == 0
        and element.tag not in _FLOAT_BITS
        and not (big_endian and element.vr == "OW" and fmt.bits_allocated <= 8)
        and fmt.photometric_interpretation != "YBR_FULL_422"
    ):
        # Pixel Data left in the file: read this frame's bytes only.
        try:
            data = element.read_range(index * fmt.frame_length, fmt.frame_length)
        except DicomError as exc:
            raise CodecError(f"pixel data ends before frame {index}: {exc}", frame=index) from exc
        codec = NativeCodec(EXPLICIT_VR_BIG_ENDIAN if big_endian else EXPLICIT_VR_LITTLE_ENDIAN)
        return codec.decode_frame(data, fmt, frame=index)
    value = _value(element)
    if big_endian and element.vr == "OW" and fmt.bits_allocated <= 8:
        # 8- and 1-bit samples in big endian OW words: undo the word swap (PS3.5 §A.3).
        value = swap_bytes(value[: len(value) & ~1], 2)
        big_endian = False
    if element.tag in _FLOAT_BITS:
        return _float_frame(value, fmt, index, big_endian)
    if fmt.photometric_interpretation == "YBR_FULL_422" and fmt.samples_per_pixel == 3:
        size = fmt.rows * fmt.columns * 2 * fmt.bytes_per_sample
        data = value[index * size : (index + 1) * size]
        dtype = fmt.dtype.newbyteorder(">") if big_endian else fmt.dtype
        return color.expand_ybr_full_422(data, fmt.rows, fmt.columns, dtype)
    codec = NativeCodec(EXPLICIT_VR_BIG_ENDIAN if big_endian else EXPLICIT_VR_LITTLE_ENDIAN)
    return codec.decode_frame(native_frame(value, fmt, index), fmt, frame=index)


def _frame_from_file(
    deferred: DeferredValue,
    index: int,
    number_of_frames: int,
    extended_offsets: bytes | None,
    extended_lengths: bytes | None,
) -> bytes:
    """One frame's encoded bytes from encapsulated pixel data left in its file: the item
    headers and that frame's fragments are read, not the other frames (a 1 GB compressed
    tomosynthesis object is not loaded to show one slice)."""
    try:
        with open(deferred.path, "rb") as fp:
            return get_frame_from(
                _file_reader(fp.fileno(), deferred),
                deferred.length,
                index,
                number_of_frames,
                extended_offsets=extended_offsets,
                extended_lengths=extended_lengths,
            )
    except OSError as exc:
        raise CodecError(f"pixel data cannot be read: {exc}", frame=index) from exc


def _file_reader(fd: int, deferred: DeferredValue) -> ReadAt:
    """``read(offset, length)`` of a value left in its file, through ``fd``."""

    def read(offset: int, length: int) -> bytes:
        data = os.pread(fd, length, deferred.offset + offset)
        if len(data) != length:
            raise TruncatedError("the file ends in the pixel data", offset=deferred.offset + offset)
        return data

    return read


def _optional_bytes(ds: Dataset, tag: int) -> bytes | None:
    element = ds.get_element(tag)
    if element is None:
        return None
    return _value(element)


def _float_frame(value: bytes, fmt: PixelFormat, index: int, big_endian: bool) -> PixelArray:
    size = fmt.frame_length
    data = value[index * size : (index + 1) * size]
    if len(data) < size:
        raise CodecError(f"float pixel data of {len(value)} bytes ends before frame {index}", frame=index)
    dtype = np.dtype(f"{'>' if big_endian else '<'}f{fmt.bits_allocated // 8}")
    flat = np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="))
    if fmt.samples_per_pixel == 1:
        return flat.reshape(fmt.rows, fmt.columns)
    if fmt.planar_configuration == 1:
        return np.ascontiguousarray(
            flat.reshape(fmt.samples_per_pixel, fmt.rows, fmt.columns).transpose(1, 2, 0)
        )
    return flat.reshape(fmt.shape)


def _finish(frame: PixelArray, fmt: PixelFormat, *, as_rgb: bool) -> PixelArray:
    if frame.dtype.kind in "ui" and fmt.bits_allocated > 1 and fmt.bits_stored < fmt.bits_allocated:
        native = frame.astype(frame.dtype.newbyteorder("="), copy=False)
        if fmt.is_signed:
            frame = sign_extend(native, fmt.bits_stored)
        else:
            frame = mask_bits(native, fmt.bits_stored)
    if as_rgb and fmt.samples_per_pixel == 3 and fmt.photometric_interpretation in _YBR_TO_CONVERT:
        frame = color.ybr_to_rgb(frame, bits=fmt.bits_stored)
    return frame


# ------------------------------------------------------------------ encoding


def set_pixel_data(
    ds: Dataset,
    array: npt.ArrayLike,
    *,
    photometric_interpretation: str | None = None,
    bits_stored: int | None = None,
    planar_configuration: int = 0,
) -> None:
    """Store ``array`` as native pixel data in ``ds``, updating the Image Pixel Module.

    Shapes: ``(rows, columns)``, ``(rows, columns, samples)`` or the same with a
    leading frame axis. Whether a 3-d array has a frame axis follows from the
    Photometric Interpretation: MONOCHROME1/2 and PALETTE COLOR have one sample,
    so a 3-d array is frames; colour images have three. The default
    interpretation is MONOCHROME2 for one sample, RGB for three.

    dtype: bool -> 1 bit allocated; (u)int8/16/32/64 -> that many bits, signed
    for int; float32 / float64 -> Float / Double Float Pixel Data. Bits Stored
    defaults to the bits allocated; samples must fit it.

    Raises:
        CodecError: an array the Image Pixel Module cannot describe.
    """
    samples = np.asarray(array)
    spp, frames, photometric = _layout(samples, photometric_interpretation)
    shaped = samples.reshape((frames, *samples.shape[-(2 if spp == 1 else 3) :]))
    rows, columns = shaped.shape[1], shaped.shape[2]
    kind = samples.dtype.kind
    if kind == "b":
        allocated, signed = 1, False
    elif kind in "ui" and samples.dtype.itemsize in (1, 2, 4, 8):
        allocated, signed = 8 * samples.dtype.itemsize, kind == "i"
    elif kind == "f" and samples.dtype.itemsize in (4, 8):
        allocated, signed = 8 * samples.dtype.itemsize, False
    else:
        raise CodecError(f"cannot store {samples.dtype} samples as pixel data")
    stored = allocated if bits_stored is None else bits_stored
    fmt = PixelFormat(
        rows,
        columns,
        spp,
        allocated,
        stored,
        int(signed),
        planar_configuration if spp > 1 else 0,
        photometric,
        frames,
    )
    if kind in "ui" and stored < allocated and shaped.size:
        low, high = (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if signed else (0, (1 << stored) - 1)
        if int(shaped.min()) < low or int(shaped.max()) > high:
            raise CodecError(f"sample values outside the {stored} bits stored")
    for tag in (*PIXEL_DATA_TAGS, tags.ExtendedOffsetTable, tags.ExtendedOffsetTableLengths):
        ds.delete(tag)
    _set_module(ds, fmt, floating=kind == "f", multiframe=frames > 1 or tags.NumberOfFrames in ds)
    if kind == "f":
        tag, vr = (tags.FloatPixelData, "OF") if allocated == 32 else (tags.DoubleFloatPixelData, "OD")
        data = _planar(shaped, fmt).astype(samples.dtype.newbyteorder("<")).tobytes()
        ds.add(Element(tag, vr, data))
        return
    ds.add(Element(tags.PixelData, "OW" if allocated > 8 else "OB", native_bytes(shaped, fmt)))


def native_bytes(frames: PixelArray, fmt: PixelFormat) -> bytes:
    """Native little-endian Pixel Data for ``(frames, rows, columns[, samples])``.

    1-bit frames are packed end to end, not byte aligned (PS3.5 §8.1.1).
    """
    if fmt.bits_allocated == 1:
        bits = np.ascontiguousarray(frames, dtype=np.uint8).reshape(-1) & 1
        return np.packbits(bits, bitorder="little").tobytes()
    return np.ascontiguousarray(_planar(frames, fmt), dtype=fmt.dtype).tobytes()


def _planar(frames: PixelArray, fmt: PixelFormat) -> PixelArray:
    if fmt.samples_per_pixel > 1 and fmt.planar_configuration == 1:
        return frames.transpose(0, 3, 1, 2)
    return frames


def _layout(samples: PixelArray, photometric: str | None) -> tuple[int, int, str]:
    """(samples per pixel, frames, photometric interpretation) for an array to store."""
    single = photometric in _MONOCHROME if photometric else None
    if samples.ndim == 2:
        return 1, 1, photometric or "MONOCHROME2"
    if samples.ndim == 3 and single is None:
        single = samples.shape[2] != 3
    if samples.ndim == 3:
        if single:
            return 1, samples.shape[0], photometric or "MONOCHROME2"
        return samples.shape[2], 1, photometric or "RGB"
    if samples.ndim == 4 and not single:
        return samples.shape[3], samples.shape[0], photometric or "RGB"
    raise CodecError(f"cannot store an array of shape {samples.shape} as {photometric or 'pixel data'}")


def _set_module(ds: Dataset, fmt: PixelFormat, *, floating: bool, multiframe: bool) -> None:
    ds.set(tags.SamplesPerPixel, fmt.samples_per_pixel, "US")
    ds.set(tags.PhotometricInterpretation, fmt.photometric_interpretation, "CS")
    if fmt.samples_per_pixel > 1:
        ds.set(tags.PlanarConfiguration, fmt.planar_configuration, "US")
    else:
        ds.delete(tags.PlanarConfiguration)
    if multiframe:
        ds.set(tags.NumberOfFrames, fmt.number_of_frames, "IS")
    ds.set(tags.Rows, fmt.rows, "US")
    ds.set(tags.Columns, fmt.columns, "US")
    ds.set(tags.BitsAllocated, fmt.bits_allocated, "US")
    if floating:
        for tag in (tags.BitsStored, tags.HighBit, tags.PixelRepresentation):
            ds.delete(tag)
        return
    ds.set(tags.BitsStored, fmt.bits_stored, "US")
    ds.set(tags.HighBit, fmt.bits_stored - 1, "US")
    ds.set(tags.PixelRepresentation, fmt.pixel_representation, "US")
