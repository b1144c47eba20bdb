"""TLS for DICOM associations (PS3.15 Annex B.1, the Secure Transport Connection Profiles).

Part of ``dicomkit.net.aio``: builders of :class:`ssl.SSLContext` objects for the server
(``DicomServer(ssl_context=...)``) and the client (``associate(ssl_context=...)``).

Policy, following the BCP 195 profiles of PS3.15 B.9-B.11:

- TLS 1.2 is the minimum; TLS 1.3 is used whenever both sides offer it. SSL 3, TLS 1.0
  and 1.1 are never negotiated. Cipher suites are OpenSSL's secure defaults.
- The server presents a certificate; it may require and verify a client certificate
  against a CA file (mutual authentication, as the DICOM profiles expect).
- The client verifies the server's certificate against a CA file (or the system store)
  unless told not to; host names are not checked by default, because DICOM peers are
  configured by address and AE title and their certificates rarely name the address.
"""

from __future__ import annotations

import os
import ssl

__all__ = ["client_ssl_context", "server_ssl_context"]

StrPath = str | os.PathLike[str]


def _base(purpose: ssl.Purpose) -> ssl.SSLContext:
    context = ssl.create_default_context(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    return context


def server_ssl_context(
    certfile: StrPath,
    keyfile: StrPath | None = None,
    *,
    ca_file: StrPath | None = None,
    require_client_cert: bool = False,
    password: str | None = None,
) -> ssl.SSLContext:
    """A server context presenting ``certfile``/``keyfile``.

    Args:
        ca_file: CAs accepted for client certificates. With it and without
            ``require_client_cert``, a client certificate is verified when offered.
        require_client_cert: refuse clients without a certificate signed by ``ca_file``.

    Raises:
        ValueError: ``require_client_cert`` without ``ca_file``.
        OSError, ssl.SSLError: unreadable or mismatched certificate/key files.
    """
    if require_client_cert and ca_file is None:
        raise ValueError("verifying client certificates needs a CA file")
    context = _base(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile, password)
    if ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


def client_ssl_context(
    *,
    ca_file: StrPath | None = None,
    certfile: StrPath | None = None,
    keyfile: StrPath | None = None,
    verify_server: bool = True,
    check_hostname: bool = False,
    password: str | None = None,
) -> ssl.SSLContext:
    """A client context; ``certfile``/``keyfile`` is the client certificate, if any.

    Args:
        ca_file: CAs accepted for the server's certificate; None uses the system store.
        verify_server: False accepts any server certificate (testing only).
        check_hostname: also match the server's certificate against the host name.
    """
    context = _base(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = check_hostname and verify_server
    if not verify_server:
        context.verify_mode = ssl.CERT_NONE
    elif ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    if certfile is not None:
        context.load_cert_chain(certfile, keyfile, password)
    return context
