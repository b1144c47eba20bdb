"""Pure validators of the DIMSE server configuration, shared by the system checks and the service.

``checks.py`` reports these problems for ``settings.PACS_DICOM`` with ids (``dicom_net.E001``..);
``services.server_config`` applies the same rules to command-line overrides. Each function
returns a list of human-readable problems, empty when the value is fine;
:func:`settings_problems` groups them by check id.

AE titles follow PS3.5 Table 6.2-1 (AE VR): 1-16 characters of the default repertoire,
no backslash, no control characters, not all spaces. Leading and trailing spaces are not
significant, so a configured title with them is refused rather than silently trimmed.
"""

from __future__ import annotations

import os
from pathlib import Path

from pacs_project.settings.components.dicom import DicomNetworkSettings

AE_TITLE_MAX_LENGTH = 16
PORT_RANGE = range(1, 65536)
# PS3.8 Annex D.1: the Maximum Length we announce. dicomkit refuses 0 ("unlimited") too.
MAX_PDU_RANGE = range(4096, 0x1_0000_0000)
WORKERS_RANGE = range(1, 257)


def ae_title_problems(title: str, *, what: str = "AE title") -> list[str]:
    """Problems of ``title`` as an AE title."""
    if not title or not title.strip(" "):
        return [f"{what} {title!r} is empty or all spaces"]
    problems = []
    if len(title) > AE_TITLE_MAX_LENGTH:
        problems.append(f"{what} {title!r} is longer than {AE_TITLE_MAX_LENGTH} characters")
    if "\\" in title:
        problems.append(f"{what} {title!r} contains a backslash")
    if any(not 0x20 <= ord(char) < 0x7F for char in title):
        problems.append(f"{what} {title!r} contains control or non-ASCII characters")
    if title != title.strip(" "):
        problems.append(f"{what} {title!r} has leading or trailing spaces")
    return problems


def port_problems(port: int, *, what: str = "port") -> list[str]:
    if port not in PORT_RANGE:
        return [f"{what} {port} is outside 1-65535"]
    return []


def tls_problems(*, cert: Path | None, key: Path | None, ca: Path | None) -> list[str]:
    """Both of cert and key or neither; CA only with them; every named file readable."""
    problems = []
    if (cert is None) != (key is None):
        problems.append("TLS needs both a certificate and a private key (or neither)")
    if ca is not None and cert is None and key is None:
        problems.append("a TLS CA bundle was given without a certificate and key")
    for label, path in (("certificate", cert), ("private key", key), ("CA bundle", ca)):
        if path is not None:
            problems += file_problems(path, what=f"TLS {label}")
    return problems


def file_problems(path: Path, *, what: str = "file") -> list[str]:
    """Problems of ``path`` as a file we must read (a TLS certificate, key or CA bundle)."""
    if not path.is_file():
        return [f"{what} {path} does not exist or is not a file"]
    if not os.access(path, os.R_OK):
        return [f"{what} {path} is not readable"]
    return []


def limit_problems(
    *,
    max_associations: int,
    max_pdu_length: int,
    workers: int,
    shutdown_grace: int,
    max_associations_per_peer: int | None = None,
) -> list[str]:
    problems = []
    if max_associations < 1:
        problems.append(f"max associations {max_associations} must be at least 1")
    if max_associations_per_peer is not None and max_associations_per_peer < 1:
        problems.append(f"max associations per peer {max_associations_per_peer} must be at least 1")
    if max_pdu_length not in MAX_PDU_RANGE:
        problems.append(f"max PDU length {max_pdu_length} must be in 4096..4294967295")
    if workers not in WORKERS_RANGE:
        problems.append(f"workers {workers} must be in 1..{WORKERS_RANGE.stop - 1}")
    if shutdown_grace < 0:
        problems.append(f"shutdown grace {shutdown_grace} must not be negative")
    return problems


def timeout_problems(**timeouts: int | None) -> list[str]:
    """Each timeout positive, or None where "forever" is allowed."""
    return [
        f"{name} timeout {value} must be positive"
        for name, value in timeouts.items()
        if value is not None and value <= 0
    ]


def rate_problems(*, min_receive_rate: int | None) -> list[str]:
    """The minimum receive rate positive, or None for no bound."""
    if min_receive_rate is not None and min_receive_rate <= 0:
        return [f"minimum receive rate {min_receive_rate} bytes/s must be positive"]
    return []


def settings_problems(config: DicomNetworkSettings) -> dict[str, list[str]]:
    """Every problem of ``config``, keyed by the system check id that reports it."""
    timeouts = config.timeouts
    return {
        "dicom_net.E001": ae_title_problems(config.ae_title),
        "dicom_net.E002": [
            problem
            for title in config.allowed_calling_ae_titles
            for problem in ae_title_problems(title, what="allowed calling AE title")
        ],
        "dicom_net.E003": port_problems(config.port),
        "dicom_net.E004": tls_problems(cert=config.tls_cert, key=config.tls_key, ca=config.tls_ca),
        "dicom_net.E005": limit_problems(
            max_associations=config.max_associations,
            max_associations_per_peer=config.max_associations_per_peer,
            max_pdu_length=config.max_pdu_length,
            workers=config.workers,
            shutdown_grace=config.shutdown_grace,
        ),
        "dicom_net.E006": timeout_problems(
            ARTIM=timeouts.artim, ACSE=timeouts.acse, DIMSE=timeouts.dimse, network=timeouts.network
        )
        + rate_problems(min_receive_rate=timeouts.min_receive_rate),
    }
