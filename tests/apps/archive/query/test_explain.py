"""PostgreSQL plans: every selective study-level key is served by an index (EXPLAIN).

The index is filled by the benchmark generator (``generate_index``), ANALYZEd, and
sequential scans are priced out of the planner for the transaction: a plan that still
scans a table whole has no index it can use for that key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from pytest_django import DjangoDbBlocker

from apps.archive.models import Patient, Study
from apps.archive.query import InformationModel, query_from_identifier, query_queryset
from apps.archive.query.synthetic import index_generate
from dicomkit.data.value_codec import ElementValue
from tests.apps.archive.query.conftest import identifier

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def synthetic(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.skip("EXPLAIN of PostgreSQL plans")
        index_generate(studies=600, instances_per_study=3, series_per_study=1, seed=7)
    yield
    with django_db_blocker.unblock():
        Patient.objects.all().delete()


@pytest.fixture
def generated(synthetic: None) -> tuple[Patient, Study]:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    study = Study.objects.select_related("patient").order_by("pk")[300]
    return study.patient, study


def plan(*, page: bool = True, **keys: ElementValue) -> str:
    """The plan of a page as ``query_execute`` reads it (or of the bare WHERE clause)."""
    keys.setdefault("StudyInstanceUID", "")
    query = query_from_identifier(identifier=identifier("STUDY", **keys), model=InformationModel.STUDY_ROOT)
    rows = query_queryset(query).values("pk", "study_instance_uid", "patient__patient_name")
    return rows.order_by("pk")[:200].explain() if page else rows.explain()


def assert_index_scan(text: str, index: str) -> None:
    assert index in text, text
    assert "Seq Scan" not in text, text


def test_patient_name_prefix_uses_the_search_key_index(generated: tuple[Patient, Study]) -> None:
    patient, _study = generated
    prefix = patient.patient_name[:4].lower()
    assert_index_scan(plan(PatientName=f"{prefix}*"), "archive_patient_name")


@pytest.mark.parametrize("pattern", ["山田太郎*", "*=山田^太郎*", "*rohan*"])
def test_names_not_anchored_at_the_start_use_the_trigram_index(
    generated: tuple[Patient, Study], pattern: str
) -> None:
    # On 300 patients, walking the whole primary key index is the cheapest plan, which
    # says nothing about the index at scale; GIN indexes are read by bitmap scans only,
    # so plain index scans are priced out as well.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
    assert_index_scan(plan(page=False, PatientName=pattern), "archive_patient_name_trgm")


def test_study_date_range_uses_the_date_index(generated: tuple[Patient, Study]) -> None:
    assert_index_scan(plan(StudyDate="20200101-20200110"), "archive_study_date_idx")


def test_open_date_range_uses_the_date_index(generated: tuple[Patient, Study]) -> None:
    assert_index_scan(plan(StudyDate="20240601-"), "archive_study_date_idx")


def test_patient_id_uses_its_index(generated: tuple[Patient, Study]) -> None:
    patient, _study = generated
    assert_index_scan(plan(PatientID=patient.patient_id), "archive_patient_id_idx")


def test_accession_number_uses_its_index(generated: tuple[Patient, Study]) -> None:
    _patient, study = generated
    assert_index_scan(plan(AccessionNumber=study.accession_number), "archive_study_accession_idx")


def test_study_uid_uses_the_unique_index(generated: tuple[Patient, Study]) -> None:
    _patient, study = generated
    assert_index_scan(plan(StudyInstanceUID=study.study_instance_uid), "study_instance_uid")


def test_pages_are_keyset_not_offset(generated: tuple[Patient, Study]) -> None:
    text = plan(StudyDate="20150101-")
    assert "OFFSET" not in text.upper()


def test_a_page_of_a_modalities_in_study_query_starts_the_series_scan_at_the_page(
    generated: tuple[Patient, Study],
) -> None:
    _patient, study = generated
    query = query_from_identifier(
        identifier=identifier("STUDY", StudyInstanceUID="", ModalitiesInStudy="CT"),
        model=InformationModel.STUDY_ROOT,
    )
    rows = query_queryset(query, after=study.pk).values("pk", "study_instance_uid")
    text = rows.order_by("pk")[:200].explain()
    # Without the bound, a merge semi-join reads the series of every earlier study again.
    assert f"study_id > {study.pk})" in text, text
    assert "Seq Scan" not in text, text
