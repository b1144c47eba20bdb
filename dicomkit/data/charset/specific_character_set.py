"""The Specific Character Set of a data set, and text decoding/encoding with it.

PS3.5 §6.1 (character repertoires, code extensions), PS3.3 §C.12.1.1.2 (Defined Terms).
Only the VRs SH, LO, ST, LT, PN, UC and UT use the declared sets (PS3.5 §6.1.2.2); every
other text VR holds the default repertoire (ISO-IR 6).

Paths, fastest first:

* value without ESC (or a stand-alone set: UTF-8, GB18030, GBK): one ``bytes.decode``
  with the codec of value 1, since the state cannot change;
* value with ESC and code extensions: :mod:`.iso2022`.

Lenient decoding gives what pydicom gives for the same bytes where pydicom reads them at
all: the legacy codec of value 1 with replacement characters (Latin-1 for the default
repertoire, which pydicom calls 'iso8859'). Strict decoding raises :class:`CharsetError`
with the byte offset instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dicomkit.errors import CharsetError, EncodeError

from . import iso2022
from .iso2022 import CodeState, Machine
from .terms import ESC, IR6, TERMS, CodeElement, Decoder, GraphicSet, Term, make_decoder, resolve_term

__all__ = ["DEFAULT_CHARSET", "TEXT_VRS", "Charset", "charset_for_encoding"]

SPECIFIC_CHARACTER_SET = 0x00080005

#: VRs whose values use the Specific Character Set (PS3.5 §6.1.2.2).
TEXT_VRS: frozenset[str] = frozenset({"SH", "LO", "ST", "LT", "PN", "UC", "UT"})

_DELIMITERS = {
    "SH": iso2022.MULTI_VALUE_DELIMITERS,
    "LO": iso2022.MULTI_VALUE_DELIMITERS,
    "UC": iso2022.MULTI_VALUE_DELIMITERS,
    "PN": iso2022.PN_DELIMITERS,
    "ST": iso2022.CONTROL_DELIMITERS,
    "LT": iso2022.CONTROL_DELIMITERS,
    "UT": iso2022.CONTROL_DELIMITERS,
}
_DELIMITER_CHARS = {vr: iso2022.delimiter_chars(pattern) for vr, pattern in _DELIMITERS.items()}

# Records (lenient) or raises (strict) one problem with the (0008,0005) value.
_Problem = Callable[[str], None]


@dataclass(frozen=True, slots=True, eq=False)
class Charset:
    """A decoded Specific Character Set (0008,0005) value, ready to decode and encode text.

    Build it with :meth:`from_value` (cached); two charsets are equal when their
    ``terms`` are. ``findings`` lists what lenient construction corrected or ignored.
    """

    terms: tuple[str, ...]
    findings: tuple[str, ...] = ()
    _decoder: Decoder = field(default=IR6.decode, repr=False)  # a value without ESC
    _codec: str = field(default="ascii", repr=False)  # encodes a stand-alone set
    _fallback: str = field(default="latin_1", repr=False)  # lenient, as pydicom reads
    _machine: Machine | None = field(default=None, repr=False)  # None: stand-alone set
    _extensions: bool = field(default=False, repr=False)  # multi-valued: ESC allowed
    _quick: GraphicSet | None = field(default=None, repr=False)  # encodes the initial state

    @classmethod
    def from_value(cls, value: str | Sequence[str] | None, *, strict: bool = False) -> Charset:
        """The charset for the decoded value(s) of (0008,0005); '' or None is the default.

        Raises:
            CharsetError: (strict only) a term that is not a Defined Term, or terms that
                cannot be combined (PS3.3 §C.12.1.1.2, PS3.5 §6.1.2.5.4).
        """
        if value is None:
            values: tuple[str, ...] = ()
        elif isinstance(value, str):
            values = tuple(value.split("\\"))
        else:
            values = tuple(value)
        return _charset_for(tuple(v.strip(" \x00") for v in values), strict)

    @property
    def is_default(self) -> bool:
        """True when only the default repertoire (ISO-IR 6) is declared."""
        return not self.terms or self.terms == ("ISO_IR 6",)

    @property
    def code_extensions(self) -> bool:
        """True when (0008,0005) is multi-valued, so values may contain escape sequences."""
        return self._extensions

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Charset) and other.terms == self.terms

    def __hash__(self) -> int:
        return hash(self.terms)

    def __str__(self) -> str:
        return "\\".join(self.terms)

    def decode(self, raw: bytes, vr: str, *, strict: bool = False) -> str:
        """Decode a whole element value (all its values and delimiters) of VR ``vr``.

        Raises:
            CharsetError: (strict only) bytes not valid in the declared sets, with offset.
        """
        if vr not in TEXT_VRS:
            return _decode_default(raw, strict)
        machine = self._machine
        if machine is None or ESC not in raw:  # int membership: a memchr, unlike b"\x1b" in raw
            try:
                return self._decoder(raw, "strict")
            except UnicodeDecodeError as exc:
                if strict:
                    raise CharsetError(
                        f"byte 0x{raw[exc.start]:02X} is not valid in {self.describe()}", offset=exc.start
                    ) from None
                return raw.decode(self._fallback, "replace")
        if strict and not self._extensions:
            raise CharsetError(
                f"escape sequence, but Specific Character Set {self.describe()} has no code extensions",
                offset=raw.index(ESC),
            )
        return iso2022.decode(raw, machine, _DELIMITERS[vr], strict=strict)

    def decode_lenient(self, raw: bytes, vr: str) -> tuple[str, CharsetError | None]:
        """The lenient text, with the error strict decoding would have raised (if any)."""
        try:
            return self.decode(raw, vr, strict=True), None
        except CharsetError as exc:
            return self.decode(raw, vr), exc

    def encode(self, text: str, vr: str) -> bytes:
        """Encode a whole element value, designating sets by escape sequences as needed.

        Raises:
            EncodeError: a character none of the declared sets holds (or ESC itself).
        """
        if vr not in TEXT_VRS:
            try:
                return text.encode("ascii")
            except UnicodeEncodeError as exc:
                raise EncodeError(
                    _unencodable(text, exc.start, "the default repertoire (ISO-IR 6)")
                ) from None
        machine = self._machine
        if machine is None:
            try:
                return text.encode(self._codec)
            except UnicodeEncodeError as exc:
                raise EncodeError(_unencodable(text, exc.start, self.describe())) from None
        if "\x1b" in text:
            raise EncodeError(_unencodable(text, text.index("\x1b"), self.describe()))
        if self._quick is not None:
            try:
                return self._quick.encode(text)
            except UnicodeEncodeError:
                pass  # some character needs another set: escape sequences
        return iso2022.encode(text, machine, _DELIMITER_CHARS[vr])

    def describe(self) -> str:
        """The terms for messages ('default repertoire' when there are none)."""
        return "\\".join(self.terms) if self.terms else "the default repertoire (ISO-IR 6)"


def _unencodable(text: str, index: int, where: str) -> str:
    return f"character {text[index]!r} at index {index} cannot be encoded with {where}"


def _decode_default(raw: bytes, strict: bool) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as exc:
        if strict:
            raise CharsetError(
                f"byte 0x{raw[exc.start]:02X} is outside the default repertoire (ISO-IR 6)", offset=exc.start
            ) from None
        return raw.decode("latin_1")


@functools.lru_cache(maxsize=256)
def _charset_for(values: tuple[str, ...], strict: bool) -> Charset:
    findings: list[str] = []

    def problem(reason: str) -> None:
        if strict:
            raise CharsetError(reason, tag=SPECIFIC_CHARACTER_SET)
        findings.append(reason)

    terms = _resolve(values, problem)
    return _build(terms, tuple(findings))


def _resolve(values: tuple[str, ...], problem: _Problem) -> list[Term | None]:
    """Defined Terms for the values (value 1 may be None: the default repertoire)."""
    resolved: list[Term | None] = []
    for index, name in enumerate(values):
        if not name:
            if index:
                problem(f"value {index + 1} of Specific Character Set is empty; ignored")
            else:
                resolved.append(None)
            continue
        term = TERMS.get(name)
        if term is None:
            fixed = resolve_term(name)
            if fixed is None:
                problem(f"unknown Specific Character Set term {name!r}; ignored")
                if not index:
                    resolved.append(None)
                continue
            problem(f"Specific Character Set {name!r} is not a Defined Term; read as {fixed!r}")
            term = TERMS[fixed]
        resolved.append(term)
    if len(resolved) > 1:
        resolved = _code_extension_terms(resolved, problem)
    first = resolved[0] if resolved else None
    if first is not None and any(s.width == 2 for s in first.sets):
        problem(f"{first.name} cannot be value 1 of Specific Character Set (PS3.5 6.1.2.5.4)")
    return resolved


def _code_extension_terms(resolved: list[Term | None], problem: _Problem) -> list[Term | None]:
    """Check the terms of a multi-valued Specific Character Set (PS3.3 Tables C.12-3/-4)."""
    first = resolved[0]
    if first is not None and first.stand_alone:
        rest = ", ".join(t.name for t in resolved[1:] if t is not None)
        problem(f"{first.name} does not allow code extensions; ignoring {rest}")
        return [first]
    out: list[Term | None] = [first]
    for term in resolved[1:]:
        if term is None:
            continue
        if term.stand_alone:
            problem(f"{term.name} cannot be used as a code extension; ignored")
            continue
        if term in out:
            problem(f"{term.name} is repeated in Specific Character Set; ignored")
            continue
        out.append(term)
    for index, term in enumerate(out if len(out) > 1 else ()):
        if term is not None and not term.extensions:
            extended = TERMS[term.name.replace("ISO_IR", "ISO 2022 IR")]
            problem(f"{term.name} used with code extensions; read as {extended.name}")
            out[index] = extended
    return out


def _build(resolved: list[Term | None], findings: tuple[str, ...]) -> Charset:
    if not resolved:
        resolved = [None]
    names = () if resolved == [None] else tuple("" if t is None else t.name for t in resolved)
    first = resolved[0]
    if first is not None and first.codec is not None:  # UTF-8, GB18030, GBK
        return Charset(names, findings, make_decoder(first.codec), first.codec, _fallback=first.legacy_codec)
    machine = _machine(tuple(resolved))
    initial = machine.initial
    plain = initial.g1 or initial.g0
    quick = plain if plain.width == 1 else None  # EUC codecs would accept more than KS X 1001
    return Charset(
        names,
        findings,
        _decoder=plain.decode,
        _fallback="latin_1" if first is None else first.legacy_codec,
        _machine=machine,
        _extensions=len(resolved) > 1,
        _quick=quick,
    )


def _machine(resolved: tuple[Term | None, ...]) -> Machine:
    first = resolved[0]
    value_1 = first.sets if first is not None else (IR6,)
    g0 = next((s for s in value_1 if s.element is CodeElement.G0 and s.width == 1), IR6)
    g1 = next((s for s in value_1 if s.element is CodeElement.G1), None)
    preference: list[GraphicSet] = [g0] + ([g1] if g1 is not None else [])
    for term in resolved:
        for gset in term.sets if term is not None else (IR6,):
            if gset not in preference:
                preference.append(gset)
    designations = {gset.escape: gset for gset in preference}
    designations.setdefault(IR6.escape, IR6)  # every declared set sits on ISO-IR 6 (PS3.3 C.12-3)
    names = "\\".join("" if t is None else t.name for t in resolved) or "ISO-IR 6"
    fallback = "latin_1" if first is None else first.legacy_codec
    return Machine(CodeState(g0, g1), designations, tuple(preference), fallback, names)


#: The default repertoire: (0008,0005) absent or empty.
DEFAULT_CHARSET: Charset = Charset.from_value(None)

# Single-byte terms tried, in this order, by charset_for_encoding.
_SUGGESTED = (
    "ISO_IR 100",
    "ISO_IR 101",
    "ISO_IR 109",
    "ISO_IR 110",
    "ISO_IR 148",
    "ISO_IR 203",
    "ISO_IR 144",
    "ISO_IR 126",
    "ISO_IR 127",
    "ISO_IR 138",
    "ISO_IR 166",
    "ISO_IR 13",
)


def charset_for_encoding(text: str) -> Charset:
    """A charset able to encode ``text``: the default, a single-byte set, else UTF-8."""
    if text.isascii():
        return DEFAULT_CHARSET
    for name in _SUGGESTED:
        charset = Charset.from_value(name)
        try:
            charset.encode(text, "LT")
        except EncodeError:
            continue
        return charset
    return Charset.from_value("ISO_IR 192")
