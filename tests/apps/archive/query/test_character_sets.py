"""End to end: pydicom's character set files ingested, found by their names, answered in their charset.

The request's values arrive decoded (here: a request encoded in another character set and
read back by dicomkit), so matching is on Unicode text; responses name the Specific
Character Set the instance was stored in and encode to the same name (pydicom reads it).
"""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_charset_files

from apps.archive.query import InformationModel, query_execute, query_from_identifier
from apps.archive.services import instance_ingest
from dicomkit.data import uids as registry
from dicomkit.data.dataset import Dataset
from dicomkit.part10.reader import read_dataset
from dicomkit.part10.writer import encode_dataset
from tests.apps.archive.query.conftest import assert_encoded_as_written

pytestmark = pytest.mark.django_db

FILES = ("chrH31", "chrI2", "chrX1", "chrKoreanMulti", "chrGerm")


@pytest.fixture
def ingested(storage_root: Path) -> dict[str, pydicom.Dataset]:
    out: dict[str, pydicom.Dataset] = {}
    for stem in FILES:
        path = get_charset_files(f"{stem}.dcm")[0]
        instance_ingest(source=path)
        out[stem] = pydicom.dcmread(path)
    return out


def _wire(dataset: Dataset) -> Dataset:
    """A request as the SCP receives it: encoded in its own charset, then decoded by dicomkit."""
    return read_dataset(
        encode_dataset(dataset, registry.ExplicitVRLittleEndian), registry.ExplicitVRLittleEndian
    )


def _query(name: str, request_charset: str | list[str]) -> list[Dataset]:
    request = Dataset()
    request.set("SpecificCharacterSet", request_charset, "CS")
    request.set("QueryRetrieveLevel", "STUDY", "CS")
    request.set("PatientName", name, "PN")
    request.set("StudyInstanceUID", "", "UI")
    query = query_from_identifier(identifier=_wire(request), model=InformationModel.STUDY_ROOT)
    responses = list(query_execute(query=query))
    assert_encoded_as_written(query, responses)
    return responses


@pytest.mark.parametrize(
    ("pattern", "stem", "request_charset"),
    [
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "chrH31", "ISO_IR 192"),
        ("山田*", "chrH31", "ISO_IR 192"),
        ("Hong^Gildong=洪^吉洞=홍^길동", "chrI2", "ISO_IR 192"),
        ("*=洪^吉洞*", "chrI2", "ISO_IR 192"),
        ("김희중", "chrKoreanMulti", "ISO_IR 192"),
        ("wang*", "chrX1", "ISO_IR 192"),
        ("äneas^rüdiger", "chrGerm", "ISO_IR 100"),
    ],
)
def test_stored_multi_byte_names_are_found_and_answered_in_the_stored_charset(
    ingested: dict[str, pydicom.Dataset], pattern: str, stem: str, request_charset: str
) -> None:
    source = ingested[stem]
    responses = _query(pattern, request_charset)
    assert [r.get_str("StudyInstanceUID") for r in responses] == [source.StudyInstanceUID]
    stored = source.SpecificCharacterSet
    stored_terms = list(stored) if isinstance(stored, pydicom.multival.MultiValue) else [stored]
    assert responses[0].get_strs("SpecificCharacterSet") == stored_terms
    on_the_wire = encode_dataset(responses[0], registry.ImplicitVRLittleEndian)
    assert str(pydicom.dcmread(io.BytesIO(on_the_wire), force=True).PatientName) == str(source.PatientName)


def test_a_request_in_iso_2022_matches_the_same_names(ingested: dict[str, pydicom.Dataset]) -> None:
    responses = _query("*=山田^太郎*", ["", "ISO 2022 IR 87"])
    assert [r.get_str("StudyInstanceUID") for r in responses] == [ingested["chrH31"].StudyInstanceUID]
