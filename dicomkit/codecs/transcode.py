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
Pixel data nested in sequence items (icon images) that is encapsulated is
decoded to native when the syntax changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal, Unpack

import numpy as np

from dicomkit.codecs import color
from dicomkit.codecs.encapsulation import (
    encapsulate,
    encapsulate_extended,
    pack_extended_offsets,
)
from dicomkit.codecs.format import Codec, CodecOptions, PixelArray, PixelFormat
from dicomkit.codecs.pixels import (
    get_frame,
    native_bytes,
    pixel_data_element,
    pixel_format,
)
from dicomkit.codecs.registry import get_codec, is_encapsulated
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.uid import generate_uid
from dicomkit.errors import CodecError, EncodeError, UnsupportedTransferSyntaxError

__all__ = ["LOSSY_METHODS", "OffsetTable", "transcode"]

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
    target = get_codec(target_syntax)
    fmt, frames = _decoded(ds, source_syntax, ybr_to_rgb=ybr_to_rgb)
    if target_encapsulated:
        lossy_step = target.lossy and _options_lossy(target_syntax, codec_options)
        if lossy_step and fmt.photometric_interpretation == "PALETTE COLOR":
            # Indices into a palette are not intensities: lossy coding scrambles colours.
            raise CodecError(f"PALETTE COLOR pixel data cannot be encoded lossily ({target_syntax})")
        encoded_size = _store_encapsulated(result, target, fmt, frames, offset_table, codec_options)
    else:
        if codec_options:
            raise CodecError(f"native pixel data takes no encoding options, got {sorted(codec_options)}")
        planar = fmt.planar_configuration if not source_encapsulated else 0
        _store_native(result, replace(fmt, planar_configuration=planar), frames)
        encoded_size, lossy_step = 0, False
    _update_lossy(result, ds, fmt, source_syntax, target_syntax, lossy_step, encoded_size)
    return result


def _decoded(ds: Dataset, source_syntax: str, *, ybr_to_rgb: bool) -> tuple[PixelFormat, list[PixelArray]]:
    """Every frame in its stored colour space, and the format describing them as decoded."""
    fmt = pixel_format(ds)
    frames = [get_frame(ds, index, transfer_syntax=source_syntax) for index in range(fmt.number_of_frames)]
    photometric = fmt.photometric_interpretation
    if fmt.samples_per_pixel == 3:
        if photometric == "YBR_FULL_422":
            photometric = "YBR_FULL"  # decoded samples are full resolution
        elif photometric in _DECODED_AS_RGB:
            photometric = "RGB"
        if ybr_to_rgb and photometric == "YBR_FULL":
            frames = [color.ybr_to_rgb(frame, bits=fmt.bits_stored) for frame in frames]
            photometric = "RGB"
    return replace(fmt, photometric_interpretation=photometric), frames


def _store_native(ds: Dataset, fmt: PixelFormat, frames: list[PixelArray]) -> None:
    stacked = np.stack(frames) if frames else np.empty((0, *fmt.shape), dtype=fmt.dtype)
    for tag in (tags.ExtendedOffsetTable, tags.ExtendedOffsetTableLengths):
        ds.delete(tag)
    ds.add(Element(tags.PixelData, "OW" if fmt.bits_allocated > 8 else "OB", native_bytes(stacked, fmt)))
    _set_colour(ds, fmt)


def _store_encapsulated(
    ds: Dataset,
    codec: Codec,
    fmt: PixelFormat,
    frames: list[PixelArray],
    offset_table: OffsetTable,
    options: CodecOptions,
) -> int:
    """Encode every frame into ``ds``; returns the encoded byte count."""
    if not codec.can_encode(fmt):
        raise CodecError(
            f"{codec.transfer_syntax} cannot encode {fmt.bits_allocated}-bit allocated, "
            f"{fmt.bits_stored}-bit stored, {'signed' if fmt.is_signed else 'unsigned'}, "
            f"{fmt.samples_per_pixel}-sample {fmt.photometric_interpretation} pixel data"
        )
    encoded_fmt = codec.encoded_format(fmt, **options)
    encoded = []
    for index, frame in enumerate(frames):
        try:
            encoded.append(codec.encode_frame(frame, fmt, **options))
        except CodecError as exc:
            raise CodecError(exc.reason, frame=index) from exc
    for tag in (tags.ExtendedOffsetTable, tags.ExtendedOffsetTableLengths):
        ds.delete(tag)
    value = b""
    if offset_table == "basic":
        try:
            value = encapsulate(encoded)
        except EncodeError:
            offset_table = "extended"  # offsets past 4 GiB (PS3.5 A.4, PS3.3 C.7.6.3.1.8)
    if offset_table == "extended":
        value, offsets, lengths = encapsulate_extended(encoded)
        ds.add(Element(tags.ExtendedOffsetTable, "OV", pack_extended_offsets(offsets)))
        ds.add(Element(tags.ExtendedOffsetTableLengths, "OV", pack_extended_offsets(lengths)))
    elif offset_table == "none":
        value = encapsulate(encoded, with_offset_table=False)
    elif offset_table != "basic":
        raise CodecError(f"offset_table must be basic, extended or none, not {offset_table!r}")
    ds.add(Element(tags.PixelData, "OB", value, undefined_length=True))
    planar = 1 if codec.transfer_syntax == _RLE and fmt.samples_per_pixel > 1 else 0
    _set_colour(ds, replace(encoded_fmt, planar_configuration=planar))
    return sum(len(frame) for frame in encoded)


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
        source_size = len(pixel_data_element(original).raw_bytes() or b"") or 1
        ratio = fmt.frame_length * fmt.number_of_frames / source_size
        _mark_lossy(result, ratio, LOSSY_METHODS[source_syntax])


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
                fmt, frames = _decoded(item, source_syntax, ybr_to_rgb=False)
                _store_native(item, fmt, frames)
