"""Which calling AEs we serve, and for what: the known-peers rule (``PACS_DICOM_REQUIRE_KNOWN_PEERS``).

Off by default: any calling AE (within ``PACS_DICOM_ALLOWED_CALLING_AE_TITLES``) may ask
anything. On, two checks apply:

- at association time (:class:`KnownPeersPolicy`, dicomkit's ``AssociationPolicy``), a
  calling AE title that is not an enabled :class:`~apps.dicom_net.models.RemoteNode` is
  rejected: A-ASSOCIATE-RJ permanent, service-user, reason 3 "calling AE title not
  recognized" (PS3.8 Table 9-21);
- per request (:func:`peer_refusal`, called by the handlers in the thread pool), an
  operation not among the node's incoming operations is refused with status 0124H
  "Refused: Not authorized" (PS3.7 Annex C) and an Error Comment naming the operation.

The AE title is what the peer claims; for authenticated peers, combine with mutual TLS.
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.db import close_old_connections

from apps.dicom_net.models import DimseOperation, RemoteNode
from dicomkit.errors import DimseStatusError
from dicomkit.net.dimse.status import NOT_AUTHORIZED
from dicomkit.net.pdu import AssociateRJ, AssociateRQ, RejectResult, RejectSource, UserRejectReason

__all__ = ["KnownPeersPolicy", "check_peer", "known_peers_required", "peer_refusal"]


def known_peers_required() -> bool:
    """``settings.PACS_DICOM_REQUIRE_KNOWN_PEERS`` (default off)."""
    value = getattr(settings, "PACS_DICOM_REQUIRE_KNOWN_PEERS", False)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def peer_refusal(calling_ae_title: str, operation: DimseOperation) -> str | None:
    """None if ``calling_ae_title`` may ask ``operation`` of us; otherwise why not (blocking)."""
    if not known_peers_required():
        return None
    calling = calling_ae_title.strip()
    node = RemoteNode.objects.filter(ae_title=calling, enabled=True).first()
    if node is None:
        return f"{calling} is not a known remote node"
    if not node.allows_incoming(operation):
        return f"{calling} may not ask {operation.label}"
    return None


def check_peer(calling_ae_title: str, operation: DimseOperation) -> None:
    """Raises ``DimseStatusError(0124H)`` when the peer may not ask ``operation`` (blocking)."""
    refusal = peer_refusal(calling_ae_title, operation)
    if refusal is not None:
        raise DimseStatusError(NOT_AUTHORIZED, refusal)


def _known(calling_ae_title: str) -> bool:
    close_old_connections()
    try:
        return RemoteNode.objects.filter(ae_title=calling_ae_title.strip(), enabled=True).exists()
    finally:
        close_old_connections()


class KnownPeersPolicy:
    """Rejects associations from calling AEs that are not enabled remote nodes (when required)."""

    async def check(self, request: AssociateRQ, peer_host: str, peer_port: int) -> AssociateRJ | None:
        if not known_peers_required():
            return None
        if await asyncio.to_thread(_known, request.calling_ae_title):
            return None
        return AssociateRJ(
            RejectResult.REJECTED_PERMANENT,
            RejectSource.SERVICE_USER,
            UserRejectReason.CALLING_AE_TITLE_NOT_RECOGNIZED,
        )
