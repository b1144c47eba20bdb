"""The actions of the UL protocol machine (PS3.8 §9.2.2, Tables 9-6 to 9-9) and their effects.

Each action is a small pure function ``(context, payload) -> list[Effect]``: it sends
nothing and starts no timer itself, it *says* what must happen, and the connection
(``connection.py``) carries it out. Its docstring quotes the standard's action text. The
next state is not decided here but in ``machine.py``, except for the two conditional
actions: AE-6 (accept or reject by the service-provider) and AR-8 (release collision
side), which end their effect list with a :class:`NextState` choice.

Effects::

    SendPDU(pdu)        encode and write this PDU
    Indicate(primitive) issue this indication / confirmation primitive to the local user
    StartARTIM          start (or restart) the ARTIM timer
    StopARTIM           stop the ARTIM timer if running
    OpenTransport       issue a TRANSPORT CONNECT request (AE-1)
    CloseTransport      close the transport connection
    NextState(state)    the choice of a conditional action
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from dicomkit.errors import LocalProtocolError, PDUError
from dicomkit.net.pdu import (
    PDU,
    AbortPDU,
    AbortReason,
    AbortSource,
    ACSERejectReason,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    PDataTF,
    PresentationRejectReason,
    RejectResult,
    RejectSource,
    ReleaseRP,
    ReleaseRQ,
)
from dicomkit.net.ul.events import Primitive, ProviderAbort
from dicomkit.net.ul.states import State

__all__ = [
    "CloseTransport",
    "Context",
    "Effect",
    "Indicate",
    "NextState",
    "OpenTransport",
    "Payload",
    "SendPDU",
    "StartARTIM",
    "StopARTIM",
    "aa_1",
    "aa_2",
    "aa_3",
    "aa_4",
    "aa_5",
    "aa_6",
    "aa_7",
    "aa_8",
    "ae_1",
    "ae_2",
    "ae_3",
    "ae_4",
    "ae_5",
    "ae_6",
    "ae_7",
    "ae_8",
    "ar_1",
    "ar_10",
    "ar_2",
    "ar_3",
    "ar_4",
    "ar_5",
    "ar_6",
    "ar_7",
    "ar_8",
    "ar_9",
    "dt_1",
    "dt_2",
    "provider_rejection",
]

# ----------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class SendPDU:
    """Encode this PDU and write it to the transport."""

    pdu: PDU


@dataclass(frozen=True, slots=True)
class Indicate:
    """Issue this indication or confirmation primitive to the local user."""

    primitive: Primitive


@dataclass(frozen=True, slots=True)
class StartARTIM:
    """Start the ARTIM timer, or restart it if it is running."""


@dataclass(frozen=True, slots=True)
class StopARTIM:
    """Stop the ARTIM timer if it is running."""


@dataclass(frozen=True, slots=True)
class OpenTransport:
    """Issue a TRANSPORT CONNECT request primitive to the local transport service."""


@dataclass(frozen=True, slots=True)
class CloseTransport:
    """Close the transport connection."""


@dataclass(frozen=True, slots=True)
class NextState:
    """The next state chosen by a conditional action (AE-6, AR-8)."""

    state: State


Effect = SendPDU | Indicate | StartARTIM | StopARTIM | OpenTransport | CloseTransport | NextState
Payload = PDU | PDUError | None

_START: Final = StartARTIM()
_STOP: Final = StopARTIM()
_CLOSE: Final = CloseTransport()
_RELEASE_RQ: Final = ReleaseRQ()
_RELEASE_RP: Final = ReleaseRP()


@dataclass(frozen=True, slots=True)
class Context:
    """What the actions may know beyond their payload.

    Attributes:
        requestor: True on the association-requestor side (AR-8 depends on it).
        association_limit_exceeded: the service-provider cannot take one more
            association; AE-6 then rejects (transient, local-limit-exceeded).
    """

    requestor: bool
    association_limit_exceeded: bool = False


_P = TypeVar("_P", AssociateRQ, AssociateAC, AssociateRJ, PDataTF, ReleaseRQ, ReleaseRP, AbortPDU)


def _expect(payload: Payload, kind: type[_P]) -> _P:
    if not isinstance(payload, kind):
        raise LocalProtocolError(f"expected a {kind.__name__} payload, got {type(payload).__name__}")
    return payload


def provider_rejection(context: Context, request: AssociateRQ) -> AssociateRJ | None:
    """The A-ASSOCIATE-RJ the service-provider itself sends in AE-6, or None to go on.

    The provider rejects a request without bit 0 of the protocol version (PS3.8 Table
    9-11: "shall only test that bit 0 is set") and, when the local limit on associations
    is reached, with a transient presentation-related rejection (PS3.8 Table 9-21).
    """
    if not request.protocol_version & 0x0001:
        return AssociateRJ(
            RejectResult.REJECTED_PERMANENT,
            RejectSource.SERVICE_PROVIDER_ACSE,
            ACSERejectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
        )
    if context.association_limit_exceeded:
        return AssociateRJ(
            RejectResult.REJECTED_TRANSIENT,
            RejectSource.SERVICE_PROVIDER_PRESENTATION,
            PresentationRejectReason.LOCAL_LIMIT_EXCEEDED,
        )
    return None


def _provider_reason(payload: Payload) -> AbortReason:
    """Evt19 carries the PDUError's reason; a well-formed PDU in the wrong state is unexpected."""
    if isinstance(payload, PDUError):
        try:
            return AbortReason(payload.abort_reason)
        except ValueError:
            return AbortReason.REASON_NOT_SPECIFIED
    return AbortReason.UNEXPECTED_PDU


