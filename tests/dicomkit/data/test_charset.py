"""Specific Character Set: decoding/encoding against pydicom and the PS3.5 Annex H/I/K examples."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.data import get_charset_files
from pydicom.dataset import Dataset as PydicomDataset
from pydicom.multival import MultiValue
from pydicom.valuerep import TEXT_VR_DELIMS

from dicomkit.data.charset import DEFAULT_CHARSET, TEXT_VRS, Charset, charset_for_encoding
from dicomkit.errors import CharsetError, EncodeError

# ----------------------------------------------------------------- pydicom's charset files


def _text_elements(
    ds: PydicomDataset, parent: Charset, path: str
) -> Iterator[tuple[str, str, Charset, bytes, list[str]]]:
    """(where, VR, charset in force, raw bytes, pydicom's values) for every text element."""
    charset = parent
    if "SpecificCharacterSet" in ds:
        charset = Charset.from_value(ds.SpecificCharacterSet)
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)  # RawDataElement until ds[tag] converts it
        if raw.VR == "SQ":
            for number, item in enumerate(ds[tag].value):
                yield from _text_elements(item, charset, f"{path}{tag}[{number}]")
        elif raw.VR in TEXT_VRS and isinstance(raw.value, bytes):
            value = ds[tag].value
            values = value if isinstance(value, MultiValue | list) else [value]
            yield f"{path}{tag}", raw.VR, charset, raw.value, [str(v) for v in values]


def _as_pydicom_values(text: str, vr: str) -> list[str]:
    """Our decoded text cut into values the way pydicom presents them."""
    if vr == "PN":  # pydicom drops trailing empty component groups
        return [v.rstrip("=") for v in text.rstrip("\x00 ").split("\\")]
    if vr in ("ST", "LT", "UT"):
        return [text.rstrip("\x00 ")]
    return [v.rstrip("\x00 ") for v in text.split("\\")]


CHARSET_FILES = sorted(Path(p) for p in get_charset_files("*.dcm"))


def test_the_pydicom_charset_folder_is_there() -> None:
    assert len(CHARSET_FILES) >= 17


@pytest.mark.parametrize("path", CHARSET_FILES, ids=lambda p: p.name)
def test_text_values_of_pydicom_charset_files_decode_as_pydicom_decodes_them(path: Path) -> None:
    ds = pydicom.dcmread(path)
    elements = list(_text_elements(ds, DEFAULT_CHARSET, ""))
    assert elements
    for where, vr, charset, raw, expected in elements:
        strict = charset.decode(raw, vr, strict=True)
        assert _as_pydicom_values(strict, vr) == expected, where
        assert charset.decode(raw, vr) == strict, where


# Files whose writer chose other (valid) escape sequences than the ones we write.
OTHER_ESCAPES = {
    "chrKoreanMulti.dcm": "designates ISO-IR 6 into G0 after Korean although G0 never left it",
    "chrSQEncoding.dcm": "returns to ISO-IR 6 (ESC ( B) where value 1 has ISO-IR 14 (ESC ( J)",
    "chrSQEncoding1.dcm": "returns to ISO-IR 6 (ESC ( B) where value 1 has ISO-IR 14 (ESC ( J)",
}


@pytest.mark.parametrize("path", CHARSET_FILES, ids=lambda p: p.name)
def test_text_values_of_pydicom_charset_files_encode_back_to_the_same_bytes(path: Path) -> None:
    ds = pydicom.dcmread(path)
    for where, vr, charset, raw, _ in _text_elements(ds, DEFAULT_CHARSET, ""):
        text = charset.decode(raw, vr, strict=True)
        encoded = charset.encode(text, vr)
        assert charset.decode(encoded, vr, strict=True) == text, where
        if path.name not in OTHER_ESCAPES or b"\x1b" not in raw:
            assert encoded == raw, where


def test_text_values_of_all_pydicom_test_files_decode_leniently_as_pydicom_decodes_them() -> None:
    folder = Path(pydicom.data.__file__).parent / "test_files"  # local files only, no download
    checked, mismatches = 0, []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
                elements = list(_text_elements(ds, DEFAULT_CHARSET, ""))
            except Exception:  # not DICOM, or beyond pydicom: no oracle
                continue
        for where, vr, charset, raw, expected in elements:
            checked += 1
            if _as_pydicom_values(charset.decode(raw, vr), vr) != expected:
                mismatches.append((path.name, where, raw[:40], expected[:3]))
    assert checked > 1000
    assert mismatches == []


