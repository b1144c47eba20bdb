"""Ingest of generated instances: files, index rows, derived attributes, duplicate policies."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import xxhash
from pytest_django import DjangoCaptureOnCommitCallbacks

from apps.archive.errors import IngestError, Refusal
from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.services.ingest import IngestOutcome, instance_ingest
from apps.archive.signals import instance_stored
from dicomkit.data import uids
from dicomkit.part10.reader import read_file
from pacs_project.settings.components.storage import DuplicatePolicy, KeyLayout
from tests.apps.archive.conftest import ArchivePolicy, staging_files, stored_files
from tests.builders import encode_ct, make_ct, write_ct

pytestmark = pytest.mark.django_db


def test_ingested_file_is_stored_under_its_uid_key_byte_for_byte(storage_root: Path, tmp_path: Path) -> None:
    source = tmp_path / "in" / "ct.dcm"
    ds = write_ct(source)

    result = instance_ingest(source=source, source_ae="MODALITY1")

    study_uid, series_uid, sop_uid = (
        ds.get_str(k) for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
    )
    assert result.outcome is IngestOutcome.STORED and result.status == 0x0000
    assert result.key == f"{study_uid}/{series_uid}/{sop_uid}.dcm"
    stored = storage_root / result.key
    assert stored.read_bytes() == source.read_bytes()
    assert result.checksum == f"xxh3-128:{xxhash.xxh3_128(source.read_bytes()).hexdigest()}"
    location = StorageLocation.objects.get(instance__sop_instance_uid=sop_uid)
    assert (location.backend, location.key, location.size_bytes) == (
        "local",
        result.key,
        source.stat().st_size,
    )
    assert location.transfer_syntax_uid == uids.ExplicitVRLittleEndian
    assert location.source_ae == "MODALITY1"
    assert staging_files(storage_root) == []


def test_index_rows_hold_the_query_attributes(storage_root: Path, tmp_path: Path) -> None:
    source = tmp_path / "ct.dcm"
    ds = write_ct(source, PatientName="Müller^Jörg", SeriesNumber="7", InstanceNumber="3")
    instance_ingest(source=source)

    patient = Patient.objects.get()
    assert (patient.patient_id, patient.issuer_of_patient_id) == ("PAT0001", "HOSP")
    assert patient.patient_name == "Müller^Jörg"
    assert patient.patient_name_search == "MULLER^JORG"
    assert str(patient.patient_birth_date) == "1970-01-01"
    study = Study.objects.get()
    assert study.study_instance_uid == ds.get_str("StudyInstanceUID")
    assert (str(study.study_date), study.accession_number, study.study_description) == (
        "2024-01-02",
        "ACC0001",
        "CT Chest",
    )
    series = Series.objects.get()
    assert (series.modality, series.series_number) == ("CT", 7)
    instance = Instance.objects.get()
    assert (instance.sop_class_uid, instance.instance_number, instance.rows, instance.columns) == (
        uids.CTImageStorage,
        3,
        4,
        4,
    )


def test_derived_attributes_follow_several_patients_studies_and_series(
    storage_root: Path, tmp_path: Path
) -> None:
    study_a, study_b = "1.2.3.1", "1.2.3.2"
    layout = [
        (study_a, "1.2.3.1.1", "CT", "PAT1"),
        (study_a, "1.2.3.1.1", "CT", "PAT1"),
        (study_a, "1.2.3.1.2", "MR", "PAT1"),
        (study_b, "1.2.3.2.1", "CT", "PAT1"),
        ("1.2.3.3", "1.2.3.3.1", "US", "PAT2"),
    ]
    for index, (study, series, modality, pid) in enumerate(layout):
        sop_class = uids.MRImageStorage if modality == "MR" else uids.CTImageStorage
        write_ct(
            tmp_path / f"{index}.dcm",
            StudyInstanceUID=study,
            SeriesInstanceUID=series,
            Modality=modality,
            PatientID=pid,
            SOPClassUID=sop_class,
        )
        instance_ingest(source=tmp_path / f"{index}.dcm")

    a = Study.objects.get(study_instance_uid=study_a)
    assert (a.number_of_study_related_series, a.number_of_study_related_instances) == (2, 3)
    assert a.modalities == ["CT", "MR"]
    assert a.sop_classes == sorted([uids.CTImageStorage, uids.MRImageStorage])
    assert a.size_bytes == sum(
        loc.size_bytes for loc in StorageLocation.objects.filter(instance__series__study=a)
    )
    assert Series.objects.get(series_instance_uid="1.2.3.1.1").number_of_series_related_instances == 2
    pat1 = Patient.objects.get(patient_id="PAT1")
    assert (
        pat1.number_of_patient_related_studies,
        pat1.number_of_patient_related_series,
        pat1.number_of_patient_related_instances,
    ) == (2, 3, 4)
    assert Patient.objects.get(patient_id="PAT2").number_of_patient_related_instances == 1
    assert len(stored_files(storage_root)) == 5


def test_a_stream_source_is_ingested_like_a_file(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "ct.dcm")
    data = (tmp_path / "ct.dcm").read_bytes()
    result = instance_ingest(source=io.BytesIO(data))
    assert (storage_root / result.key).read_bytes() == data


def test_raw_data_set_without_file_meta_is_stored_as_a_part10_file(storage_root: Path) -> None:
    ds = make_ct()
    result = instance_ingest(source=io.BytesIO(encode_ct(ds, uids.ImplicitVRLittleEndian)))
    stored = read_file(storage_root / result.key)
    assert stored.transfer_syntax == uids.ImplicitVRLittleEndian
    assert stored.meta.get_str(0x00020003) == ds.get_str("SOPInstanceUID")
    assert stored.dataset.get_str("PatientID") == "PAT0001"
    assert (
        result.checksum == f"xxh3-128:{xxhash.xxh3_128((storage_root / result.key).read_bytes()).hexdigest()}"
    )


def test_date_layout_puts_the_study_date_first(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy
) -> None:
    archive_policy(key_layout=KeyLayout.DATE)
    ds = write_ct(tmp_path / "ct.dcm", StudyDate="20231130")
    result = instance_ingest(source=tmp_path / "ct.dcm")
    assert result.key.startswith(f"2023/11/30/{ds.get_str('StudyInstanceUID')}/")


def test_instance_stored_signal_is_sent_after_commit(
    storage_root: Path, tmp_path: Path, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    received: list[dict[str, object]] = []

    def receiver(sender: object, **kwargs: object) -> None:
        received.append(kwargs)

    instance_stored.connect(receiver, dispatch_uid="test-instance-stored")
    try:
        ds = write_ct(tmp_path / "ct.dcm")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            instance_ingest(source=tmp_path / "ct.dcm", source_ae="CT1")
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        instance_stored.disconnect(dispatch_uid="test-instance-stored")
    assert len(received) == 1
    assert received[0]["sop_instance_uid"] == ds.get_str("SOPInstanceUID")
    assert received[0]["source_ae"] == "CT1" and received[0]["replaced"] is False


# ------------------------------------------------------------------------------ duplicates


def _twice(tmp_path: Path) -> tuple[Path, Path]:
    """Two files of one instance (same UIDs); only the second's Study Description differs."""
    first = tmp_path / "first.dcm"
    ds = write_ct(first)
    second = tmp_path / "second.dcm"
    write_ct(
        second,
        SOPInstanceUID=ds.get_str("SOPInstanceUID"),
        StudyInstanceUID=ds.get_str("StudyInstanceUID"),
        SeriesInstanceUID=ds.get_str("SeriesInstanceUID"),
        StudyDescription="second copy",
    )
    return first, second


