"""Defined Terms of Specific Character Set (0008,0005) and the graphic sets they name.

PS3.3 §C.12.1.1.2 lists the Defined Terms in four tables:

* Table C.12-2  single-byte sets without code extensions (``ISO_IR 100`` ...),
* Table C.12-3  single-byte sets with code extensions (``ISO 2022 IR 100`` ...),
* Table C.12-4  multi-byte sets with code extensions (``ISO 2022 IR 87/159/149/58``),
* Table C.12-5  multi-byte sets without code extensions (``ISO_IR 192``, ``GB18030``, ``GBK``).

Each ISO 2022 capable term designates one or two *graphic sets* (ISO-IR registrations) into
the G0 (bytes 0x21-0x7E, "GL") or G1 (bytes 0xA0-0xFF, "GR") code element; the escape
sequence of each set is the one given in those tables. :func:`resolve_term` turns what
files really contain ('ISO IR 100', 'ISO-IR 192', 'iso_ir_100', a Python codec name, ...)
into a Defined Term, saying what it corrected.

Invariants:

* every :class:`GraphicSet` is a module singleton, compared by identity;
* the lower half (0x00-0x7F) of every codec named by a G1 set decodes as ASCII, so a run of
  bytes with an ASCII-like G0 and that G1 decodes with one codec call;
* ISO-IR 14 (JIS X 0201 Romaji) is read like ASCII: 05/12 is the DICOM value delimiter
  even there, and Python's ``shift_jis`` (hence pydicom) reads 05/12 and 07/14 the same way.
"""

from __future__ import annotations

import codecs
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "ESC",
    "Decoder",
    "IR6",
    "IR14",
    "TERMS",
    "CodeElement",
    "GraphicSet",
    "Term",
    "make_decoder",
    "resolve_term",
]

ESC = 0x1B


class CodeElement(enum.IntEnum):
    """The code element a graphic set is designated into (ISO/IEC 2022)."""

    G0 = 0
    G1 = 1


def _jis_x_0201_table() -> str:
    """Charmap of the 8-bit JIS X 0201 code: ASCII-like Romaji in GL, half-width katakana in GR."""
    undefined = "\ufffe"  # charmap_decode's marker for an unmapped byte
    return "".join(
        chr(b) if b < 0x80 else chr(0xFF61 + b - 0xA1) if 0xA1 <= b <= 0xDF else undefined for b in range(256)
    )


_JIS_X_0201 = _jis_x_0201_table()


#: Decodes bytes with an error handler ("strict" or "replace").
Decoder = Callable[[bytes, str], str]

# bytes.decode / str.encode have C fast paths for these names; any other name costs a
# codec registry lookup per call, several times the decoding itself for short values.
_FAST_CODECS = frozenset({"ascii", "latin_1", "utf_8"})
_UNDEFINED = "\ufffe"  # charmap_decode's marker for an unmapped byte


def _charmap_of(codec: str) -> str:
    """The 256-entry decoding table of a single-byte Python codec."""
    table = []
    for b in range(256):
        try:
            table.append(bytes((b,)).decode(codec))
        except UnicodeDecodeError:
            table.append(_UNDEFINED)
    return "".join(table)


def make_decoder(codec: str, *, prefix: bytes = b"") -> Decoder:
    """The quickest call that decodes like multi-byte ``codec`` (after ``prefix``, if given)."""
    if codec in _FAST_CODECS and not prefix:
        return lambda data, errors: data.decode(codec, errors)
    decode = codecs.getdecoder(codec)
    if prefix:
        return lambda data, errors: decode(prefix + data, errors)[0]
    return lambda data, errors: decode(data, errors)[0]