# ------------------------------------------------------------- the standard's own examples

# PS3.5 Annex H (Japanese), Annex I (Korean), Annex J (UTF-8), Annex K (Chinese).
STANDARD_EXAMPLES = [
    pytest.param(
        ["", "ISO 2022 IR 87"],
        b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
        "Yamada^Tarou=山田^太郎=やまだ^たろう",
        id="H.3.1-ISO-2022-IR-87",
    ),
    pytest.param(
        ["ISO 2022 IR 13", "ISO 2022 IR 87"],
        b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J"
        b"=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J",
        "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう",
        id="H.3.2-ISO-2022-IR-13-and-87",
    ),
    pytest.param(
        ["", "ISO 2022 IR 149"],
        b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf",
        "Hong^Gildong=洪^吉洞=홍^길동",
        id="I.2-ISO-2022-IR-149",
    ),
    pytest.param(
        "ISO_IR 192",
        b"Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=",
        "Wang^XiaoDong=王^小東=",
        id="J-ISO_IR-192",
    ),
    pytest.param(
        "GB18030",
        b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=",
        "Wang^XiaoDong=王^小东=",
        id="K.1-GB18030",
    ),
    pytest.param(
        ["", "ISO 2022 IR 58"],
        b"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=",
        "Zhang^XiaoDong=张^小东=",
        id="K.2-ISO-2022-IR-58",
    ),
]


@pytest.mark.parametrize(("value", "raw", "text"), STANDARD_EXAMPLES)
def test_standard_example_decodes_to_its_text(value: str | list[str], raw: bytes, text: str) -> None:
    assert Charset.from_value(value, strict=True).decode(raw, "PN", strict=True) == text


@pytest.mark.parametrize(("value", "raw", "text"), STANDARD_EXAMPLES)
def test_standard_example_encodes_byte_for_byte(value: str | list[str], raw: bytes, text: str) -> None:
    assert Charset.from_value(value, strict=True).encode(text, "PN") == raw


def test_pn_component_groups_each_start_in_the_initial_state() -> None:
    cs = Charset.from_value(["ISO 2022 IR 100", "ISO 2022 IR 126"])
    # Greek in G1 is undone before "^" and "="; value 1 (Latin-1) is designated again.
    greek = "Δίας".encode("iso8859_7"), "Ζεύς".encode("iso8859_7")
    assert cs.encode("Δίας^Zeus=Ζεύς", "PN") == (
        b"\x1b-F" + greek[0] + b"\x1b-A^Zeus=\x1b-F" + greek[1] + b"\x1b-A"
    )
    assert cs.decode(b"\x1b-F\xe1^\xe1", "PN", strict=True) == "α^á"


@pytest.mark.parametrize(
    ("vr", "text"),
    [("PN", "α^á\\á=á"), ("LO", "α^α\\á=á"), ("SH", "α^α\\á=á"), ("LT", "α^α\\α=α"), ("UT", "α^α\\α=α")],
)
def test_delimiters_that_return_to_value_1_depend_on_the_vr(vr: str, text: str) -> None:
    cs = Charset.from_value(["ISO 2022 IR 100", "ISO 2022 IR 126"])
    assert cs.decode(b"\x1b-F\xe1^\xe1\\\xe1=\xe1", vr, strict=True) == text


def test_a_delimiter_resets_both_code_elements_for_the_escapes_that_follow() -> None:
    cs = Charset.from_value(["ISO 2022 IR 100", "ISO 2022 IR 126", "ISO 2022 IR 87"])
    # G1 = Greek until "^"; designating G0 afterwards must find Latin-1 in G1 again.
    raw = b"\x1b-F\xe1^\x1b$B0!\x1b(B\xe1"
    assert cs.decode(raw, "PN", strict=True) == "α^亜á"
    assert cs.decode(raw, "LO", strict=True) == "α^亜α"


@pytest.mark.parametrize("control", [b"\r", b"\n", b"\t", b"\x0c"])
def test_control_characters_return_text_to_value_1(control: bytes) -> None:
    cs = Charset.from_value(["ISO 2022 IR 100", "ISO 2022 IR 126"])
    assert cs.decode(b"\x1b-F\xe1" + control + b"\xe1", "LT", strict=True) == f"α{control.decode()}á"


