"""The O(1) updates on ingest agree with a full recomputation from the children."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks

from apps.archive.models import Instance, Patient, Series, Study
from apps.archive.services.derived import patient_refresh_derived, study_refresh_derived
from apps.archive.services.ingest import instance_ingest
from apps.archive.services.study import instance_delete
from dicomkit.data import uids
from tests.builders import write_ct

pytestmark = pytest.mark.django_db

FIELDS: dict[type[Patient | Study | Series], list[str]] = {
    Patient: ["number_of_patient_related_studies", "number_of_patient_related_series",
              "number_of_patient_related_instances", "size_bytes"],
    Study: ["number_of_study_related_series", "number_of_study_related_instances", "size_bytes",
            "modalities_in_study", "sop_classes_in_study"],
    Series: ["number_of_series_related_instances", "size_bytes"],
}  # fmt: skip


def _snapshot() -> dict[str, list[tuple[object, ...]]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values_list(*fields))
        for model, fields in FIELDS.items()
    }


def _recompute() -> None:
    for study in Study.objects.all():
        study_refresh_derived(study_id=study.pk, series_ids=list(study.series.values_list("pk", flat=True)))
    for patient in Patient.objects.all():
        patient_refresh_derived(patient_id=patient.pk)


def test_incremental_counts_equal_a_recomputation(
    storage_root: Path, tmp_path: Path, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    plan = [
        ("P1", "1.6.1", "1.6.1.1", "CT", uids.CTImageStorage, ""),
        ("P1", "1.6.1", "1.6.1.1", "CT", uids.CTImageStorage, "extra pixel"),
        ("P1", "1.6.1", "1.6.1.2", "SR", uids.BasicTextSRStorage, ""),
        ("P1", "1.6.2", "1.6.2.1", "MR", uids.MRImageStorage, ""),
        ("P2", "1.6.3", "1.6.3.1", "", uids.SecondaryCaptureImageStorage, ""),
        ("P2", "1.6.3", "1.6.3.1", "OT", uids.SecondaryCaptureImageStorage, ""),  # fills the empty modality
    ]
    results = []
    for index, (pid, study, series, modality, sop_class, description) in enumerate(plan):
        path = tmp_path / f"{index}.dcm"
        write_ct(path, PatientID=pid, StudyInstanceUID=study, SeriesInstanceUID=series, Modality=modality,
                 SOPClassUID=sop_class, SeriesDescription=description or None)  # fmt: skip
        results.append(instance_ingest(source=path))
    incremental = _snapshot()
    _recompute()
    assert _snapshot() == incremental
    assert Study.objects.get(study_instance_uid="1.6.3").modalities == ["OT"]

    with django_capture_on_commit_callbacks(execute=True):
        instance_delete(instance=Instance.objects.get(sop_instance_uid=results[2].sop_instance_uid))
    after_delete = _snapshot()
    _recompute()
    assert _snapshot() == after_delete
    assert Study.objects.get(study_instance_uid="1.6.1").modalities == ["CT"]
