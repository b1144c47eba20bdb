"""Enumerated field values of the DICOM Upper Layer PDUs (PS3.8 §9.3, PS3.7 Annex D).

The lowest module of ``dicomkit.net.pdu``: every other module of the package (and the
state machine above it) names these values instead of repeating magic numbers.

- PDU types (PS3.8 §9.3.1) and item types (§9.3.2-9.3.5, PS3.7 Annex D).
- A-ASSOCIATE-RJ result, source and reason/diag (PS3.8 Table 9-21). The reason values
  overlap between sources, so there is one enum per source.
- A-ABORT source and reason/diag (PS3.8 Table 9-26).
- Presentation context result/reason (PS3.8 Table 9-18).
- User identity type (PS3.7 Table D.3-14).

:func:`describe_rejection` and :func:`describe_abort` put the A-ASSOCIATE-RJ and A-ABORT
fields in words for people, keeping the numbers (integrators grep for them); the
``AssociationRejected`` and ``AssociationAborted`` errors take their text from them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

__all__ = [
    "ACSERejectReason",
    "AbortReason",
    "AbortSource",
    "ContextResult",
    "ItemType",
    "PDUType",
    "PresentationRejectReason",
    "RejectResult",
    "RejectSource",
    "UserIdentityType",
    "UserRejectReason",
    "describe_abort",
    "describe_rejection",
]


class PDUType(enum.IntEnum):
    """The seven PDU types of PS3.8 §9.3.1."""

    A_ASSOCIATE_RQ = 0x01
    A_ASSOCIATE_AC = 0x02
    A_ASSOCIATE_RJ = 0x03
    P_DATA_TF = 0x04
    A_RELEASE_RQ = 0x05
    A_RELEASE_RP = 0x06
    A_ABORT = 0x07


class ItemType(enum.IntEnum):
    """Item and sub-item types of PS3.8 §9.3 and PS3.7 Annex D."""

    APPLICATION_CONTEXT = 0x10
    PRESENTATION_CONTEXT_RQ = 0x20
    PRESENTATION_CONTEXT_AC = 0x21
    ABSTRACT_SYNTAX = 0x30
    TRANSFER_SYNTAX = 0x40
    USER_INFORMATION = 0x50
    MAXIMUM_LENGTH = 0x51
    IMPLEMENTATION_CLASS_UID = 0x52
    ASYNCHRONOUS_OPERATIONS_WINDOW = 0x53
    ROLE_SELECTION = 0x54
    IMPLEMENTATION_VERSION_NAME = 0x55
    SOP_CLASS_EXTENDED_NEGOTIATION = 0x56
    SOP_CLASS_COMMON_EXTENDED_NEGOTIATION = 0x57
    USER_IDENTITY_RQ = 0x58
    USER_IDENTITY_AC = 0x59


class RejectResult(enum.IntEnum):
    """A-ASSOCIATE-RJ Result (PS3.8 Table 9-21)."""

    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class RejectSource(enum.IntEnum):
    """A-ASSOCIATE-RJ Source (PS3.8 Table 9-21)."""

    SERVICE_USER = 1
    SERVICE_PROVIDER_ACSE = 2
    SERVICE_PROVIDER_PRESENTATION = 3


class UserRejectReason(enum.IntEnum):
    """Reason/Diag when the source is the DICOM UL service-user (values 4-6, 8-10 reserved)."""

    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AE_TITLE_NOT_RECOGNIZED = 3
    CALLED_AE_TITLE_NOT_RECOGNIZED = 7


class ACSERejectReason(enum.IntEnum):
    """Reason/Diag when the source is the service-provider (ACSE related function)."""

    NO_REASON_GIVEN = 1
    PROTOCOL_VERSION_NOT_SUPPORTED = 2


class PresentationRejectReason(enum.IntEnum):
    """Reason/Diag when the source is the service-provider (presentation related function)."""

    TEMPORARY_CONGESTION = 1
    LOCAL_LIMIT_EXCEEDED = 2


class AbortSource(enum.IntEnum):
    """A-ABORT Source (PS3.8 Table 9-26); 1 is reserved but may be received."""

    SERVICE_USER = 0
    RESERVED = 1
    SERVICE_PROVIDER = 2


class AbortReason(enum.IntEnum):
    """A-ABORT Reason/Diag (PS3.8 Table 9-26), significant only for a provider source.

    It is also the ``abort_reason`` carried by :class:`dicomkit.errors.PDUError`.
    """

    REASON_NOT_SPECIFIED = 0
    UNRECOGNIZED_PDU = 1
    UNEXPECTED_PDU = 2
    RESERVED = 3
    UNRECOGNIZED_PDU_PARAMETER = 4
    UNEXPECTED_PDU_PARAMETER = 5
    INVALID_PDU_PARAMETER_VALUE = 6


class ContextResult(enum.IntEnum):
    """Presentation context Result/Reason of an A-ASSOCIATE-AC (PS3.8 Table 9-18)."""

    ACCEPTANCE = 0
    USER_REJECTION = 1
    NO_REASON = 2
    ABSTRACT_SYNTAX_NOT_SUPPORTED = 3
    TRANSFER_SYNTAXES_NOT_SUPPORTED = 4


class UserIdentityType(enum.IntEnum):
    """User-Identity-Type of the User Identity sub-item (PS3.7 Table D.3-14)."""

    USERNAME = 1
    USERNAME_AND_PASSCODE = 2
    KERBEROS = 3
    SAML = 4
    JWT = 5


# ------------------------------------------------------------------ in words

_REJECT_RESULT_WORDS: Final[Mapping[int, str]] = {
    RejectResult.REJECTED_PERMANENT: "rejected permanently",
    RejectResult.REJECTED_TRANSIENT: "rejected transiently",
}
_REJECT_SOURCE_WORDS: Final[Mapping[int, str]] = {
    RejectSource.SERVICE_USER: "the service-user",
    RejectSource.SERVICE_PROVIDER_ACSE: "the service-provider (ACSE)",
    RejectSource.SERVICE_PROVIDER_PRESENTATION: "the service-provider (presentation)",
}
# Keyed by (source, reason): the reason values mean different things per source.
_REJECT_REASON_WORDS: Final[Mapping[tuple[int, int], str]] = {
    (RejectSource.SERVICE_USER, UserRejectReason.NO_REASON_GIVEN): "no reason given",
    (RejectSource.SERVICE_USER, UserRejectReason.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED): (
        "application context name not supported"
    ),
    (RejectSource.SERVICE_USER, UserRejectReason.CALLING_AE_TITLE_NOT_RECOGNIZED): (
        "calling AE title not recognized"
    ),
    (RejectSource.SERVICE_USER, UserRejectReason.CALLED_AE_TITLE_NOT_RECOGNIZED): (
        "called AE title not recognized"
    ),
    (RejectSource.SERVICE_PROVIDER_ACSE, ACSERejectReason.NO_REASON_GIVEN): "no reason given",
    (RejectSource.SERVICE_PROVIDER_ACSE, ACSERejectReason.PROTOCOL_VERSION_NOT_SUPPORTED): (
        "protocol version not supported"
    ),
    (RejectSource.SERVICE_PROVIDER_PRESENTATION, PresentationRejectReason.TEMPORARY_CONGESTION): (
        "temporary congestion"
    ),
    (RejectSource.SERVICE_PROVIDER_PRESENTATION, PresentationRejectReason.LOCAL_LIMIT_EXCEEDED): (
        "local limit exceeded"
    ),
}
_ABORT_SOURCE_WORDS: Final[Mapping[int, str]] = {
    AbortSource.SERVICE_USER: "the service-user",
    AbortSource.RESERVED: "a reserved source",
    AbortSource.SERVICE_PROVIDER: "the service-provider",
}
_ABORT_REASON_WORDS: Final[Mapping[int, str]] = {
    AbortReason.REASON_NOT_SPECIFIED: "reason not specified",
    AbortReason.UNRECOGNIZED_PDU: "unrecognized PDU",
    AbortReason.UNEXPECTED_PDU: "unexpected PDU",
    AbortReason.UNRECOGNIZED_PDU_PARAMETER: "unrecognized PDU parameter",
    AbortReason.UNEXPECTED_PDU_PARAMETER: "unexpected PDU parameter",
    AbortReason.INVALID_PDU_PARAMETER_VALUE: "invalid PDU parameter value",
}


def describe_rejection(result: int, source: int, reason: int) -> str:
    """An A-ASSOCIATE-RJ in words, e.g. ``rejected permanently by the service-user: called
    AE title not recognized (result=1 source=1 reason=7)``.

    Values PS3.8 Table 9-21 reserves (or never defined) are said to be so; the numbers
    are always kept.
    """
    how = _REJECT_RESULT_WORDS.get(result, "rejected")
    by = _REJECT_SOURCE_WORDS.get(source, "an unknown source")
    if source in _REJECT_SOURCE_WORDS:
        why = _REJECT_REASON_WORDS.get((source, reason), "reserved reason")
    else:
        why = "reason not known"
    return f"{how} by {by}: {why} (result={result} source={source} reason={reason})"


def describe_abort(source: int, reason: int) -> str:
    """An A-ABORT in words, e.g. ``aborted by the service-provider: unexpected PDU
    (source=2 reason=2)``.

    PS3.8 Table 9-26 makes the reason significant only when the service-provider
    aborted, so only then is it named; the numbers are always kept.
    """
    by = _ABORT_SOURCE_WORDS.get(source, "an unknown source")
    codes = f"(source={source} reason={reason})"
    if source != AbortSource.SERVICE_PROVIDER:
        return f"aborted by {by} {codes}"
    return f"aborted by {by}: {_ABORT_REASON_WORDS.get(reason, 'reserved reason')} {codes}"