def test_delimiter_bytes_inside_a_two_byte_g0_set_are_halves_of_characters() -> None:
    cs = Charset.from_value(["", "ISO 2022 IR 87"])
    # 0x5E ("^") and 0x3D ("=") are also the second bytes of JIS X 0208 characters.
    kanji = b"\x30\x5e\x30\x3d"
    assert cs.decode(b"\x1b$B" + kanji + b"\x1b(B^A", "PN", strict=True) == (
        (b"\x1b$B" + kanji).decode("iso2022_jp") + "^A"
    )


def test_half_width_katakana_after_kanji_leaves_the_two_byte_g0_set_first() -> None:
    cs = Charset.from_value(["ISO 2022 IR 13", "ISO 2022 IR 87"])
    assert cs.encode("やｱ", "LO") == b"\x1b$B$d\x1b(J\xb1"
    assert cs.decode(b"\x1b$B$d\xb1\x1b(J", "LO", strict=True) == "やｱ"  # GR stays usable under JIS


def test_jis_x_0212_round_trips_with_iso_2022_ir_159() -> None:
    cs = Charset.from_value(["", "ISO 2022 IR 87", "ISO 2022 IR 159"], strict=True)
    text = "Ko^丂=亜"  # 丂 is only in JIS X 0212
    raw = cs.encode(text, "PN")
    assert raw == b"Ko^\x1b$(D\x30\x21\x1b(B=\x1b$B\x30\x21\x1b(B"
    assert cs.decode(raw, "PN", strict=True) == text


def test_korean_value_1_without_escape_sequences_reads_g1_as_ks_x_1001() -> None:
    # Common in the wild: a single "ISO 2022 IR 149" and GR bytes with no designation.
    cs = Charset.from_value("ISO 2022 IR 149")
    assert cs.findings
    assert cs.decode("김희중".encode("euc_kr"), "PN") == "김희중"
    assert cs.encode("김희중", "PN") == "김희중".encode("euc_kr")


# ----------------------------------------------------------------------- round trips


SINGLE_BYTE_TERMS = [
    "ISO_IR 6", "ISO_IR 100", "ISO_IR 101", "ISO_IR 109", "ISO_IR 110", "ISO_IR 144", "ISO_IR 127",
    "ISO_IR 126", "ISO_IR 138", "ISO_IR 148", "ISO_IR 13", "ISO_IR 166", "ISO_IR 203",
]  # fmt: skip


def _repertoire(term: str) -> tuple[list[str], list[int]]:
    """Characters and bytes of a single-byte set, found by decoding every byte alone."""
    cs = Charset.from_value(term, strict=True)
    chars, codes = [], []
    for b in [*range(0x20, 0x7F), *range(0xA0, 0x100)]:
        try:
            chars.append(cs.decode(bytes((b,)), "LT", strict=True))
        except CharsetError:
            continue
        codes.append(b)
    return chars, codes


