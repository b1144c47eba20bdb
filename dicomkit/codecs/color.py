"""Colour spaces of pixel data: YCbCr <-> RGB, YBR_FULL_422, palettes (PS3.3 C.7.6.3.1, C.7.9).

Conversions here act on decoded frames (``(rows, columns, 3)`` arrays):

* ``ybr_to_rgb`` / ``rgb_to_ybr`` use the YBR_FULL equations of PS3.3
  C.7.6.3.1.2 (ITU-R BT.601 coefficients, full range, chroma offset
  ``2**(bits-1)``), computed in float and rounded to the nearest value;
* ``expand_ybr_full_422`` turns *native* YBR_FULL_422 samples (two luma samples
  then one Cb and one Cr per horizontal pair, ``Y1 Y2 Cb Cr``) into full
  resolution; compressed YBR_FULL_422 data is upsampled by its codec;
* ``palette_lut`` reads the Palette Color Lookup Table Module, normal or
  segmented (PS3.3 C.7.9.2: discrete, linear and indirect segments), and
  ``apply_palette`` maps PALETTE COLOR indices through it.

Invariants: every function returns a new array and leaves its input alone;
malformed tables raise ``CodecError``; a segmented table never expands past
the number of entries its descriptor declares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dicomkit.codecs.format import PixelArray
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.errors import CodecError, DicomError

__all__ = [
    "Palette",
    "apply_palette",
    "expand_segmented_lut",
    "expand_ybr_full_422",
    "lut_data",
    "palette_lut",
    "rgb_to_ybr",
    "ybr_to_rgb",
]

# PS3.3 C.7.6.3.1.2, YBR_FULL.
_RGB_TO_YBR = np.array(
    [
        [0.2990, 0.5870, 0.1140],
        [-0.1687, -0.3313, 0.5000],
        [0.5000, -0.4187, -0.0813],
    ]
)
_YBR_TO_RGB = np.linalg.inv(_RGB_TO_YBR)

_DESCRIPTORS = (
    tags.RedPaletteColorLookupTableDescriptor,
    tags.GreenPaletteColorLookupTableDescriptor,
    tags.BluePaletteColorLookupTableDescriptor,
)
_DATA = (
    tags.RedPaletteColorLookupTableData,
    tags.GreenPaletteColorLookupTableData,
    tags.BluePaletteColorLookupTableData,
)
_SEGMENTED = (
    tags.SegmentedRedPaletteColorLookupTableData,
    tags.SegmentedGreenPaletteColorLookupTableData,
    tags.SegmentedBluePaletteColorLookupTableData,
)
_MAX_ENTRIES = 65536


def _bits_of(array: PixelArray, bits: int | None) -> int:
    if bits is not None:
        return bits
    return 8 * array.dtype.itemsize


def ybr_to_rgb(array: PixelArray, *, bits: int | None = None) -> PixelArray:
    """YBR_FULL samples to RGB, same dtype; ``bits`` (default: the dtype's) sets the chroma offset."""
    _check_colour(array)
    bits = _bits_of(array, bits)
    offset = float(1 << (bits - 1))
    ybr = array.astype(np.float64)
    ybr[..., 1:] -= offset
    rgb = ybr @ _YBR_TO_RGB.T
    return _round_into(rgb, array.dtype, (1 << bits) - 1)


def rgb_to_ybr(array: PixelArray, *, bits: int | None = None) -> PixelArray:
    """RGB samples to YBR_FULL, same dtype (PS3.3 C.7.6.3.1.2)."""
    _check_colour(array)
    bits = _bits_of(array, bits)
    ybr = array.astype(np.float64) @ _RGB_TO_YBR.T
    ybr[..., 1:] += float(1 << (bits - 1))
    return _round_into(ybr, array.dtype, (1 << bits) - 1)


def _check_colour(array: PixelArray) -> None:
    if array.ndim < 3 or array.shape[-1] != 3 or array.dtype.kind not in "ui":
        raise CodecError(f"colour conversion needs (..., 3) integer samples, got {array.shape} {array.dtype}")


def _round_into(values: npt.NDArray[np.float64], dtype: np.dtype[np.generic], top: int) -> PixelArray:
    return np.clip(np.rint(values), 0, top).astype(dtype)


def expand_ybr_full_422(data: bytes, rows: int, columns: int, dtype: np.dtype[np.generic]) -> PixelArray:
    """Native YBR_FULL_422 bytes (``Y1 Y2 Cb Cr`` per pixel pair) as a full ``(rows, columns, 3)`` frame."""
    if columns % 2:
        raise CodecError(f"YBR_FULL_422 needs an even number of columns, got {columns}")
    count = rows * columns * 2
    if len(data) < count * dtype.itemsize:
        raise CodecError(f"YBR_FULL_422 frame has {len(data)} bytes, expected {count * dtype.itemsize}")
    pairs = np.frombuffer(data, dtype=dtype, count=count).reshape(rows, columns // 2, 4)
    out = np.empty((rows, columns, 3), dtype=dtype.newbyteorder("="))
    out[:, 0::2, 0] = pairs[:, :, 0]
    out[:, 1::2, 0] = pairs[:, :, 1]
    out[:, :, 1] = np.repeat(pairs[:, :, 2], 2, axis=1)
    out[:, :, 2] = np.repeat(pairs[:, :, 3], 2, axis=1)
    return out


# --------------------------------------------------------------------- palettes


@dataclass(frozen=True, slots=True)
class Palette:
    """The three expanded tables of a Palette Color Lookup Table (PS3.3 C.7.6.3.1.5).

    Attributes:
        first_mapped: the stored value mapped to the first entry.
        bits: bits per entry (8 or 16), the third descriptor value.
        red, green, blue: the entries, as uint16.
    """

    first_mapped: int
    bits: int
    red: npt.NDArray[np.uint16]
    green: npt.NDArray[np.uint16]
    blue: npt.NDArray[np.uint16]


def lut_data(ds: Dataset, tag: int, *, entries: int, bits: int) -> npt.NDArray[np.uint16]:
    """LUT Data (US, OW or, for 8-bit tables packed two per word, OB-like) as uint16 entries."""
    element = ds.get_element(tag)
    if element is None:
        raise CodecError(f"lookup table data {tag:08X} is missing")
    try:
        value = element.value
    except DicomError as exc:
        raise CodecError(f"lookup table data {tag:08X} is malformed: {exc}") from exc
    if isinstance(value, bytes):
        if bits == 8 and len(value) in (entries, entries + 1):
            # 8-bit entries packed two to a 16-bit word (PS3.3 C.11.1.1.1 note)
            return np.frombuffer(value, dtype=np.uint8, count=entries).astype(np.uint16)
        if len(value) % 2:
            raise CodecError(f"lookup table data {tag:08X} has an odd length {len(value)}")
        order = "<" if element.little_endian else ">"
        return np.frombuffer(value, dtype=f"{order}u2").astype(np.uint16)
    values = element.values
    try:
        return np.asarray([int(v) for v in values], dtype=np.int64).astype(np.uint16)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise CodecError(f"lookup table data {tag:08X} does not hold integers") from exc


def descriptor(ds: Dataset, tag: int, *, signed: bool = False) -> tuple[int, int, int]:
    """(entries, first mapped value, bits) of a LUT Descriptor; 0 entries means 65536."""
    try:
        values = [int(v) for v in ds.get_values(tag)]  # type: ignore[arg-type]
    except (TypeError, ValueError, DicomError) as exc:
        raise CodecError(f"lookup table descriptor {tag:08X} is malformed") from exc
    if len(values) != 3:
        raise CodecError(f"lookup table descriptor {tag:08X} has {len(values)} values, not 3")
    entries, first, bits = values
    entries = entries or _MAX_ENTRIES
    if signed and first >= 0x8000:
        first -= 0x10000  # US on the wire, SS in meaning (PS3.3 C.11.1.1)
    if not 1 <= bits <= 16 or not 1 <= entries <= _MAX_ENTRIES:
        raise CodecError(f"lookup table descriptor {tag:08X} = {values} is not usable")
    return entries, first, bits


def palette_lut(ds: Dataset) -> Palette:
    """The expanded palette of a PALETTE COLOR image (normal or segmented tables)."""
    tables = []
    first_mapped = bits = 0
    for desc_tag, data_tag, seg_tag in zip(_DESCRIPTORS, _DATA, _SEGMENTED):
        if desc_tag not in ds:
            raise CodecError("PALETTE COLOR image without palette colour lookup table descriptors")
        entries, first_mapped, bits = descriptor(ds, desc_tag)
        if seg_tag in ds:
            table = expand_segmented_lut(lut_data(ds, seg_tag, entries=0, bits=16), entries)
        else:
            table = lut_data(ds, data_tag, entries=entries, bits=bits)
        if len(table) < entries:
            raise CodecError(f"palette table has {len(table)} entries, its descriptor {entries}")
        tables.append(table[:entries])
    return Palette(first_mapped, bits, tables[0], tables[1], tables[2])


def expand_segmented_lut(words: npt.NDArray[np.uint16], entries: int) -> npt.NDArray[np.uint16]:
    """Expand Segmented Palette Color LUT Data (PS3.3 C.7.9.2) to at most ``entries`` values.

    Segments: opcode 0 discrete (n values follow), 1 linear (ramp from the last
    value to y1 in n steps), 2 indirect (copy n earlier segments, starting at the
    segment whose byte offset follows as two 16-bit words, low word first).
    """
    out: list[float] = []
    _run_segments(words, 0, len(words), entries, out, depth=0)
    return np.rint(np.asarray(out[:entries], dtype=np.float64)).astype(np.uint16)


def _run_segments(
    words: npt.NDArray[np.uint16],
    position: int,
    end: int,
    entries: int,
    out: list[float],
    *,
    depth: int,
    count: int | None = None,
) -> None:
    done = 0
    while position < end and len(out) < entries and (count is None or done < count):
        if position + 2 > end:
            raise CodecError("segmented lookup table ends inside a segment header")
        opcode, length = int(words[position]), int(words[position + 1])
        if opcode == 0:
            if position + 2 + length > len(words):
                raise CodecError("discrete segment runs past the end of the lookup table")
            out.extend(float(v) for v in words[position + 2 : position + 2 + length])
            position += 2 + length
        elif opcode == 1:
            if not out:
                raise CodecError("linear segment with no previous value")
            if position + 3 > len(words):
                raise CodecError("linear segment runs past the end of the lookup table")
            start, stop = out[-1], float(words[position + 2])
            steps = min(length, entries - len(out) + 1)
            out.extend(start + (stop - start) * (np.arange(1, steps + 1) / max(length, 1)))
            position += 3
        elif opcode == 2:
            if depth > 0:
                raise CodecError("indirect segment refers to another indirect segment")
            if position + 4 > len(words):
                raise CodecError("indirect segment runs past the end of the lookup table")
            target = (int(words[position + 2]) | (int(words[position + 3]) << 16)) // 2
            if target >= position:
                raise CodecError(f"indirect segment points forward (to word {target})")
            _run_segments(words, target, position, entries, out, depth=depth + 1, count=length)
            position += 4
        else:
            raise CodecError(f"unknown segment type {opcode} in a segmented lookup table")
        done += 1


def apply_palette(array: PixelArray, palette: Palette) -> npt.NDArray[np.uint16]:
    """Map PALETTE COLOR indices to ``(..., 3)`` RGB entries (uint16, ``palette.bits`` deep).

    Values below the first mapped value take the first entry, values past the
    table the last (PS3.3 C.7.6.3.1.5).
    """
    if array.dtype.kind not in "ui":
        raise CodecError(f"palette indices must be integers, got {array.dtype}")
    last = len(palette.red) - 1
    index = np.clip(array.astype(np.int64) - palette.first_mapped, 0, last)
    return np.stack([palette.red[index], palette.green[index], palette.blue[index]], axis=-1)
