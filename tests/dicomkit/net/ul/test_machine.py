"""The UL state machine driven through every (state, event) pair of PS3.8 Table 9-10.

The expected action of each cell, the next state of each action (Tables 9-6 to 9-9)
and the effects each action must have are transcribed here from the standard, in a
different form from the product's table, so that a wrong cell there fails here.
"""

from __future__ import annotations

import itertools

import pytest

from dicomkit.errors import LocalProtocolError, PDUError
from dicomkit.net.pdu import (
    AbortPDU,
    AbortReason,
    AbortSource,
    ACSERejectReason,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    ContextResult,
    PDataTF,
    PresentationContextAC,
    PresentationContextRQ,
    PresentationDataValue,
    PresentationRejectReason,
    RejectResult,
    RejectSource,
    ReleaseRP,
    ReleaseRQ,
    UserRejectReason,
)
from dicomkit.net.ul import actions
from dicomkit.net.ul.actions import (
    CloseTransport,
    Context,
    Effect,
    Indicate,
    OpenTransport,
    SendPDU,
    StartARTIM,
    StopARTIM,
)
from dicomkit.net.ul.events import Event, ProviderAbort
from dicomkit.net.ul.machine import ACTIONS, TRANSITIONS, step
from dicomkit.net.ul.states import State

# PS3.8 Table 9-10, event by event: {state number: action}. Cells not listed are empty.
_PDU_ROW_BASE = {2: "AA-1", 3: "AA-8", 5: "AA-8", 6: "AA-8", 7: "AA-8", 8: "AA-8", 9: "AA-8", 10: "AA-8"}
TABLE_9_10: dict[int, dict[int, str]] = {
    1: {1: "AE-1"},
    2: {4: "AE-2"},
    3: {**_PDU_ROW_BASE, 5: "AE-3", 11: "AA-8", 12: "AA-8", 13: "AA-6"},
    4: {**_PDU_ROW_BASE, 5: "AE-4", 11: "AA-8", 12: "AA-8", 13: "AA-6"},
    5: {1: "AE-5"},
    6: {**_PDU_ROW_BASE, 2: "AE-6", 11: "AA-8", 12: "AA-8", 13: "AA-7"},
    7: {3: "AE-7"},
    8: {3: "AE-8"},
    9: {6: "DT-1", 8: "AR-7"},
    10: {**_PDU_ROW_BASE, 6: "DT-2", 7: "AR-6", 11: "AA-8", 12: "AA-8", 13: "AA-6"},
    11: {6: "AR-1"},
    12: {**_PDU_ROW_BASE, 6: "AR-2", 7: "AR-8", 11: "AA-8", 12: "AA-8", 13: "AA-6"},
    13: {**_PDU_ROW_BASE, 7: "AR-3", 10: "AR-10", 11: "AR-3", 12: "AA-8", 13: "AA-6"},
    14: {8: "AR-4", 9: "AR-9", 12: "AR-4"},
    15: {3: "AA-1", 4: "AA-2", 5: "AA-1", 6: "AA-1", 7: "AA-1", 8: "AA-1", 9: "AA-1", 10: "AA-1", 11: "AA-1"}
    | {12: "AA-1"},
    16: {2: "AA-2", 3: "AA-3", 5: "AA-3", 6: "AA-3", 7: "AA-3", 8: "AA-3", 9: "AA-3", 10: "AA-3", 11: "AA-3"}
    | {12: "AA-3", 13: "AA-2"},
    17: {2: "AA-5", 3: "AA-4", 4: "AA-4", 5: "AA-4", 6: "AA-4", 7: "AA-4", 8: "AA-4", 9: "AA-4", 10: "AA-4"}
    | {11: "AA-4", 12: "AA-4", 13: "AR-5"},
    18: {2: "AA-2", 13: "AA-2"},
    19: {**_PDU_ROW_BASE, 11: "AA-8", 12: "AA-8", 13: "AA-7"},
}

# Next state of each action (PS3.8 Tables 9-6 to 9-9); AE-6 and AR-8 are conditional.
NEXT_STATE: dict[str, tuple[int, ...]] = {
    "AE-1": (4,), "AE-2": (5,), "AE-3": (6,), "AE-4": (1,), "AE-5": (2,), "AE-6": (3, 13),
    "AE-7": (6,), "AE-8": (13,), "DT-1": (6,), "DT-2": (6,),
    "AR-1": (7,), "AR-2": (8,), "AR-3": (1,), "AR-4": (13,), "AR-5": (1,), "AR-6": (7,),
    "AR-7": (8,), "AR-8": (9, 10), "AR-9": (11,), "AR-10": (12,),
    "AA-1": (13,), "AA-2": (1,), "AA-3": (1,), "AA-4": (1,), "AA-5": (1,), "AA-6": (13,),
    "AA-7": (13,), "AA-8": (13,),
}  # fmt: skip

