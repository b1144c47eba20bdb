"""PACS_TMP_DIR: read from the environment, applied to ``tempfile``, checked (archive.E003),
and where a conversion on send spools its encoded frames."""

from __future__ import annotations

import logging
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.archive.checks import check_temp_dir
from apps.archive.temp_dir import use_configured_temp_dir
from dicomkit.data import uids
from dicomkit.net.scu.conversion import open_converted
from dicomkit.net.scu.instances import scan_instance
from pacs_project.settings.components.paths import BASE_DIR
from pacs_project.settings.components.storage import tmp_dir
from tests.builders import write_ct


@pytest.fixture(autouse=True)
def system_temp_dir_restored() -> Iterator[None]:
    """Each test may point ``tempfile`` elsewhere; the next one starts from the system's."""
    before = tempfile.tempdir
    yield
    tempfile.tempdir = before


def test_the_variable_is_read_and_relative_paths_are_taken_from_the_repository() -> None:
    assert tmp_dir({}) is None
    assert tmp_dir({"PACS_TMP_DIR": ""}) is None
    assert tmp_dir({"PACS_TMP_DIR": "/srv/pacs/tmp"}) == Path("/srv/pacs/tmp")
    assert tmp_dir({"PACS_TMP_DIR": "var/tmp"}) == BASE_DIR / "var" / "tmp"


def test_unset_leaves_the_system_temporary_directory(settings: Settings) -> None:
    settings.PACS_TMP_DIR = None
    before = tempfile.gettempdir()
    assert use_configured_temp_dir() is None
    assert tempfile.gettempdir() == before
    assert check_temp_dir(None) == []


def test_a_configured_directory_is_created_private_and_used(settings: Settings, tmp_path: Path) -> None:
    spool = tmp_path / "volume" / "tmp"
    settings.PACS_TMP_DIR = spool
    assert use_configured_temp_dir() == spool
    assert tempfile.gettempdir() == str(spool)
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700
    assert check_temp_dir(None) == []


def test_an_unusable_directory_keeps_the_system_one_and_fails_e003(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("x")
    settings.PACS_TMP_DIR = tmp_path / "file"
    before = tempfile.gettempdir()
    monkeypatch.setattr(logging.getLogger("apps"), "propagate", True)  # LOGGING keeps it from the root
    with caplog.at_level(logging.WARNING, logger="apps.archive.temp_dir"):
        assert use_configured_temp_dir() is None
    assert tempfile.gettempdir() == before
    assert "PACS_TMP_DIR cannot be used" in caplog.text
    [error] = check_temp_dir(None)
    assert error.id == "archive.E003"


def test_a_conversion_on_send_spools_its_encoded_frames_in_the_configured_directory(
    settings: Settings, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    settings.PACS_TMP_DIR = spool
    use_configured_temp_dir()
    source = tmp_path / "ct.dcm"
    write_ct(source, uids.ExplicitVRLittleEndian)
    with open_converted(scan_instance(source), uids.RLELossless) as stream:
        (value,) = stream._produced  # the encoded frames, spooled before the first byte
        assert value.spool is not None
        where = Path(f"/proc/self/fd/{value.spool.fileno()}").readlink()
        assert where.parent == spool  # an anonymous file: "<dir>/#<inode> (deleted)" or unlinked
