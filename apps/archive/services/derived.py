"""Derived attributes of series, studies and patients, recomputed from their children.

PS3.4 C.6.1.1.x: Number of Series/Study/Patient Related Instances/Series/Studies,
Modalities in Study, SOP Classes in Study; plus the stored size for the admin.

Both paths run in the transaction that changes the index, after it has locked the patient
row and then the study row: writers into one study are serialised by those locks, and under
READ COMMITTED every statement after the lock sees the earlier writers' committed rows, so
no count is lost however many associations store into the study at once.

- Adding an instance (the hot path) updates them in O(1): ``F()`` increments and a merge
  into the multi-valued lists (:func:`derived_add_instance`).
- Removing or moving instances (deletes, replacements) recomputes them from the children
  with aggregate queries (``*_refresh_derived``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, F, Sum

from apps.archive.models import Instance, Patient, Series, Study
from apps.archive.models.study import MULTI_VALUE_SEPARATOR

__all__ = [
    "derived_add_instance",
    "patient_refresh_derived",
    "series_refresh_derived",
    "study_refresh_derived",
]


def _merged(values: str, value: str) -> str | None:
    """``values`` (backslash-separated, sorted) with ``value`` added; None if already there."""
    present = values.split(MULTI_VALUE_SEPARATOR) if values else []
    if not value or value in present:
        return None
    return MULTI_VALUE_SEPARATOR.join(sorted([*present, value]))


def derived_add_instance(
    *,
    study: Study,
    series: Series,
    size_bytes: int,
    sop_class_uid: str,
    new_series: bool,
    new_study: bool,
) -> None:
    """Count one added instance in its series, study and patient (``study`` is locked and fresh)."""
    Series.objects.filter(pk=series.pk).update(
        number_of_series_related_instances=F("number_of_series_related_instances") + 1,
        size_bytes=F("size_bytes") + size_bytes,
    )
    changes: dict[str, object] = {
        "number_of_study_related_instances": F("number_of_study_related_instances") + 1,
        "number_of_study_related_series": F("number_of_study_related_series") + int(new_series),
        "size_bytes": F("size_bytes") + size_bytes,
    }
    modalities = _merged(study.modalities_in_study, series.modality)
    if modalities is not None:
        changes["modalities_in_study"] = modalities[:1024]
    sop_classes = _merged(study.sop_classes_in_study, sop_class_uid)
    if sop_classes is not None:
        changes["sop_classes_in_study"] = sop_classes
    Study.objects.filter(pk=study.pk).update(**changes)
    Patient.objects.filter(pk=study.patient_id).update(
        number_of_patient_related_studies=F("number_of_patient_related_studies") + int(new_study),
        number_of_patient_related_series=F("number_of_patient_related_series") + int(new_series),
        number_of_patient_related_instances=F("number_of_patient_related_instances") + 1,
        size_bytes=F("size_bytes") + size_bytes,
    )


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
