"""Crash safety and ``verify_storage``: every way index and files can disagree is found."""

from __future__ import annotations

import hashlib
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from apps.archive.errors import IngestError, Refusal
from apps.archive.models import Instance, Patient, StorageLocation, Study
from apps.archive.services.ingest import IngestResult, instance_ingest
from apps.archive.services.integrity import storage_verify
from apps.archive.storage import LocalFileBackend
from pacs_project.settings.components.storage import ChecksumAlgorithm
from tests.apps.archive.conftest import ArchivePolicy, staging_files, stored_files
from tests.builders import write_ct

pytestmark = pytest.mark.django_db


class _BrokenUpstream:
    """A source that fails mid-read, as a dropped connection does: 100 bytes, then a reset."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls = 0

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise ConnectionResetError(104, "Connection reset by peer")
        return self.data[:100]


def test_source_failing_mid_stream_leaves_no_file_and_no_row(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "ct.dcm")
    with pytest.raises(IngestError) as failed:
        instance_ingest(source=_BrokenUpstream((tmp_path / "ct.dcm").read_bytes()))
    assert failed.value.reason is Refusal.PROCESSING_FAILURE
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []
    assert not Instance.objects.exists()


def test_index_failure_after_the_file_was_stored_removes_the_file(storage_root: Path, tmp_path: Path) -> None:
    # A real database failure at the last insert of the transaction, after the file got its key.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION archive_test_fail() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'disk of the database is full'; END $$ LANGUAGE plpgsql;"
            "CREATE TRIGGER archive_test_fail BEFORE INSERT ON archive_storagelocation "
            "FOR EACH ROW EXECUTE FUNCTION archive_test_fail();"
        )
    write_ct(tmp_path / "ct.dcm")
    with pytest.raises(IngestError) as failed:
        instance_ingest(source=tmp_path / "ct.dcm")
    assert failed.value.reason is Refusal.PROCESSING_FAILURE and failed.value.status == 0x0110
    assert "disk of the database is full" in str(failed.value.__cause__)
    assert stored_files(storage_root) == [] and staging_files(storage_root) == []
    assert not Instance.objects.exists() and not Study.objects.exists() and not Patient.objects.exists()


def test_startup_removes_stale_staging_files(storage_root: Path) -> None:
    stale = LocalFileBackend(storage_root).create_staging_file()
    stale.write(b"left by a crash")
    stale.close()  # its writer is gone: no lock held
    apps.get_app_config("archive").ready()
    assert staging_files(storage_root) == []


def _ingest(tmp_path: Path, name: str) -> IngestResult:
    write_ct(tmp_path / f"{name}.dcm")
    return instance_ingest(source=tmp_path / f"{name}.dcm")


def test_verify_finds_missing_files_unknown_files_and_checksum_mismatches(
    storage_root: Path, tmp_path: Path
) -> None:
    intact = _ingest(tmp_path, "intact")
    lost = _ingest(tmp_path, "lost")
    altered = _ingest(tmp_path, "altered")
    (storage_root / lost.key).unlink()
    data = bytearray((storage_root / altered.key).read_bytes())
    data[-1] ^= 0xFF  # one bit of pixel data flipped, same size
    (storage_root / altered.key).write_bytes(bytes(data))
    (storage_root / "1.2.3" / "1.2.3.4").mkdir(parents=True)
    (storage_root / "1.2.3" / "1.2.3.4" / "1.2.3.4.5.dcm").write_bytes(b"orphan")

    report = storage_verify(grace_seconds=0)

    assert [p.sop_instance_uid for p in report.missing_files] == [lost.sop_instance_uid]
    assert report.unknown_files == ["1.2.3/1.2.3.4/1.2.3.4.5.dcm"]
    assert [p.key for p in report.checksum_mismatches] == [altered.key]
    assert report.checked_rows == 3 and not report.ok
    assert intact.key not in {p.key for p in report.missing_files + report.checksum_mismatches}


def test_verify_of_a_consistent_archive_is_clean(storage_root: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        _ingest(tmp_path, name)
    report = storage_verify(grace_seconds=0)
    assert report.ok and report.checked_rows == 2 and report.checked_files == 2


def test_unknown_files_younger_than_the_grace_period_are_not_reported(storage_root: Path) -> None:
    (storage_root / "1.2").mkdir()
    (storage_root / "1.2" / "1.2.3.dcm").write_bytes(b"being ingested right now")
    assert storage_verify(grace_seconds=3600).unknown_files == []
    assert storage_verify(grace_seconds=0).unknown_files == ["1.2/1.2.3.dcm"]


def test_verify_storage_command_lists_problems_and_exits_non_zero(storage_root: Path, tmp_path: Path) -> None:
    lost = _ingest(tmp_path, "lost")
    altered = _ingest(tmp_path, "altered")
    (storage_root / lost.key).unlink()
    (storage_root / altered.key).write_bytes(b"truncated")
    (storage_root / "9.9").mkdir()
    (storage_root / "9.9" / "9.9.9.dcm").write_bytes(b"orphan")
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_storage", "--grace-seconds", "0", stdout=out)
    assert failed.value.returncode == 1
    text = out.getvalue()
    assert f"missing file: local:{lost.key}" in text
    assert "file without index row: 9.9/9.9.9.dcm" in text
    assert f"checksum mismatch: local:{altered.key}" in text
    assert "1 missing, 1 unknown, 1 mismatched" in text


def test_verify_storage_command_size_only_mode(storage_root: Path, tmp_path: Path) -> None:
    result = _ingest(tmp_path, "a")
    out = StringIO()
    call_command("verify_storage", "--no-checksums", "--grace-seconds", "0", stdout=out)
    assert "0 missing, 0 unknown, 0 mismatched" in out.getvalue()
    (storage_root / result.key).write_bytes(b"short")
    with pytest.raises(CommandError):
        call_command("verify_storage", "--no-checksums", "--grace-seconds", "0", stdout=StringIO())
    assert StorageLocation.objects.count() == 1


def test_each_file_is_verified_with_the_algorithm_it_was_stored_with(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy
) -> None:
    # A site that switches PACS_STORAGE_CHECKSUM keeps its earlier files checkable.
    archive_policy(checksum_algorithm=ChecksumAlgorithm.SHA256)
    older = _ingest(tmp_path, "older")
    archive_policy(checksum_algorithm=ChecksumAlgorithm.XXH3_128)
    newer = _ingest(tmp_path, "newer")
    assert older.checksum == "sha256:" + hashlib.sha256((storage_root / older.key).read_bytes()).hexdigest()
    assert newer.checksum.startswith("xxh3-128:") and len(newer.checksum) == len("xxh3-128:") + 32
    assert storage_verify(grace_seconds=0).ok

    for result in (older, newer):  # one flipped bit, size unchanged
        path = storage_root / result.key
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    mismatched = {
        problem.key: problem.detail for problem in storage_verify(grace_seconds=0).checksum_mismatches
    }
    assert set(mismatched) == {older.key, newer.key}
    assert f"index: {older.checksum}" in mismatched[older.key]
    assert mismatched[newer.key].startswith("xxh3-128:")


def test_a_bare_sha256_digest_from_before_the_labels_is_verified(storage_root: Path, tmp_path: Path) -> None:
    result = _ingest(tmp_path, "a")
    path = storage_root / result.key
    StorageLocation.objects.filter(key=result.key).update(
        checksum=hashlib.sha256(path.read_bytes()).hexdigest()
    )
    assert storage_verify(grace_seconds=0).ok
    path.write_bytes(path.read_bytes()[:-1] + b"x")
    (problem,) = storage_verify(grace_seconds=0).checksum_mismatches
    assert problem.key == result.key and problem.detail.startswith("sha256:")


def test_a_row_whose_checksum_names_no_algorithm_is_reported(storage_root: Path, tmp_path: Path) -> None:
    result = _ingest(tmp_path, "a")
    StorageLocation.objects.filter(key=result.key).update(checksum="md5:0123")
    (problem,) = storage_verify(grace_seconds=0).checksum_mismatches
    assert problem.key == result.key and "not checkable" in problem.detail and "md5" in problem.detail
