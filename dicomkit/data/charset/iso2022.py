"""ISO/IEC 2022 code extensions in DICOM text values (PS3.5 §6.1.2.4-§6.1.2.5).

A value is read as a sequence of *pieces*, each starting at an ESC (01/11) byte: the escape
sequence at its head designates a graphic set into G0 or G1, and the rest of the piece is
decoded with the designations then in force::

    Yamada^Tarou= ESC $ B ;3ED ESC ( B ^ ESC $ B B@O: ESC ( B = ...
    |-- initial --||- G0=IR 87 -||-G0=IR 6-||- G0=IR 87 -||...

PS3.5 §6.1.2.5.3 makes the designations of value 1 of Specific Character Set active again
before every delimiter: CR, LF, TAB, FF and every other control character except ESC; the
backslash between values (multi-valued VRs); and ``^`` and ``=`` inside a PN. So after a
delimiter the decoder returns to the initial state, and the encoder re-designates the
initial sets before writing one (which is why each PN component group starts afresh).

Invariants:

* the initial state always has a single-byte (ASCII-like) G0, so a value without ESC never
  changes state and decodes with one codec call (the caller's fast path);
* inside a two-byte G0 set (JIS X 0208/0212) bytes 0x21-0x7E come in pairs, so only control
  characters end the piece early there; ``\\``, ``^`` and ``=`` are halves of characters;
* lenient decoding never raises: a piece that cannot be decoded is decoded with the legacy
  codec of value 1 with replacement characters, as pydicom does, so values read the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from dicomkit.errors import CharsetError, EncodeError

from .terms import CodeElement, GraphicSet

__all__ = [
    "CONTROL_DELIMITERS",
    "MULTI_VALUE_DELIMITERS",
    "PN_DELIMITERS",
    "CodeState",
    "Machine",
    "decode",
    "delimiter_chars",
    "encode",
]

# Control characters other than ESC (PS3.5 §6.1.2.5.3).
_CONTROLS = rb"\x00-\x1a\x1c-\x1f"

#: Delimiters of ST, LT, UT: control characters.
CONTROL_DELIMITERS = re.compile(rb"[" + _CONTROLS + rb"]")
#: Delimiters of SH, LO, UC: also the backslash between values.
MULTI_VALUE_DELIMITERS = re.compile(rb"[" + _CONTROLS + rb"\\]")
#: Delimiters of PN: also the component (^) and component group (=) delimiters.
PN_DELIMITERS = re.compile(rb"[" + _CONTROLS + rb"\\^=]")

# Runs inside a two-byte G0 set: pairs in GL, bytes of the G1 set, SPACE/DEL.
_WIDE_RUNS = re.compile(rb"([\x21-\x7e]+)|([\x80-\xff]+)|([\x00-\x20\x7f]+)")
_PAIRS = re.compile(rb"[\x21-\x7e]*")


def delimiter_chars(pattern: re.Pattern[bytes]) -> frozenset[str]:
    """The characters matched by one of the delimiter patterns, as text."""
    return frozenset(chr(b) for b in range(0x80) if pattern.fullmatch(bytes((b,))))


class CodeState(NamedTuple):
    """The graphic sets designated into G0 and G1 (G1 may be undefined)."""

    g0: GraphicSet
    g1: GraphicSet | None

    def with_set(self, gset: GraphicSet) -> CodeState:
        if gset.element is CodeElement.G0:
            return CodeState(gset, self.g1)
        return CodeState(self.g0, gset)

    def names(self) -> str:
        return " + ".join(s.registration for s in (self.g0, self.g1) if s is not None)


@dataclass(frozen=True, slots=True, eq=False)
class Machine:
    """What one Specific Character Set value means to the ISO 2022 decoder and encoder.

    Attributes:
        initial: designations of value 1 (PS3.5 §6.1.2.5.4).
        designations: escape sequence (ESC included) -> graphic set, for the sets that may
            be designated.
        preference: sets the encoder tries, in order, for a character the current state
            cannot encode (value 1's first, then values 2..n).
        fallback: codec of value 1 used, with replacement, for pieces lenient mode cannot read.
        names: the declared terms, for messages.
    """

    initial: CodeState
    designations: Mapping[bytes, GraphicSet]
    preference: tuple[GraphicSet, ...]
    fallback: str
    names: str
    # designations keyed without their ESC, as they head the pieces of raw.split(ESC)
    _heads: dict[bytes, GraphicSet] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_heads", {seq[1:]: gset for seq, gset in self.designations.items()})


def decode(raw: bytes, machine: Machine, delimiters: re.Pattern[bytes], *, strict: bool) -> str:
    """Decode a whole value that contains escape sequences.

    Raises:
        CharsetError: (strict only) bad escape sequence or bytes outside the designated sets;
            ``offset`` is the position in ``raw``.
    """
    initial = machine.initial
    heads = machine._heads
    pieces = raw.split(b"\x1b")
    head = pieces[0]
    try:
        out = [_decode_in(head, initial, 0)]
    except CharsetError:
        if strict:
            raise
        out = [head.decode(machine.fallback, "replace")]
    state = initial
    start = len(head)  # offset of the ESC that starts the current piece
    for piece in pieces[1:]:
        try:
            # Designations are ESC + 2 or 3 bytes; final bytes are never intermediates.
            size = 2
            gset = heads.get(piece[:2])
            if gset is None:
                size = 3
                gset = heads.get(piece[:3]) or _bad_designation(piece, machine, start)
            state = state.with_set(gset)
            body = piece[size:]
            at = start + 1 + size
            if state == initial:
                text = _decode_in(body, initial, at)
            else:
                # Inside a two-byte G0 set the graphic delimiters are halves of characters.
                found = (delimiters if state.g0.width == 1 else CONTROL_DELIMITERS).search(body)
                if found is None:
                    text = _decode_in(body, state, at)
                else:  # PS3.5 6.1.2.5.3: value 1's sets are active again from the delimiter
                    cut = found.start()
                    text = _decode_in(body[:cut], state, at) + _decode_in(body[cut:], initial, at + cut)
                    state = initial
        except CharsetError:
            if strict:
                raise
            text, state = (b"\x1b" + piece).decode(machine.fallback, "replace"), initial
        out.append(text)
        start += 1 + len(piece)
    return "".join(out)


def _bad_designation(piece: bytes, machine: Machine, offset: int) -> GraphicSet:
    """Raise the error for an escape sequence that designates none of the declared sets."""
    i = 0
    while i < len(piece) and 0x20 <= piece[i] <= 0x2F:  # intermediate bytes
        i += 1
    if i == len(piece) or not 0x30 <= piece[i] <= 0x7E:  # final byte
        raise CharsetError("incomplete escape sequence", offset=offset)
    sequence = b"\x1b" + piece[: i + 1]
    raise CharsetError(f"escape sequence {sequence!r} designates no set of {machine.names}", offset=offset)


def _decode_in(data: bytes, state: CodeState, offset: int) -> str:
    """Decode bytes that all lie in one state; errors carry absolute offsets."""
    g0, g1 = state
    if g0.width == 1:  # ISO-IR 6 / 14 in GL: one codec reads GL and GR together
        return _decode_run(data, g1 or g0, state, offset)
    if _PAIRS.fullmatch(data):
        return _decode_run(data, g0, state, offset)
    parts = []
    for run in _WIDE_RUNS.finditer(data):
        pairs, high, single = run.groups()
        at = offset + run.start()
        if pairs:
            parts.append(_decode_run(pairs, g0, state, at))
        elif high:
            if g1 is None:
                raise CharsetError(f"byte 0x{high[0]:02X} with no G1 set designated", offset=at)
            parts.append(_decode_run(high, g1, state, at))
        else:
            parts.append(single.decode("ascii"))
    return "".join(parts)


def _decode_run(data: bytes, gset: GraphicSet, state: CodeState, offset: int) -> str:
    if gset.width == 2 and gset.element is CodeElement.G0 and len(data) % 2:
        raise CharsetError(
            f"incomplete two-byte character of {gset.registration}", offset=offset + len(data) - 1
        )
    try:
        return gset.decode(data, "strict")
    except UnicodeDecodeError as exc:
        at = max(exc.start - len(gset.prefix), 0)
        bad = data[at : at + gset.width]
        raise CharsetError(
            f"bytes {bad.hex(' ')} are not valid in {state.names()}", offset=offset + at
        ) from None


def encode(text: str, machine: Machine, delimiters: frozenset[str]) -> bytes:
    """Encode ``text``, designating the declared sets as its characters need them.

    Raises:
        EncodeError: a character that none of the declared sets holds.
    """
    initial = machine.initial
    out = bytearray()
    g0, g1 = initial.g0, initial.g1
    for index, ch in enumerate(text):
        if ch in delimiters:
            _restore(out, g0, g1, initial)
            g0, g1 = initial.g0, initial.g1
            out += ch.encode("ascii")
            continue
        found = _holder(ch, g0, g1, machine.preference)
        if found is None:
            raise EncodeError(f"character {ch!r} at index {index} is not in {machine.names}")
        gset, code = found
        if gset.element is CodeElement.G0:
            if gset is not g0:
                out += gset.escape
                g0 = gset
        else:
            if gset is not g1:
                out += gset.escape
                g1 = gset
            if g0.width == 2:
                # GR bytes under a JIS X 0208/0212 G0 are legal ISO 2022, but decoders that
                # read such a run as one ISO-2022-JP string (pydicom) fail: leave G0 first.
                out += initial.g0.escape
                g0 = initial.g0
        out += code
    _restore(out, g0, g1, initial)
    return bytes(out)


def _holder(
    ch: str, g0: GraphicSet, g1: GraphicSet | None, preference: tuple[GraphicSet, ...]
) -> tuple[GraphicSet, bytes] | None:
    """The set to write ``ch`` with: a designated one if it can, else the first preferred."""
    for gset in (g0, g1, *preference):
        if gset is not None:
            code = gset.encode_char(ch)
            if code is not None:
                return gset, code
    return None


def _restore(out: bytearray, g0: GraphicSet, g1: GraphicSet | None, initial: CodeState) -> None:
    """Designate value 1's sets again (before a delimiter or the end of the value)."""
    if g0 is not initial.g0:
        out += initial.g0.escape
    # An initially undefined G1 needs (and has) no escape sequence to become undefined again.
    if g1 is not initial.g1 and initial.g1 is not None:
        out += initial.g1.escape
