"""DICOM Upper Layer PDUs: encode and strictly bounded decode (PS3.8 §9.3, PS3.7 Annex D).

Pure code, no I/O. ``codes`` holds the enumerated field values, ``decode``/``encode``
the bounded wire primitives, ``items`` the A-ASSOCIATE items and sub-items, ``pdus``
the seven PDUs and :func:`decode_pdu`. The state machine (``dicomkit.net.ul``) sits
above this package.
"""

from dicomkit.net.pdu.codes import (
    AbortReason,
    AbortSource,
    ACSERejectReason,
    ContextResult,
    ItemType,
    PDUType,
    PresentationRejectReason,
    RejectResult,
    RejectSource,
    UserIdentityType,
    UserRejectReason,
)
from dicomkit.net.pdu.decode import check_pdu_header, read_pdu_header
from dicomkit.net.pdu.encode import encode_pdata
from dicomkit.net.pdu.items import (
    DICOM_APPLICATION_CONTEXT,
    ApplicationContextItem,
    AsynchronousOperationsWindow,
    PresentationContextAC,
    PresentationContextRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
)
from dicomkit.net.pdu.pdus import (
    PDU,
    AbortPDU,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    PDataTF,
    PresentationDataValue,
    ReleaseRP,
    ReleaseRQ,
    decode_pdu,
)

__all__ = [
    "DICOM_APPLICATION_CONTEXT",
    "PDU",
    "ACSERejectReason",
    "AbortPDU",
    "AbortReason",
    "AbortSource",
    "ApplicationContextItem",
    "AssociateAC",
    "AssociateRJ",
    "AssociateRQ",
    "AsynchronousOperationsWindow",
    "ContextResult",
    "ItemType",
    "PDUType",
    "PDataTF",
    "PresentationContextAC",
    "PresentationContextRQ",
    "PresentationDataValue",
    "PresentationRejectReason",
    "RejectResult",
    "RejectSource",
    "ReleaseRP",
    "ReleaseRQ",
    "RoleSelection",
    "SOPClassCommonExtendedNegotiation",
    "SOPClassExtendedNegotiation",
    "UserIdentityAC",
    "UserIdentityRQ",
    "UserIdentityType",
    "UserInformation",
    "UserRejectReason",
    "check_pdu_header",
    "decode_pdu",
    "encode_pdata",
    "read_pdu_header",
]
