"""Django admin for the archive index: browse with counts and sizes, search, delete consistently.

Thin: the index is a view of stored files, so rows are read-only here; deleting goes
through ``services.study`` so that files and rows go together (files after commit).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from apps.archive.models import Instance, Patient, PatientConflict, Series, StorageLocation, Study
from apps.archive.person_names import person_name_search_key
from apps.archive.services.study import instance_delete, patient_delete, series_delete, study_delete


class _ReadOnlyIndexAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows mirror stored files: no adding or editing here, deleting through the services."""

    list_per_page = 50
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj: Any) -> str:
        return filesizeformat(obj.size_bytes)


@admin.register(Patient)
class PatientAdmin(_ReadOnlyIndexAdmin):
    list_display = (
        "patient_id",
        "issuer_of_patient_id",
        "patient_name",
        "patient_birth_date",
        "patient_sex",
        "number_of_patient_related_studies",
        "number_of_patient_related_instances",
        "size",
        "has_identity_conflict",
    )
    list_filter = ("has_identity_conflict", "patient_sex")
    search_fields = ("=patient_id",)
    search_help_text = "Patient ID (exact) or the start of the name (any case, accents ignored)"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Patient], search_term: str
    ) -> tuple[QuerySet[Patient], bool]:
        by_id, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if not search_term.strip():
            return by_id, may_have_duplicates
        key = person_name_search_key(search_term.strip())
        return by_id | queryset.filter(patient_name_search__startswith=key), may_have_duplicates

    def delete_model(self, request: HttpRequest, obj: Patient) -> None:
        patient_delete(patient=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Patient]) -> None:
        for patient in queryset:
            patient_delete(patient=patient, actor=request.user)


@admin.register(Study)
class StudyAdmin(_ReadOnlyIndexAdmin):
    list_display = (
        "study_instance_uid",
        "patient",
        "study_date",
        "accession_number",
        "modalities_in_study",
        "study_description",
        "number_of_study_related_series",
        "number_of_study_related_instances",
        "size",
    )
    list_select_related = ("patient",)
    list_filter = ("study_date",)
    date_hierarchy = "study_date"
    search_fields = ("=study_instance_uid", "=accession_number", "=patient__patient_id", "study_description")
    raw_id_fields = ("patient",)

    def delete_model(self, request: HttpRequest, obj: Study) -> None:
        study_delete(study=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        for study in queryset:
            study_delete(study=study, actor=request.user)


@admin.register(Series)
class SeriesAdmin(_ReadOnlyIndexAdmin):
    list_display = (
        "series_instance_uid",
        "study",
        "modality",
        "series_number",
        "series_description",
        "number_of_series_related_instances",
        "size",
    )
    list_select_related = ("study",)
    list_filter = ("modality",)
    search_fields = ("=series_instance_uid", "=study__study_instance_uid", "series_description")
    raw_id_fields = ("study",)

    def delete_model(self, request: HttpRequest, obj: Series) -> None:
        series_delete(series=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Series]) -> None:
        for series in queryset:
            series_delete(series=series, actor=request.user)


class StorageLocationInline(admin.StackedInline):  # type: ignore[type-arg]
    model = StorageLocation
    can_delete = False
    extra = 0
    readonly_fields = (
        "backend",
        "key",
        "size_bytes",
        "checksum",
        "transfer_syntax_uid",
        "received_at",
        "source_ae",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Instance)
class InstanceAdmin(_ReadOnlyIndexAdmin):
    list_display = ("sop_instance_uid", "series", "sop_class_uid", "instance_number", "file_size", "received")
    list_select_related = ("series", "location")
    search_fields = ("=sop_instance_uid", "=series__series_instance_uid", "=sop_class_uid")
    raw_id_fields = ("series",)
    inlines = (StorageLocationInline,)

    @admin.display(description="size", ordering="location__size_bytes")
    def file_size(self, obj: Instance) -> str:
        location = getattr(obj, "location", None)
        return filesizeformat(location.size_bytes) if location else "-"

    @admin.display(description="received", ordering="location__received_at")
    def received(self, obj: Instance) -> object:
        location = getattr(obj, "location", None)
        return location.received_at if location else None

    def delete_model(self, request: HttpRequest, obj: Instance) -> None:
        instance_delete(instance=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        for instance in queryset:
            instance_delete(instance=instance, actor=request.user)


@admin.register(PatientConflict)
class PatientConflictAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "patient",
        "attribute",
        "stored_value",
        "incoming_value",
        "source_ae",
        "detected_at",
        "resolved",
    )
    list_filter = ("attribute", "resolved")
    list_select_related = ("patient",)
    readonly_fields = (
        "patient",
        "attribute",
        "stored_value",
        "incoming_value",
        "study_instance_uid",
        "sop_instance_uid",
        "source_ae",
        "detected_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
