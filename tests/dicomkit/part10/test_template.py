"""DatasetTemplate: the bytes of ``encode_dataset`` for the same elements, from value bytes."""

from __future__ import annotations

import pytest

from dicomkit.data import tags
from dicomkit.data import uids as registry
from dicomkit.data.dataset import Dataset
from dicomkit.data.value_codec import ElementValue
from dicomkit.errors import EncodeError
from dicomkit.part10.template import DatasetTemplate
from dicomkit.part10.writer import encode_dataset

SYNTAXES = (registry.ExplicitVRLittleEndian, registry.ImplicitVRLittleEndian)

# (tag, VR, value, the value's bytes unpadded) in ascending tag order: short and long
# explicit headers, odd and even lengths, NUL and space padding, a binary number,
# multiple values, a non-ASCII name in the declared character set, zero length.
ELEMENTS: list[tuple[int, str, ElementValue, bytes]] = [
    (tags.SpecificCharacterSet, "CS", "ISO_IR 100", b"ISO_IR 100"),
    (tags.QueryRetrieveLevel, "CS", "STUDY", b"STUDY"),
    (tags.RetrieveAETitle, "AE", "PACS", b"PACS"),
    (tags.ModalitiesInStudy, "CS", ["CT", "SR"], b"CT\\SR"),
    (tags.StudyDescription, "LO", "Thorax", b"Thorax"),
    (tags.PatientName, "PN", "Müller^Jürgen", "Müller^Jürgen".encode("latin-1")),
    (tags.PatientID, "LO", "", b""),
    (tags.StudyInstanceUID, "UI", "1.2.3.45", b"1.2.3.45"),
    (tags.NumberOfStudyRelatedInstances, "IS", 123, b"123"),
    (tags.Rows, "US", 512, b"\x00\x02"),
    (tags.TextValue, "UT", "odd", b"odd"),
    (0x00431010, "OB", b"\x01\x02\x03", b"\x01\x02\x03"),
]


def _dataset(elements: list[tuple[int, str, ElementValue]]) -> Dataset:
    dataset = Dataset()
    for tag, vr, value in elements:
        dataset.set(tag, value, vr)
    return dataset


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_encodes_as_the_writer_does(syntax: str) -> None:
    template = DatasetTemplate([(tag, vr) for tag, vr, _value, _raw in ELEMENTS], syntax)
    expected = _dataset([(tag, vr, value) for tag, vr, value, _raw in ELEMENTS])
    assert template.encode([raw for *_, raw in ELEMENTS]) == encode_dataset(expected, syntax)


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_none_leaves_the_element_out(syntax: str) -> None:
    template = DatasetTemplate([(tags.PatientName, "PN"), (tags.PatientID, "LO")], syntax)
    expected = _dataset([(tags.PatientID, "LO", "P1")])
    assert template.encode([None, b"P1"]) == encode_dataset(expected, syntax)


def test_a_value_too_long_for_a_16_bit_length_is_written_as_un() -> None:
    long_text = "x" * 70_000
    template = DatasetTemplate([(tags.StudyDescription, "LO")], registry.ExplicitVRLittleEndian)
    expected = _dataset([(tags.StudyDescription, "LO", long_text)])
    assert template.encode([long_text.encode()]) == encode_dataset(expected, registry.ExplicitVRLittleEndian)


@pytest.mark.parametrize(
    ("elements", "syntax"),
    [
        ([(tags.PatientID, "LO"), (tags.PatientName, "PN")], registry.ExplicitVRLittleEndian),  # descending
        ([(tags.PatientID, "LO"), (tags.PatientID, "LO")], registry.ExplicitVRLittleEndian),  # repeated
        ([(tags.ReferencedStudySequence, "SQ")], registry.ExplicitVRLittleEndian),
        ([(tags.PatientID, "XX")], registry.ExplicitVRLittleEndian),
        ([(tags.PatientID, "LO")], registry.ExplicitVRBigEndian),
        ([(tags.PatientID, "LO")], registry.DeflatedExplicitVRLittleEndian),
    ],
)
def test_what_it_cannot_encode_is_refused(elements: list[tuple[int, str]], syntax: str) -> None:
    with pytest.raises(EncodeError):
        DatasetTemplate(elements, syntax)


def test_a_value_count_that_does_not_fit_is_refused() -> None:
    template = DatasetTemplate([(tags.PatientID, "LO")], registry.ExplicitVRLittleEndian)
    with pytest.raises(EncodeError):
        template.encode([b"P1", b"P2"])
