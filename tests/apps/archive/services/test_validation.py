"""Refusals on ingest: each carries its C-STORE status and a clear comment; nothing stays behind."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from apps.archive.errors import C_STORE_STATUS, IngestError, Refusal
from apps.archive.models import Instance, Patient, Study
from apps.archive.services.ingest import instance_ingest
from dicomkit.data import tags
from tests.apps.archive.conftest import ArchivePolicy, staging_files, stored_files
from tests.builders import write_ct

pytestmark = pytest.mark.django_db


def _refusal(path: Path) -> IngestError:
    with pytest.raises(IngestError) as refused:
        instance_ingest(source=path)
    return refused.value


@pytest.mark.parametrize(
    "keyword",
    ["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"],
)
@pytest.mark.parametrize("value", [None, ""])
def test_missing_required_uid_is_refused_with_a900(
    storage_root: Path, tmp_path: Path, keyword: str, value: str | None
) -> None:
    write_ct(tmp_path / "ct.dcm", **{keyword: value})
    error = _refusal(tmp_path / "ct.dcm")
    assert error.reason is Refusal.MISSING_ATTRIBUTE and error.status == 0xA900
    assert error.offending_tag == getattr(tags, keyword)
    assert "missing" in error.comment
    assert list(storage_root.rglob("*.dcm")) == [] and staging_files(storage_root) == []
    assert not Instance.objects.exists() and not Study.objects.exists()


@pytest.mark.parametrize(
    "uid",
    ["../../../../tmp/evil", "1.2.3/../../x", "1.2.840.10008.abc", "/etc/passwd", "1..2", "1.2.03", "1" * 65],
)
@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
def test_uid_that_could_become_a_path_is_refused_and_nothing_escapes_the_root(
    storage_root: Path, tmp_path: Path, keyword: str, uid: str
) -> None:
    write_ct(tmp_path / "in" / "ct.dcm", **{keyword: uid})
    before = set(tmp_path.rglob("*"))
    error = _refusal(tmp_path / "in" / "ct.dcm")
    assert error.reason is Refusal.INVALID_UID and error.status == 0xA900
    assert set(tmp_path.rglob("*")) - before <= {storage_root / ".staging"}
    assert not os.path.exists("/tmp/evil")
    assert stored_files(storage_root) == []


def test_patient_id_may_be_empty_by_default(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "a.dcm", PatientID="", StudyInstanceUID="1.2.9.1")
    write_ct(tmp_path / "b.dcm", PatientID="", StudyInstanceUID="1.2.9.2")
    write_ct(tmp_path / "c.dcm", PatientID="", StudyInstanceUID="1.2.9.1", SeriesInstanceUID="1.2.9.1.2")
    for name in "abc":
        instance_ingest(source=tmp_path / f"{name}.dcm")
    # No Patient ID: never merged across studies, but one patient per study.
    assert Patient.objects.count() == 2
    assert Study.objects.get(study_instance_uid="1.2.9.1").patient.number_of_patient_related_instances == 2


def test_empty_patient_id_is_refused_when_required(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy
) -> None:
    archive_policy(require_patient_id=True)
    write_ct(tmp_path / "ct.dcm", PatientID="")
    error = _refusal(tmp_path / "ct.dcm")
    assert error.reason is Refusal.PATIENT_ID_REQUIRED and error.status == 0xA900


def test_transfer_syntax_other_than_expected_is_refused(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "ct.dcm")
    with pytest.raises(IngestError) as refused:
        instance_ingest(source=tmp_path / "ct.dcm", expected_transfer_syntax="1.2.840.10008.1.2")
    assert refused.value.reason is Refusal.TRANSFER_SYNTAX_MISMATCH and refused.value.status == 0xC000


def test_expected_sop_instance_uid_is_enforced(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "ct.dcm")
    with pytest.raises(IngestError) as refused:
        instance_ingest(source=tmp_path / "ct.dcm", expected_sop_instance_uid="1.2.3")
    assert refused.value.reason is Refusal.SOP_INSTANCE_MISMATCH


@pytest.mark.parametrize("data", [b"", b"not dicom at all, just text\n" * 20, b"\x00" * 132 + b"DICM"])
def test_not_dicom_is_refused_as_not_understood(storage_root: Path, data: bytes) -> None:
    with pytest.raises(IngestError) as refused:
        instance_ingest(source=io.BytesIO(data))
    assert refused.value.reason is Refusal.MALFORMED and refused.value.status == 0xC000
    assert staging_files(storage_root) == []


def test_series_uid_of_another_study_is_refused(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "a.dcm", StudyInstanceUID="1.2.7.1", SeriesInstanceUID="1.2.7.9")
    write_ct(tmp_path / "b.dcm", StudyInstanceUID="1.2.7.2", SeriesInstanceUID="1.2.7.9")
    instance_ingest(source=tmp_path / "a.dcm")
    error = _refusal(tmp_path / "b.dcm")
    assert error.reason is Refusal.UID_CONFLICT
    assert len(stored_files(storage_root)) == 1
    assert Study.objects.count() == 1


def test_every_refusal_has_a_c_store_status() -> None:
    assert set(C_STORE_STATUS) == set(Refusal)
    # PS3.4 B.2.3 / PS3.7 C: failures only, never success or warning codes.
    assert all(status not in (0x0000, 0xB000, 0xB006, 0xB007) for status in C_STORE_STATUS.values())
