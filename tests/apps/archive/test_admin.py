"""The admin lists the index with counts and sizes, searches it, and deletes studies with their files."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks

from apps.archive.models import Instance, Patient, Series, Study
from apps.archive.services.ingest import IngestResult, instance_ingest
from tests.apps.archive.conftest import stored_files
from tests.builders import write_ct

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive(storage_root: Path, tmp_path: Path) -> list[IngestResult]:
    results = []
    for index, (study, pid, name) in enumerate(
        [("1.5.1", "P1", "Doe^John"), ("1.5.1", "P1", "Doe^John"), ("1.5.2", "P2", "Müller^Anna")]
    ):
        path = tmp_path / f"{index}.dcm"
        write_ct(
            path,
            StudyInstanceUID=study,
            SeriesInstanceUID=f"{study}.1",
            PatientID=pid,
            PatientName=name,
            AccessionNumber=f"ACC-{study}",
        )
        results.append(instance_ingest(source=path))
    return results


@pytest.mark.parametrize("model", ["patient", "study", "series", "instance", "patientconflict"])
def test_changelists_render(admin_client: Client, archive: list[IngestResult], model: str) -> None:
    response = admin_client.get(f"/admin/archive/{model}/")
    assert response.status_code == 200


def test_study_changelist_shows_counts_and_sizes(admin_client: Client, archive: list[IngestResult]) -> None:
    content = admin_client.get("/admin/archive/study/").content.decode()
    study = Study.objects.get(study_instance_uid="1.5.1")
    assert study.number_of_study_related_instances == 2
    assert "1.5.1" in content and "ACC-1.5.1" in content
    assert "KB" in content or "bytes" in content


@pytest.mark.parametrize(
    ("url", "term", "expected"),
    [
        ("/admin/archive/patient/", "mül", "P2"),
        ("/admin/archive/patient/", "P1", "Doe^John"),
        ("/admin/archive/study/", "ACC-1.5.2", "1.5.2"),
        ("/admin/archive/series/", "1.5.1.1", "1.5.1.1"),
    ],
)
def test_search_by_common_keys(
    admin_client: Client, archive: list[IngestResult], url: str, term: str, expected: str
) -> None:
    response = admin_client.get(url, {"q": term})
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_instance_page_shows_its_storage_location(admin_client: Client, archive: list[IngestResult]) -> None:
    instance = Instance.objects.get(sop_instance_uid=archive[0].sop_instance_uid)
    response = admin_client.get(f"/admin/archive/instance/{instance.pk}/change/")
    assert response.status_code == 200
    assert archive[0].checksum in response.content.decode()


def test_deleting_a_study_in_the_admin_removes_its_files_and_rows(
    admin_client: Client,
    archive: list[IngestResult],
    storage_root: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    study = Study.objects.get(study_instance_uid="1.5.1")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/archive/study/{study.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Study.objects.filter(study_instance_uid="1.5.1").exists()
    assert not Series.objects.filter(series_instance_uid="1.5.1.1").exists()
    assert stored_files(storage_root) == [storage_root / archive[2].key]
    assert Patient.objects.get(patient_id="P1").number_of_patient_related_studies == 0


def test_bulk_delete_action_goes_through_the_service(
    admin_client: Client,
    archive: list[IngestResult],
    storage_root: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    ids = [str(pk) for pk in Study.objects.values_list("pk", flat=True)]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/archive/study/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
        )
    assert response.status_code == 302
    assert not Study.objects.exists()
    assert stored_files(storage_root) == []
