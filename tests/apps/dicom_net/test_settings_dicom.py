"""PACS_DICOM comes from PACS_DICOM_* variables, with defaults and loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django import Settings

from apps.dicom_net.conf import dicom_settings
from pacs_project.settings.components.dicom import DicomNetworkSettings, DicomTimeouts, dicom_network


def test_no_variables_give_the_defaults() -> None:
    config = dicom_network({})
    assert config == DicomNetworkSettings()
    assert (config.ae_title, config.host, config.port) == ("PACS", "127.0.0.1", 11112)
    assert config.tls_cert is config.tls_key is config.tls_ca is None
    assert config.allowed_calling_ae_titles == ()
    assert config.workers == 1
    assert config.pin_workers is True
    assert config.batch_scheduling is True


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {
        "PACS_DICOM_AE_TITLE": "ARCHIVE",
        "PACS_DICOM_HOST": "0.0.0.0",
        "PACS_DICOM_PORT": "104",
        "PACS_DICOM_TLS_CERT": str(tmp_path / "cert.pem"),
        "PACS_DICOM_TLS_KEY": str(tmp_path / "key.pem"),
        "PACS_DICOM_TLS_CA": str(tmp_path / "ca.pem"),
        "PACS_DICOM_MAX_ASSOCIATIONS": "50",
        "PACS_DICOM_MAX_PDU_LENGTH": "65536",
        "PACS_DICOM_ALLOWED_CALLING_AE_TITLES": " CT1 , MR2,,VIEWER ",
        "PACS_DICOM_ARTIM_TIMEOUT": "5",
        "PACS_DICOM_ACSE_TIMEOUT": "6",
        "PACS_DICOM_DIMSE_TIMEOUT": "0",
        "PACS_DICOM_NETWORK_TIMEOUT": "120",
        "PACS_DICOM_WORKERS": "4",
        "PACS_DICOM_SHUTDOWN_GRACE": "20",
        "PACS_DICOM_PIN_WORKERS": "0",
        "PACS_DICOM_BATCH_SCHEDULING": "0",
    }
    assert dicom_network(env) == DicomNetworkSettings(
        ae_title="ARCHIVE",
        host="0.0.0.0",
        port=104,
        tls_cert=tmp_path / "cert.pem",
        tls_key=tmp_path / "key.pem",
        tls_ca=tmp_path / "ca.pem",
        max_associations=50,
        max_pdu_length=65536,
        allowed_calling_ae_titles=("CT1", "MR2", "VIEWER"),
        timeouts=DicomTimeouts(artim=5, acse=6, dimse=None, network=120),
        workers=4,
        shutdown_grace=20,
        pin_workers=False,
        batch_scheduling=False,
    )


def test_relative_tls_path_is_taken_from_the_repository_root() -> None:
    config = dicom_network({"PACS_DICOM_TLS_CERT": "var/tls/cert.pem"})
    assert config.tls_cert == Path(__file__).resolve().parents[3] / "var" / "tls" / "cert.pem"


def test_malformed_port_is_a_configuration_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="PACS_DICOM_PORT"):
        dicom_network({"PACS_DICOM_PORT": "eleven"})


def test_accessor_refuses_a_setting_of_the_wrong_type(settings: Settings) -> None:
    settings.PACS_DICOM = {"ae_title": "PACS"}
    with pytest.raises(ImproperlyConfigured, match="DicomNetworkSettings"):
        dicom_settings()


def test_accessor_returns_the_setting(settings: Settings) -> None:
    settings.PACS_DICOM = DicomNetworkSettings(ae_title="OTHER")
    assert dicom_settings().ae_title == "OTHER"
