"""Patient: the one patient identity of the product (Patient ID + Issuer of Patient ID).

PS3.4 C.6.1.1.2 (Patient Root Q/R, patient level) and PS3.18 10.6 (QIDO-RS). The worklist
shares this identity (``services.patient.patient_get_or_create``). A known Patient ID whose
name, birth date or sex differ is handled by ``PACS_PATIENT_CONFLICT_POLICY``; under
``flag`` the differing value is kept as a :class:`PatientConflict` for review.

Invariants: at most one row per non-empty (Patient ID, Issuer); rows with an empty Patient
ID are never shared between studies. The ``number_of_*`` counters are derived from the
studies below and updated in the transaction that changes them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Patient(models.Model):
    patient_id = models.CharField("Patient ID", max_length=64, blank=True)
    issuer_of_patient_id = models.CharField("Issuer of Patient ID", max_length=64, blank=True, default="")
    patient_name = models.CharField("Patient's Name", max_length=400, blank=True)
    patient_name_search = models.CharField(max_length=400, blank=True, editable=False)
    patient_birth_date = models.DateField("Patient's Birth Date", null=True, blank=True)
    patient_sex = models.CharField("Patient's Sex", max_length=16, blank=True)
    number_of_patient_related_studies = models.PositiveIntegerField(default=0)
    number_of_patient_related_series = models.PositiveIntegerField(default=0)
    number_of_patient_related_instances = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    has_identity_conflict = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient_id", "issuer_of_patient_id"],
                condition=~Q(patient_id=""),
                name="archive_patient_identity_unique",
            )
        ]
        indexes = [
            models.Index(fields=["patient_id"], name="archive_patient_id_idx"),
            # Case-insensitive prefix search (LIKE 'X%') on PostgreSQL; a plain index elsewhere.
            models.Index(
                fields=["patient_name_search"],
                name="archive_patient_name_idx",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["patient_birth_date"], name="archive_patient_birth_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_name or '(no name)'} [{self.patient_id or '-'}]"


class PatientConflict(models.Model):
    """An incoming value that differed from the patient's (``PACS_PATIENT_CONFLICT_POLICY=flag``)."""

    class Attribute(models.TextChoices):
        PATIENT_NAME = "patient_name", "Patient's Name"
        PATIENT_BIRTH_DATE = "patient_birth_date", "Patient's Birth Date"
        PATIENT_SEX = "patient_sex", "Patient's Sex"
        PATIENT_ID = "patient_id", "Patient ID (study filed under another patient)"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="conflicts")
    attribute = models.CharField(max_length=32, choices=Attribute.choices)
    stored_value = models.CharField(max_length=400, blank=True)
    incoming_value = models.CharField(max_length=400, blank=True)
    study_instance_uid = models.CharField(max_length=64, blank=True)
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    source_ae = models.CharField(max_length=16, blank=True)
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "attribute", "incoming_value"], name="archive_conflict_once_per_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {self.stored_value!r} vs {self.incoming_value!r}"
