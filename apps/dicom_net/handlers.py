"""The one place that binds dicomkit's service Protocols to this product's services.

dicomkit's DIMSE service classes (``dicomkit.net.services``) call handlers through typed
Protocols; :func:`service_handlers` assembles the service classes the server dispatches to,
and :func:`supported_contexts` derives from them what we accept in association negotiation
(read by ``services.server_config``), so the two cannot disagree.

Today: Verification (PS3.4 Annex A, C-ECHO), answered Success by dicomkit's service class.
Storage, Query/Retrieve and Modality Worklist bind to the archive and worklist apps here as
they arrive, with the translation of their domain errors to DIMSE statuses kept in one
table in this module (dicomkit turns anything unmapped into 0110H Processing failure).
"""

from __future__ import annotations

from dicomkit.data import uids
from dicomkit.net.config import SupportedContext
from dicomkit.net.services import ServiceHandlers, VerificationService

# Uncompressed transfer syntaxes every SOP class here accepts, preferred first (PS3.5 §10).
NATIVE_TRANSFER_SYNTAXES = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)


def service_handlers() -> ServiceHandlers:
    """The service classes of the product's AE."""
    return ServiceHandlers([VerificationService()])


def supported_contexts(handlers: ServiceHandlers | None = None) -> tuple[SupportedContext, ...]:
    """The abstract syntaxes we accept as association-acceptor, with our transfer syntaxes."""
    handlers = handlers or service_handlers()
    return tuple(SupportedContext(uid, NATIVE_TRANSFER_SYNTAXES) for uid in sorted(handlers.sop_classes))