@pytest.mark.parametrize("term", SINGLE_BYTE_TERMS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_single_byte_text_round_trips(term: str, data: st.DataObject) -> None:
    chars, codes = _repertoire(term)
    cs = Charset.from_value(term, strict=True)
    text = data.draw(st.text(st.sampled_from(chars)))
    for vr in ("LT", "PN"):
        assert cs.decode(cs.encode(text, vr), vr, strict=True) == text
    raw = bytes(data.draw(st.lists(st.sampled_from(codes))))
    assert cs.encode(cs.decode(raw, "LO", strict=True), "LO") == raw


def _two_byte_chars(prefix: bytes, codec: str, rows: range, high: bool = False) -> list[str]:
    chars = []
    for row in rows:
        for cell in range(0x21, 0x7F, 3):
            pair = bytes((row | 0x80, cell | 0x80)) if high else bytes((row, cell))
            try:
                chars.append((prefix + pair).decode(codec))
            except UnicodeDecodeError:
                continue
    return chars


_ASCII = [chr(c) for c in range(0x20, 0x7F)] + ["\r", "\n"]
_LATIN_GREEK_CYRILLIC = [chr(c) for c in range(0xC0, 0x100)] + list("αβγδεΩΨΔжзийЖЗИЙ")
CODE_EXTENSION_CASES = [
    (["", "ISO 2022 IR 87"], [*_two_byte_chars(b"\x1b$B", "iso2022_jp", range(0x24, 0x26)), "山", "田"]),
    (["ISO 2022 IR 13", "ISO 2022 IR 87"], [*"ｱｲｳｴｵﾀﾞﾛｳ", "山", "田", "や"]),
    (
        ["", "ISO 2022 IR 87", "ISO 2022 IR 159"],
        _two_byte_chars(b"\x1b$(D", "iso2022_jp_2", range(0x30, 0x33)),
    ),
    (["", "ISO 2022 IR 149"], _two_byte_chars(b"", "euc_kr", range(0x30, 0x34), high=True)),
    (["ISO 2022 IR 100", "ISO 2022 IR 126", "ISO 2022 IR 144"], _LATIN_GREEK_CYRILLIC),
]


@pytest.mark.parametrize(("value", "extra"), CODE_EXTENSION_CASES, ids=lambda v: "\\".join(v)[:40])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_code_extension_text_round_trips_and_pydicom_reads_our_bytes(
    value: list[str], extra: list[str], data: st.DataObject
) -> None:
    cs = Charset.from_value(value, strict=True)
    text = data.draw(st.text(st.sampled_from(_ASCII + extra)))
    for vr in ("LT", "LO", "PN"):
        raw = cs.encode(text, vr)
        assert cs.decode(raw, vr, strict=True) == text
    raw = cs.encode(text, "LT")
    assert decode_bytes(raw, convert_encodings(value), TEXT_VR_DELIMS) == text


@settings(max_examples=40, deadline=None)
@given(text=st.text(st.sampled_from(_ASCII + _two_byte_chars(b"", "gb2312", range(0x30, 0x34), high=True))))
def test_gb2312_code_extension_round_trips(text: str) -> None:
    # pydicom keeps the ESC $ ) A in its text for ISO 2022 IR 58, so it is no oracle here.
    cs = Charset.from_value(["", "ISO 2022 IR 58"], strict=True)
    assert cs.decode(cs.encode(text, "PN"), "PN", strict=True) == text


@pytest.mark.parametrize("term", ["ISO_IR 192", "GB18030", "GBK"])
@settings(max_examples=40, deadline=None)
@given(text=st.text(st.characters(codec="gbk")))
def test_stand_alone_multi_byte_sets_round_trip(term: str, text: str) -> None:
    cs = Charset.from_value(term, strict=True)
    assert cs.decode(cs.encode(text, "LT"), "LT", strict=True) == text


@settings(max_examples=60, deadline=None)
@given(
    raw=st.binary(max_size=40),
    value=st.sampled_from([["", "ISO 2022 IR 87"], ["", "ISO 2022 IR 149"], "ISO_IR 100"]),
)
def test_any_bytes_decode_leniently_and_strictly_only_raise_charset_error(
    raw: bytes, value: list[str]
) -> None:
    cs = Charset.from_value(value)
    for vr in ("PN", "LO", "LT"):
        text, error = cs.decode_lenient(raw, vr)
        assert isinstance(text, str)
        if error is not None:
            assert error.offset is not None and 0 <= error.offset < len(raw)


ALL_KINDS_OF_VALUES = [
    None,
    "ISO_IR 100",
    "ISO_IR 13",
    "ISO_IR 192",
    "GB18030",
    ["", "ISO 2022 IR 87", "ISO 2022 IR 159"],
    ["ISO 2022 IR 13", "ISO 2022 IR 87"],
    ["", "ISO 2022 IR 149"],
    ["", "ISO 2022 IR 58"],
    ["ISO 2022 IR 100", "ISO 2022 IR 126", "ISO 2022 IR 144"],
]


@settings(max_examples=100, deadline=None)
@given(
    value=st.sampled_from(ALL_KINDS_OF_VALUES),
    vr=st.sampled_from(sorted(TEXT_VRS)),
    text=st.text(st.characters(max_codepoint=0xFFFF) | st.sampled_from("山やｱ홍张αж^=\\\r\n")),
)
def test_any_text_either_round_trips_or_raises_encode_error(
    value: str | list[str] | None, vr: str, text: str
) -> None:
    cs = Charset.from_value(value)
    try:
        raw = cs.encode(text, vr)
    except EncodeError:
        return
    assert cs.decode(raw, vr, strict=True) == text


# ------------------------------------------------------------------------ strict errors


@pytest.mark.parametrize(
    ("value", "vr", "raw", "offset"),
    [
        pytest.param(None, "LO", b"abc\xe9", 3, id="default-high-byte"),
        pytest.param(None, "CS", b"\xe9", 0, id="non-text-vr-is-default"),
        pytest.param("ISO_IR 192", "PN", b"ab\xff", 2, id="utf8-invalid"),
        pytest.param("ISO_IR 127", "LO", b"ab\xa1", 2, id="arabic-unassigned"),
        pytest.param("ISO_IR 13", "LO", b"a\xe0", 1, id="jis-x-0201-no-kanji"),
        pytest.param("ISO_IR 100", "LO", b"ab\x1b-A\xe9", 2, id="escape-without-code-extensions"),
        pytest.param(["", "ISO 2022 IR 87"], "PN", b"abcd\x1b$)C\xb0\xa1", 4, id="undeclared-escape"),
        pytest.param(["", "ISO 2022 IR 87"], "PN", b"a\x1b$", 1, id="incomplete-escape"),
        pytest.param(["", "ISO 2022 IR 87"], "PN", b"\x1b$B0!0", 5, id="half-a-kanji"),
        pytest.param(["", "ISO 2022 IR 87"], "LT", b"\x1b$B0!\xb0", 5, id="gr-byte-without-g1"),
        pytest.param(["", "ISO 2022 IR 149"], "PN", b"\x1b$)C\xb0", 4, id="half-a-hangul"),
    ],
)
def test_strict_decoding_raises_charset_error_at_the_offending_byte(
    value: str | list[str] | None, vr: str, raw: bytes, offset: int
) -> None:
    cs = Charset.from_value(value)
    with pytest.raises(CharsetError) as info:
        cs.decode(raw, vr, strict=True)
    assert info.value.offset == offset
    text, error = cs.decode_lenient(raw, vr)
    assert error is not None and error.offset == offset
    assert text == cs.decode(raw, vr)


# Lenient decoding of damaged values: the same text pydicom gives.
LENIENT_CASES = [
    (None, b"Buc^J\xe9r\xf4me"),
    ("ISO_IR 192", b"ab\xffcd\xe7\x8e"),
    ("ISO_IR 127", b"ab\xa1\xc8"),
    ("ISO_IR 13", b"a\xe0\xa0"),
    ("ISO_IR 100", b"J\x1b-A\xe9r\xf4me"),
    (["", "ISO 2022 IR 87"], b"abc\x1b$)C\xb0\xa1\x1b(Bdef"),
    (["", "ISO 2022 IR 87"], b"\x1b$B0!0\x1b(Bok"),
    (["", "ISO 2022 IR 87"], b"ok\xe9"),
    (["", "ISO 2022 IR 149"], b"\x1b$)C\xb0\xa1\xb0"),
    (["", "ISO 2022 IR 100"], b"\x1b-A\xe9\x1b%G"),
]


@pytest.mark.parametrize(("value", "raw"), LENIENT_CASES)
def test_lenient_decoding_of_damaged_values_matches_pydicom(
    value: str | list[str] | None, raw: bytes
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = decode_bytes(raw, convert_encodings(value), TEXT_VR_DELIMS)
    cs = Charset.from_value(value)
    assert cs.decode(raw, "LT") == expected
    with pytest.raises(CharsetError):
        cs.decode(raw, "LT", strict=True)


# --------------------------------------------------------------------- (0008,0005) itself


@pytest.mark.parametrize(
    ("value", "terms"),
    [
        ("ISO IR 100", ("ISO_IR 100",)),
        ("ISO-IR 192", ("ISO_IR 192",)),
        ("iso_ir 144", ("ISO_IR 144",)),
        ("ISO_IR100", ("ISO_IR 100",)),
        (["", "ISO_2022_IR_87"], ("", "ISO 2022 IR 87")),
        (["", "ISO-2022-IR 149"], ("", "ISO 2022 IR 149")),
        (["ISO_IR 100", "ISO_IR 126"], ("ISO 2022 IR 100", "ISO 2022 IR 126")),
        ("ISO_IR 87", ("ISO 2022 IR 87",)),
        ("UTF-8", ("ISO_IR 192",)),
        ("latin_1", ("ISO_IR 100",)),
        ("GB 18030", ("GB18030",)),
        ("ISO 2022 GBK", ("GBK",)),
        (["ISO_IR 192", "GB18030"], ("ISO_IR 192",)),
        (["ISO_IR 100", "GBK"], ("ISO_IR 100",)),
        (["", "ISO 2022 IR 87", "GBK"], ("", "ISO 2022 IR 87")),
        (["", "ISO 2022 IR 87", "ISO 2022 IR 87"], ("", "ISO 2022 IR 87")),
        ("NOT A CHARSET", ()),
        (["", "ISO 2022 IR 87", "KLINGON"], ("", "ISO 2022 IR 87")),
    ],
)
def test_lenient_construction_corrects_misspelt_terms_and_records_a_finding(
    value: str | list[str], terms: tuple[str, ...]
) -> None:
    cs = Charset.from_value(value)
    assert cs.terms == terms
    assert cs.findings
    with pytest.raises(CharsetError) as info:
        Charset.from_value(value, strict=True)
    assert info.value.tag == 0x00080005


def test_misspelt_terms_decode_like_pydicom_reads_them() -> None:
    raw = "Διονυσιος".encode("iso8859_7")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = decode_bytes(raw, convert_encodings("ISO IR 126"), TEXT_VR_DELIMS)
    assert Charset.from_value("ISO IR 126").decode(raw, "PN") == expected == "Διονυσιος"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        [""],
        "ISO_IR 100",
        " ISO_IR 100 ",
        "ISO 2022 IR 6",
        ["", "ISO 2022 IR 87"],
        "ISO 2022 IR 13\\ISO 2022 IR 87",
    ],
)
def test_valid_values_build_without_findings(value: str | list[str] | None) -> None:
    assert Charset.from_value(value, strict=True).findings == ()


