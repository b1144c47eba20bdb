"""Series: PS3.4 C.6.1.1.4 series-level keys and the QIDO-RS series defaults (PS3.18 10.6.3).

``number_of_series_related_instances`` and ``size_bytes`` are derived from the instances
below and recomputed in the transaction that adds or removes one.
"""

from __future__ import annotations

from django.db import models

from apps.archive.models.study import Study


class Series(models.Model):
    series_instance_uid = models.CharField("Series Instance UID", max_length=64, unique=True)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    modality = models.CharField("Modality", max_length=16, blank=True)
    series_number = models.IntegerField("Series Number", null=True, blank=True)
    series_description = models.CharField("Series Description", max_length=64, blank=True)
    body_part_examined = models.CharField("Body Part Examined", max_length=16, blank=True)
    series_date = models.DateField("Series Date", null=True, blank=True)
    series_time = models.TimeField("Series Time", null=True, blank=True)
    performed_procedure_step_start_date = models.DateField(null=True, blank=True)
    performed_procedure_step_start_time = models.TimeField(null=True, blank=True)
    institution_name = models.CharField("Institution Name", max_length=64, blank=True)
    station_name = models.CharField("Station Name", max_length=16, blank=True)
    # Request Attributes Sequence (0040,0275) items as {keyword: value} (Requested Procedure
    # ID, Scheduled Procedure Step ID), for sequence matching (PS3.4 C.2.2.2.6).
    request_attributes = models.JSONField("Request Attributes Sequence", default=list, blank=True)
    number_of_series_related_instances = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "series"
        indexes = [
            models.Index(fields=["modality"], name="archive_series_modality_idx"),
            models.Index(fields=["study", "series_number"], name="archive_series_number_idx"),
        ]

    def __str__(self) -> str:
        return self.series_instance_uid
