"""System checks archive.E001/E002 and the PACS_ARCHIVE settings component."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django import Settings

from apps.archive.checks import check_archive_settings, check_storage_root
from pacs_project.settings.components.storage import (
    ArchiveSettings,
    ChecksumAlgorithm,
    DuplicatePolicy,
    KeyLayout,
    PatientConflictPolicy,
    archive_settings,
)


def test_writable_storage_root_passes_and_is_created(settings: Settings, tmp_path: Path) -> None:
    settings.PACS_STORAGE_ROOT = tmp_path / "new" / "storage"
    assert check_storage_root(None) == []
    assert (tmp_path / "new" / "storage").is_dir()


def test_storage_root_that_is_a_file_fails_e001(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    settings.PACS_STORAGE_ROOT = tmp_path / "file"
    [error] = check_storage_root(None)
    assert error.id == "archive.E001"


def test_archive_settings_of_the_wrong_type_fail_e002(settings: Settings) -> None:
    settings.PACS_ARCHIVE = {"duplicate_policy": "reject"}
    [error] = check_archive_settings(None)
    assert error.id == "archive.E002"


def test_defaults() -> None:
    assert archive_settings({}) == ArchiveSettings(
        key_layout=KeyLayout.UIDS,
        duplicate_policy=DuplicatePolicy.KEEP_FIRST,
        patient_conflict_policy=PatientConflictPolicy.FLAG,
        require_patient_id=False,
        checksum_algorithm=ChecksumAlgorithm.XXH3_128,
    )


def test_variables_are_read() -> None:
    env = {
        "PACS_STORAGE_KEY_LAYOUT": "date",
        "PACS_DUPLICATE_POLICY": "REJECT",
        "PACS_PATIENT_CONFLICT_POLICY": "update",
        "PACS_REQUIRE_PATIENT_ID": "yes",
        "PACS_STORAGE_CHECKSUM": "SHA256",
    }
    assert archive_settings(env) == ArchiveSettings(
        KeyLayout.DATE,
        DuplicatePolicy.REJECT,
        PatientConflictPolicy.UPDATE,
        require_patient_id=True,
        checksum_algorithm=ChecksumAlgorithm.SHA256,
    )


@pytest.mark.parametrize(
    "name",
    [
        "PACS_STORAGE_KEY_LAYOUT",
        "PACS_DUPLICATE_POLICY",
        "PACS_PATIENT_CONFLICT_POLICY",
        "PACS_STORAGE_CHECKSUM",
    ],
)
def test_unknown_values_fail_loudly(name: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        archive_settings({name: "sometimes"})
