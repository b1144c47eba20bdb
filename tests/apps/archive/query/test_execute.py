"""Responses: return keys (computed ones, unknown ones), character sets, paging, cancel; encoded."""

from __future__ import annotations

import io

import pydicom
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.archive.query import InformationModel, query_execute, query_execute_encoded, query_from_identifier
from dicomkit.data import tags
from dicomkit.data import uids as registry
from dicomkit.data.dataset import Dataset
from dicomkit.errors import EncodeError
from dicomkit.part10.writer import encode_dataset
from tests.apps.archive.query.conftest import assert_encoded_as_written, find, identifier
from tests.apps.archive.query.generated import Archive
from tests.factories.archive import StudyFactory

pytestmark = pytest.mark.django_db

PATIENT_ROOT = InformationModel.PATIENT_ROOT


def by_uid(responses: list[Dataset], keyword: str) -> dict[str, Dataset]:
    return {r.get_str(keyword, ""): r for r in responses}


def test_study_level_returns_requested_stored_and_computed_keys(archive: Archive) -> None:
    responses = find(
        "STUDY",
        StudyInstanceUID="",
        PatientName="",
        PatientID="",
        StudyDate="",
        StudyTime="",
        ModalitiesInStudy="",
        SOPClassesInStudy="",
        NumberOfStudyRelatedSeries="",
        NumberOfStudyRelatedInstances="",
        NumberOfPatientRelatedStudies="",
    )
    got = by_uid(responses, "StudyInstanceUID")
    assert len(got) == len(archive.studies)
    for study in archive.studies:
        response = got[study.uid]
        assert response.get_str("QueryRetrieveLevel") == "STUDY"
        assert response.get_str("PatientID") == study.patient.patient_id
        assert response.get_str("PatientName", "") == study.patient.name
        assert response.get_str("StudyDate") == (study.date.strftime("%Y%m%d") if study.date else "")
        assert response.get_str("StudyTime") == (study.time.strftime("%H%M%S") if study.time else "")
        assert sorted(response.get_strs("ModalitiesInStudy")) == sorted({s.modality for s in study.series})
        assert sorted(response.get_strs("SOPClassesInStudy")) == sorted(
            {i.sop_class for i in study.instances}
        )
        assert response.get_int("NumberOfStudyRelatedSeries") == len(study.series)
        assert response.get_int("NumberOfStudyRelatedInstances") == len(study.instances)
        assert response.get_int("NumberOfPatientRelatedStudies") == len(study.patient.studies)


def test_unknown_keys_are_returned_empty_and_supplied_keys_filled(archive: Archive) -> None:
    query = query_from_identifier(
        identifier=identifier(
            "SERIES",
            StudyInstanceUID=archive.studies[0].uid,
            PatientAge="",
            SOPInstanceUID="",
            OtherPatientIDsSequence=[],
            InstanceAvailability="",
            RetrieveAETitle="",
        ),
        model=InformationModel.STUDY_ROOT,
    )
    responses = list(query_execute(query=query, retrieve_ae_title="PACS"))
    assert_encoded_as_written(query, responses, retrieve_ae_title="PACS")
    assert len(responses) == len(archive.studies[0].series)
    for response in responses:
        assert response.get_element("PatientAge") is not None and response.get_str("PatientAge") == ""
        assert response.get_str("SOPInstanceUID") == ""  # a key of a level below
        assert response.get_sequence("OtherPatientIDsSequence") == []
        assert response.get_str("InstanceAvailability") == "ONLINE"
        assert response.get_str("RetrieveAETitle") == "PACS"
        # The unique key of the level is always there, asked for or not.
        assert response.get_str("SeriesInstanceUID") in {s.uid for s in archive.studies[0].series}


def test_patient_level_counts(archive: Archive) -> None:
    responses = find(
        "PATIENT",
        model=PATIENT_ROOT,
        PatientID="",
        NumberOfPatientRelatedStudies="",
        NumberOfPatientRelatedSeries="",
        NumberOfPatientRelatedInstances="",
    )
    got = by_uid(responses, "PatientID")
    for patient in archive.patients:
        response = got[patient.patient_id]
        assert response.get_int("NumberOfPatientRelatedStudies") == len(patient.studies)
        assert response.get_int("NumberOfPatientRelatedSeries") == sum(len(s.series) for s in patient.studies)
        assert response.get_int("NumberOfPatientRelatedInstances") == sum(
            len(s.instances) for s in patient.studies
        )


def test_image_level_keys(archive: Archive) -> None:
    series = archive.series[3]
    responses = find(
        "IMAGE",
        StudyInstanceUID=series.study.uid,
        SeriesInstanceUID=series.uid,
        SOPInstanceUID="",
        SOPClassUID="",
        InstanceNumber="",
        Rows="",
        AvailableTransferSyntaxUID="",
    )
    got = by_uid(responses, "SOPInstanceUID")
    assert set(got) == {i.uid for i in series.instances}
    for instance in series.instances:
        response = got[instance.uid]
        assert response.get_str("SOPClassUID") == instance.sop_class
        assert response.get_int("InstanceNumber") == instance.number
        assert response.get_int("Rows") == instance.rows
        assert response.get_str("AvailableTransferSyntaxUID") == registry.ExplicitVRLittleEndian
        assert response.get_str("StudyInstanceUID") == series.study.uid


def _pydicom_view(response: Dataset) -> pydicom.Dataset:
    """The response as encoded for the wire, read back by pydicom."""
    data = encode_dataset(response, registry.ImplicitVRLittleEndian)
    return pydicom.dcmread(io.BytesIO(data), force=True)


