"""Instance: PS3.4 C.6.1.1.5 instance-level keys and the QIDO-RS instance defaults (PS3.18 10.6.3).

Each instance has exactly one :class:`~apps.archive.models.location.StorageLocation`.
"""

from __future__ import annotations

from django.db import models

from apps.archive.models.series import Series


class Instance(models.Model):
    sop_instance_uid = models.CharField("SOP Instance UID", max_length=64, unique=True)
    sop_class_uid = models.CharField("SOP Class UID", max_length=64)
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    instance_number = models.IntegerField("Instance Number", null=True, blank=True)
    content_date = models.DateField("Content Date", null=True, blank=True)
    content_time = models.TimeField("Content Time", null=True, blank=True)
    rows = models.PositiveIntegerField("Rows", null=True, blank=True)
    columns = models.PositiveIntegerField("Columns", null=True, blank=True)
    bits_allocated = models.PositiveIntegerField("Bits Allocated", null=True, blank=True)
    number_of_frames = models.PositiveIntegerField("Number of Frames", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["sop_class_uid"], name="archive_instance_class_idx"),
            models.Index(fields=["series", "instance_number"], name="archive_instance_number_idx"),
        ]

    def __str__(self) -> str:
        return self.sop_instance_uid
