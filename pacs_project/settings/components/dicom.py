"""DICOM network identity and DIMSE server options: AE title, address, TLS, limits, timeouts.

Consumed by ``apps.dicom_net`` (the DIMSE server, ``manage.py run_dicom_server``), which
reads them through its one typed accessor (``apps.dicom_net.conf.dicom_settings``) and
builds dicomkit's frozen ``AEConfig`` from them in one place. Values are parsed here and
validated by the system checks ``dicom_net.E001``.. (AE titles, port, TLS files, limits),
so that ``manage.py check`` names every problem at once.

The defaults suit a single machine; a scale-out deployment runs several DIMSE processes on
the same port (``PACS_DICOM_WORKERS``, SO_REUSEPORT) or behind a TCP load balancer, all
with the same AE title.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pacs_project.settings.components.paths import resolve_path
from pacs_project.settings.env import Env, env_bool, env_int, env_list, env_str

# The Maximum Length we announce: 128 KiB, eight times the 16 KiB of DCMTK's and Orthanc's
# defaults. A 512 KiB CT image then arrives in 4 PDUs instead of 32: less decoding and fewer
# writes per image on the event loop. A sender may always send shorter PDUs, and what one
# association buffers stays bounded by it.
ARCHIVE_MAX_PDU_LENGTH = 131072


@dataclass(frozen=True, slots=True)
class DicomTimeouts:
    """Seconds; None (configured as 0) waits forever. Mirrors ``dicomkit.net.config.Timeouts``.

    ``min_receive_rate`` (bytes/s, None configured as 0: no bound) gives each PDU
    ``network`` seconds plus its length at this rate once its first byte is here, so a
    peer trickling bytes cannot hold an association slot (dicomkit.net.config explains
    the 16 KiB/s default).
    """

    artim: int = 30
    acse: int = 30
    dimse: int | None = 30
    network: int | None = 60
    min_receive_rate: int | None = 16384


@dataclass(frozen=True, slots=True)
class DicomNetworkSettings:
    """The ``PACS_DICOM`` setting.

    ``tls_cert``/``tls_key`` switch the DIMSE port to TLS (both or neither); ``tls_ca``
    additionally requires and verifies client certificates against that CA bundle.
    ``allowed_calling_ae_titles`` empty accepts any calling AE title.
    ``max_associations_per_peer`` caps the associations of one source IP address; None
    is half of ``max_associations`` (at least 1): one peer never takes every slot, and a
    host still opens several at once (the 4 parallel associations of
    ``benchmarks/store_throughput.py`` against the default 10).
    """

    ae_title: str = "PACS"
    host: str = "127.0.0.1"
    port: int = 11112
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    max_associations: int = 10
    max_associations_per_peer: int | None = None
    max_pdu_length: int = ARCHIVE_MAX_PDU_LENGTH
    allowed_calling_ae_titles: tuple[str, ...] = ()
    timeouts: DicomTimeouts = DicomTimeouts()
    workers: int = 1
    shutdown_grace: int = 10
    # Each of two or more workers runs on a CPU of its own (apps.dicom_net.services.cpu_pinning).
    pin_workers: bool = True
    # The server's threads never preempt one another on wake-up
    # (apps.dicom_net.services.batch_scheduling).
    batch_scheduling: bool = True


def _optional_path(env: Env, name: str) -> Path | None:
    raw = env_str(env, name)
    return resolve_path(raw) if raw else None


def _optional_seconds(env: Env, name: str, default: int) -> int | None:
    value = env_int(env, name, default=default)
    return None if value == 0 else value


def _none_if_zero(value: int) -> int | None:
    return None if value == 0 else value


def _optional_int(env: Env, name: str) -> int | None:
    return env_int(env, name, default=0) if env_str(env, name) else None


def dicom_network(env: Env) -> DicomNetworkSettings:
    """``PACS_DICOM_*`` variables (docs/configuration.md lists them with their defaults)."""
    defaults = DicomNetworkSettings()
    timeouts = DicomTimeouts()
    return DicomNetworkSettings(
        ae_title=env_str(env, "PACS_DICOM_AE_TITLE", default=defaults.ae_title),
        host=env_str(env, "PACS_DICOM_HOST", default=defaults.host),
        port=env_int(env, "PACS_DICOM_PORT", default=defaults.port),
        tls_cert=_optional_path(env, "PACS_DICOM_TLS_CERT"),
        tls_key=_optional_path(env, "PACS_DICOM_TLS_KEY"),
        tls_ca=_optional_path(env, "PACS_DICOM_TLS_CA"),
        max_associations=env_int(env, "PACS_DICOM_MAX_ASSOCIATIONS", default=defaults.max_associations),
        max_associations_per_peer=_optional_int(env, "PACS_DICOM_MAX_ASSOCIATIONS_PER_PEER"),
        max_pdu_length=env_int(env, "PACS_DICOM_MAX_PDU_LENGTH", default=defaults.max_pdu_length),
        allowed_calling_ae_titles=tuple(env_list(env, "PACS_DICOM_ALLOWED_CALLING_AE_TITLES", default=[])),
        timeouts=DicomTimeouts(
            artim=env_int(env, "PACS_DICOM_ARTIM_TIMEOUT", default=timeouts.artim),
            acse=env_int(env, "PACS_DICOM_ACSE_TIMEOUT", default=timeouts.acse),
            dimse=_optional_seconds(env, "PACS_DICOM_DIMSE_TIMEOUT", default=30),
            network=_optional_seconds(env, "PACS_DICOM_NETWORK_TIMEOUT", default=60),
            min_receive_rate=_none_if_zero(
                env_int(env, "PACS_DICOM_MIN_RECEIVE_RATE", default=timeouts.min_receive_rate or 0)
            ),
        ),
        workers=env_int(env, "PACS_DICOM_WORKERS", default=defaults.workers),
        shutdown_grace=env_int(env, "PACS_DICOM_SHUTDOWN_GRACE", default=defaults.shutdown_grace),
        pin_workers=env_bool(env, "PACS_DICOM_PIN_WORKERS", default=defaults.pin_workers),
        batch_scheduling=env_bool(env, "PACS_DICOM_BATCH_SCHEDULING", default=defaults.batch_scheduling),
    )


def require_known_peers(env: Env) -> bool:
    """``PACS_DICOM_REQUIRE_KNOWN_PEERS``: serve only calling AEs that are remote nodes allowed the
    operation (default off: any calling AE may echo, store, find, move and get)."""
    return env_bool(env, "PACS_DICOM_REQUIRE_KNOWN_PEERS", default=False)
