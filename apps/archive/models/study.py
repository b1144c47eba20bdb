"""Study: PS3.4 C.6.1.1.3 / C.6.2.1.2 study-level keys and the QIDO-RS study defaults.

``modalities_in_study`` and ``sop_classes_in_study`` are multi-valued, stored as DICOM
writes them (values joined by a backslash, sorted); queries on a modality go through
``Series.modality``, which is indexed. The ``number_of_*``, ``modalities_in_study``,
``sop_classes_in_study`` and ``size_bytes`` columns are derived from the series and
instances below and recomputed, under a lock on this row, in the transaction that adds or
removes an instance.
"""

from __future__ import annotations

from django.db import models

from apps.archive.models.patient import Patient

MULTI_VALUE_SEPARATOR = "\\"


class Study(models.Model):
    study_instance_uid = models.CharField("Study Instance UID", max_length=64, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="studies")
    study_date = models.DateField("Study Date", null=True, blank=True)
    study_time = models.TimeField("Study Time", null=True, blank=True)
    accession_number = models.CharField("Accession Number", max_length=16, blank=True)
    study_id = models.CharField("Study ID", max_length=16, blank=True)
    study_description = models.CharField("Study Description", max_length=64, blank=True)
    referring_physician_name = models.CharField("Referring Physician's Name", max_length=400, blank=True)
    referring_physician_name_search = models.CharField(max_length=400, blank=True, editable=False)
    # As the first instance stored it (values joined by a backslash): C-FIND responses
    # are encoded in it (apps.archive.query).
    specific_character_set = models.CharField("Specific Character Set", max_length=256, blank=True)
    modalities_in_study = models.CharField("Modalities in Study", max_length=1024, blank=True)
    sop_classes_in_study = models.TextField("SOP Classes in Study", blank=True)
    number_of_study_related_series = models.PositiveIntegerField(default=0)
    number_of_study_related_instances = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "studies"
        indexes = [
            models.Index(fields=["study_date", "study_time"], name="archive_study_date_idx"),
            models.Index(fields=["accession_number"], name="archive_study_accession_idx"),
            models.Index(
                fields=["referring_physician_name_search"],
                name="archive_study_referring_idx",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["created_at"], name="archive_study_created_idx"),
        ]

    def __str__(self) -> str:
        return self.study_instance_uid

    @property
    def modalities(self) -> list[str]:
        return self.modalities_in_study.split(MULTI_VALUE_SEPARATOR) if self.modalities_in_study else []

    @property
    def sop_classes(self) -> list[str]:
        return self.sop_classes_in_study.split(MULTI_VALUE_SEPARATOR) if self.sop_classes_in_study else []
