"""The server configuration is built once from settings and flags, and refuses bad values."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
from pytest_django import Settings

from apps.dicom_net.errors import ServerConfigError
from apps.dicom_net.handlers import service_handlers, supported_contexts
from apps.dicom_net.services.server_config import (
    TlsFiles,
    ae_config_from_settings,
    server_config_from_settings,
    server_ssl_context_build,
)
from dicomkit.data.uid import storage_sop_classes
from dicomkit.data.uids import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
    Verification,
)
from dicomkit.net.config import Timeouts
from dicomkit.net.services import STORAGE_TRANSFER_SYNTAXES
from dicomkit.part10.transfer_syntax import known_transfer_syntaxes
from pacs_project.settings.components.dicom import DicomNetworkSettings, DicomTimeouts


@pytest.fixture
def dicom(settings: Settings) -> DicomNetworkSettings:
    dicom = DicomNetworkSettings(
        ae_title="ARCHIVE",
        port=11112,
        max_associations=25,
        max_pdu_length=65536,
        allowed_calling_ae_titles=("CT1", "MR1"),
        timeouts=DicomTimeouts(artim=5, acse=6, dimse=None, network=90),
        workers=3,
        shutdown_grace=7,
    )
    settings.PACS_DICOM = dicom
    return dicom


def test_ae_config_carries_every_setting(dicom: DicomNetworkSettings) -> None:
    ae = ae_config_from_settings()
    assert ae.ae_title == "ARCHIVE"
    assert ae.max_associations == 25
    assert ae.max_pdu_length == 65536
    assert ae.allowed_calling_ae_titles == frozenset({"CT1", "MR1"})
    assert ae.timeouts == Timeouts(artim=5.0, acse=6.0, dimse=None, network=90.0)
    assert ae.supported_contexts == supported_contexts()


def test_no_allowed_calling_titles_means_any(settings: Settings) -> None:
    settings.PACS_DICOM = DicomNetworkSettings()
    assert ae_config_from_settings().allowed_calling_ae_titles is None


def test_the_server_accepts_verification_with_native_transfer_syntaxes() -> None:
    (context,) = [c for c in supported_contexts() if c.abstract_syntax == Verification]
    assert context.transfer_syntaxes == (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
    assert service_handlers().service_for(Verification) is not None


def test_the_server_accepts_every_storage_sop_class_in_every_readable_syntax() -> None:
    by_class = {c.abstract_syntax: c.transfer_syntaxes for c in supported_contexts()}
    storage = set(storage_sop_classes())
    assert len(storage) > 100
    assert storage <= by_class.keys()
    assert Verification in by_class.keys() - storage  # and the Query/Retrieve SOP classes
    for sop_class in storage:
        assert by_class[sop_class] == STORAGE_TRANSFER_SYNTAXES
        assert service_handlers().service_for(sop_class) is not None
    readable = {ts.uid for ts in known_transfer_syntaxes()}
    assert set(STORAGE_TRANSFER_SYNTAXES) == readable  # compressed ones are stored as received
    assert {JPEG2000Lossless, RLELossless, DeflatedExplicitVRLittleEndian} <= readable


def test_flags_override_settings(dicom: DicomNetworkSettings) -> None:
    config = server_config_from_settings(ae_title="OVERRIDE", port=4242, workers=1, host="0.0.0.0")
    assert (config.ae.ae_title, config.port, config.workers, config.host) == ("OVERRIDE", 4242, 1, "0.0.0.0")
    assert config.shutdown_grace == 7.0
    assert config.tls is None


def test_without_flags_the_settings_apply(dicom: DicomNetworkSettings) -> None:
    config = server_config_from_settings()
    assert (config.ae.ae_title, config.port, config.workers) == ("ARCHIVE", 11112, 3)


def test_bad_flags_are_all_reported_at_once(dicom: DicomNetworkSettings, tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError) as raised:
        server_config_from_settings(
            ae_title="A" * 17, port=70000, workers=0, tls_cert=tmp_path / "missing.pem"
        )
    text = " | ".join(raised.value.problems)
    assert "longer than 16" in text
    assert "70000" in text
    assert "workers 0" in text
    assert "both a certificate and a private key" in text


def test_tls_flags_replace_the_configured_files_as_a_set(settings: Settings, tmp_path: Path) -> None:
    for name in ("a.crt", "a.key", "b.crt", "b.key", "ca.crt"):
        (tmp_path / name).write_text("x")
    settings.PACS_DICOM = dataclasses.replace(
        DicomNetworkSettings(),
        tls_cert=tmp_path / "a.crt",
        tls_key=tmp_path / "a.key",
        tls_ca=tmp_path / "ca.crt",
    )
    assert server_config_from_settings().tls == TlsFiles(
        tmp_path / "a.crt", tmp_path / "a.key", tmp_path / "ca.crt"
    )
    overridden = server_config_from_settings(tls_cert=tmp_path / "b.crt", tls_key=tmp_path / "b.key")
    assert overridden.tls == TlsFiles(tmp_path / "b.crt", tmp_path / "b.key", None)


def test_unloadable_tls_files_are_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    with pytest.raises(ServerConfigError, match="could not be loaded"):
        server_ssl_context_build(TlsFiles(tmp_path / "cert.pem", tmp_path / "key.pem"))


def test_a_real_certificate_builds_a_context(tmp_path: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", "key.pem", "-out", "cert.pem", "-days", "1", "-subj", "/CN=pacs"],
        cwd=tmp_path, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = server_ssl_context_build(TlsFiles(tmp_path / "cert.pem", tmp_path / "key.pem"))
    assert context.minimum_version.name in ("TLSv1_2", "TLSv1_3")
