"""Read access to the archive index for other apps (dicom_net, dicomweb, api, workflow).

The query engine shared by C-FIND and QIDO-RS builds on these; matching of names uses
:func:`~apps.archive.person_names.person_name_search_key` on both sides.
"""

from __future__ import annotations

from typing import BinaryIO

from django.db.models import QuerySet

from apps.archive.conf import storage_backend_named
from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.person_names import person_name_search_key

__all__ = [
    "instance_location_get",
    "instance_open",
    "instances_of_series",
    "instances_of_study",
    "patients_by_name_prefix",
    "series_of_study",
    "studies_of_patient",
    "study_get",
]


def study_get(*, study_instance_uid: str) -> Study | None:
    return Study.objects.select_related("patient").filter(study_instance_uid=study_instance_uid).first()


def studies_of_patient(*, patient_id: str, issuer_of_patient_id: str = "") -> QuerySet[Study]:
    return Study.objects.filter(
        patient__patient_id=patient_id, patient__issuer_of_patient_id=issuer_of_patient_id
    ).order_by("-study_date", "-study_time")


def patients_by_name_prefix(*, prefix: str) -> QuerySet[Patient]:
    """Patients whose name starts with ``prefix``, ignoring case and Latin accents."""
    return Patient.objects.filter(patient_name_search__startswith=person_name_search_key(prefix))


def series_of_study(*, study_instance_uid: str) -> QuerySet[Series]:
    return Series.objects.filter(study__study_instance_uid=study_instance_uid).order_by("series_number", "pk")


def instances_of_study(*, study_instance_uid: str) -> QuerySet[Instance]:
    return (
        Instance.objects.filter(series__study__study_instance_uid=study_instance_uid)
        .select_related("location", "series")
        .order_by("series__series_number", "series_id", "instance_number", "pk")
    )


def instances_of_series(
    *, series_instance_uid: str, study_instance_uid: str | None = None
) -> QuerySet[Instance]:
    """The instances of a series in instance order; with ``study_instance_uid``, only if the
    series belongs to that study."""
    instances = Instance.objects.filter(series__series_instance_uid=series_instance_uid)
    if study_instance_uid is not None:
        instances = instances.filter(series__study__study_instance_uid=study_instance_uid)
    return instances.select_related("location", "series").order_by("instance_number", "pk")


def instance_location_get(*, sop_instance_uid: str) -> StorageLocation | None:
    return StorageLocation.objects.filter(instance__sop_instance_uid=sop_instance_uid).first()


def instance_open(*, sop_instance_uid: str) -> BinaryIO | None:
    """The stored PS3.10 file of an instance, open for reading (None if not indexed)."""
    location = instance_location_get(sop_instance_uid=sop_instance_uid)
    if location is None:
        return None
    return storage_backend_named(location.backend).open(location.key)
