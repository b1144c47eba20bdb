"""Deleting removes rows and files together; derived attributes follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.services.ingest import IngestResult, instance_ingest
from apps.archive.services.study import instance_delete, series_delete, study_delete
from apps.archive.signals import study_deleted
from tests.apps.archive.conftest import stored_files
from tests.builders import write_ct

pytestmark = pytest.mark.django_db


def _ingest(tmp_path: Path, name: str, **overrides: str) -> IngestResult:
    write_ct(tmp_path / f"{name}.dcm", **overrides)
    return instance_ingest(source=tmp_path / f"{name}.dcm")


@pytest.fixture
def two_studies(storage_root: Path, tmp_path: Path) -> list[IngestResult]:
    results = [
        _ingest(tmp_path, "a1", StudyInstanceUID="1.3.1", SeriesInstanceUID="1.3.1.1"),
        _ingest(tmp_path, "a2", StudyInstanceUID="1.3.1", SeriesInstanceUID="1.3.1.1"),
        _ingest(tmp_path, "a3", StudyInstanceUID="1.3.1", SeriesInstanceUID="1.3.1.2", Modality="MR"),
        _ingest(tmp_path, "b1", StudyInstanceUID="1.3.2", SeriesInstanceUID="1.3.2.1"),
    ]
    return results


def test_study_delete_removes_its_rows_and_files_and_keeps_the_patient(
    storage_root: Path,
    two_studies: list[IngestResult],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    events: list[dict[str, object]] = []
    study_deleted.connect(
        lambda sender, **kw: events.append(kw), dispatch_uid="test-study-deleted", weak=False
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = study_delete(study=Study.objects.get(study_instance_uid="1.3.1"))
    finally:
        study_deleted.disconnect(dispatch_uid="test-study-deleted")
    assert (result.instances, result.files) == (3, 3)
    assert stored_files(storage_root) == [storage_root / two_studies[3].key]
    assert list(Study.objects.values_list("study_instance_uid", flat=True)) == ["1.3.2"]
    assert Instance.objects.count() == StorageLocation.objects.count() == 1
    patient = Patient.objects.get()
    assert (patient.number_of_patient_related_studies, patient.number_of_patient_related_instances) == (1, 1)
    assert events[0]["study_instance_uid"] == "1.3.1" and events[0]["instance_count"] == 3


def test_files_stay_when_the_transaction_does_not_commit(
    storage_root: Path,
    two_studies: list[IngestResult],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        study_delete(study=Study.objects.get(study_instance_uid="1.3.1"))
    assert len(stored_files(storage_root)) == 4  # removed only after commit


def test_instance_delete_updates_derived_attributes(
    storage_root: Path,
    two_studies: list[IngestResult],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        instance_delete(instance=Instance.objects.get(sop_instance_uid=two_studies[2].sop_instance_uid))
    study = Study.objects.get(study_instance_uid="1.3.1")
    assert (study.number_of_study_related_series, study.number_of_study_related_instances) == (1, 2)
    assert study.modalities == ["CT"]
    assert not Series.objects.filter(series_instance_uid="1.3.1.2").exists()
    assert not (storage_root / two_studies[2].key).exists()


def test_deleting_the_last_instance_removes_series_and_study(
    storage_root: Path,
    two_studies: list[IngestResult],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        instance_delete(instance=Instance.objects.get(sop_instance_uid=two_studies[3].sop_instance_uid))
    assert not Study.objects.filter(study_instance_uid="1.3.2").exists()
    assert Patient.objects.get().number_of_patient_related_studies == 1


def test_series_delete(
    storage_root: Path,
    two_studies: list[IngestResult],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        series_delete(series=Series.objects.get(series_instance_uid="1.3.1.1"))
    study = Study.objects.get(study_instance_uid="1.3.1")
    assert (study.number_of_study_related_series, study.number_of_study_related_instances) == (1, 1)
    assert len(stored_files(storage_root)) == 2


def test_a_deleted_study_can_be_received_again(
    storage_root: Path,
    tmp_path: Path,
    two_studies: list[IngestResult],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        study_delete(study=Study.objects.get(study_instance_uid="1.3.2"))
    again = instance_ingest(source=tmp_path / "b1.dcm")
    assert again.outcome.value == "stored" and (storage_root / again.key).exists()
