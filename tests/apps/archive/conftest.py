"""Archive test fixtures: a storage root of its own per test, and policy overrides."""

from __future__ import annotations

import dataclasses
import fcntl
import os
from pathlib import Path
from typing import Protocol, TypedDict, Unpack

import pytest
from pytest_django import Settings

from pacs_project.settings.components.storage import (
    ArchiveSettings,
    ChecksumAlgorithm,
    DuplicatePolicy,
    KeyLayout,
    PatientConflictPolicy,
)


class ArchivePolicyChanges(TypedDict, total=False):
    """The fields of :class:`ArchiveSettings` a test may override."""

    key_layout: KeyLayout
    duplicate_policy: DuplicatePolicy
    patient_conflict_policy: PatientConflictPolicy
    require_patient_id: bool
    checksum_algorithm: ChecksumAlgorithm


class ArchivePolicy(Protocol):
    """The ``archive_policy`` fixture: applies the changes and returns the new settings."""

    def __call__(self, **changes: Unpack[ArchivePolicyChanges]) -> ArchiveSettings: ...


@pytest.fixture(autouse=True)
def _staging_files_made_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Staging files are created when asked for, not kept ready (``storage.reserve``):
    these tests look at the staging folder file by file. ``staging_reserve`` turns the
    reserve back on (the DIMSE server tests run it as deployed)."""
    from apps.archive.storage import reserve

    monkeypatch.setattr(reserve._reserve, "disabled", True)


@pytest.fixture
def staging_reserve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Staging files kept ready ahead, with durable names, as the server runs."""
    from apps.archive.storage import reserve

    monkeypatch.setattr(reserve._reserve, "disabled", False)


@pytest.fixture
def storage_root(settings: Settings, tmp_path: Path) -> Path:
    """``PACS_STORAGE_ROOT`` pointed at an empty folder for this test."""
    root = tmp_path / "storage"
    root.mkdir()
    settings.PACS_STORAGE_ROOT = root
    return root


@pytest.fixture
def archive_policy(settings: Settings) -> ArchivePolicy:
    """``archive_policy(duplicate_policy=DuplicatePolicy.REJECT)`` overrides ``PACS_ARCHIVE``."""

    def override(**changes: Unpack[ArchivePolicyChanges]) -> ArchiveSettings:
        current: ArchiveSettings = settings.PACS_ARCHIVE
        policy = dataclasses.replace(current, **changes)
        settings.PACS_ARCHIVE = policy
        return policy

    return override


def stored_files(root: Path) -> list[Path]:
    """Every stored file below ``root`` (staging excluded)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and ".staging" not in p.parts)


def staging_files(root: Path) -> list[Path]:
    """The staging folder's files once the committed stores ended their journals (those
    that waited for PostgreSQL's WAL flush, ``services.wal_settle``, are ended first)."""
    from apps.archive.services.wal_settle import settle_pending

    settle_pending()
    staging = root / ".staging"
    return sorted(staging.iterdir()) if staging.exists() else []


def ready_in_reserve(path: Path) -> bool:
    """Whether ``path`` looks like a staging file a server keeps ready for its next ingest
    (``storage.reserve``): empty, journalling no key, and locked by its holder. (A server
    in another process; in this one ask the reserve.)"""
    from apps.archive.storage.backend import journalled_key

    try:
        return path.stat().st_size == 0 and journalled_key(path) is None and locked_by_someone(path)
    except FileNotFoundError:
        return False


def locked_by_someone(path: Path) -> bool:
    """Whether another open file holds ``path``'s ``flock`` (its writer, or a pending
    journal end), which keeps cleanup and recovery away from it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
