"""Person Name values (PS3.5 §6.2.1)."""

from __future__ import annotations

import pydicom.valuerep
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dicomkit.data.values.person_name import ComponentGroup, PersonName
from dicomkit.errors import DecodeError

# Characters a component may hold: no delimiters (^ = \\), no control characters.
component_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="^=\\"), max_size=12
)
groups = st.builds(
    ComponentGroup, component_text, component_text, component_text, component_text, component_text
)


# ------------------------------------------------------------ PS3.5 6.2.1 examples


def test_ps35_example_with_all_five_components() -> None:
    name = PersonName.from_str("Adams^John Robert Quincy^^Rev.^B.A. M.Div.")
    assert name.family_name == "Adams"
    assert name.given_name == "John Robert Quincy"
    assert name.middle_name == ""
    assert name.name_prefix == "Rev."
    assert name.name_suffix == "B.A. M.Div."


def test_ps35_example_with_empty_trailing_components_is_trimmed() -> None:
    name = PersonName.from_str("Doe^John^^^")
    assert name.alphabetic == ComponentGroup("Doe", "John")
    assert str(name) == "Doe^John"


def test_ps35_japanese_example_has_three_groups() -> None:
    text = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    name = PersonName.from_str(text)
    assert name.alphabetic == ComponentGroup("Yamada", "Tarou")
    assert name.ideographic == ComponentGroup("山田", "太郎")
    assert name.phonetic == ComponentGroup("やまだ", "たろう")
    assert str(name) == text


def test_ps35_chinese_example_drops_the_trailing_group_delimiter() -> None:
    name = PersonName.from_str("Wang^XiaoDong=王^小東=")
    assert name.ideographic.given == "小東"
    assert str(name) == "Wang^XiaoDong=王^小東"


def test_missing_alphabetic_group_keeps_its_leading_delimiter() -> None:
    name = PersonName.from_str("=山田^太郎")
    assert name.alphabetic.is_empty
    assert str(name) == "=山田^太郎"


def test_empty_name() -> None:
    assert PersonName.from_str("").is_empty
    assert str(PersonName()) == ""
    assert str(PersonName.from_str("^^=^")) == ""


def test_padding_is_ignored() -> None:
    assert str(PersonName.from_str("Doe^John ")) == "Doe^John"


# ------------------------------------------------------------------- structure


@pytest.mark.parametrize("text", ["A^B^C^D^E^F", "A=B=C=D", "A^B=C^D^E^F^G^H"])
def test_too_many_components_or_groups_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        PersonName.from_str(text)


@pytest.mark.parametrize("text", ["A^B^C^D^E^F", "A=B=C=D", "A^B=C^D^E^F^G^H"])
def test_lenient_parsing_keeps_every_character_and_reports_it(text: str) -> None:
    name = PersonName.from_str(text, strict=False)
    assert str(name) == text
    assert name.validate()


def test_component_group_alone_cannot_hold_a_group_delimiter() -> None:
    with pytest.raises(DecodeError):
        ComponentGroup.from_str("A=B")


@given(st.text(max_size=40), st.booleans())
def test_parsing_raises_only_decode_error(text: str, strict: bool) -> None:
    try:
        PersonName.from_str(text, strict=strict)
    except DecodeError:
        assert strict


# ------------------------------------------------------------------ round trips


@given(groups, groups, groups)
def test_names_round_trip_through_their_string_form(
    a: ComponentGroup, i: ComponentGroup, p: ComponentGroup
) -> None:
    name = PersonName(a, i, p)
    text = str(name)
    assume(not text.endswith(" "))  # trailing spaces are padding, not part of a value
    assert PersonName.from_str(text) == name


@given(st.text(alphabet="ab ^=", max_size=20))
def test_canonical_form_is_stable(text: str) -> None:
    canonical = str(PersonName.from_str(text, strict=False))
    assume(not canonical.endswith(" "))  # would be read back as padding
    assert str(PersonName.from_str(canonical, strict=False)) == canonical


@given(st.text(alphabet="ab ^=", max_size=20))
def test_canonical_form_has_no_trailing_delimiters(text: str) -> None:
    assume(text.count("=") <= 2 and all(group.count("^") <= 4 for group in text.split("=")))
    assert not str(PersonName.from_str(text)).endswith(("^", "="))


# ------------------------------------------------------------------- validation


def test_valid_names_have_no_findings() -> None:
    assert PersonName.from_str("Yamada^Tarou=山田^太郎=やまだ^たろう").validate() == []
    assert PersonName(ComponentGroup("x" * 16, "y" * 16, "z" * 16, "p" * 10, "s" * 2)).validate() == []


def test_component_group_over_64_characters_is_reported() -> None:
    findings = PersonName(ComponentGroup("x" * 40, "y" * 24)).validate()  # 65 with the delimiter
    assert len(findings) == 1
    assert "alphabetic" in findings[0]
    assert "65" in findings[0]


def test_forbidden_characters_are_reported_without_the_value() -> None:
    findings = PersonName(ComponentGroup("Secret\\Name", "Line\nBreak")).validate()
    assert len(findings) == 2
    assert all("Secret" not in finding and "Line" not in finding for finding in findings)
    assert "U+005C" in findings[0]
    assert "U+000A" in findings[1]


def test_escape_is_allowed() -> None:
    assert ComponentGroup("\x1b$B").validate() == []


# --------------------------------------------------------------- pydicom oracle


@pytest.mark.parametrize(
    "text",
    [
        "Adams^John Robert Quincy^^Rev.^B.A. M.Div.",
        "Morrison-Jones^Susan^^^Ph.D., Chief Executive Officer",
        "Doe^John",
        "Yamada^Tarou=山田^太郎=やまだ^たろう",
        "Hong^Gildong=洪^吉洞=홍^길동",
        "=山田^太郎",
        "Smith",
    ],
)
def test_components_agree_with_pydicom(text: str) -> None:
    ours, theirs = PersonName.from_str(text), pydicom.valuerep.PersonName(text)
    assert ours.family_name == theirs.family_name
    assert ours.given_name == theirs.given_name
    assert ours.middle_name == theirs.middle_name
    assert ours.name_prefix == theirs.name_prefix
    assert ours.name_suffix == theirs.name_suffix
    assert str(ours.ideographic) == theirs.ideographic
    assert str(ours.phonetic) == theirs.phonetic
