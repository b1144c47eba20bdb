"""The patient identity of the whole product and the policy for conflicting demographics.

A patient is identified by Patient ID + Issuer of Patient ID (PS3.3 C.7.1.1). The archive
and, later, the worklist find or create patients only through :func:`patient_get_or_create`.

Conflicts: an incoming Patient's Name, Birth Date or Sex that is non-empty and differs from
the stored one is handled by ``PACS_PATIENT_CONFLICT_POLICY``:

- ``flag`` (default): the stored values stay, the patient is marked
  ``has_identity_conflict`` and each differing value is recorded once as a
  ``PatientConflict`` for review (signal ``patient_conflict_flagged``);
- ``keep``: the stored values stay, nothing is recorded;
- ``update``: the incoming values replace the stored ones.

A stored value that is empty is filled from the incoming one under every policy.
An empty Patient ID never merges: each study without one gets a patient of its own.

Call these inside ``transaction.atomic``: the returned patient row is locked
(``select_for_update``) so that its derived counters can be refreshed safely.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.archive.conf import PatientConflictPolicy, archive_settings
from apps.archive.models import Patient, PatientConflict
from apps.archive.person_names import person_name_search_key
from apps.archive.services.header import PatientDemographics
from apps.archive.signals import patient_conflict_flagged

__all__ = ["ConflictContext", "patient_flag_conflict", "patient_get_or_create"]

_COMPARED = (
    PatientConflict.Attribute.PATIENT_NAME,
    PatientConflict.Attribute.PATIENT_BIRTH_DATE,
    PatientConflict.Attribute.PATIENT_SEX,
)


@dataclass(frozen=True, slots=True)
class ConflictContext:
    """Where a conflicting value came from (recorded with it)."""

    study_instance_uid: str = ""
    sop_instance_uid: str = ""
    source_ae: str = ""


def _field_values(demographics: PatientDemographics) -> dict[str, object]:
    return {
        "patient_name": demographics.patient_name,
        "patient_name_search": person_name_search_key(demographics.patient_name),
        "patient_birth_date": demographics.patient_birth_date,
        "patient_sex": demographics.patient_sex,
    }


def _display(value: object) -> str:
    return "" if value is None else str(value)


def patient_get_or_create(
    *,
    demographics: PatientDemographics,
    context: ConflictContext | None = None,
    policy: PatientConflictPolicy | None = None,
) -> tuple[Patient, bool]:
    """The locked patient for ``demographics`` and whether it was created.

    With an empty Patient ID a new patient is always created (callers that know the study
    reuse its patient instead).
    """
    policy = policy or archive_settings().patient_conflict_policy
    values = _field_values(demographics)
    if not demographics.patient_id:
        return Patient.objects.create(issuer_of_patient_id=demographics.issuer_of_patient_id, **values), True
    identity = {
        "patient_id": demographics.patient_id,
        "issuer_of_patient_id": demographics.issuer_of_patient_id,
    }
    created = False
    # The identity is unique: a plain LIMIT 1, not ``.first()``'s ORDER BY pk.
    patient = next(iter(Patient.objects.select_for_update().filter(**identity)[:1]), None)
    if patient is None:
        try:
            with transaction.atomic():
                patient = Patient.objects.create(**identity, **values)
                created = True
        except IntegrityError:
            # Created by a concurrent transaction meanwhile: use theirs.
            patient = Patient.objects.select_for_update().get(**identity)
    if not created:
        _apply_policy(patient, values, policy, context or ConflictContext())
    return patient, created


def _apply_policy(
    patient: Patient, values: dict[str, object], policy: PatientConflictPolicy, context: ConflictContext
) -> None:
    changed: list[str] = []
    for attribute in _COMPARED:
        field = attribute.value
        incoming = values[field]
        stored = getattr(patient, field)
        if incoming in ("", None) or incoming == stored:
            continue
        if stored in ("", None) or policy is PatientConflictPolicy.UPDATE:
            setattr(patient, field, incoming)
            changed.append(field)
            if field == "patient_name":
                patient.patient_name_search = str(values["patient_name_search"])
                changed.append("patient_name_search")
        elif policy is PatientConflictPolicy.FLAG:
            patient_flag_conflict(
                patient=patient,
                attribute=attribute,
                stored_value=_display(stored),
                incoming_value=_display(incoming),
                context=context,
            )
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])


def patient_flag_conflict(
    *,
    patient: Patient,
    attribute: PatientConflict.Attribute,
    stored_value: str,
    incoming_value: str,
    context: ConflictContext,
) -> PatientConflict:
    """Record a conflicting value once and mark the patient (inside the caller's transaction)."""
    conflict, created = PatientConflict.objects.get_or_create(
        patient=patient,
        attribute=attribute.value,
        incoming_value=incoming_value[:400],
        defaults={
            "stored_value": stored_value[:400],
            "study_instance_uid": context.study_instance_uid,
            "sop_instance_uid": context.sop_instance_uid,
            "source_ae": context.source_ae[:16],
        },
    )
    if not patient.has_identity_conflict:
        patient.has_identity_conflict = True
        patient.save(update_fields=["has_identity_conflict", "updated_at"])
    if created:
        patient_pk, conflict_id = patient.pk, conflict.pk
        transaction.on_commit(
            lambda: patient_conflict_flagged.send(
                sender=Patient, patient_pk=patient_pk, attribute=attribute.value, conflict_id=conflict_id
            )
        )
    return conflict
