"""DICOM network identity of this archive: AE title and DIMSE listening address.

Consumed by ``apps.dicom_net`` (the DIMSE server). The defaults suit a single machine; a
scale-out deployment runs several DIMSE processes on the same port (SO_REUSEPORT) or behind
a TCP load balancer, all with the same AE title.
"""

from __future__ import annotations

from dataclasses import dataclass

from pacs_project.settings.env import Env, env_int, env_str


@dataclass(frozen=True, slots=True)
class DicomNetworkSettings:
    ae_title: str
    host: str
    port: int


def dicom_network(env: Env) -> DicomNetworkSettings:
    """``PACS_DICOM_AE_TITLE`` (default ``PACS``), ``PACS_DICOM_HOST``, ``PACS_DICOM_PORT`` (11112)."""
    return DicomNetworkSettings(
        ae_title=env_str(env, "PACS_DICOM_AE_TITLE", default="PACS"),
        host=env_str(env, "PACS_DICOM_HOST", default="127.0.0.1"),
        port=env_int(env, "PACS_DICOM_PORT", default=11112),
    )
