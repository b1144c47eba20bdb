"""JPEG 2000 and HTJ2K: colour transforms, HT markers, decoding by OpenJPEG (pylibjpeg)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from openjpeg.utils import decode as openjpeg_decode

from dicomkit.codecs import Codec, PixelFormat, get_codec
from dicomkit.errors import CodecError

J2K_LOSSLESS = get_codec("1.2.840.10008.1.2.4.90")
J2K = get_codec("1.2.840.10008.1.2.4.91")
HT_LOSSLESS = get_codec("1.2.840.10008.1.2.4.201")
HT_RPCL = get_codec("1.2.840.10008.1.2.4.202")
HT = get_codec("1.2.840.10008.1.2.4.203")
RGB = PixelFormat(24, 20, 3, 8, 8, 0, 0, "RGB")


def markers(encoded: bytes) -> dict[int, bytes]:
    """Main-header marker segments (SIZ, CAP, COD, QCD, TLM ...) up to the first SOT."""
    found: dict[int, bytes] = {}
    position = 2
    while position + 4 <= len(encoded):
        marker, length = struct.unpack_from(">HH", encoded, position)
        if marker == 0xFF90:  # SOT
            break
        found[marker] = encoded[position + 4 : position + 2 + length]
        position += 2 + length
    return found


def test_codestreams_are_raw_not_jp2() -> None:
    for codec in (J2K_LOSSLESS, J2K, HT_LOSSLESS, HT_RPCL, HT):
        fmt = PixelFormat(8, 8, 1, 8, 8, 0, 0, "MONOCHROME2")
        assert codec.encode_frame(np.zeros((8, 8), np.uint8), fmt).startswith(b"\xff\x4f\xff\x51")


@pytest.mark.parametrize(
    "codec,photometric", [(J2K_LOSSLESS, "YBR_RCT"), (J2K, "YBR_ICT"), (HT_LOSSLESS, "YBR_RCT")]
)
def test_rgb_gets_the_component_transform_and_decodes_back_to_rgb(codec: Codec, photometric: str) -> None:
    array = np.random.default_rng(0).integers(0, 255, RGB.shape, dtype=np.uint8)
    stored = codec.encoded_format(RGB)
    assert stored.photometric_interpretation == photometric
    encoded = codec.encode_frame(array, RGB)
    assert markers(encoded)[0xFF52][4] == 1  # COD: multiple component transform used
    decoded = codec.decode_frame(encoded, stored)
    if not codec.lossy:
        np.testing.assert_array_equal(decoded, array)
    assert codec.encoded_format(RGB, mct=False).photometric_interpretation == "RGB"


def test_rpcl_syntax_writes_rpcl_progression_and_tlm_markers() -> None:
    fmt = PixelFormat(64, 64, 1, 16, 16, 0, 0, "MONOCHROME2")
    encoded = HT_RPCL.encode_frame(np.zeros(fmt.shape, np.uint16), fmt)
    found = markers(encoded)
    assert found[0xFF52][1] == 2  # progression order RPCL
    assert 0xFF55 in found  # TLM
    assert 0xFF50 in found  # CAP: Part 15 (HT) capabilities


@pytest.mark.parametrize("codec", [J2K_LOSSLESS, HT_LOSSLESS, HT_RPCL])
@pytest.mark.parametrize("bits,signed", [(8, False), (12, False), (16, False), (12, True), (16, True)])
def test_lossless_output_is_read_exactly_by_openjpeg(codec: Codec, bits: int, signed: bool) -> None:
    fmt = PixelFormat(19, 23, 1, 8 if bits == 8 else 16, bits, int(signed), 0, "MONOCHROME2")
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    array = np.random.default_rng(bits).integers(low, high, fmt.shape, endpoint=True).astype(fmt.dtype)
    encoded = codec.encode_frame(array, fmt)
    np.testing.assert_array_equal(openjpeg_decode(encoded), array)
    np.testing.assert_array_equal(codec.decode_frame(encoded, fmt), array)


def test_j2k_precision_is_bits_stored() -> None:
    fmt = PixelFormat(8, 8, 1, 16, 12, 1, 0, "MONOCHROME2")
    siz = markers(J2K_LOSSLESS.encode_frame(np.zeros((8, 8), np.int16), fmt))[0xFF51]
    ssiz = siz[36]
    assert ssiz == 0x80 | (12 - 1)  # signed, 12 bits


def test_lossy_options_are_checked() -> None:
    fmt = PixelFormat(8, 8, 1, 8, 8, 0, 0, "MONOCHROME2")
    with pytest.raises(CodecError, match="psnr"):
        # a value of the wrong type is the point: untyped callers (the CLI) can pass one
        J2K.encode_frame(np.zeros((8, 8), np.uint8), fmt, psnr="high")  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="unknown"):
        J2K_LOSSLESS.encode_frame(np.zeros((8, 8), np.uint8), fmt, psnr=40)
    assert J2K.encoded_format(fmt, reversible=True) == fmt
