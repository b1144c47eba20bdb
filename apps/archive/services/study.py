"""Removing instances, series, studies and patients: index rows and files, consistently.

The rows go in one transaction (study and patient rows locked, derived attributes
recomputed); the files are deleted after it commits (``transaction.on_commit``), so a
rollback leaves every file in place. A crash between commit and file removal leaves files
without rows, which ``verify_storage`` reports; never rows without files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from apps.archive.conf import storage_backend_named
from apps.archive.errors import StorageError
from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.services.derived import patient_refresh_derived, study_refresh_derived
from apps.archive.signals import instance_deleted, study_deleted

__all__ = [
    "DeletionResult",
    "files_delete_on_commit",
    "instance_delete",
    "patient_delete",
    "series_delete",
    "study_delete",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeletionResult:
    instances: int
    files: int  # files scheduled for removal after commit


def files_delete_on_commit(locations: list[tuple[str, str]]) -> None:
    """Remove these (backend, key) files once the current transaction has committed."""
    if not locations:
        return

    def remove() -> None:
        for backend_name, key in locations:
            try:
                storage_backend_named(backend_name).delete(key)
            except (OSError, StorageError):
                logger.warning("could not remove a stored file", extra={"backend": backend_name, "key": key})

    transaction.on_commit(remove)


def _locations_of(**filters: object) -> list[tuple[str, str]]:
    return list(StorageLocation.objects.filter(**filters).values_list("backend", "key"))


def _lock(patient_id: int, study_id: int) -> None:
    """Lock patient then study (the order every writer uses)."""
    Patient.objects.select_for_update().filter(pk=patient_id).first()
    Study.objects.select_for_update().filter(pk=study_id).first()


def study_delete(*, study: Study, actor: object = None) -> DeletionResult:
    """Remove a study with its series, instances and files. The patient stays."""
    with transaction.atomic():
        _lock(study.patient_id, study.pk)
        locations = _locations_of(instance__series__study_id=study.pk)
        count = Instance.objects.filter(series__study_id=study.pk).count()
        uid, patient_pk = study.study_instance_uid, study.patient_id
        Study.objects.filter(pk=study.pk).delete()
        patient_refresh_derived(patient_id=patient_pk)
        files_delete_on_commit(locations)
        transaction.on_commit(
            lambda: study_deleted.send(
                sender=Study, study_instance_uid=uid, patient_pk=patient_pk, instance_count=count, actor=actor
            )
        )
    return DeletionResult(instances=count, files=len(locations))


def series_delete(*, series: Series, actor: object = None) -> DeletionResult:
    """Remove a series with its instances and files; an emptied study goes too."""
    with transaction.atomic():
        study = Study.objects.get(pk=series.study_id)
        _lock(study.patient_id, study.pk)
        locations = _locations_of(instance__series_id=series.pk)
        count = Instance.objects.filter(series_id=series.pk).count()
        Series.objects.filter(pk=series.pk).delete()
        _after_removal(study)
        files_delete_on_commit(locations)
    return DeletionResult(instances=count, files=len(locations))


def instance_delete(*, instance: Instance, actor: object = None) -> DeletionResult:
    """Remove one instance and its file; an emptied series and study go too."""
    with transaction.atomic():
        series = Series.objects.select_related("study").get(pk=instance.series_id)
        study = series.study
        _lock(study.patient_id, study.pk)
        locations = _locations_of(instance_id=instance.pk)
        sop_uid = instance.sop_instance_uid
        series_uid, study_uid = series.series_instance_uid, study.study_instance_uid
        Instance.objects.filter(pk=instance.pk).delete()
        if not Instance.objects.filter(series_id=series.pk).exists():
            Series.objects.filter(pk=series.pk).delete()
            _after_removal(study)
        else:
            _after_removal(study, series_ids=[series.pk])
        files_delete_on_commit(locations)
        transaction.on_commit(
            lambda: instance_deleted.send(
                sender=Instance,
                sop_instance_uid=sop_uid,
                series_instance_uid=series_uid,
                study_instance_uid=study_uid,
                actor=actor,
            )
        )
    return DeletionResult(instances=1, files=len(locations))


def _after_removal(study: Study, *, series_ids: list[int] | None = None) -> None:
    """Refresh derived attributes after children were removed; drop the study if empty."""
    if not Series.objects.filter(study_id=study.pk).exists():
        Study.objects.filter(pk=study.pk).delete()
    else:
        study_refresh_derived(study_id=study.pk, series_ids=series_ids or [])
    patient_refresh_derived(patient_id=study.patient_id)


def patient_delete(*, patient: Patient, actor: object = None) -> DeletionResult:
    """Remove a patient with all studies and files."""
    instances = files = 0
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        for study in Study.objects.filter(patient_id=patient.pk):
            result = study_delete(study=study, actor=actor)
            instances += result.instances
            files += result.files
        Patient.objects.filter(pk=patient.pk).delete()
    return DeletionResult(instances=instances, files=files)