def _detail(payload: Payload) -> str:
    if isinstance(payload, PDUError):
        return str(payload)
    return f"unexpected {type(payload).__name__}"


ActionFunction = Callable[[Context, Payload], list[Effect]]

# ------------------------------------------------- association establishment, 9-6


def ae_1(context: Context, payload: Payload) -> list[Effect]:
    """Issue TRANSPORT CONNECT request primitive to local transport service."""
    _expect(payload, AssociateRQ)
    return [OpenTransport()]


def ae_2(context: Context, payload: Payload) -> list[Effect]:
    """Send A-ASSOCIATE-RQ-PDU."""
    return [SendPDU(_expect(payload, AssociateRQ))]


def ae_3(context: Context, payload: Payload) -> list[Effect]:
    """Issue A-ASSOCIATE confirmation (accept) primitive."""
    return [Indicate(_expect(payload, AssociateAC))]


def ae_4(context: Context, payload: Payload) -> list[Effect]:
    """Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection."""
    return [Indicate(_expect(payload, AssociateRJ)), _CLOSE]


def ae_5(context: Context, payload: Payload) -> list[Effect]:
    """Issue Transport connection response primitive; start ARTIM timer.

    The response primitive is implicit: the transport driver has already accepted the
    connection when it reports Evt5.
    """
    return [_START]


def ae_6(context: Context, payload: Payload) -> list[Effect]:
    """Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: issue
    A-ASSOCIATE indication primitive (next state Sta3); otherwise issue
    A-ASSOCIATE-RJ-PDU and start ARTIM timer (next state Sta13).

    Callback-free: the local user answers the indication later with an A-ASSOCIATE
    response primitive (Evt7 accept / Evt8 reject).
    """
    request = _expect(payload, AssociateRQ)
    rejection = provider_rejection(context, request)
    if rejection is None:
        return [_STOP, Indicate(request), NextState(State.STA3)]
    return [_STOP, SendPDU(rejection), _START, NextState(State.STA13)]


def ae_7(context: Context, payload: Payload) -> list[Effect]:
    """Send A-ASSOCIATE-AC PDU."""
    return [SendPDU(_expect(payload, AssociateAC))]


def ae_8(context: Context, payload: Payload) -> list[Effect]:
    """Send A-ASSOCIATE-RJ PDU and start ARTIM timer."""
    return [SendPDU(_expect(payload, AssociateRJ)), _START]


# ---------------------------------------------------------- data transfer, 9-7


def dt_1(context: Context, payload: Payload) -> list[Effect]:
    """Send P-DATA-TF PDU."""
    return [SendPDU(_expect(payload, PDataTF))]


def dt_2(context: Context, payload: Payload) -> list[Effect]:
    """Send P-DATA indication primitive."""
    return [Indicate(_expect(payload, PDataTF))]


# ------------------------------------------------------ association release, 9-8