def test_empty_and_missing_values_are_the_default_repertoire() -> None:
    assert Charset.from_value(None) == Charset.from_value("") == Charset.from_value([""]) == DEFAULT_CHARSET
    assert DEFAULT_CHARSET.terms == ()
    assert DEFAULT_CHARSET.is_default


def test_charsets_are_cached_immutable_and_hashable() -> None:
    cs = Charset.from_value(["", "ISO 2022 IR 87"])
    assert Charset.from_value(("", "ISO 2022 IR 87")) is cs
    assert cs.code_extensions
    assert {cs: 1}[Charset.from_value("\\ISO 2022 IR 87")] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        cs.terms = ()  # type: ignore[misc]  # assigning to the frozen field is the point


def test_a_single_value_2022_term_alone_uses_no_code_extensions() -> None:
    assert not Charset.from_value("ISO 2022 IR 100").code_extensions


# ----------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "Jérôme"),
        ("ISO_IR 100", "Δ"),
        (["", "ISO 2022 IR 87"], "홍"),
        (["", "ISO 2022 IR 149"], "똠"),  # a Hangul syllable outside KS X 1001
        ("ISO_IR 192", "\udc80"),
        ("ISO_IR 100", "a\x1bb"),
    ],
)
def test_characters_outside_the_declared_sets_raise_encode_error(
    value: str | list[str] | None, text: str
) -> None:
    with pytest.raises(EncodeError):
        Charset.from_value(value).encode(text, "PN")


def test_vrs_outside_the_charset_encode_and_decode_the_default_repertoire() -> None:
    cs = Charset.from_value("ISO_IR 192")
    assert cs.encode("1.2.3", "UI") == b"1.2.3"
    with pytest.raises(EncodeError):
        cs.encode("é", "CS")
    assert cs.decode("é".encode(), "CS") == "Ã©"  # Latin-1, as pydicom reads the default


def test_charset_for_encoding_suggests_a_set_that_holds_the_text() -> None:
    assert charset_for_encoding("Smith^John") is DEFAULT_CHARSET
    assert charset_for_encoding("Jérôme").terms == ("ISO_IR 100",)
    assert charset_for_encoding("Διονυσιος").terms == ("ISO_IR 126",)
    assert charset_for_encoding("山田^太郎").terms == ("ISO_IR 192",)
