"""SCP service classes with handler interfaces (PS3.4), dispatched by ``dicomkit.net.aio``.

``protocols`` defines the shapes every service class and application handler follows;
``verification`` is the Verification Service Class (C-ECHO, PS3.4 Annex A) and
``storage`` the Storage Service Class (C-STORE, PS3.4 Annex B). Query/retrieve service
classes follow the same :class:`ServiceClass` protocol.
"""

from dicomkit.net.services.protocols import (
    AssociationInfo,
    AssociationPolicy,
    Responder,
    ServiceClass,
    ServiceHandlers,
    ServiceRequest,
)
from dicomkit.net.services.storage import (
    STORAGE_TRANSFER_SYNTAXES,
    Duplicates,
    FileStorageHandler,
    IncomingStore,
    StorageHandler,
    StorageService,
    StoreRequest,
    StoreStatus,
    storage_contexts,
)
from dicomkit.net.services.verification import EchoRequest, VerificationHandler, VerificationService

__all__ = [
    "STORAGE_TRANSFER_SYNTAXES",
    "AssociationInfo",
    "AssociationPolicy",
    "Duplicates",
    "EchoRequest",
    "FileStorageHandler",
    "IncomingStore",
    "Responder",
    "ServiceClass",
    "ServiceHandlers",
    "ServiceRequest",
    "StorageHandler",
    "StorageService",
    "StoreRequest",
    "StoreStatus",
    "VerificationHandler",
    "VerificationService",
    "storage_contexts",
]
