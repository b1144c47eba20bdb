"""The grayscale pipeline and display conversion (PS3.3 C.11, PS3.4 N.2).

::

    stored values --Modality LUT--> modality values --VOI LUT--> values of interest
        --Presentation LUT--> P-values --> 8-bit display (uint8)

* Modality LUT (PS3.3 C.11.1): the Modality LUT Sequence when present, else
  Rescale Slope / Intercept, else identity.
* VOI LUT (C.11.2): a VOI LUT Sequence table, or a window (Window Center /
  Width) with the VOI LUT Function LINEAR (C.11.2.1.2.1), LINEAR_EXACT
  (C.11.2.1.3.2) or SIGMOID (C.11.2.1.3.1). Values here are normalised to
  ``[0, 1]``, so "y_min" is 0 and "y_max" 1 in the standard's equations.
  Without any VOI, the frame's own minimum and maximum make the window.
* Presentation LUT Shape (C.11.6): INVERSE inverts; without the attribute
  MONOCHROME1 does (minimum value shown white, C.7.6.3.1.2).

Colour images skip the grayscale pipeline: YBR_FULL / YBR_FULL_422 are turned
into RGB, PALETTE COLOR indices go through the palette, and samples are scaled
from their depth to 8 bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dicomkit.codecs import color
from dicomkit.codecs.format import PixelArray
from dicomkit.codecs.pixels import is_float_pixel_data, pixel_format
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.errors import CodecError, DicomError

__all__ = [
    "VOI_FUNCTIONS",
    "Window",
    "apply_modality_lut",
    "apply_presentation",
    "apply_voi",
    "apply_window",
    "is_inverted",
    "to_display",
    "windows",
]

Floats = npt.NDArray[np.float64]
VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


@dataclass(frozen=True, slots=True)
class Window:
    """A VOI window (PS3.3 C.11.2.1.2): centre, width and the VOI LUT Function."""

    center: float
    width: float
    function: str = "LINEAR"

    def __post_init__(self) -> None:
        if self.function not in VOI_FUNCTIONS:
            raise CodecError(f"unknown VOI LUT function {self.function!r}; known: {', '.join(VOI_FUNCTIONS)}")
        if not (math.isfinite(self.center) and math.isfinite(self.width)):
            raise CodecError(f"window {self.center}/{self.width} is not finite")
        minimum = 1.0 if self.function == "LINEAR" else 0.0
        if self.width < minimum or (self.function != "LINEAR" and self.width == 0):
            raise CodecError(f"window width {self.width} is too small for {self.function}")


def _floats(ds: Dataset, tag: int) -> list[float]:
    try:
        return ds.get_floats(tag)
    except (TypeError, ValueError, DicomError) as exc:
        raise CodecError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is not numeric: {exc}") from exc


def windows(ds: Dataset) -> list[Window]:
    """The windows ``ds`` proposes (Window Center / Width pairs), with its VOI LUT Function."""
    centers = _floats(ds, tags.WindowCenter)
    widths = _floats(ds, tags.WindowWidth)
    function = (ds.get_str(tags.VOILUTFunction) or "LINEAR").strip().upper() or "LINEAR"
    return [Window(c, w, function) for c, w in zip(centers, widths)]


# ------------------------------------------------------------------- modality


def apply_modality_lut(ds: Dataset, array: PixelArray) -> PixelArray:
    """Stored values to modality values (PS3.3 C.11.1); colour data is returned unchanged.

    A Modality LUT Sequence gives uint16 table values; rescaling gives float64.
    """
    if array.ndim and pixel_format(ds).samples_per_pixel != 1:
        return array
    items = ds.get_sequence(tags.ModalityLUTSequence)
    if items:
        first, table = _table(items[0], signed=pixel_format(ds).is_signed)
        return _lookup(array, first, table)
    slope = _floats(ds, tags.RescaleSlope)
    intercept = _floats(ds, tags.RescaleIntercept)
    if not slope and not intercept:
        return array
    return array.astype(np.float64) * (slope[0] if slope else 1.0) + (intercept[0] if intercept else 0.0)


def _table(item: Dataset, *, signed: bool) -> tuple[int, npt.NDArray[np.uint16]]:
    entries, first, bits = color.descriptor(item, tags.LUTDescriptor, signed=signed)
    data = color.lut_data(item, tags.LUTData, entries=entries, bits=bits)
    if len(data) < entries:
        raise CodecError(f"lookup table has {len(data)} entries, its descriptor {entries}")
    return first, data[:entries]


def _lookup(array: PixelArray, first: int, table: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
    index = np.clip(np.rint(array).astype(np.int64) - first, 0, len(table) - 1)
    return table[index]


def _modality_range(ds: Dataset) -> tuple[float, float]:
    """The range modality values can take, for normalising a VOI LUT's input."""
    fmt = pixel_format(ds)
    items = ds.get_sequence(tags.ModalityLUTSequence)
    if items:
        _, _, bits = color.descriptor(items[0], tags.LUTDescriptor)
        return 0.0, float((1 << bits) - 1)
    if fmt.is_signed:
        low, high = -float(1 << (fmt.bits_stored - 1)), float((1 << (fmt.bits_stored - 1)) - 1)
    else:
        low, high = 0.0, float((1 << fmt.bits_stored) - 1)
    slope = (_floats(ds, tags.RescaleSlope) or [1.0])[0]
    intercept = (_floats(ds, tags.RescaleIntercept) or [0.0])[0]
    return low * slope + intercept, high * slope + intercept