def ar_1(context: Context, payload: Payload) -> list[Effect]:
    """Send A-RELEASE-RQ PDU."""
    return [SendPDU(_RELEASE_RQ)]


def ar_2(context: Context, payload: Payload) -> list[Effect]:
    """Issue A-RELEASE indication primitive."""
    return [Indicate(_RELEASE_RQ)]


def ar_3(context: Context, payload: Payload) -> list[Effect]:
    """Issue A-RELEASE confirmation primitive, and close transport connection."""
    return [Indicate(_RELEASE_RP), _CLOSE]


def ar_4(context: Context, payload: Payload) -> list[Effect]:
    """Issue A-RELEASE-RP PDU and start ARTIM timer."""
    return [SendPDU(_RELEASE_RP), _START]


def ar_5(context: Context, payload: Payload) -> list[Effect]:
    """Stop ARTIM timer."""
    return [_STOP]


def ar_6(context: Context, payload: Payload) -> list[Effect]:
    """Issue P-DATA indication."""
    return [Indicate(_expect(payload, PDataTF))]


def ar_7(context: Context, payload: Payload) -> list[Effect]:
    """Issue P-DATA-TF PDU."""
    return [SendPDU(_expect(payload, PDataTF))]


def ar_8(context: Context, payload: Payload) -> list[Effect]:
    """Issue A-RELEASE indication (release collision): if association-requestor, next
    state is Sta9, if not next state is Sta10."""
    return [Indicate(_RELEASE_RQ), NextState(State.STA9 if context.requestor else State.STA10)]


def ar_9(context: Context, payload: Payload) -> list[Effect]:
    """Send A-RELEASE-RP PDU."""
    return [SendPDU(_RELEASE_RP)]


def ar_10(context: Context, payload: Payload) -> list[Effect]:
    """Issue A-RELEASE confirmation primitive."""
    return [Indicate(_RELEASE_RP)]


# -------------------------------------------------------- association abort, 9-9


def aa_1(context: Context, payload: Payload) -> list[Effect]:
    """Send A-ABORT PDU (service-user source) and start (or restart if already started)
    ARTIM timer.

    The source is the service-user even when a bad PDU in Sta2 triggered it: that is
    what the standard's text prescribes; the reason field is then not significant.
    """
    return [SendPDU(AbortPDU(AbortSource.SERVICE_USER, AbortReason.REASON_NOT_SPECIFIED)), _START]


def aa_2(context: Context, payload: Payload) -> list[Effect]:
    """Stop ARTIM timer if running. Close transport connection."""
    return [_STOP, _CLOSE]


def aa_3(context: Context, payload: Payload) -> list[Effect]:
    """If (service-user initiated abort): issue A-ABORT indication and close transport
    connection; otherwise (service-provider initiated abort): issue A-P-ABORT indication
    and close transport connection."""
    abort = _expect(payload, AbortPDU)
    if abort.source == AbortSource.SERVICE_USER:
        return [Indicate(abort), _CLOSE]
    indication = ProviderAbort(abort.reason, remote=True, detail="A-ABORT from the peer's provider")
    return [Indicate(indication), _CLOSE]


def aa_4(context: Context, payload: Payload) -> list[Effect]:
    """Issue A-P-ABORT indication primitive."""
    return [Indicate(ProviderAbort(AbortReason.REASON_NOT_SPECIFIED, detail="transport connection closed"))]


def aa_5(context: Context, payload: Payload) -> list[Effect]:
    """Stop ARTIM timer."""
    return [_STOP]


def aa_6(context: Context, payload: Payload) -> list[Effect]:
    """Ignore PDU."""
    return []


def aa_7(context: Context, payload: Payload) -> list[Effect]:
    """Send A-ABORT PDU."""
    return [SendPDU(AbortPDU(AbortSource.SERVICE_PROVIDER, _provider_reason(payload)))]


def aa_8(context: Context, payload: Payload) -> list[Effect]:
    """Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication, and
    start ARTIM timer."""
    reason = _provider_reason(payload)
    return [
        SendPDU(AbortPDU(AbortSource.SERVICE_PROVIDER, reason)),
        Indicate(ProviderAbort(reason, detail=_detail(payload))),
        _START,
    ]
