"""Transcoding a data set's pixel data between transfer syntaxes (PS3.5 §8.2, §10; PS3.3 C.7.6.1.1.5).

``transcode(ds, source, target)`` returns a new data set whose Pixel Data is
encoded for ``target``; the input is left alone. What changes besides the
pixels:

* Photometric Interpretation: YBR_FULL_422 data is upsampled when decoded, so it
  becomes YBR_FULL (or RGB with ``ybr_to_rgb=True``); JPEG 2000 YBR_RCT /
  YBR_ICT decode to RGB; the target codec then says what it stores
  (``Codec.encoded_format``: JPEG lossy RGB -> YBR_FULL_422, JPEG 2000 with a
  component transform -> YBR_RCT / YBR_ICT).
* Planar Configuration: 1 for RLE colour (PS3.5 G.2 note), 0 for other
  compressed syntaxes, the source's value between native syntaxes.
* Lossy Image Compression (0028,2110) "01", one more Lossy Image Compression
  Ratio (0028,2112) and Method (0028,2114) value, and a new SOP Instance UID,
  whenever this transcoding is a lossy step (PS3.3 C.7.6.1.1.5: the attribute
  never reverts to "00"). Decompressing data that came from a lossy syntax
  keeps the UID and marks the data "01" if it was not marked.
* Extended Offset Table / Lengths: written with ``offset_table="extended"`` (or
  when offsets outgrow the 32-bit Basic Offset Table), removed otherwise.

Between native syntaxes nothing is decoded: the writer converts byte order.

The same steps a frame at a time, for a sender that streams (``net.scu.conversion``):
``decoded_format`` / ``decode_frame`` give each frame as transcoding decodes it,
``native_header`` the attributes of a native result, ``FrameEncoder`` encodes frame by
frame and updates the attributes of an encapsulated one. ``transcode`` goes through
them, so both give the same bytes.
Pixel data nested in sequence items (icon images) that is encapsulated is
decoded to native when the syntax changes.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from typing import Final, Literal, Unpack

import numpy as np

from dicomkit.codecs import color
from dicomkit.codecs.encapsulation import (
    encapsulate,
    encapsulate_extended,
    pack_extended_offsets,
)
from dicomkit.codecs.format import CodecOptions, PixelArray, PixelFormat
from dicomkit.codecs.pixels import (
    get_frame,
    iter_frames,
    native_bytes,
    pixel_data_element,
    pixel_format,
)
from dicomkit.codecs.registry import get_codec, is_encapsulated
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.uid import generate_uid
from dicomkit.errors import CodecError, UnsupportedTransferSyntaxError

__all__ = [
    "LOSSY_METHODS",
    "FrameEncoder",
    "OffsetTable",
    "decode_frame",
    "decode_frames",
    "decoded_format",
    "native_header",
    "transcode",
]

OffsetTable = Literal["basic", "extended", "none"]

#: Lossy Image Compression Method (0028,2114) defined terms, PS3.3 C.7.6.1.1.5.1.
LOSSY_METHODS = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1",
    "1.2.840.10008.1.2.4.51": "ISO_10918_1",
    "1.2.840.10008.1.2.4.81": "ISO_14495_1",
    "1.2.840.10008.1.2.4.91": "ISO_15444_1",
    "1.2.840.10008.1.2.4.203": "ISO_15444_15",
    "1.2.840.10008.1.2.4.112": "ISO_18181_1",
}
_RLE = "1.2.840.10008.1.2.5"
_DECODED_AS_RGB = ("YBR_RCT", "YBR_ICT")
#: Bytes of an item header (FFFE,E000) and the largest Basic Offset Table entry (PS3.5 A.4).
_ITEM_HEADER: Final = 8
_MAX_BASIC_OFFSET: Final = 0xFFFFFFFF


def transcode(
    ds: Dataset,
    source_syntax: str,
    target_syntax: str,
    *,
    offset_table: OffsetTable = "basic",
    ybr_to_rgb: bool = False,
    **codec_options: Unpack[CodecOptions],
) -> Dataset:
    """A copy of ``ds`` with its pixel data encoded in ``target_syntax``.

    ``codec_options`` go to the target codec (``quality``, ``near``, ``psnr``,
    ``reversible`` ...: see ``CodecOptions``). The same syntax without options returns an
    unchanged copy.

    Raises:
        UnsupportedTransferSyntaxError: no codec for the source or target.
        CodecError: pixel data the target cannot encode, or that cannot be decoded.
    """
    result = ds.copy()
    source_encapsulated = is_encapsulated(source_syntax)
    target_encapsulated = is_encapsulated(target_syntax)
    if source_syntax != target_syntax:
        _nested_to_native(result, source_syntax)
    if not any(tag in ds for tag in (tags.PixelData, tags.FloatPixelData, tags.DoubleFloatPixelData)):
        return result
    element = pixel_data_element(ds)
    same = source_syntax == target_syntax and not codec_options and not ybr_to_rgb
    if same or (not element.undefined_length and not target_encapsulated and not ybr_to_rgb):
        if codec_options:
            raise CodecError(f"native pixel data takes no encoding options, got {sorted(codec_options)}")
        return result
    if element.tag != tags.PixelData:
        raise UnsupportedTransferSyntaxError(f"float pixel data cannot be encoded in {target_syntax}")
    if target_encapsulated:
        encoder = FrameEncoder(ds, source_syntax, target_syntax, ybr_to_rgb=ybr_to_rgb, **codec_options)
        encoded = list(encoder.encode_frames())
        table = encoder.offset_table(offset_table, [len(frame) for frame in encoded])
        if table == "extended":
            value, _, _ = encapsulate_extended(encoded)
        else:
            value = encapsulate(encoded, with_offset_table=table == "basic")
        header = encoder.header([len(frame) for frame in encoded], table)
        header.add(Element(tags.PixelData, "OB", value, undefined_length=True))
        return header
    get_codec(target_syntax)
    if codec_options:
        raise CodecError(f"native pixel data takes no encoding options, got {sorted(codec_options)}")
    fmt = decoded_format(ds, ybr_to_rgb=ybr_to_rgb)
    frames = list(decode_frames(ds, source_syntax, ybr_to_rgb=ybr_to_rgb))
    planar = fmt.planar_configuration if not source_encapsulated else 0
    _store_native(result, replace(fmt, planar_configuration=planar), frames)
    _update_lossy(result, ds, fmt, source_syntax, target_syntax, False, 0)
    return result


def decoded_format(ds: Dataset, *, ybr_to_rgb: bool = False) -> PixelFormat:
    """The format of the frames :func:`decode_frame` gives: Photometric Interpretation as
    decoded (YBR_FULL_422 upsampled to YBR_FULL, YBR_RCT / YBR_ICT as RGB, YBR_FULL as
    RGB with ``ybr_to_rgb``), the rest as ``pixel_format(ds)``."""
    fmt = pixel_format(ds)
    photometric = fmt.photometric_interpretation
    if fmt.samples_per_pixel == 3:
        if photometric == "YBR_FULL_422":
            photometric = "YBR_FULL"  # decoded samples are full resolution
        elif photometric in _DECODED_AS_RGB:
            photometric = "RGB"
        if ybr_to_rgb and photometric == "YBR_FULL":
            photometric = "RGB"
    return replace(fmt, photometric_interpretation=photometric)


def decode_frame(ds: Dataset, index: int, source_syntax: str, *, ybr_to_rgb: bool = False) -> PixelArray:
    """Frame ``index`` in its stored colour space (RGB with ``ybr_to_rgb``), as transcoding
    decodes it: only that frame is read (``pixels.get_frame``).

    Raises:
        CodecError: naming the frame, when it cannot be located or decoded.
    """
    frame = get_frame(ds, index, transfer_syntax=source_syntax)
    if ybr_to_rgb and decoded_format(ds).photometric_interpretation == "YBR_FULL":
        frame = color.ybr_to_rgb(frame, bits=pixel_format(ds).bits_stored)
    return frame


def decode_frames(
    ds: Dataset, source_syntax: str, *, ybr_to_rgb: bool = False
) -> Generator[PixelArray, None, None]:
    """Every frame in order, as :func:`decode_frame` gives each, decoded one at a time.

    Encapsulated item headers are walked once (``pixels.iter_frames``), so going through
    the frames costs the same whatever their number.

    Raises:
        CodecError: naming the frame, when the frame that cannot be located or decoded is reached.
    """
    convert = ybr_to_rgb and decoded_format(ds).photometric_interpretation == "YBR_FULL"
    bits = pixel_format(ds).bits_stored
    for frame in iter_frames(ds, transfer_syntax=source_syntax):
        yield color.ybr_to_rgb(frame, bits=bits) if convert else frame


def native_header(ds: Dataset, source_syntax: str, target_syntax: str) -> tuple[Dataset, PixelFormat]:
    """What ``transcode(ds, source_syntax, target_syntax)`` gives for encapsulated Pixel
    Data and a native target, but for the Pixel Data value, left as it is in ``ds``: every
    other attribute updated (nested icons decoded, colour, Lossy Image Compression,
    offset tables removed). Also the format of the native frames: frame ``i`` of the
    value is ``native_bytes(decode_frame(ds, i, source_syntax)[None], fmt)``, so Pixel
    Data can be written a frame at a time (``scu.conversion`` streams it so).

    Raises:
        CodecError: no encapsulated (7FE0,0010) Pixel Data, or a format it cannot read.
    """
    element = pixel_data_element(ds)
    if element.tag != tags.PixelData or not element.undefined_length or not is_encapsulated(source_syntax):
        raise CodecError("native_header needs encapsulated Pixel Data")
    result = ds.copy()
    if source_syntax != target_syntax:
        _nested_to_native(result, source_syntax)
    fmt = decoded_format(ds)
    native = replace(fmt, planar_configuration=0)
    _native_attributes(result, native)
    _update_lossy(result, ds, fmt, source_syntax, target_syntax, False, 0)
    return result, native


class FrameEncoder:
    """``transcode`` to an encapsulated syntax one frame at a time (PS3.5 §8.2, A.4).

    :meth:`encode` decodes frame ``i`` of ``ds`` and encodes it for ``target_syntax``;
    :meth:`offset_table` says which offset table frames of those lengths get, and
    :meth:`header` updates the attributes (colour, Lossy Image Compression, Extended
    Offset Table) of a copy of the data set, whose Pixel Data value the caller adds.
    ``transcode`` itself goes through this class, so a sender that writes the frames
    as it encodes them writes its bytes.

    Raises (from the constructor):
        UnsupportedTransferSyntaxError: no codec for the target.
        CodecError: pixel data the target cannot encode (or not losslessly: a palette).
    """

    def __init__(
        self,
        ds: Dataset,
        source_syntax: str,
        target_syntax: str,
        *,
        ybr_to_rgb: bool = False,
        **options: Unpack[CodecOptions],
    ) -> None:
        if pixel_data_element(ds).tag != tags.PixelData:
            raise UnsupportedTransferSyntaxError(f"float pixel data cannot be encoded in {target_syntax}")
        self.ds = ds
        self.source_syntax = source_syntax
        self.target_syntax = target_syntax
        self.ybr_to_rgb = ybr_to_rgb
        self.options = options
        self.codec = codec = get_codec(target_syntax)
        self.fmt = fmt = decoded_format(ds, ybr_to_rgb=ybr_to_rgb)
        self.lossy_step = codec.lossy and _options_lossy(target_syntax, options)
        if self.lossy_step and fmt.photometric_interpretation == "PALETTE COLOR":
            # Indices into a palette are not intensities: lossy coding scrambles colours.
            raise CodecError(f"PALETTE COLOR pixel data cannot be encoded lossily ({target_syntax})")
        if not codec.can_encode(fmt):
            raise CodecError(
                f"{codec.transfer_syntax} cannot encode {fmt.bits_allocated}-bit allocated, "
                f"{fmt.bits_stored}-bit stored, {'signed' if fmt.is_signed else 'unsigned'}, "
                f"{fmt.samples_per_pixel}-sample {fmt.photometric_interpretation} pixel data"
            )

    def encode(self, index: int) -> bytes:
        """Frame ``index`` encoded (the codestream, unpadded)."""
        return self._encode(
            decode_frame(self.ds, index, self.source_syntax, ybr_to_rgb=self.ybr_to_rgb), index
        )

    def encode_frames(self) -> Iterator[bytes]:
        """Every frame encoded, in order, one at a time (see :func:`decode_frames`)."""
        frames = decode_frames(self.ds, self.source_syntax, ybr_to_rgb=self.ybr_to_rgb)
        for index, frame in enumerate(frames):
            yield self._encode(frame, index)

    def _encode(self, frame: PixelArray, index: int) -> bytes:
        try:
            return self.codec.encode_frame(frame, self.fmt, **self.options)
        except CodecError as exc:
            raise CodecError(exc.reason, frame=index) from exc

    @staticmethod
    def offset_table(wanted: OffsetTable, lengths: Sequence[int]) -> OffsetTable:
        """The table frames of these lengths get: ``wanted``, but extended when a basic
        table cannot hold the offsets (past 4 GiB, PS3.5 A.4, PS3.3 C.7.6.3.1.8)."""
        if wanted not in ("basic", "extended", "none"):
            raise CodecError(f"offset_table must be basic, extended or none, not {wanted!r}")
        if wanted == "basic" and lengths:
            last = sum(_ITEM_HEADER + length + length % 2 for length in lengths[:-1])
            if last > _MAX_BASIC_OFFSET:
                return "extended"
        return wanted

    def header(self, lengths: Sequence[int], table: OffsetTable) -> Dataset:
        """A copy of the data set (nested icons decoded) updated for encoded frames of these
        lengths and ``table`` (from :meth:`offset_table`); without Pixel Data."""
        result = self.ds.copy()
        if self.source_syntax != self.target_syntax:
            _nested_to_native(result, self.source_syntax)
        result.delete(tags.PixelData)
        for tag in (tags.ExtendedOffsetTable, tags.ExtendedOffsetTableLengths):
            result.delete(tag)
        if table == "extended":
            offsets, position = [], 0
            for length in lengths:
                offsets.append(position)
                position += _ITEM_HEADER + length + length % 2
            padded = [length + length % 2 for length in lengths]
            result.add(Element(tags.ExtendedOffsetTable, "OV", pack_extended_offsets(offsets)))
            result.add(Element(tags.ExtendedOffsetTableLengths, "OV", pack_extended_offsets(padded)))
        encoded_fmt = self.codec.encoded_format(self.fmt, **self.options)
        planar = 1 if self.codec.transfer_syntax == _RLE and self.fmt.samples_per_pixel > 1 else 0
        _set_colour(result, replace(encoded_fmt, planar_configuration=planar))
        _update_lossy(
            result, self.ds, self.fmt, self.source_syntax, self.target_syntax, self.lossy_step, sum(lengths)
        )
        return result


def _store_native(ds: Dataset, fmt: PixelFormat, frames: list[PixelArray]) -> None:
    stacked = np.stack(frames) if frames else np.empty((0, *fmt.shape), dtype=fmt.dtype)
    _native_attributes(ds, fmt)
    ds.add(Element(tags.PixelData, "OW" if fmt.bits_allocated > 8 else "OB", native_bytes(stacked, fmt)))


def _native_attributes(ds: Dataset, fmt: PixelFormat) -> None:
    for tag in (tags.ExtendedOffsetTable, tags.ExtendedOffsetTableLengths):
        ds.delete(tag)
    _set_colour(ds, fmt)


def _set_colour(ds: Dataset, fmt: PixelFormat) -> None:
    ds.set(tags.PhotometricInterpretation, fmt.photometric_interpretation, "CS")
    if fmt.samples_per_pixel > 1:
        ds.set(tags.PlanarConfiguration, fmt.planar_configuration, "US")


def _options_lossy(target_syntax: str, options: CodecOptions) -> bool:
    """Whether encoding with these options loses information (lossy syntaxes allow lossless settings)."""
    if options.get("reversible") is True:
        return False
    return not (target_syntax == "1.2.840.10008.1.2.4.81" and options.get("near", 2) == 0)


def _update_lossy(
    result: Dataset,
    original: Dataset,
    fmt: PixelFormat,
    source_syntax: str,
    target_syntax: str,
    lossy_step: bool,
    encoded_size: int,
) -> None:
    """Lossy Image Compression attributes and SOP Instance UID (PS3.3 C.7.6.1.1.5)."""
    if lossy_step:
        ratio = fmt.frame_length * fmt.number_of_frames / max(encoded_size, 1)
        _mark_lossy(result, ratio, LOSSY_METHODS.get(target_syntax, target_syntax))
        result.set(tags.SOPInstanceUID, generate_uid(), "UI")
        return
    already = (original.get_str(tags.LossyImageCompression) or "").strip() == "01"
    if not already and source_syntax in LOSSY_METHODS and get_codec(source_syntax).lossy:
        source_size = _stored_size(pixel_data_element(original)) or 1
        ratio = fmt.frame_length * fmt.number_of_frames / source_size
        _mark_lossy(result, ratio, LOSSY_METHODS[source_syntax])


def _stored_size(element: Element) -> int:
    """Bytes of the value as stored, without loading one left in its file."""
    deferred = element.deferred
    if deferred is not None:
        return deferred.length
    return len(element.raw_bytes() or b"")


def _mark_lossy(ds: Dataset, ratio: float, method: str) -> None:
    ratios = [_ds_text(float(v)) for v in ds.get_floats(tags.LossyImageCompressionRatio)]
    methods = ds.get_strs(tags.LossyImageCompressionMethod)
    ds.set(tags.LossyImageCompression, "01", "CS")
    ds.set(tags.LossyImageCompressionRatio, [*ratios, _ds_text(ratio)], "DS")
    ds.set(tags.LossyImageCompressionMethod, [*methods, method], "CS")


def _ds_text(value: float) -> str:
    """A DS value (at most 16 characters) with two decimals, as ratios are usually given."""
    text = f"{value:.2f}"
    return text if len(text) <= 16 else f"{value:.6g}"


def _nested_to_native(ds: Dataset, source_syntax: str) -> None:
    """Decode encapsulated pixel data in sequence items (icon images) to native, in place."""
    for element in ds.elements():
        if element.vr != "SQ":
            continue
        for item in element.sequence:
            _nested_to_native(item, source_syntax)
            pixel = item.get_element(tags.PixelData)
            if pixel is not None and pixel.undefined_length:
                fmt = decoded_format(item)
                count = fmt.number_of_frames
                _store_native(item, fmt, [decode_frame(item, i, source_syntax) for i in range(count)])
