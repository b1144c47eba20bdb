"""Value Representations: all 34 VRs of PS3.5 §6.2 and the facts the codec needs.

For each VR: its kind (how its value is decoded), whether explicit-VR encodings use
the long (2 reserved + 4 byte) length form (PS3.5 §7.1.2), the padding byte, the
maximum value length, the size of one binary value and its ``struct`` code, and
whether backslash separates multiple values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["LONG_LENGTH_VRS", "VALID_VRS", "VR", "VRInfo", "VRKind", "VR_INFO", "vr_info"]


class VR(enum.StrEnum):
    """The 34 value representations of PS3.5 Table 6.2-1."""

    AE = "AE"
    AS = "AS"
    AT = "AT"
    CS = "CS"
    DA = "DA"
    DS = "DS"
    DT = "DT"
    FD = "FD"
    FL = "FL"
    IS = "IS"
    LO = "LO"
    LT = "LT"
    OB = "OB"
    OD = "OD"
    OF = "OF"
    OL = "OL"
    OV = "OV"
    OW = "OW"
    PN = "PN"
    SH = "SH"
    SL = "SL"
    SQ = "SQ"
    SS = "SS"
    ST = "ST"
    SV = "SV"
    TM = "TM"
    UC = "UC"
    UI = "UI"
    UL = "UL"
    UN = "UN"
    UR = "UR"
    US = "US"
    UT = "UT"
    UV = "UV"

    @property
    def info(self) -> VRInfo:
        return VR_INFO[self]


class VRKind(enum.Enum):
    """How a VR's bytes become a Python value."""

    TEXT = "text"  # decoded with the Specific Character Set
    ASCII = "ascii"  # default repertoire only (ISO IR 6)
    NUMBER = "number"  # fixed-size binary numbers (struct)
    TAG = "tag"  # AT: pairs of uint16
    BYTES = "bytes"  # other binary (OB, OW, ...): kept as bytes
    SEQUENCE = "sequence"


@dataclass(frozen=True, slots=True)
class VRInfo:
    vr: VR
    kind: VRKind
    long_length: bool  # explicit VR: 2 reserved bytes + 32-bit length
    padding: bytes  # pad byte to reach an even length
    max_length: int | None  # maximum length of one value, in characters (text) or bytes
    item_size: int  # bytes per binary value (1 for byte data); 0 for text/sequences
    struct_code: str  # struct format char for one value ('' when not numeric)
    multi_valued: bool  # backslash separates values (text) / several binary values allowed
    fixed_max: bool = True  # max_length is a hard limit (False: "up to N" advisory)

    @property
    def is_text(self) -> bool:
        return self.kind in (VRKind.TEXT, VRKind.ASCII)

    @property
    def is_binary(self) -> bool:
        return self.kind in (VRKind.NUMBER, VRKind.TAG, VRKind.BYTES)


_UNLIMITED = 0xFFFFFFFE


def _t(vr: VR, kind: VRKind, max_length: int | None, *, multi: bool = True, pad: bytes = b" ") -> VRInfo:
    long_length = vr in (VR.UC, VR.UR, VR.UT)
    return VRInfo(vr, kind, long_length, pad, max_length, 0, "", multi)


def _n(vr: VR, size: int, code: str, *, long_length: bool = False) -> VRInfo:
    return VRInfo(vr, VRKind.NUMBER, long_length, b"\x00", None, size, code, True)


def _b(vr: VR, size: int, code: str) -> VRInfo:
    return VRInfo(vr, VRKind.BYTES, True, b"\x00", _UNLIMITED, size, code, True)


VR_INFO: dict[VR, VRInfo] = {
    VR.AE: _t(VR.AE, VRKind.ASCII, 16),
    VR.AS: _t(VR.AS, VRKind.ASCII, 4),
    VR.AT: VRInfo(VR.AT, VRKind.TAG, False, b"\x00", None, 4, "H", True),
    VR.CS: _t(VR.CS, VRKind.ASCII, 16),
    VR.DA: _t(VR.DA, VRKind.ASCII, 8),
    VR.DS: _t(VR.DS, VRKind.ASCII, 16),
    VR.DT: _t(VR.DT, VRKind.ASCII, 26),
    VR.FD: _n(VR.FD, 8, "d"),
    VR.FL: _n(VR.FL, 4, "f"),
    VR.IS: _t(VR.IS, VRKind.ASCII, 12),
    VR.LO: _t(VR.LO, VRKind.TEXT, 64),
    VR.LT: _t(VR.LT, VRKind.TEXT, 10240, multi=False),
    VR.OB: _b(VR.OB, 1, "B"),
    VR.OD: _b(VR.OD, 8, "d"),
    VR.OF: _b(VR.OF, 4, "f"),
    VR.OL: _b(VR.OL, 4, "L"),
    VR.OV: _b(VR.OV, 8, "Q"),
    VR.OW: _b(VR.OW, 2, "H"),
    VR.PN: _t(VR.PN, VRKind.TEXT, 64),  # per component group
    VR.SH: _t(VR.SH, VRKind.TEXT, 16),
    VR.SL: _n(VR.SL, 4, "l"),
    VR.SQ: VRInfo(VR.SQ, VRKind.SEQUENCE, True, b"", None, 0, "", False),
    VR.SS: _n(VR.SS, 2, "h"),
    VR.ST: _t(VR.ST, VRKind.TEXT, 1024, multi=False),
    VR.SV: _n(VR.SV, 8, "q", long_length=True),
    VR.TM: _t(VR.TM, VRKind.ASCII, 14),
    VR.UC: _t(VR.UC, VRKind.TEXT, _UNLIMITED),
    VR.UI: _t(VR.UI, VRKind.ASCII, 64, pad=b"\x00"),
    VR.UL: _n(VR.UL, 4, "L"),
    VR.UN: _b(VR.UN, 1, "B"),
    VR.UR: _t(VR.UR, VRKind.ASCII, _UNLIMITED, multi=False),
    VR.US: _n(VR.US, 2, "H"),
    VR.UT: _t(VR.UT, VRKind.TEXT, _UNLIMITED, multi=False),
    VR.UV: _n(VR.UV, 8, "Q", long_length=True),
}

#: VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 Table 7.1-1).
LONG_LENGTH_VRS: frozenset[str] = frozenset(v.value for v, i in VR_INFO.items() if i.long_length)

#: VR strings accepted from the wire, for fast membership tests.
VALID_VRS: frozenset[str] = frozenset(v.value for v in VR)


def vr_info(vr: VR | str) -> VRInfo:
    """Facts of one VR; raises KeyError for a string that is not a VR."""
    return VR_INFO[VR(vr)]
