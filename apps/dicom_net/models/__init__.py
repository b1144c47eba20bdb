"""Models of the ``dicom_net`` app, one module per concept.

- ``association_log``: :class:`AssociationLog`, one row per association the server saw.
- ``remote_node``: :class:`RemoteNode`, the DICOM AEs we know (C-MOVE destinations, SCU
  peers, and, with ``PACS_DICOM_REQUIRE_KNOWN_PEERS``, who may call us for what).
"""

from apps.dicom_net.models.association_log import AssociationLog, AssociationOutcome
from apps.dicom_net.models.remote_node import DimseOperation, RemoteNode, TlsMode

__all__ = ["AssociationLog", "AssociationOutcome", "DimseOperation", "RemoteNode", "TlsMode"]