def test_responses_carry_the_stored_character_set_and_encode_in_it(archive: Archive) -> None:
    responses = find("PATIENT", model=PATIENT_ROOT, PatientID="", PatientName="")
    got = by_uid(responses, "PatientID")
    for patient in archive.patients:
        response = got[patient.patient_id]
        stored = patient.charset.split("\\") if patient.charset else []
        if patient.name.isascii():
            assert response.get_strs("SpecificCharacterSet") == stored
        else:
            assert response.get_strs("SpecificCharacterSet") == stored and stored
        assert str(_pydicom_view(response).PatientName) == patient.name


def test_a_value_the_stored_character_set_cannot_hold_is_sent_as_utf8() -> None:
    StudyFactory.create(
        patient__patient_name="Ïsolde^Æ", patient__patient_name_search="ISOLDE^Æ", study_id="LATIN"
    )
    responses = find("STUDY", StudyID="LATIN", PatientName="")
    assert [r.get_strs("SpecificCharacterSet") for r in responses] == [["ISO_IR 192"]]
    assert str(_pydicom_view(responses[0]).PatientName) == "Ïsolde^Æ"


def test_paging_returns_everything_once_in_one_statement_per_page(archive: Archive) -> None:
    query = query_from_identifier(
        identifier=identifier("IMAGE", SOPInstanceUID=""), model=PATIENT_ROOT, relational=True
    )
    with CaptureQueriesContext(connection) as captured:
        responses = list(query_execute(query=query, page_size=50))
    uids = [r.get_str("SOPInstanceUID", "") for r in responses]  # absent: "", which no instance has
    assert sorted(uids) == sorted(i.uid for i in archive.instances)
    assert len(captured.captured_queries) == len(archive.instances) // 50 + 1
    assert all("OFFSET" not in q["sql"] for q in captured.captured_queries)


def test_cancel_stops_the_stream_without_reading_further_pages(archive: Archive) -> None:
    query = query_from_identifier(
        identifier=identifier("IMAGE", SOPInstanceUID=""), model=PATIENT_ROOT, relational=True
    )
    seen: list[Dataset] = []
    with CaptureQueriesContext(connection) as captured:
        for response in query_execute(query=query, page_size=10, cancelled=lambda: len(seen) >= 15):
            seen.append(response)
    assert len(seen) == 15
    assert len(captured.captured_queries) == 2


def test_cancel_before_the_first_page_reads_nothing(archive: Archive) -> None:
    query = query_from_identifier(
        identifier=identifier("STUDY", StudyInstanceUID=""), model=PATIENT_ROOT, relational=True
    )
    with CaptureQueriesContext(connection) as captured:
        assert list(query_execute(query=query, cancelled=lambda: True)) == []
    assert captured.captured_queries == []


def test_response_tags_are_those_requested_plus_level_and_charset(archive: Archive) -> None:
    responses = find("STUDY", AccessionNumber=archive.studies[1].accession, PatientName="")
    assert len(responses) == 1
    assert set(responses[0]) <= {
        tags.AccessionNumber,
        tags.PatientName,
        tags.QueryRetrieveLevel,
        tags.StudyInstanceUID,
        tags.SpecificCharacterSet,
    }


def test_encoded_responses_fill_supplied_keys_as_the_datasets_do(archive: Archive) -> None:
    query = query_from_identifier(
        identifier=identifier(
            "STUDY",
            PatientID=archive.studies[2].patient.patient_id,
            PatientAge="",
            InstanceAvailability="",
            RetrieveAETitle="",
            StudyTime="",
            NumberOfStudyRelatedSeries="",
        ),
        model=InformationModel.STUDY_ROOT,
    )
    responses = list(query_execute(query=query, retrieve_ae_title="PACS"))
    assert responses
    assert_encoded_as_written(query, responses, retrieve_ae_title="PACS")
    assert_encoded_as_written(query, list(query_execute(query=query)))  # no Retrieve AE Title


def test_a_stored_value_its_vr_cannot_hold_fails_encoding_in_both_paths() -> None:
    StudyFactory.create(patient__patient_sex="Ö", study_id="BADSEX")
    responses = find("STUDY", StudyID="BADSEX", PatientSex="")  # compares the failures too
    assert [r.get_str("PatientSex") for r in responses] == ["Ö"]
    with pytest.raises(EncodeError):
        encode_dataset(responses[0], registry.ExplicitVRLittleEndian)


def test_the_encoded_stream_stops_on_cancel_as_the_dataset_stream_does(archive: Archive) -> None:
    query = query_from_identifier(
        identifier=identifier("IMAGE", SOPInstanceUID=""), model=PATIENT_ROOT, relational=True
    )
    seen: list[bytes] = []
    with CaptureQueriesContext(connection) as captured:
        for response in query_execute_encoded(
            query=query,
            transfer_syntax=registry.ExplicitVRLittleEndian,
            page_size=10,
            cancelled=lambda: len(seen) >= 15,
        ):
            seen.append(response)
    assert len(seen) == 15
    assert len(captured.captured_queries) == 2


def test_pages_grow_to_the_largest_size_asked_for(archive: Archive) -> None:
    query = query_from_identifier(
        identifier=identifier("IMAGE", SOPInstanceUID=""), model=PATIENT_ROOT, relational=True
    )
    with CaptureQueriesContext(connection) as captured:
        responses = list(
            query_execute_encoded(
                query=query, transfer_syntax=registry.ExplicitVRLittleEndian, page_size=5, max_page_size=20
            )
        )
    assert len(responses) == len(archive.instances)
    limits = [int(q["sql"].rsplit("LIMIT", 1)[1]) for q in captured.captured_queries]
    assert limits == [min(5 * 2**page, 20) for page in range(len(limits))]
    assert sum(limits[:-1]) < len(archive.instances) <= sum(limits)
