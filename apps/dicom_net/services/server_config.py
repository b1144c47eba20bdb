"""Building the DIMSE server's configuration once, from settings and command-line overrides.

This is the one place where ``settings.PACS_DICOM`` becomes dicomkit's frozen
:class:`~dicomkit.net.config.AEConfig` (PS3.8 §7.1 negotiation inputs, PS3.8 §9.1.4 timers)
and the server options around it (address, TLS files, workers, shutdown grace). Overrides
are validated by the same rules as the system checks (``validation``), and every problem is
reported at once as :class:`~apps.dicom_net.errors.ServerConfigError`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, replace
from pathlib import Path

from apps.dicom_net import validation
from apps.dicom_net.conf import DicomNetworkSettings, dicom_settings
from apps.dicom_net.errors import ServerConfigError
from apps.dicom_net.handlers import supported_contexts
from dicomkit.net.aio.tls import server_ssl_context
from dicomkit.net.config import AEConfig, Timeouts


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Server certificate and key; with ``ca``, clients must present a certificate it signed."""

    cert: Path
    key: Path
    ca: Path | None = None


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``run_dicom_server`` needs, built once before any worker starts."""

    ae: AEConfig
    host: str
    port: int
    tls: TlsFiles | None
    workers: int
    shutdown_grace: float
    pin_workers: bool  # each of 2+ workers on a CPU of its own (services.cpu_pinning)
    batch_scheduling: bool  # SCHED_BATCH for the server's threads (services.batch_scheduling)


def max_associations_per_peer(config: DicomNetworkSettings) -> int:
    """The per-peer cap: as configured, else half of ``max_associations`` (at least 1)."""
    if config.max_associations_per_peer is not None:
        return config.max_associations_per_peer
    return max(1, config.max_associations // 2)


def ae_config_from_settings(config: DicomNetworkSettings | None = None) -> AEConfig:
    """dicomkit's ``AEConfig`` for ``config`` (default: ``settings.PACS_DICOM``).

    Raises:
        ServerConfigError: a value dicomkit refuses (the system checks catch these first).
    """
    config = config or dicom_settings()
    timeouts = config.timeouts
    try:
        return AEConfig(
            ae_title=config.ae_title,
            supported_contexts=supported_contexts(),
            max_pdu_length=config.max_pdu_length,
            allowed_calling_ae_titles=frozenset(config.allowed_calling_ae_titles) or None,
            max_associations=config.max_associations,
            max_associations_per_peer=max_associations_per_peer(config),
            timeouts=Timeouts(
                artim=float(timeouts.artim),
                acse=float(timeouts.acse),
                dimse=None if timeouts.dimse is None else float(timeouts.dimse),
                network=None if timeouts.network is None else float(timeouts.network),
                min_receive_rate=None
                if timeouts.min_receive_rate is None
                else float(timeouts.min_receive_rate),
            ),
        )
    except ValueError as exc:
        raise ServerConfigError([str(exc)]) from exc


def server_config_from_settings(
    *,
    ae_title: str | None = None,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    tls_ca: Path | None = None,
) -> ServerConfig:
    """The server configuration: ``settings.PACS_DICOM`` with the given values replacing its own.

    TLS files given here replace the configured ones as a set (a certificate without a key
    on the command line does not pick up the key from the settings).

    Raises:
        ServerConfigError: every problem of the resulting configuration.
    """
    config = dicom_settings()
    overrides: dict[str, object] = {
        name: value
        for name, value in (("ae_title", ae_title), ("host", host), ("port", port), ("workers", workers))
        if value is not None
    }
    if tls_cert is not None or tls_key is not None or tls_ca is not None:
        overrides.update(tls_cert=tls_cert, tls_key=tls_key, tls_ca=tls_ca)
    config = replace(config, **overrides)  # type: ignore[arg-type]
    problems = [problem for group in validation.settings_problems(config).values() for problem in group]
    if problems:
        raise ServerConfigError(problems)
    tls = None
    if config.tls_cert is not None and config.tls_key is not None:
        tls = TlsFiles(cert=config.tls_cert, key=config.tls_key, ca=config.tls_ca)
    return ServerConfig(
        ae=ae_config_from_settings(config),
        host=config.host,
        port=config.port,
        tls=tls,
        workers=config.workers,
        shutdown_grace=float(config.shutdown_grace),
        pin_workers=config.pin_workers,
        batch_scheduling=config.batch_scheduling,
    )


def server_ssl_context_build(tls: TlsFiles) -> ssl.SSLContext:
    """The server's TLS context (PS3.15 B.9-B.11 via dicomkit); mutual TLS when a CA is set.

    Raises:
        ServerConfigError: unreadable, malformed or mismatched certificate/key files.
    """
    try:
        return server_ssl_context(tls.cert, tls.key, ca_file=tls.ca, require_client_cert=tls.ca is not None)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ServerConfigError([f"TLS certificate/key/CA could not be loaded: {exc}"]) from exc
