"""SCP service classes with handler interfaces (PS3.4), dispatched by ``dicomkit.net.aio``.

``protocols`` defines the shapes every service class and application handler follows;
``verification`` is the Verification Service Class (C-ECHO). Storage and query/retrieve
service classes follow the same :class:`ServiceClass` protocol.
"""

from dicomkit.net.services.protocols import (
    AssociationInfo,
    AssociationPolicy,
    Responder,
    ServiceClass,
    ServiceHandlers,
    ServiceRequest,
)
from dicomkit.net.services.verification import EchoRequest, VerificationHandler, VerificationService

__all__ = [
    "AssociationInfo",
    "AssociationPolicy",
    "EchoRequest",
    "Responder",
    "ServiceClass",
    "ServiceHandlers",
    "ServiceRequest",
    "VerificationHandler",
    "VerificationService",
]