def test_keep_first_answers_success_and_keeps_the_stored_copy(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy
) -> None:
    archive_policy(duplicate_policy=DuplicatePolicy.KEEP_FIRST)
    first, second = _twice(tmp_path)
    stored = instance_ingest(source=first)
    again = instance_ingest(source=second)
    assert again.outcome is IngestOutcome.DUPLICATE and again.status == 0x0000
    assert again.key == stored.key
    assert (storage_root / stored.key).read_bytes() == first.read_bytes()
    assert Instance.objects.count() == 1
    assert len(stored_files(storage_root)) == 1 and staging_files(storage_root) == []


def test_reject_refuses_with_duplicate_sop_instance_status(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy
) -> None:
    archive_policy(duplicate_policy=DuplicatePolicy.REJECT)
    first, second = _twice(tmp_path)
    stored = instance_ingest(source=first)
    with pytest.raises(IngestError) as refused:
        instance_ingest(source=second)
    assert refused.value.reason is Refusal.DUPLICATE and refused.value.status == 0x0111
    assert (storage_root / stored.key).read_bytes() == first.read_bytes()
    assert len(stored_files(storage_root)) == 1 and staging_files(storage_root) == []


def test_replace_stores_the_new_copy_and_removes_the_old_file(
    storage_root: Path,
    tmp_path: Path,
    archive_policy: ArchivePolicy,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    archive_policy(duplicate_policy=DuplicatePolicy.REPLACE)
    first, second = _twice(tmp_path)
    old = instance_ingest(source=first)
    with django_capture_on_commit_callbacks(execute=True):
        new = instance_ingest(source=second)
    assert new.outcome is IngestOutcome.REPLACED and new.status == 0x0000
    assert new.key != old.key  # never overwritten in place
    assert stored_files(storage_root) == [storage_root / new.key]
    assert (storage_root / new.key).read_bytes() == second.read_bytes()
    location = StorageLocation.objects.get()
    assert (location.key, location.checksum) == (new.key, new.checksum)
    study = Study.objects.get()
    assert study.number_of_study_related_instances == 1


def test_replace_into_another_study_moves_the_counts(
    storage_root: Path,
    tmp_path: Path,
    archive_policy: ArchivePolicy,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    archive_policy(duplicate_policy=DuplicatePolicy.REPLACE)
    ds = write_ct(tmp_path / "a.dcm", StudyInstanceUID="1.2.5.1", SeriesInstanceUID="1.2.5.1.1")
    write_ct(
        tmp_path / "b.dcm",
        StudyInstanceUID="1.2.5.2",
        SeriesInstanceUID="1.2.5.2.1",
        SOPInstanceUID=ds.get_str("SOPInstanceUID"),
    )
    instance_ingest(source=tmp_path / "a.dcm")
    with django_capture_on_commit_callbacks(execute=True):
        instance_ingest(source=tmp_path / "b.dcm")
    assert list(Study.objects.values_list("study_instance_uid", flat=True)) == ["1.2.5.2"]
    assert Patient.objects.get().number_of_patient_related_instances == 1
    assert len(stored_files(storage_root)) == 1
