"""Events of the UL protocol machine (PS3.8 §9.2.2, Table 9-6) and the user primitives.

``Event`` names the nineteen events as the standard does (``Event.EVT10``). The service
primitives of PS3.8 §7 that the machine exchanges with its local user are the PDU
dataclasses of :mod:`dicomkit.net.pdu` (their parameters are those of the PDUs), plus
:class:`ProviderAbort`, the A-P-ABORT indication, which has no PDU of its own.

==================  ==============================  ===============================
primitive           local user sends (request/resp)  local user receives (ind/conf)
==================  ==============================  ===============================
A-ASSOCIATE         AssociateRQ, AssociateAC/RJ      AssociateRQ, AssociateAC/RJ
P-DATA              PDataTF                          PDataTF
A-RELEASE           ReleaseRQ, ReleaseRP             ReleaseRQ, ReleaseRP
A-ABORT             AbortPDU                         AbortPDU (service-user source)
A-P-ABORT           --                               ProviderAbort
==================  ==============================  ===============================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dicomkit.net.pdu import (
    AbortPDU,
    AbortReason,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    PDataTF,
    ReleaseRP,
    ReleaseRQ,
)

__all__ = ["Event", "Primitive", "ProviderAbort"]


class Event(enum.IntEnum):
    """An event of the UL protocol machine; ``description`` quotes PS3.8 Table 9-6."""

    description: str

    # mypy checks a value lookup (``Event(6)``) against ``__new__``; at run time a lookup
    # never reaches it. The default only lets lookups type-check: every member has a description.
    def __new__(cls, value: int, description: str = "") -> Event:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    EVT1 = 1, "A-ASSOCIATE Request (local user)"
    EVT2 = 2, "Transport Connect Confirmation (local transport service)"
    EVT3 = 3, "A-ASSOCIATE-AC PDU (received on transport connection)"
    EVT4 = 4, "A-ASSOCIATE-RJ PDU (received on transport connection)"
    EVT5 = 5, "Transport Connection Indication (local transport service)"
    EVT6 = 6, "A-ASSOCIATE-RQ PDU (received on transport connection)"
    EVT7 = 7, "A-ASSOCIATE response primitive (accept)"
    EVT8 = 8, "A-ASSOCIATE response primitive (reject)"
    EVT9 = 9, "P-DATA request primitive"
    EVT10 = 10, "P-DATA-TF PDU"
    EVT11 = 11, "A-RELEASE Request primitive"
    EVT12 = 12, "A-RELEASE-RQ PDU (received on open transport connection)"
    EVT13 = 13, "A-RELEASE-RP PDU (received on transport connection)"
    EVT14 = 14, "A-RELEASE response primitive"
    EVT15 = 15, "A-ABORT Request primitive"
    EVT16 = 16, "A-ABORT PDU (received on open transport connection)"
    EVT17 = 17, "Transport connection closed indication (local transport service)"
    EVT18 = 18, "ARTIM timer expired (Association reject/release timer)"
    EVT19 = 19, "Unrecognized or invalid PDU received"


@dataclass(frozen=True, slots=True)
class ProviderAbort:
    """A-P-ABORT indication (PS3.8 §7.4): the association ended by the service-provider.

    Attributes:
        reason: the provider reason (PS3.8 Table 9-26).
        remote: True if the peer's provider sent an A-ABORT PDU with a provider source;
            False if our own provider aborted (invalid PDU received, transport lost).
        detail: what happened, for logs.
    """

    reason: AbortReason | int = AbortReason.REASON_NOT_SPECIFIED
    remote: bool = False
    detail: str = ""


Primitive = (
    AssociateRQ | AssociateAC | AssociateRJ | PDataTF | ReleaseRQ | ReleaseRP | AbortPDU | ProviderAbort
)