@dataclass(frozen=True, slots=True, eq=False)
class GraphicSet:
    """One coded graphic character set that a Defined Term designates.

    Attributes:
        registration: the ISO-IR registration, e.g. ``"ISO-IR 100"``.
        element: G0 or G1.
        escape: the ISO 2022 designation escape sequence (PS3.3 Tables C.12-3/C.12-4).
        width: bytes per character (1 or 2).
        codec: Python codec that decodes runs of this set (for G1 sets: the 8-bit code with
            ASCII in GL; for 2-byte G0 sets: the ISO 2022 codec fed with ``prefix``); a
            single-byte codec, or ``table``, is used as a charmap.
        prefix: designation Python's ISO 2022 codec must see before the byte pairs.
        table: charmap used where Python has no exact codec (JIS X 0201).
    """

    registration: str
    element: CodeElement
    escape: bytes
    width: int
    codec: str
    prefix: bytes = b""
    table: str | None = None
    decode: Decoder = field(init=False, repr=False)
    _single: dict[str, bytes] = field(init=False, repr=False)  # char -> byte (width 1)
    _charmap: dict[int, int] = field(init=False, repr=False)  # encoding map (width 1)

    def __post_init__(self) -> None:
        single_byte = self.width == 1
        table = self.table
        if table is None and single_byte and self.codec not in _FAST_CODECS:
            table = _charmap_of(self.codec)
        if table is not None:
            charmap = table
            decoder: Decoder = lambda data, errors: codecs.charmap_decode(data, errors, charmap)[0]  # noqa: E731
        else:
            decoder = make_decoder(self.codec, prefix=self.prefix)
        object.__setattr__(self, "decode", decoder)
        object.__setattr__(self, "_single", {})
        object.__setattr__(
            self, "_charmap", {ord(ch): b for b, ch in enumerate(table or "") if ch != _UNDEFINED}
        )
        if not single_byte:
            return
        if self.element is CodeElement.G0:
            codes = range(0x20, 0x80)  # SPACE and DEL included; C0 controls are delimiters
        else:
            codes = range(0xA0, 0x100)
        for b in codes:
            try:
                ch = decoder(bytes((b,)), "strict")
            except UnicodeDecodeError:
                continue
            self._single.setdefault(ch, bytes((b,)))

    def encode(self, text: str, errors: str = "strict") -> bytes:
        """Encode a whole string with this set's 8-bit code (single-byte sets only)."""
        if self._charmap:
            return codecs.charmap_encode(text, errors, self._charmap)[0]
        return text.encode(self.codec, errors)

    def encode_char(self, ch: str) -> bytes | None:
        """The bytes of ``ch`` in this set, as held in its own code element; None if absent."""
        if self.width == 1:
            return self._single.get(ch)
        return self._encode_pair(ch)

    def _encode_pair(self, ch: str) -> bytes | None:
        try:
            raw = ch.encode(self.codec)
        except UnicodeEncodeError:
            return None
        if self.prefix:  # ISO 2022 form: prefix + pair + ESC ( B
            if not raw.startswith(self.prefix):
                return None
            body = raw[len(self.prefix) :].removesuffix(b"\x1b(B")
        else:  # EUC form (KS X 1001, GB 2312 in G1)
            body = raw
        if len(body) != 2:
            return None
        if self.element is CodeElement.G0:
            pair = bytes(b & 0x7F for b in body)
            ok = all(0x21 <= b <= 0x7E for b in pair)
        else:
            pair = body
            ok = all(0xA1 <= b <= 0xFE for b in pair)
        # The decoder must give the same character back, or the pair is not ours to use.
        if not ok or self.decode(pair, "replace") != ch:
            return None
        return pair


def _g1(ir: int, final: str, codec: str) -> GraphicSet:
    return GraphicSet(f"ISO-IR {ir}", CodeElement.G1, b"\x1b-" + final.encode(), 1, codec)


IR6 = GraphicSet("ISO-IR 6", CodeElement.G0, b"\x1b(B", 1, "ascii")
IR14 = GraphicSet("ISO-IR 14", CodeElement.G0, b"\x1b(J", 1, "ascii")
IR13 = GraphicSet("ISO-IR 13", CodeElement.G1, b"\x1b)I", 1, "shift_jis", table=_JIS_X_0201)
IR87 = GraphicSet("ISO-IR 87", CodeElement.G0, b"\x1b$B", 2, "iso2022_jp", prefix=b"\x1b$B")
IR159 = GraphicSet("ISO-IR 159", CodeElement.G0, b"\x1b$(D", 2, "iso2022_jp_2", prefix=b"\x1b$(D")
IR149 = GraphicSet("ISO-IR 149", CodeElement.G1, b"\x1b$)C", 2, "euc_kr")
IR58 = GraphicSet("ISO-IR 58", CodeElement.G1, b"\x1b$)A", 2, "gb2312")

# (ISO-IR number, final byte of ESC 02/13 F, Python codec), PS3.3 Tables C.12-2/C.12-3.
_SINGLE_BYTE_G1 = (
    (100, "A", "latin_1"),  # Latin alphabet No. 1
    (101, "B", "iso8859_2"),  # Latin alphabet No. 2
    (109, "C", "iso8859_3"),  # Latin alphabet No. 3
    (110, "D", "iso8859_4"),  # Latin alphabet No. 4
    (144, "L", "iso8859_5"),  # Cyrillic
    (127, "G", "iso8859_6"),  # Arabic
    (126, "F", "iso8859_7"),  # Greek
    (138, "H", "iso8859_8"),  # Hebrew
    (148, "M", "iso8859_9"),  # Latin alphabet No. 5
    (203, "b", "iso8859_15"),  # Latin alphabet No. 9
    (166, "T", "tis_620"),  # Thai, TIS 620-2533
)


