"""The one place that binds dicomkit's service Protocols to this product's services.

dicomkit's DIMSE service classes (``dicomkit.net.services``) call handlers through typed
Protocols; this module provides them and declares which SOP classes the server accepts
(``supported_contexts``, read by ``services.server_config``). Today: Verification
(PS3.4 Annex A, C-ECHO). Storage, Query/Retrieve and Modality Worklist bind to the archive
and worklist apps here as they arrive, with the translation of their domain errors to DIMSE
statuses kept in one table in this module.
"""

from __future__ import annotations

from dicomkit.data import uids
from dicomkit.net.config import SupportedContext

# Uncompressed transfer syntaxes every SOP class here accepts, preferred first (PS3.5 §10).
NATIVE_TRANSFER_SYNTAXES = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)


def supported_contexts() -> tuple[SupportedContext, ...]:
    """The abstract syntaxes we accept as association-acceptor, with our transfer syntaxes."""
    return (SupportedContext(uids.Verification, NATIVE_TRANSFER_SYNTAXES),)
