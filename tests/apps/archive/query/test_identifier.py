"""Parsing identifiers: matching types per key, and typed refusals with their C-FIND status."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from apps.archive.errors import QueryError, QueryFailure
from apps.archive.query import InformationModel, Level, MatchKind, Query, query_from_identifier
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.value_codec import ElementValue
from tests.apps.archive.query.conftest import identifier

STUDY_ROOT = InformationModel.STUDY_ROOT
PATIENT_ROOT = InformationModel.PATIENT_ROOT


def parse(
    level: str | None, *, model: InformationModel = STUDY_ROOT, relational: bool = False, **keys: ElementValue
) -> Query:
    return query_from_identifier(identifier=identifier(level, **keys), model=model, relational=relational)


@pytest.mark.parametrize(
    ("keyword", "value", "kind"),
    [
        ("PatientName", "", MatchKind.UNIVERSAL),
        ("PatientName", "*", MatchKind.UNIVERSAL),
        ("PatientName", "Doe^John", MatchKind.SINGLE),
        ("PatientName", "Doe*", MatchKind.WILDCARD),
        ("PatientName", "D?e", MatchKind.WILDCARD),
        ("PatientName", '""', MatchKind.EMPTY),
        ("StudyInstanceUID", "1.2.3", MatchKind.UID_LIST),
        ("StudyInstanceUID", ["1.2.3", "1.2.4"], MatchKind.UID_LIST),
        ("StudyDate", "20240101-", MatchKind.RANGE),
        ("StudyDate", "20240101", MatchKind.RANGE),
        ("StudyTime", "-1200", MatchKind.RANGE),
        ("NumberOfStudyRelatedInstances", "4", MatchKind.SINGLE),
        ("ModalitiesInStudy", ["CT", "MR"], MatchKind.SINGLE),
    ],
)
def test_matching_type_follows_the_value(keyword: str, value: ElementValue, kind: MatchKind) -> None:
    query = query_from_identifier(identifier=identifier("STUDY", **{keyword: value}), model=STUDY_ROOT)
    key = query.keys[0]
    assert key.kind is kind


def test_unknown_and_lower_level_keys_are_returned_but_not_matched() -> None:
    query = parse("STUDY", PatientAge="030Y", Modality="CT", SOPInstanceUID="1.2.3")
    assert [k.kind for k in query.keys] == [MatchKind.NOT_MATCHED] * 3
    assert all(k.attribute is None for k in query.keys)


def test_private_and_control_keys_are_dropped() -> None:
    dataset = identifier("STUDY", SpecificCharacterSet="ISO_IR 100", StudyInstanceUID="")
    dataset.set(0x00091010, "x", "LO")
    query = query_from_identifier(identifier=dataset, model=STUDY_ROOT)
    assert [k.tag for k in query.keys] == [tags.StudyInstanceUID]


def test_level_is_read_case_insensitively_and_kept() -> None:
    query = parse("series", StudyInstanceUID="1.2.3")
    assert query.level is Level.SERIES and not query.relational


def test_combined_date_time_needs_the_negotiated_flag() -> None:
    dataset = identifier("STUDY", StudyDate="20240101-20240102", StudyTime="1000-1100")
    plain = query_from_identifier(identifier=dataset, model=STUDY_ROOT)
    combined = query_from_identifier(identifier=dataset, model=STUDY_ROOT, combined_datetime=True)
    assert [k.kind for k in plain.keys] == [MatchKind.RANGE, MatchKind.RANGE]
    date, time = combined.keys
    assert date.combined is not None and str(date.combined.lower) == "2024-01-01 10:00:00"
    assert date.combined.upper is not None and date.combined.upper.isoformat() == "2024-01-02T11:00:59.999999"
    assert time.kind is MatchKind.NOT_MATCHED


def test_pn_case_setting_is_the_default(settings: Settings) -> None:
    settings.PACS_QUERY_PN_CASE_INSENSITIVE = False
    assert parse("STUDY").pn_case_insensitive is False
    settings.PACS_QUERY_PN_CASE_INSENSITIVE = True
    assert parse("STUDY").pn_case_insensitive is True


# -------------------------------------------------------------------------- refusals


def refused(
    dataset: Dataset, *, model: InformationModel = STUDY_ROOT, relational: bool = False
) -> QueryError:
    with pytest.raises(QueryError) as caught:
        query_from_identifier(identifier=dataset, model=model, relational=relational)
    return caught.value


def refusal(
    level: str | None, *, model: InformationModel = STUDY_ROOT, relational: bool = False, **keys: ElementValue
) -> QueryError:
    return refused(identifier(level, **keys), model=model, relational=relational)


def test_missing_query_retrieve_level_is_a900() -> None:
    error = refusal(None, PatientName="Doe*")
    assert error.reason is QueryFailure.MISSING_LEVEL
    assert error.status == 0xA900
    assert error.offending_tag == tags.QueryRetrieveLevel
    assert "Level" in error.error_comment and len(error.error_comment) <= 64


@pytest.mark.parametrize(
    ("level", "model"), [("FRAME", STUDY_ROOT), ("PATIENT", STUDY_ROOT), ("", PATIENT_ROOT)]
)
def test_unsupported_level_is_a900(level: str, model: InformationModel) -> None:
    error = refusal(level, model=model)
    assert error.status == 0xA900
    assert error.reason in (QueryFailure.UNSUPPORTED_LEVEL, QueryFailure.MISSING_LEVEL)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("StudyDate", "20241345"),
        ("StudyDate", "20240105-20240101"),
        ("StudyDate", "2024-01-05"),
        ("StudyDate", "-"),
        ("StudyTime", "2500"),
        ("StudyTime", "1200-1100"),
        ("PatientBirthDate", "yesterday"),
        ("NumberOfStudyRelatedSeries", "many"),
    ],
)
def test_malformed_values_are_c000(keyword: str, value: str) -> None:
    error = refused(identifier("STUDY", **{keyword: value}))
    assert error.reason is QueryFailure.INVALID_VALUE
    assert error.status == 0xC000
    assert error.offending_tag == Dataset().set(keyword, "").tag


def test_hierarchical_query_without_the_study_uid_is_a900() -> None:
    error = refusal("SERIES", Modality="CT")
    assert error.reason is QueryFailure.MISSING_UNIQUE_KEY
    assert error.status == 0xA900
    assert error.offending_tag == tags.StudyInstanceUID


def test_hierarchical_patient_root_image_query_needs_every_upper_unique_key() -> None:
    error = refusal("IMAGE", model=PATIENT_ROOT, PatientID="P1", StudyInstanceUID="1.2", SeriesInstanceUID="")
    assert error.offending_tag == tags.SeriesInstanceUID


def test_relational_query_needs_no_upper_unique_keys() -> None:
    assert parse("IMAGE", relational=True, Modality="CT").level is Level.IMAGE


def test_sequence_key_with_two_items_is_a900() -> None:
    error = refusal("SERIES", relational=True, RequestAttributesSequence=[Dataset(), Dataset()])
    assert error.reason is QueryFailure.INVALID_KEY and error.status == 0xA900
