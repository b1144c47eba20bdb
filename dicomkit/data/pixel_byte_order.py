"""Byte order of native Pixel Data whose cells are wider than OW words (PS3.5 §7.3, §8.1.1).

Layer: ``dicomkit.data``, beside :mod:`.value_codec`. Binary values change byte
order item by item (``value_codec.swap_bytes``), and OW's item is a 16-bit word
(PS3.5 Table 6.2-1). Native (7FE0,0010) Pixel Data of VR OW with Bits Allocated 32
or 64 is the exception: in Explicit VR Big Endian we hold each pixel cell as one
big-endian number, as pydicom (our oracle) reads and stores it, and as the pixel
decoder (``codecs.pixels``) reads it. DCMTK keeps 16-bit words instead; see
docs/dicomkit/big_endian_pixel_data.md. Used by the writer (changing byte order),
the JSON encoder (InlineBinary is little endian) and ``Dataset.__eq__``.

Invariants:
    * ``swap_pixel_cells(swap_pixel_cells(data, n), n) == data`` for any bytes and
      cell size: LE -> BE -> LE is byte-exact, whatever the value's length.
    * ``cell_size`` is 2 (a plain OW word swap) unless Bits Allocated is exactly 32
      or 64, so 1-, 8- and 16-bit data keep the word swap PS3.5 §7.3 describes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomkit.data.charset import DEFAULT_CHARSET
from dicomkit.data.element import Element
from dicomkit.data.tags import BitsAllocated, PixelData
from dicomkit.data.value_codec import swap_bytes
from dicomkit.errors import DicomError

if TYPE_CHECKING:
    from dicomkit.data.dataset import Dataset

__all__ = ["cell_size", "is_native_ow_pixel_data", "little_endian_pixel_bytes", "swap_pixel_cells"]


def is_native_ow_pixel_data(element: Element) -> bool:
    """Whether ``element`` is (7FE0,0010) Pixel Data held natively (not encapsulated) as OW."""
    return element.tag == PixelData and element.vr == "OW" and not element.undefined_length


def cell_size(ds: Dataset) -> int:
    """Bytes swapped as one unit when the native OW Pixel Data of ``ds`` changes byte order.

    4 or 8 for Bits Allocated 32 or 64, else 2 (OW words). A missing or unreadable
    Bits Allocated gives 2: the pixels cannot be decoded then, so the bytes are
    treated as any other OW value.
    """
    try:
        bits = ds.get_int(BitsAllocated)
    except (DicomError, TypeError):
        return 2
    return bits // 8 if bits in (32, 64) else 2


def swap_pixel_cells(data: bytes, size: int) -> bytes:
    """``data`` in the other byte order, ``size`` bytes at a time.

    Bytes after the last whole cell (a malformed value) are swapped as 16-bit words,
    and a final odd byte is kept: each part is its own inverse.
    """
    whole = len(data) - len(data) % size
    words = len(data) & ~1
    if whole == len(data):
        return swap_bytes(data, size)
    return swap_bytes(data[:whole], size) + swap_bytes(data[whole:words], 2) + data[words:]


def little_endian_pixel_bytes(element: Element, ds: Dataset) -> bytes:
    """The value of native OW Pixel Data ``element`` (of ``ds``) in little endian byte order.

    The bytes our decoder reads as the same pixels whichever byte order the element holds.
    """
    value = element.encode(little_endian=element.little_endian, charset=DEFAULT_CHARSET)
    return value if element.little_endian else swap_pixel_cells(value, cell_size(ds))
