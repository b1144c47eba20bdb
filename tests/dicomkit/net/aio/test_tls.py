"""TLS (PS3.15 B.1) between our client and server: versions, server and client certificates."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from dicomkit.errors import AssociationAborted
from dicomkit.net.aio import VERIFICATION_CONTEXT, associate, client_ssl_context, server_ssl_context
from tests.dicomkit.net.aio.certs import Certificates, make_certificates
from tests.dicomkit.net.aio.servers import Observer, run, scu_ae, serving


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def _echo(server_context: ssl.SSLContext, client_context: ssl.SSLContext) -> tuple[int, bool]:
    async def scenario() -> tuple[int, bool]:
        observer = Observer()
        async with serving(ssl_context=server_context, observer=observer) as server:
            async with associate(
                "127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT], ssl_context=client_context
            ) as assoc:
                status = await assoc.echo()
            await observer.outcomes()
            return status, observer.ends()[0].tls

    return run(scenario())


def test_echo_over_tls_with_server_verification(certs: Certificates) -> None:
    server = server_ssl_context(certs.server_cert, certs.server_key)
    client = client_ssl_context(ca_file=certs.ca)
    assert _echo(server, client) == (0, True)


def test_mutual_tls(certs: Certificates) -> None:
    server = server_ssl_context(
        certs.server_cert, certs.server_key, ca_file=certs.ca, require_client_cert=True
    )
    client = client_ssl_context(ca_file=certs.ca, certfile=certs.client_cert, keyfile=certs.client_key)
    assert _echo(server, client) == (0, True)


def test_client_without_the_required_certificate_is_refused(certs: Certificates) -> None:
    server = server_ssl_context(
        certs.server_cert, certs.server_key, ca_file=certs.ca, require_client_cert=True
    )
    client = client_ssl_context(ca_file=certs.ca)
    with pytest.raises((OSError, AssociationAborted)):  # ssl.SSLError, or the server's close (TLS 1.3)
        _echo(server, client)


def test_server_certificate_from_an_unknown_ca_is_refused(certs: Certificates) -> None:
    server = server_ssl_context(certs.server_cert, certs.server_key)
    client = client_ssl_context(ca_file=certs.other_ca)
    with pytest.raises(ssl.SSLCertVerificationError):
        _echo(server, client)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_tls_below_1_2_is_never_negotiated(certs: Certificates) -> None:
    server = server_ssl_context(certs.server_cert, certs.server_key)
    client = client_ssl_context(ca_file=certs.ca)
    assert server.minimum_version is ssl.TLSVersion.TLSv1_2
    assert client.minimum_version is ssl.TLSVersion.TLSv1_2
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    try:
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    except ValueError:
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises(OSError):
        _echo(server, old)


def test_requiring_client_certificates_needs_a_ca(certs: Certificates, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        server_ssl_context(certs.server_cert, certs.server_key, require_client_cert=True)