# ------------------------------------------------------------------------ VOI


def apply_window(values: PixelArray, window: Window) -> Floats:
    """A window applied to modality values, output in ``[0, 1]`` (PS3.3 C.11.2.1.2-3)."""
    x = values.astype(np.float64)
    c, w = window.center, window.width
    if window.function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
    if window.function == "LINEAR_EXACT":
        return np.clip((x - c) / w + 0.5, 0.0, 1.0)
    if w == 1.0:  # a threshold at the centre
        return np.where(x <= c - 0.5, 0.0, 1.0)
    return np.clip((x - (c - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0)


def apply_voi(ds: Dataset, values: PixelArray, *, window: Window | None = None, index: int = 0) -> Floats:
    """Modality values to values of interest in ``[0, 1]``.

    Precedence: an explicit ``window``; the VOI LUT Sequence item ``index``; the
    data set's window ``index``; the frame's minimum to maximum.
    """
    if window is not None:
        return apply_window(values, window)
    items = ds.get_sequence(tags.VOILUTSequence)
    if items:
        item = items[min(index, len(items) - 1)]
        _, _, bits = color.descriptor(item, tags.LUTDescriptor)
        low, _ = _modality_range(ds)
        first, table = _table(item, signed=low < 0)
        return _lookup(values, first, table).astype(np.float64) / float((1 << bits) - 1)
    proposed = windows(ds)
    if proposed:
        return apply_window(values, proposed[min(index, len(proposed) - 1)])
    return _full_range(values)


def _full_range(values: PixelArray) -> Floats:
    x = values.astype(np.float64)
    finite = x[np.isfinite(x)]
    if not finite.size:
        return np.zeros_like(x)
    low, high = float(finite.min()), float(finite.max())
    if high == low:
        return np.zeros_like(x)
    return np.clip(np.nan_to_num((x - low) / (high - low)), 0.0, 1.0)


# --------------------------------------------------------------- presentation


def is_inverted(ds: Dataset) -> bool:
    """True when minimum values are shown white (Presentation LUT Shape INVERSE, else MONOCHROME1)."""
    shape = (ds.get_str(tags.PresentationLUTShape) or "").strip().upper()
    if shape:
        return shape == "INVERSE"
    return (ds.get_str(tags.PhotometricInterpretation) or "").strip() == "MONOCHROME1"


def apply_presentation(ds: Dataset, values: Floats) -> Floats:
    """Values of interest in ``[0, 1]`` to P-values in ``[0, 1]`` (PS3.3 C.11.6)."""
    return 1.0 - values if is_inverted(ds) else values


# -------------------------------------------------------------------- display


def to_display(
    ds: Dataset, frame: PixelArray, *, window: Window | None = None, voi_index: int = 0
) -> PixelArray:
    """One decoded frame (stored colour space) as 8-bit display values.

    Grayscale: ``(rows, columns)`` uint8 through modality, VOI and presentation;
    colour: ``(rows, columns, 3)`` uint8 RGB.
    """
    fmt = pixel_format(ds)
    photometric = fmt.photometric_interpretation
    if photometric == "PALETTE COLOR":
        palette = color.palette_lut(ds)
        return _scale(color.apply_palette(frame, palette), palette.bits)
    if fmt.samples_per_pixel == 3:
        if photometric in ("YBR_FULL", "YBR_FULL_422"):
            frame = color.ybr_to_rgb(frame, bits=fmt.bits_stored)
        if is_float_pixel_data(ds):
            return np.rint(_full_range(frame) * 255.0).astype(np.uint8)
        return _scale(frame, fmt.bits_stored)
    if fmt.samples_per_pixel != 1:
        raise CodecError(f"cannot display {fmt.samples_per_pixel} samples per pixel ({photometric})")
    values = apply_voi(ds, apply_modality_lut(ds, frame), window=window, index=voi_index)
    return np.rint(apply_presentation(ds, values) * 255.0).astype(np.uint8)


def _scale(samples: PixelArray, bits: int) -> PixelArray:
    if bits == 8 and samples.dtype == np.uint8:
        return samples
    top = float((1 << bits) - 1)
    return np.rint(np.clip(samples.astype(np.float64), 0, top) * (255.0 / top)).astype(np.uint8)
