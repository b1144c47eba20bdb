"""Transfer syntaxes (PS3.5 §10, Annex A): how a data set is encoded.

Each syntax is described by the three choices that matter to a reader or writer:
implicit or explicit VR, byte order, and whether the stream after the File Meta
Information is deflated; plus whether Pixel Data is encapsulated (compressed) and
whether that compression is lossy.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN",
    "EXPLICIT_VR_BIG_ENDIAN",
    "EXPLICIT_VR_LITTLE_ENDIAN",
    "IMPLICIT_VR_LITTLE_ENDIAN",
    "UNCOMPRESSED_SYNTAXES",
    "TransferSyntax",
    "transfer_syntax",
]

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.98"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"


@dataclass(frozen=True, slots=True)
class TransferSyntax:
    uid: str
    name: str
    implicit_vr: bool = False
    little_endian: bool = True
    deflated: bool = False
    encapsulated: bool = False
    lossy: bool = False
    retired: bool = False

    @property
    def explicit_vr(self) -> bool:
        return not self.implicit_vr


def _enc(uid: str, name: str, *, lossy: bool = False, retired: bool = False) -> TransferSyntax:
    return TransferSyntax(uid, name, encapsulated=True, lossy=lossy, retired=retired)


_KNOWN: dict[str, TransferSyntax] = {
    ts.uid: ts
    for ts in (
        TransferSyntax(IMPLICIT_VR_LITTLE_ENDIAN, "Implicit VR Little Endian", implicit_vr=True),
        TransferSyntax(EXPLICIT_VR_LITTLE_ENDIAN, "Explicit VR Little Endian"),
        _enc(
            ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN,
            "Encapsulated Uncompressed Explicit VR Little Endian",
        ),
        TransferSyntax(
            DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, "Deflated Explicit VR Little Endian", deflated=True
        ),
        TransferSyntax(EXPLICIT_VR_BIG_ENDIAN, "Explicit VR Big Endian", little_endian=False, retired=True),
        _enc("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", lossy=True),
        _enc("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", lossy=True),
        _enc("1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5)", lossy=True, retired=True),
        _enc(
            "1.2.840.10008.1.2.4.53",
            "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)",
            lossy=True,
            retired=True,
        ),
        _enc(
            "1.2.840.10008.1.2.4.54",
            "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)",
            lossy=True,
            retired=True,
        ),
        _enc(
            "1.2.840.10008.1.2.4.55",
            "JPEG Full Progression, Non-Hierarchical (Process 10 & 12)",
            lossy=True,
            retired=True,
        ),
        _enc(
            "1.2.840.10008.1.2.4.56",
            "JPEG Full Progression, Non-Hierarchical (Process 11 & 13)",
            lossy=True,
            retired=True,
        ),
        _enc("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
        _enc("1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15)", retired=True),
        _enc(
            "1.2.840.10008.1.2.4.70",
            "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
        ),
        _enc("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression"),
        _enc("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression", lossy=True),
        _enc("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"),
        _enc("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", lossy=True),
        _enc("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"),
        _enc("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression", lossy=True),
        _enc("1.2.840.10008.1.2.4.94", "JPIP Referenced"),
        _enc("1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate"),
        _enc("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", lossy=True),
        _enc("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", lossy=True),
        _enc("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", lossy=True),
        _enc(
            "1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", lossy=True
        ),
        _enc("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", lossy=True),
        _enc("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", lossy=True),
        _enc("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", lossy=True),
        _enc("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", lossy=True),
        _enc("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", lossy=True),
        _enc("1.2.840.10008.1.2.4.110", "JPEG XL Lossless"),
        _enc("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"),
        _enc("1.2.840.10008.1.2.4.112", "JPEG XL", lossy=True),
        _enc("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"),
        _enc(
            "1.2.840.10008.1.2.4.202",
            "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
        ),
        _enc("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", lossy=True),
        _enc("1.2.840.10008.1.2.5", "RLE Lossless"),
    )
}

#: Native (unencapsulated) syntaxes a writer can convert between.
UNCOMPRESSED_SYNTAXES: tuple[str, ...] = (
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
)


def transfer_syntax(uid: str) -> TransferSyntax:
    """Facts of a transfer syntax. Unknown UIDs are treated as encapsulated explicit VR LE,
    the encoding every private compressed syntax uses (PS3.5 §10.1)."""
    known = _KNOWN.get(uid)
    if known is not None:
        return known
    return TransferSyntax(uid, f"Unknown transfer syntax {uid}", encapsulated=True)


def is_known(uid: str) -> bool:
    return uid in _KNOWN


def known_transfer_syntaxes() -> tuple[TransferSyntax, ...]:
    return tuple(_KNOWN.values())