RQ = AssociateRQ("SCP", "SCU", (PresentationContextRQ(1, "1.2.840.10008.1.1", ("1.2.840.10008.1.2",)),))
AC = AssociateAC("SCP", "SCU", (PresentationContextAC(1, ContextResult.ACCEPTANCE, "1.2.840.10008.1.2"),))
RJ = AssociateRJ(RejectResult.REJECTED_PERMANENT, RejectSource.SERVICE_USER, UserRejectReason.NO_REASON_GIVEN)
DATA = PDataTF((PresentationDataValue(1, 3, b"\x00\x01"),))
USER_ABORT = AbortPDU(AbortSource.SERVICE_USER, 0)
BAD_PDU = PDUError("unrecognized PDU type 0x09", abort_reason=AbortReason.UNRECOGNIZED_PDU)

PAYLOAD: dict[int, actions.Payload] = {
    1: RQ, 2: RQ, 3: AC, 4: RJ, 5: None, 6: RQ, 7: AC, 8: RJ, 9: DATA, 10: DATA,
    11: ReleaseRQ(), 12: ReleaseRQ(), 13: ReleaseRP(), 14: ReleaseRP(), 15: USER_ABORT,
    16: USER_ABORT, 17: None, 18: None, 19: BAD_PDU,
}  # fmt: skip


def _provider_abort(event: int) -> tuple[str, object]:
    reason = AbortReason.UNRECOGNIZED_PDU if event == 19 else AbortReason.UNEXPECTED_PDU
    return ("send", AbortPDU(AbortSource.SERVICE_PROVIDER, reason))


def expected_effects(action: str, event: int, requestor: bool) -> list[tuple[str, object]]:
    """What PS3.8 says each action does, as (kind, value) pairs."""
    payload = PAYLOAD[event]
    reason = AbortReason.UNRECOGNIZED_PDU if event == 19 else AbortReason.UNEXPECTED_PDU
    effects: dict[str, list[tuple[str, object]]] = {
        "AE-1": [("open", None)],
        "AE-2": [("send", payload)],
        "AE-3": [("indicate", payload)],
        "AE-4": [("indicate", payload), ("close", None)],
        "AE-5": [("start", None)],
        "AE-6": [("stop", None), ("indicate", payload)],
        "AE-7": [("send", payload)],
        "AE-8": [("send", payload), ("start", None)],
        "DT-1": [("send", payload)],
        "DT-2": [("indicate", payload)],
        "AR-1": [("send", ReleaseRQ())],
        "AR-2": [("indicate", ReleaseRQ())],
        "AR-3": [("indicate", ReleaseRP()), ("close", None)],
        "AR-4": [("send", ReleaseRP()), ("start", None)],
        "AR-5": [("stop", None)],
        "AR-6": [("indicate", payload)],
        "AR-7": [("send", payload)],
        "AR-8": [("indicate", ReleaseRQ())],
        "AR-9": [("send", ReleaseRP())],
        "AR-10": [("indicate", ReleaseRP())],
        "AA-1": [("send", AbortPDU(AbortSource.SERVICE_USER, 0)), ("start", None)],
        "AA-2": [("stop", None), ("close", None)],
        "AA-3": [("indicate", payload), ("close", None)],
        "AA-4": [("indicate", ("P-ABORT", AbortReason.REASON_NOT_SPECIFIED, False))],
        "AA-5": [("stop", None)],
        "AA-6": [],
        "AA-7": [_provider_abort(event)],
        "AA-8": [_provider_abort(event), ("indicate", ("P-ABORT", reason, False)), ("start", None)],
    }
    return effects[action]


def describe(effect: Effect) -> tuple[str, object]:
    if isinstance(effect, SendPDU):
        return ("send", effect.pdu)
    if isinstance(effect, Indicate):
        primitive = effect.primitive
        if isinstance(primitive, ProviderAbort):
            return ("indicate", ("P-ABORT", primitive.reason, primitive.remote))
        return ("indicate", primitive)
    kinds = {StartARTIM: "start", StopARTIM: "stop", OpenTransport: "open", CloseTransport: "close"}
    return (kinds[type(effect)], None)


PAIRS = list(itertools.product(range(1, 14), range(1, 20), (True, False)))


