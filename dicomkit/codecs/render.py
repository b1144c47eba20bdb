"""Rendering one frame to an 8-bit PNG (PS3.4 N.2 pipeline, PNG per ISO/IEC 15948).

``render_frame`` decodes one frame (nothing else) and runs it through the
display pipeline of ``lut.to_display``; ``encode_png`` writes the result as a
minimal PNG: IHDR, one IDAT (zlib, filter type 0 on every row), IEND. Gray
frames become colour type 0, RGB frames colour type 2, both 8 bits deep.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

from dicomkit.codecs.format import PixelArray
from dicomkit.codecs.lut import Window, to_display
from dicomkit.codecs.pixels import get_frame
from dicomkit.data.dataset import Dataset
from dicomkit.errors import CodecError

__all__ = ["encode_png", "render_frame", "write_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_SIDE = 0x7FFFFFFF  # PNG dimensions are 31-bit


def render_frame(
    ds: Dataset,
    frame: int = 0,
    *,
    transfer_syntax: str | None = None,
    window: Window | None = None,
    voi_index: int = 0,
) -> PixelArray:
    """Frame ``frame`` of ``ds`` as display-ready uint8 (gray or RGB)."""
    stored = get_frame(ds, frame, transfer_syntax=transfer_syntax)
    return to_display(ds, stored, window=window, voi_index=voi_index)


def encode_png(image: PixelArray, *, level: int = 6) -> bytes:
    """A PNG of a uint8 ``(rows, columns)`` or ``(rows, columns, 3)`` image."""
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise CodecError(f"a PNG needs uint8 (rows, columns[, 3]) samples, got {image.shape} {image.dtype}")
    rows, columns = image.shape[0], image.shape[1]
    if not (1 <= rows <= _MAX_SIDE and 1 <= columns <= _MAX_SIDE):
        raise CodecError(f"cannot write a {rows}x{columns} PNG")
    colour_type = 0 if image.ndim == 2 else 2
    header = struct.pack(">IIBBBBB", columns, rows, 8, colour_type, 0, 0, 0)
    scanlines = np.zeros((rows, 1 + image[0].size), dtype=np.uint8)  # filter byte 0 per row
    scanlines[:, 1:] = image.reshape(rows, -1)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )


def write_png(destination: str | os.PathLike[str] | BinaryIO, image: PixelArray) -> None:
    """Write ``encode_png(image)`` to a path or binary stream."""
    data = encode_png(image)
    if isinstance(destination, str | os.PathLike):
        with open(destination, "wb") as fp:
            fp.write(data)
    else:
        destination.write(data)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
