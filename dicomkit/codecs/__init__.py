"""Pixel data codecs: frames in, numpy arrays out (PS3.5 §8, §A.4, Annex G).

::

    registry.get_codec(ts_uid) -> Codec           lazy, keyed by transfer syntax UID
        native.py     uncompressed LE / BE / encapsulated uncompressed
        rle.py        RLE Lossless (own numpy code)
        jpeg.py       JPEG baseline, extended, lossless          } imagecodecs,
        jpegls.py     JPEG-LS lossless, near-lossless             } through
        jpeg2000.py   JPEG 2000 and HTJ2K                         } bridge.py
        jpegxl.py     JPEG XL                                     }
    encapsulation.py  items, Basic / Extended Offset Tables, frames
    format.py         PixelFormat, the Codec protocol and its CodecOptions

Everything here works on one frame's bytes; the dataset-level glue (reading
the Image Pixel Module, choosing frames, transcoding) sits on top.
"""

from dicomkit.codecs.encapsulation import (
    encapsulate,
    encapsulate_extended,
    frame_fragments,
    get_frame,
    parse_fragments,
)
from dicomkit.codecs.format import Codec, CodecOptions, IntegerSample, PixelArray, PixelFormat
from dicomkit.codecs.registry import available_transfer_syntaxes, get_codec, is_encapsulated

__all__ = [
    "Codec",
    "CodecOptions",
    "IntegerSample",
    "PixelArray",
    "PixelFormat",
    "available_transfer_syntaxes",
    "encapsulate",
    "encapsulate_extended",
    "frame_fragments",
    "get_codec",
    "get_frame",
    "is_encapsulated",
    "parse_fragments",
]
