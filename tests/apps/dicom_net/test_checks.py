"""System checks dicom_net.E001-E006 report bad DIMSE settings, and only bad ones."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TypedDict, Unpack

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from pytest_django import Settings

from apps.dicom_net.checks import check_dicom_network
from pacs_project.settings.components.dicom import DicomNetworkSettings, DicomTimeouts


class Changes(TypedDict, total=False):
    """The ``DicomNetworkSettings`` fields these tests vary."""

    ae_title: str
    allowed_calling_ae_titles: tuple[str, ...]
    port: int
    tls_cert: Path
    tls_key: Path
    tls_ca: Path
    max_associations: int
    max_pdu_length: int
    workers: int
    shutdown_grace: int
    timeouts: DicomTimeouts


def _ids(settings: Settings, **changes: Unpack[Changes]) -> list[str | None]:
    settings.PACS_DICOM = dataclasses.replace(DicomNetworkSettings(), **changes)
    return [message.id for message in check_dicom_network(None)]


def test_default_settings_pass(settings: Settings) -> None:
    assert _ids(settings) == []


@pytest.mark.parametrize("title", ["PACS", "A", "SIXTEEN_CHARS_AE", "MY AE", "ae-with.punct!"], ids=repr)
def test_valid_ae_titles_pass(settings: Settings, title: str) -> None:
    assert _ids(settings, ae_title=title) == []


@pytest.mark.parametrize(
    "title",
    ["", "    ", "SEVENTEEN_CHARS_A", "BACK\\SLASH", "TAB\tAE", "NUL\x00", "É_AE", " LEADING", "TRAILING "],
    ids=repr,
)
def test_invalid_ae_title_is_e001(settings: Settings, title: str) -> None:
    assert set(_ids(settings, ae_title=title)) == {"dicom_net.E001"}


def test_invalid_allowed_calling_ae_title_is_e002_and_valid_ones_pass(settings: Settings) -> None:
    assert _ids(settings, allowed_calling_ae_titles=("MODALITY", "VIEWER")) == []
    assert _ids(settings, allowed_calling_ae_titles=("MODALITY", "WAY_TOO_LONG_AE_TITLE")) == [
        "dicom_net.E002"
    ]


@pytest.mark.parametrize("port", [0, -1, 65536, 100000])
def test_port_outside_1_to_65535_is_e003(settings: Settings, port: int) -> None:
    assert _ids(settings, port=port) == ["dicom_net.E003"]


@pytest.mark.parametrize("port", [1, 104, 11112, 65535])
def test_port_inside_range_passes(settings: Settings, port: int) -> None:
    assert _ids(settings, port=port) == []


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    files = {name: tmp_path / f"{name}.pem" for name in ("cert", "key", "ca")}
    for path in files.values():
        path.write_text("-----BEGIN PLACEHOLDER-----\n")
    return files


def test_readable_tls_files_pass(settings: Settings, tls_files: dict[str, Path]) -> None:
    assert _ids(settings, tls_cert=tls_files["cert"], tls_key=tls_files["key"], tls_ca=tls_files["ca"]) == []


def test_certificate_without_key_is_e004(settings: Settings, tls_files: dict[str, Path]) -> None:
    assert _ids(settings, tls_cert=tls_files["cert"]) == ["dicom_net.E004"]


def test_ca_without_certificate_is_e004(settings: Settings, tls_files: dict[str, Path]) -> None:
    assert _ids(settings, tls_ca=tls_files["ca"]) == ["dicom_net.E004"]


def test_missing_tls_file_is_e004(settings: Settings, tls_files: dict[str, Path], tmp_path: Path) -> None:
    assert _ids(settings, tls_cert=tls_files["cert"], tls_key=tmp_path / "missing.pem") == ["dicom_net.E004"]


def test_directory_as_tls_file_is_e004(
    settings: Settings, tls_files: dict[str, Path], tmp_path: Path
) -> None:
    assert _ids(settings, tls_cert=tmp_path, tls_key=tls_files["key"]) == ["dicom_net.E004"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of their mode")
def test_unreadable_tls_file_is_e004(settings: Settings, tls_files: dict[str, Path]) -> None:
    tls_files["key"].chmod(0)
    assert _ids(settings, tls_cert=tls_files["cert"], tls_key=tls_files["key"]) == ["dicom_net.E004"]


@pytest.mark.parametrize(
    "changes",
    [
        {"max_associations": 0},
        {"max_pdu_length": 0},
        {"max_pdu_length": 2**32},
        {"workers": 0},
        {"shutdown_grace": -1},
    ],
    ids=repr,
)
def test_limit_out_of_range_is_e005(settings: Settings, changes: Changes) -> None:
    assert _ids(settings, **changes) == ["dicom_net.E005"]


def test_non_positive_timeout_is_e006_and_none_means_forever(settings: Settings) -> None:
    assert _ids(settings, timeouts=DicomTimeouts(dimse=None, network=None)) == []
    assert _ids(settings, timeouts=DicomTimeouts(artim=0)) == ["dicom_net.E006"]
    assert _ids(settings, timeouts=DicomTimeouts(acse=-5)) == ["dicom_net.E006"]


def test_manage_py_check_fails_with_the_check_id(settings: Settings) -> None:
    settings.PACS_DICOM = dataclasses.replace(DicomNetworkSettings(), ae_title="BAD\\AE", port=0)
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert "dicom_net.E001" in str(raised.value)
    assert "dicom_net.E003" in str(raised.value)