@dataclass(frozen=True, slots=True)
class Term:
    """One Defined Term of Specific Character Set.

    Attributes:
        name: the Defined Term as written in (0008,0005).
        sets: graphic sets it designates; as value 1 they form the initial G0/G1.
        extensions: an ``ISO 2022 ...`` term, usable with code extensions.
        codec: for the stand-alone multi-byte terms (Table C.12-5), their Python codec.
        legacy_codec: the codec pydicom decodes this term with; lenient decoding falls back
            to it so that damaged values read the same as they do there.
    """

    name: str
    sets: tuple[GraphicSet, ...]
    extensions: bool
    legacy_codec: str
    codec: str | None = None

    @property
    def stand_alone(self) -> bool:
        return self.codec is not None

    @property
    def multi_byte_g0(self) -> bool:
        """True for JIS X 0208/0212, which PS3.5 §6.1.2.5.4 does not allow as value 1."""
        return any(s.width == 2 for s in self.sets)


def _build_terms() -> dict[str, Term]:
    terms = [
        Term("ISO_IR 6", (IR6,), False, "latin_1"),
        Term("ISO 2022 IR 6", (IR6,), True, "latin_1"),
        Term("ISO_IR 13", (IR14, IR13), False, "shift_jis"),
        Term("ISO 2022 IR 13", (IR14, IR13), True, "shift_jis"),
        Term("ISO 2022 IR 87", (IR87,), True, "iso2022_jp"),
        Term("ISO 2022 IR 159", (IR159,), True, "iso2022_jp_2"),
        Term("ISO 2022 IR 149", (IR149,), True, "euc_kr"),
        Term("ISO 2022 IR 58", (IR58,), True, "gb2312"),
        Term("ISO_IR 192", (), False, "utf_8", codec="utf_8"),
        Term("GB18030", (), False, "gb18030", codec="gb18030"),
        Term("GBK", (), False, "gbk", codec="gbk"),
    ]
    for ir, final, codec in _SINGLE_BYTE_G1:
        g1 = _g1(ir, final, codec)
        terms.append(Term(f"ISO_IR {ir}", (IR6, g1), False, codec))
        terms.append(Term(f"ISO 2022 IR {ir}", (IR6, g1), True, codec))
    return {t.name: t for t in terms}


#: Every Defined Term we know, by name.
TERMS: dict[str, Term] = _build_terms()

_IR_FORM = re.compile(r"ISO(2022)?IR(\d+)")

# Python codec names (as codecs.lookup spells them) that files carry instead of a Defined Term.
_CODEC_TERMS = {
    "ascii": "ISO_IR 6",
    "utf-8": "ISO_IR 192",
    "gb18030": "GB18030",
    "gbk": "GBK",
    "gb2312": "ISO 2022 IR 58",
    "euc_kr": "ISO 2022 IR 149",
    **{codecs.lookup(codec).name: f"ISO_IR {ir}" for ir, _, codec in _SINGLE_BYTE_G1},
}

_SQUASHED = {"UTF8": "ISO_IR 192", "ISO2022GBK": "GBK", "ISO202258": "ISO 2022 IR 58"}


def resolve_term(text: str) -> str | None:
    """The Defined Term a misspelt value most likely means, or None when there is none.

    Handles separators and case ('ISO IR 100', 'ISO-IR 192', 'iso_2022_ir_87'), the two
    forms mixed up ('ISO_IR 87' for 'ISO 2022 IR 87'), the terms of CP-1234 drafts
    ('ISO 2022 GBK') and Python codec names ('latin_1', 'UTF-8') as some writers use.
    """
    squashed = re.sub(r"[\s_\-]+", "", text.upper())
    if squashed in _SQUASHED:
        return _SQUASHED[squashed]
    if squashed in TERMS:  # GB18030, GBK
        return squashed
    match = _IR_FORM.fullmatch(squashed)
    if match:
        ir = match.group(2).lstrip("0") or "0"
        single, extended = f"ISO_IR {ir}", f"ISO 2022 IR {ir}"
        order = (extended, single) if match.group(1) else (single, extended)
        return next((name for name in order if name in TERMS), None)
    try:
        codec = codecs.lookup(text).name
    except (LookupError, ValueError):
        return None
    return _CODEC_TERMS.get(codec)
