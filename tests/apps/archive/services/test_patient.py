"""One patient identity (Patient ID + Issuer) and the conflict policy for demographics."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from apps.archive.models import Patient, PatientConflict, Study
from apps.archive.selectors import patients_by_name_prefix
from apps.archive.services.header import PatientDemographics
from apps.archive.services.ingest import instance_ingest
from apps.archive.services.patient import patient_get_or_create
from pacs_project.settings.components.storage import PatientConflictPolicy
from tests.apps.archive.conftest import ArchivePolicy
from tests.builders import write_ct

pytestmark = pytest.mark.django_db


def _ingest(tmp_path: Path, name: str, **overrides: str | None) -> None:
    write_ct(tmp_path / f"{name}.dcm", **overrides)
    instance_ingest(source=tmp_path / f"{name}.dcm")


def test_same_id_with_another_issuer_is_another_patient(storage_root: Path, tmp_path: Path) -> None:
    _ingest(tmp_path, "a", PatientID="123", IssuerOfPatientID="HOSP_A")
    _ingest(tmp_path, "b", PatientID="123", IssuerOfPatientID="HOSP_B")
    _ingest(tmp_path, "c", PatientID="123", IssuerOfPatientID="HOSP_A")
    assert sorted(
        Patient.objects.values_list("issuer_of_patient_id", "number_of_patient_related_studies")
    ) == [
        ("HOSP_A", 2),
        ("HOSP_B", 1),
    ]


def test_flag_keeps_stored_demographics_and_records_each_conflict_once(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy
) -> None:
    archive_policy(patient_conflict_policy=PatientConflictPolicy.FLAG)
    _ingest(tmp_path, "a", PatientName="Doe^John", PatientBirthDate="19700101")
    _ingest(tmp_path, "b", PatientName="Doe^Jon", PatientBirthDate="19700102")
    _ingest(tmp_path, "c", PatientName="Doe^Jon")
    patient = Patient.objects.get()
    assert (patient.patient_name, patient.patient_birth_date) == ("Doe^John", datetime.date(1970, 1, 1))
    assert patient.has_identity_conflict
    assert sorted(PatientConflict.objects.values_list("attribute", "stored_value", "incoming_value")) == [
        ("patient_birth_date", "1970-01-01", "1970-01-02"),
        ("patient_name", "Doe^John", "Doe^Jon"),
    ]


def test_keep_ignores_differences(storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy) -> None:
    archive_policy(patient_conflict_policy=PatientConflictPolicy.KEEP)
    _ingest(tmp_path, "a", PatientName="Doe^John")
    _ingest(tmp_path, "b", PatientName="Roe^Richard")
    patient = Patient.objects.get()
    assert patient.patient_name == "Doe^John" and not patient.has_identity_conflict
    assert not PatientConflict.objects.exists()


def test_update_lets_the_newest_values_win(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy
) -> None:
    archive_policy(patient_conflict_policy=PatientConflictPolicy.UPDATE)
    _ingest(tmp_path, "a", PatientName="Doe^Jane", PatientSex="F")
    _ingest(tmp_path, "b", PatientName="Smith^Jane", PatientSex="")
    patient = Patient.objects.get()
    assert (patient.patient_name, patient.patient_name_search, patient.patient_sex) == (
        "Smith^Jane",
        "SMITH^JANE",
        "F",  # an empty incoming value never erases
    )


def test_empty_stored_values_are_filled_under_every_policy(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy
) -> None:
    archive_policy(patient_conflict_policy=PatientConflictPolicy.KEEP)
    _ingest(tmp_path, "a", PatientBirthDate=None)
    _ingest(tmp_path, "b", PatientBirthDate="19991231")
    assert Patient.objects.get().patient_birth_date == datetime.date(1999, 12, 31)


def test_study_sent_again_under_another_patient_id_stays_and_is_flagged(
    storage_root: Path, tmp_path: Path
) -> None:
    _ingest(tmp_path, "a", PatientID="P1", StudyInstanceUID="1.2.8.1", SeriesInstanceUID="1.2.8.1.1")
    _ingest(tmp_path, "b", PatientID="P2", StudyInstanceUID="1.2.8.1", SeriesInstanceUID="1.2.8.1.1")
    study = Study.objects.get()
    assert study.patient.patient_id == "P1" and study.number_of_study_related_instances == 2
    assert list(Patient.objects.values_list("patient_id", flat=True)) == ["P1"]
    conflict = PatientConflict.objects.get()
    assert (conflict.attribute, conflict.stored_value, conflict.incoming_value) == ("patient_id", "P1", "P2")


def test_names_in_other_character_sets_are_indexed_as_unicode(storage_root: Path, tmp_path: Path) -> None:
    _ingest(tmp_path, "a", SpecificCharacterSet="ISO_IR 100", PatientName="Größe^Zoë", PatientID="X1")
    _ingest(
        tmp_path, "b", SpecificCharacterSet="ISO_IR 192", PatientName="Yamada^Tarou=山田^太郎", PatientID="X2"
    )
    assert Patient.objects.get(patient_id="X1").patient_name == "Größe^Zoë"
    assert Patient.objects.get(patient_id="X2").patient_name == "Yamada^Tarou=山田^太郎"
    assert b"Gr\xf6\xdfe^Zo\xeb" in (tmp_path / "a.dcm").read_bytes()  # really Latin-1 on the wire
    assert [p.patient_id for p in patients_by_name_prefix(prefix="grosse")] == ["X1"]  # ß folds to SS
    assert [p.patient_id for p in patients_by_name_prefix(prefix="GRÖ")] == ["X1"]
    assert [p.patient_id for p in patients_by_name_prefix(prefix="gro")] == ["X1"]
    assert [p.patient_id for p in patients_by_name_prefix(prefix="yamada^t")] == ["X2"]


def test_the_worklist_can_share_the_identity(storage_root: Path) -> None:
    with_id = PatientDemographics(patient_id="W1", issuer_of_patient_id="RIS", patient_name="Roe^Ann")
    first, created = patient_get_or_create(demographics=with_id)
    again, created_again = patient_get_or_create(demographics=with_id)
    assert created and not created_again and first.pk == again.pk
