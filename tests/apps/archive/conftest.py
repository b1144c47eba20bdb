"""Archive test fixtures: a storage root of its own per test, and policy overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from pacs_project.settings.components.storage import ArchiveSettings


@pytest.fixture
def storage_root(settings, tmp_path: Path) -> Path:
    """``PACS_STORAGE_ROOT`` pointed at an empty folder for this test."""
    root = tmp_path / "storage"
    root.mkdir()
    settings.PACS_STORAGE_ROOT = root
    return root


@pytest.fixture
def archive_policy(settings) -> Callable[..., ArchiveSettings]:
    """``archive_policy(duplicate_policy=DuplicatePolicy.REJECT)`` overrides ``PACS_ARCHIVE``."""

    def override(**changes: object) -> ArchiveSettings:
        settings.PACS_ARCHIVE = dataclasses.replace(settings.PACS_ARCHIVE, **changes)
        return settings.PACS_ARCHIVE

    return override


def stored_files(root: Path) -> list[Path]:
    """Every stored file below ``root`` (staging excluded)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and ".staging" not in p.parts)


def staging_files(root: Path) -> list[Path]:
    staging = root / ".staging"
    return sorted(staging.iterdir()) if staging.exists() else []