@pytest.mark.parametrize(
    ("state", "event", "requestor"),
    PAIRS,
    ids=[f"Sta{s}-Evt{e}-{'rq' if r else 'ac'}" for s, e, r in PAIRS],
)
def test_every_state_event_pair_follows_table_9_10(state: int, event: int, requestor: bool) -> None:
    sta, evt = State(state), Event(event)
    expected_action = TABLE_9_10[event].get(state)
    context = Context(requestor=requestor)
    if expected_action is None:
        assert (sta, evt) not in TRANSITIONS
        if event in (17, 18):  # a late transport-closed or stale timer report is ignored
            assert step(sta, evt, context, PAYLOAD[event]) == (sta, [])
        else:
            with pytest.raises(LocalProtocolError):
                step(sta, evt, context, PAYLOAD[event])
        return
    assert TRANSITIONS[(sta, evt)].name == expected_action
    next_state, effects = step(sta, evt, context, PAYLOAD[event])
    assert [describe(effect) for effect in effects] == expected_effects(expected_action, event, requestor)
    allowed = NEXT_STATE[expected_action]
    assert next_state in allowed
    if expected_action == "AR-8":
        assert next_state == (State.STA9 if requestor else State.STA10)
    elif expected_action == "AE-6":
        assert next_state == State.STA3  # acceptable by the service-provider


def test_table_has_exactly_the_cells_of_the_standard() -> None:
    expected = {(State(s), Event(e)) for e, row in TABLE_9_10.items() for s in row}
    assert set(TRANSITIONS) == expected
    assert len(TRANSITIONS) == 123


def test_state_and_event_enums_follow_the_standard() -> None:
    assert [s.name for s in State] == [f"STA{n}" for n in range(1, 14)]
    assert [e.name for e in Event] == [f"EVT{n}" for n in range(1, 20)]
    assert State.STA6.description == "Association established and ready for data transfer"
    assert Event.EVT18.description == "ARTIM timer expired (Association reject/release timer)"
    # __new__'s description has a default (for value lookups); no member may rely on it
    assert all(s.description for s in State) and all(e.description for e in Event)


def test_every_action_quotes_the_standard_in_its_docstring() -> None:
    assert set(ACTIONS) == set(NEXT_STATE)
    for name, action in ACTIONS.items():
        assert action.function.__name__ == name.lower().replace("-", "_")
        assert action.function.__doc__
        assert action.next_states == tuple(State(n) for n in NEXT_STATE[name])
    assert actions.aa_6.__doc__ == "Ignore PDU."
    assert (actions.ae_4.__doc__ or "").startswith(
        "Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection"
    )


# ------------------------------------------------------------- AE-6 provider rejections


def test_ae_6_rejects_a_request_without_protocol_version_bit_0() -> None:
    request = AssociateRQ("SCP", "SCU", RQ.presentation_contexts, protocol_version=2)
    state, effects = step(State.STA2, Event.EVT6, Context(requestor=False), request)
    assert state == State.STA13
    assert [describe(e) for e in effects] == [
        ("stop", None),
        (
            "send",
            AssociateRJ(
                RejectResult.REJECTED_PERMANENT,
                RejectSource.SERVICE_PROVIDER_ACSE,
                ACSERejectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
            ),
        ),
        ("start", None),
    ]


def test_ae_6_rejects_transiently_when_the_association_limit_is_reached() -> None:
    context = Context(requestor=False, association_limit_exceeded=True)
    state, effects = step(State.STA2, Event.EVT6, context, RQ)
    assert state == State.STA13
    rejection = effects[1]
    assert isinstance(rejection, SendPDU)
    assert rejection.pdu == AssociateRJ(
        RejectResult.REJECTED_TRANSIENT,
        RejectSource.SERVICE_PROVIDER_PRESENTATION,
        PresentationRejectReason.LOCAL_LIMIT_EXCEEDED,
    )


# ------------------------------------------------------------------- AA-3 branches


def test_aa_3_with_provider_source_issues_a_p_abort() -> None:
    abort = AbortPDU(AbortSource.SERVICE_PROVIDER, AbortReason.INVALID_PDU_PARAMETER_VALUE)
    state, effects = step(State.STA6, Event.EVT16, Context(requestor=True), abort)
    assert state == State.STA1
    assert [describe(e) for e in effects] == [
        ("indicate", ("P-ABORT", AbortReason.INVALID_PDU_PARAMETER_VALUE, True)),
        ("close", None),
    ]


def test_aa_8_carries_the_invalid_pdu_reason() -> None:
    error = PDUError("bad", abort_reason=AbortReason.INVALID_PDU_PARAMETER_VALUE)
    _, effects = step(State.STA6, Event.EVT19, Context(requestor=True), error)
    assert describe(effects[0]) == (
        "send",
        AbortPDU(AbortSource.SERVICE_PROVIDER, AbortReason.INVALID_PDU_PARAMETER_VALUE),
    )


def test_action_given_the_wrong_payload_is_local_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        step(State.STA4, Event.EVT2, Context(requestor=True), None)
