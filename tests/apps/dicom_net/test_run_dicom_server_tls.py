"""``run_dicom_server`` over TLS: DCMTK echoscu with +tls/+tla, with and without client certificates."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from apps.dicom_net.models import AssociationLog, AssociationOutcome
from tests.apps.dicom_net.conftest import Echo, StartServer

EXIT_TIMEOUT = 20.0


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA with a server and a client certificate (EC P-256, one day)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    root = tmp_path_factory.mktemp("pki")
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    ca = ("-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=Test CA")
    _openssl("req", "-x509", *key, *ca, cwd=root)
    for name in ("server", "client"):
        _openssl(
            "req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=root
        )
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "1", cwd=root)  # fmt: skip
    return root


def _tls_flags(pki: Path, *, ca: bool) -> tuple[str, ...]:
    flags = ("--tls-cert", str(pki / "server.crt"), "--tls-key", str(pki / "server.key"))
    return (*flags, "--tls-ca", str(pki / "ca.crt")) if ca else flags


@pytest.mark.parametrize("workers", [1, 2])  # 2: TLS on the sockets the parent bound
def test_echoscu_over_tls_is_answered_and_logged_as_tls(
    dicom_server: StartServer, echoscu: Echo, pki: Path, workers: int
) -> None:
    server = dicom_server(*_tls_flags(pki, ca=False), "--workers", str(workers))
    server.wait_listening(count=workers)
    (start,) = server.messages("dicom server starting")
    assert start["tls"] is True

    result = echoscu(server.port, extra=("+tla", "+cf", str(pki / "ca.crt")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert echoscu(server.port).returncode != 0  # plain TCP to a TLS port

    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0
    row = AssociationLog.objects.get(outcome=AssociationOutcome.RELEASED)
    assert row.tls is True
    assert row.calling_ae_title == "ECHOSCU"


def test_with_a_ca_only_clients_with_a_certificate_it_signed_get_in(
    dicom_server: StartServer, echoscu: Echo, pki: Path
) -> None:
    server = dicom_server(*_tls_flags(pki, ca=True))
    server.wait_listening()
    trusted = ("+cf", str(pki / "ca.crt"))

    with_cert = echoscu(
        server.port, extra=("+tls", str(pki / "client.key"), str(pki / "client.crt"), *trusted)
    )
    assert with_cert.returncode == 0, with_cert.stdout + with_cert.stderr
    assert echoscu(server.port, extra=("+tla", *trusted)).returncode != 0

    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0
    assert AssociationLog.objects.filter(outcome=AssociationOutcome.RELEASED, tls=True).count() == 1


def test_unloadable_tls_files_stop_the_command(dicom_server: StartServer, tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate\n")
    (tmp_path / "key.pem").write_text("not a key\n")
    server = dicom_server("--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"))
    assert server.process.wait(timeout=60) == 1
    server.stop()
    assert "TLS certificate/key/CA could not be loaded" in server.output()
