"""Derived attributes of series, studies and patients, recomputed from their children.

PS3.4 C.6.1.1.x: Number of Series/Study/Patient Related Instances/Series/Studies,
Modalities in Study, SOP Classes in Study; plus the stored size for the admin.

They are recomputed (not incremented) by aggregate queries in the transaction that adds or
removes an instance, after that transaction has locked the study row (and the patient row):
writers into one study are serialised by that lock, and under READ COMMITTED each query
after the lock sees every earlier writer's committed rows, so no count is lost however many
associations store into the study at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Sum

from apps.archive.models import Instance, Patient, Series, Study
from apps.archive.models.study import MULTI_VALUE_SEPARATOR

__all__ = ["patient_refresh_derived", "series_refresh_derived", "study_refresh_derived"]


def series_refresh_derived(*, series_id: int) -> None:
    totals = Instance.objects.filter(series_id=series_id).aggregate(
        count=Count("id"), size=Sum("location__size_bytes")
    )
    Series.objects.filter(pk=series_id).update(
        number_of_series_related_instances=totals["count"] or 0, size_bytes=totals["size"] or 0
    )


def study_refresh_derived(*, study_id: int, series_ids: Iterable[int] = ()) -> None:
    """Refresh the study, after the series named (call with the study row locked)."""
    for series_id in series_ids:
        series_refresh_derived(series_id=series_id)
    totals = Series.objects.filter(study_id=study_id).aggregate(
        count=Count("id"), instances=Sum("number_of_series_related_instances"), size=Sum("size_bytes")
    )
    modalities = sorted(
        set(Series.objects.filter(study_id=study_id).exclude(modality="").values_list("modality", flat=True))
    )
    sop_classes = sorted(
        set(Instance.objects.filter(series__study_id=study_id).values_list("sop_class_uid", flat=True))
    )
    Study.objects.filter(pk=study_id).update(
        number_of_study_related_series=totals["count"] or 0,
        number_of_study_related_instances=totals["instances"] or 0,
        size_bytes=totals["size"] or 0,
        modalities_in_study=MULTI_VALUE_SEPARATOR.join(modalities)[:1024],
        sop_classes_in_study=MULTI_VALUE_SEPARATOR.join(sop_classes),
    )


def patient_refresh_derived(*, patient_id: int) -> None:
    """Refresh the patient's counters (call with the patient row locked)."""
    totals = Study.objects.filter(patient_id=patient_id).aggregate(
        count=Count("id"),
        series=Sum("number_of_study_related_series"),
        instances=Sum("number_of_study_related_instances"),
        size=Sum("size_bytes"),
    )
    Patient.objects.filter(pk=patient_id).update(
        number_of_patient_related_studies=totals["count"] or 0,
        number_of_patient_related_series=totals["series"] or 0,
        number_of_patient_related_instances=totals["instances"] or 0,
        size_bytes=totals["size"] or 0,
    )
