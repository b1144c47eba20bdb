"""Connection scenarios: a requestor and an acceptor run against each other in memory."""

from __future__ import annotations

import pytest

from dicomkit.errors import LocalProtocolError
from dicomkit.net.pdu import (
    AbortPDU,
    AbortReason,
    AbortSource,
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
    UserInformation,
    UserRejectReason,
)
from dicomkit.net.ul.connection import (
    NEED_DATA,
    UNANNOUNCED_PDATA_LIMIT,
    CloseTransport,
    Connection,
    ConnectionEvent,
    NeedData,
    Role,
    StartARTIM,
    StopARTIM,
)
from dicomkit.net.ul.events import ProviderAbort
from dicomkit.net.ul.states import State
from tests.dicomkit.net.ul.connection_pair import ConnectionPair

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"

RQ = AssociateRQ(
    "ANY-SCP",
    "ECHOSCU",
    (PresentationContextRQ(1, VERIFICATION, (IMPLICIT_LE,)),),
    UserInformation(maximum_length=1000, implementation_class_uid="1.2.3"),
)
AC = AssociateAC(
    "ANY-SCP",
    "ECHOSCU",
    (PresentationContextAC(1, ContextResult.ACCEPTANCE, IMPLICIT_LE),),
    UserInformation(maximum_length=2000, implementation_class_uid="1.2.4"),
)
RJ = AssociateRJ(
    RejectResult.REJECTED_PERMANENT,
    RejectSource.SERVICE_USER,
    UserRejectReason.CALLED_AE_TITLE_NOT_RECOGNIZED,
)


def state_of(conn: Connection) -> State:
    """The connection's state, read through a call.

    mypy keeps ``conn.state`` narrowed by an earlier ``assert conn.state == State.STAn``
    across the calls that move the machine on; a call expression is not narrowed.
    """
    return conn.state


def data(payload: bytes, header: int = 0x03) -> PDataTF:
    return PDataTF((PresentationDataValue(1, header, payload),))


@pytest.fixture(params=[False, True], ids=["whole", "byte-by-byte"])
def pair(request: pytest.FixtureRequest) -> ConnectionPair:
    return ConnectionPair(byte_at_a_time=request.param)


def associate(pair: ConnectionPair) -> None:
    pair.send(pair.requestor, RQ)
    assert pair.acceptor.take() == [RQ]
    assert state_of(pair.acceptor.conn) == State.STA3
    pair.send(pair.acceptor, AC)
    assert pair.requestor.take() == [AC]
    assert state_of(pair.requestor.conn) == State.STA6
    assert state_of(pair.acceptor.conn) == State.STA6


def test_associate_transfer_data_and_release(pair: ConnectionPair) -> None:
    requestor, acceptor = pair.requestor, pair.acceptor
    associate(pair)
    assert requestor.conn.peer_max_pdu_length == 2000
    assert acceptor.conn.peer_max_pdu_length == 1000
    assert not acceptor.artim  # stopped by AE-6

    pair.send(requestor, data(b"\x01\x02"))
    pair.send(acceptor, data(b"\x03\x04\x05\x06"))
    [received] = acceptor.take()
    assert isinstance(received, PDataTF)
    assert bytes(received.values[0].data) == b"\x01\x02"
    assert requestor.take() == [data(b"\x03\x04\x05\x06")]

    pair.send(requestor, ReleaseRQ())
    assert state_of(requestor.conn) == State.STA7
    assert acceptor.take() == [ReleaseRQ()]
    assert state_of(acceptor.conn) == State.STA8
    pair.send(acceptor, ReleaseRP())  # AR-4, then AR-3 on the requestor closes the transport
    assert requestor.take() == [ReleaseRP()]
    assert requestor.closed_transport
    assert state_of(requestor.conn) == State.STA1
    assert state_of(acceptor.conn) == State.STA1  # AR-5 once the transport closed
    assert not acceptor.artim and acceptor.artim_starts == 2
    assert [name for name, _ in pair.wire] == [
        "requestor", "acceptor", "requestor", "acceptor", "requestor", "acceptor",
    ]  # fmt: skip


def test_data_arriving_during_release_is_still_delivered(pair: ConnectionPair) -> None:
    associate(pair)
    data_bytes = pair.acceptor.conn.send(data(b"late"))
    pair.send(pair.requestor, ReleaseRQ())  # requestor in Sta7 before the data arrives
    pair.requestor.conn.receive_data(data_bytes)
    pair.pump()
    assert pair.requestor.take() == [data(b"late")]  # AR-6
    assert state_of(pair.requestor.conn) == State.STA7


def test_acceptor_may_send_data_after_release_indication(pair: ConnectionPair) -> None:
    associate(pair)
    pair.send(pair.requestor, ReleaseRQ())
    pair.acceptor.take()
    pair.send(pair.acceptor, data(b"last"))  # AR-7 in Sta8
    assert state_of(pair.acceptor.conn) == State.STA8
    assert pair.requestor.take() == [data(b"last")]


def test_release_collision_on_both_sides(pair: ConnectionPair) -> None:
    requestor, acceptor = pair.requestor, pair.acceptor
    associate(pair)
    to_acceptor = requestor.conn.send(ReleaseRQ())
    to_requestor = acceptor.conn.send(ReleaseRQ())
    acceptor.conn.receive_data(to_acceptor)
    requestor.conn.receive_data(to_requestor)
    pair.pump()
    assert requestor.take() == [ReleaseRQ()] and state_of(requestor.conn) == State.STA9  # AR-8
    assert acceptor.take() == [ReleaseRQ()] and state_of(acceptor.conn) == State.STA10

    pair.send(requestor, ReleaseRP())  # AR-9 -> Sta11; the acceptor's AR-10 -> Sta12
    assert state_of(requestor.conn) == State.STA11
    assert acceptor.take() == [ReleaseRP()]
    assert state_of(acceptor.conn) == State.STA12

    pair.send(acceptor, ReleaseRP())  # AR-4; the requestor's AR-3 closes the transport
    assert requestor.take() == [ReleaseRP()]
    assert state_of(requestor.conn) == State.STA1
    assert state_of(acceptor.conn) == State.STA1


def test_user_abort_reaches_the_peer_as_a_abort(pair: ConnectionPair) -> None:
    associate(pair)
    pair.send(pair.requestor, AbortPDU())
    assert pair.acceptor.take() == [AbortPDU(AbortSource.SERVICE_USER, 0)]  # AA-3
    assert state_of(pair.acceptor.conn) == State.STA1
    assert pair.acceptor.closed_transport
    assert state_of(pair.requestor.conn) == State.STA1  # AR-5 after the close
    assert pair.requestor.artim_starts == 1 and not pair.requestor.artim


def test_reject_by_the_acceptor_user(pair: ConnectionPair) -> None:
    pair.send(pair.requestor, RQ)
    pair.acceptor.take()
    pair.send(pair.acceptor, RJ)  # AE-8: send RJ, start ARTIM, Sta13
    assert pair.requestor.take() == [RJ]  # AE-4 closes the transport
    assert state_of(pair.requestor.conn) == State.STA1
    assert state_of(pair.acceptor.conn) == State.STA1


def test_provider_rejects_when_the_association_limit_is_reached() -> None:
    pair = ConnectionPair(acceptor=Connection(Role.ACCEPTOR, association_limit_exceeded=True))
    pair.send(pair.requestor, RQ)
    assert pair.acceptor.take() == []  # AE-6 rejected without asking the user
    assert pair.requestor.take() == [
        AssociateRJ(
            RejectResult.REJECTED_TRANSIENT,
            RejectSource.SERVICE_PROVIDER_PRESENTATION,
            PresentationRejectReason.LOCAL_LIMIT_EXCEEDED,
        )
    ]
    assert state_of(pair.acceptor.conn) == State.STA1


def test_artim_expiry_while_awaiting_the_request() -> None:
    acceptor = Connection(Role.ACCEPTOR)
    acceptor.connection_made()
    assert state_of(acceptor) == State.STA2
    assert acceptor.next_event() == StartARTIM()
    acceptor.timer_expired()  # AA-2
    assert drain(acceptor) == [StopARTIM(), CloseTransport()]
    assert state_of(acceptor) == State.STA1
    acceptor.connection_lost()  # the driver's own close report is ignored
    assert state_of(acceptor) == State.STA1 and acceptor.next_event() is NEED_DATA


def test_artim_expiry_after_a_reject_closes_the_transport() -> None:
    pair = ConnectionPair()
    pair.send(pair.requestor, RQ)
    pair.acceptor.take()
    rj_bytes = pair.acceptor.conn.send(RJ)  # the requestor never closes
    assert rj_bytes and state_of(pair.acceptor.conn) == State.STA13
    pair.pump()
    pair.expire_artim(pair.acceptor)
    assert state_of(pair.acceptor.conn) == State.STA1
    assert pair.acceptor.closed_transport


def test_stale_timer_expiry_is_ignored(pair: ConnectionPair) -> None:
    associate(pair)
    pair.acceptor.conn.timer_expired()
    assert state_of(pair.acceptor.conn) == State.STA6


def test_transport_loss_in_sta6_is_a_p_abort(pair: ConnectionPair) -> None:
    associate(pair)
    pair.acceptor.conn.connection_lost()
    assert pair.acceptor.conn.next_event() == ProviderAbort(
        AbortReason.REASON_NOT_SPECIFIED, detail="transport connection closed"
    )
    assert state_of(pair.acceptor.conn) == State.STA1


def test_pdus_received_before_the_close_are_handled_first() -> None:
    pair = ConnectionPair()
    associate(pair)
    abort = pair.requestor.conn.send(AbortPDU())
    pair.acceptor.conn.receive_data(abort)
    pair.acceptor.conn.connection_lost()
    assert pair.acceptor.conn.next_event() == AbortPDU()  # AA-3, not AA-4
    assert pair.acceptor.conn.next_event() == CloseTransport()
    assert pair.acceptor.conn.next_event() is NEED_DATA


def test_need_data_is_a_single_sentinel_shown_by_its_name() -> None:
    assert isinstance(NEED_DATA, NeedData) and list(NeedData) == [NEED_DATA]
    assert repr(NEED_DATA) == str(NEED_DATA) == "NEED_DATA"
    assert Connection(Role.ACCEPTOR).next_event() is NEED_DATA


# ------------------------------------------------------------------ peer misbehaviour


def established_acceptor() -> Connection:
    acceptor = Connection(Role.ACCEPTOR)
    acceptor.connection_made()
    acceptor.receive_data(RQ.encode())
    while acceptor.next_event() is not NEED_DATA:
        pass
    acceptor.send(AC)
    assert state_of(acceptor) == State.STA6
    return acceptor


def drain(conn: Connection) -> list[ConnectionEvent]:
    events: list[ConnectionEvent] = []
    while (event := conn.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def test_unrecognized_pdu_type_aborts_with_reason_1() -> None:
    acceptor = established_acceptor()
    acceptor.receive_data(bytes.fromhex("09 00 00000004 00000000"))
    events = drain(acceptor)
    assert events == [
        ProviderAbort(AbortReason.UNRECOGNIZED_PDU, detail="unrecognized PDU type 0x09 at offset 0"),
        StartARTIM(),
    ]
    assert (
        acceptor.data_to_send()
        == AbortPDU(AbortSource.SERVICE_PROVIDER, AbortReason.UNRECOGNIZED_PDU).encode()
    )
    assert state_of(acceptor) == State.STA13


def test_pdata_longer_than_our_maximum_is_refused_before_buffering() -> None:
    acceptor = established_acceptor()  # we announced 2000 in the AC
    acceptor.receive_data(bytes.fromhex("04 00 000007D1"))  # declares 2001 bytes
    assert acceptor.buffered == 0
    acceptor.receive_data(b"\x00" * 5000)  # dropped, never buffered
    assert acceptor.buffered == 0
    [abort, _] = drain(acceptor)
    assert isinstance(abort, ProviderAbort) and abort.reason == AbortReason.INVALID_PDU_PARAMETER_VALUE
    assert (
        acceptor.data_to_send()
        == AbortPDU(AbortSource.SERVICE_PROVIDER, AbortReason.INVALID_PDU_PARAMETER_VALUE).encode()
    )
    acceptor.receive_data(RQ.encode())  # the stream cannot be framed any more
    assert drain(acceptor) == []
    assert acceptor.data_to_send() == b""


def test_pdata_exactly_our_maximum_is_accepted() -> None:
    acceptor = established_acceptor()
    pdu = data(b"x" * (2000 - 6))
    assert pdu.length == 2000
    raw = pdu.encode()
    acceptor.receive_data(raw[:1000])
    assert drain(acceptor) == []
    assert acceptor.buffered == 1000  # the one incomplete PDU
    acceptor.receive_data(raw[1000:])
    assert drain(acceptor) == [pdu]
    assert acceptor.buffered == 0


UNLIMITED_AC = AssociateAC(
    AC.called_ae_title, AC.calling_ae_title, AC.presentation_contexts, UserInformation(0)
)


def unlimited_acceptor(cap: int) -> Connection:
    """An acceptor that announced 0 (no maximum) and caps P-DATA-TF PDUs at ``cap``."""
    acceptor = Connection(Role.ACCEPTOR, max_unlimited_pdu_length=cap)
    acceptor.connection_made()
    acceptor.receive_data(RQ.encode())
    while acceptor.next_event() is not NEED_DATA:
        pass
    acceptor.send(UNLIMITED_AC)
    assert acceptor.our_max_pdu_length == 0
    return acceptor


def test_announcing_no_maximum_accepts_pdata_beyond_any_announced_size_up_to_the_cap() -> None:
    acceptor = unlimited_acceptor(cap=70000)
    pdu = data(bytes(range(256)) * 273)  # 69,888 bytes of PDV data: PDU-length 69,894
    raw = pdu.encode()
    for start in range(0, len(raw), 16384):  # arrives in pieces, as from a socket
        acceptor.receive_data(raw[start : start + 16384])
    assert drain(acceptor) == [pdu]
    assert acceptor.buffered == 0


def test_announcing_no_maximum_still_refuses_a_pdata_beyond_the_cap_before_buffering() -> None:
    acceptor = unlimited_acceptor(cap=70000)
    acceptor.receive_data(bytes([4, 0]) + (70001).to_bytes(4, "big"))
    acceptor.receive_data(b"\x00" * 5000)
    assert acceptor.buffered == 0
    [abort, _] = drain(acceptor)
    assert isinstance(abort, ProviderAbort) and abort.reason == AbortReason.INVALID_PDU_PARAMETER_VALUE
    assert state_of(acceptor) == State.STA13


def test_invalid_pdu_body_aborts_with_reason_6() -> None:
    acceptor = established_acceptor()
    acceptor.receive_data(bytes.fromhex("04 00 00000006 00000001 01 03"))  # PDV item-length 1
    [abort, _] = drain(acceptor)
    assert isinstance(abort, ProviderAbort) and abort.reason == AbortReason.INVALID_PDU_PARAMETER_VALUE


def test_unexpected_pdu_aborts_with_reason_2() -> None:
    acceptor = established_acceptor()
    acceptor.receive_data(RQ.encode())  # a second A-ASSOCIATE-RQ in Sta6: AA-8
    [abort, _] = drain(acceptor)
    assert isinstance(abort, ProviderAbort) and abort.reason == AbortReason.UNEXPECTED_PDU
    assert (
        acceptor.data_to_send() == AbortPDU(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU).encode()
    )


def test_pdata_before_the_request_is_aborted_by_aa_1() -> None:
    acceptor = Connection(Role.ACCEPTOR)
    acceptor.connection_made()
    acceptor.receive_data(data(b"x").encode())
    assert drain(acceptor) == [StartARTIM(), StartARTIM()]  # AE-5, then AA-1 restarts it
    assert acceptor.data_to_send() == AbortPDU(AbortSource.SERVICE_USER, 0).encode()
    assert state_of(acceptor) == State.STA13


def test_request_in_sta13_is_answered_with_an_abort() -> None:
    acceptor = established_acceptor()
    acceptor.send(AbortPDU())  # AA-1 -> Sta13
    acceptor.receive_data(data(b"x").encode() + RQ.encode())  # AA-6 ignores, AA-7 aborts
    assert drain(acceptor) == [StartARTIM()]
    acceptor.data_to_send()
    assert state_of(acceptor) == State.STA13


def test_associate_pdu_beyond_the_bound_is_refused() -> None:
    acceptor = Connection(Role.ACCEPTOR, max_associate_pdu_length=2048)
    acceptor.connection_made()
    acceptor.receive_data(bytes.fromhex("01 00 00000801"))
    assert drain(acceptor) == [StartARTIM(), StartARTIM()]  # AA-1 in Sta2
    assert state_of(acceptor) == State.STA13


def test_unannounced_maximum_falls_back_to_a_fixed_bound() -> None:
    requestor = Connection(Role.REQUESTOR)
    requestor.send(AssociateRQ("A", "B", RQ.presentation_contexts))  # no maximum length
    requestor.connection_made()
    requestor.receive_data(AC.encode())
    drain(requestor)
    header = bytes([4, 0]) + (UNANNOUNCED_PDATA_LIMIT + 1).to_bytes(4, "big")
    requestor.receive_data(header)
    events = drain(requestor)
    assert isinstance(events[0], ProviderAbort)


# ------------------------------------------------------------------- local misuse


def test_sending_a_primitive_the_state_forbids_raises_and_changes_nothing() -> None:
    requestor = Connection(Role.REQUESTOR)
    with pytest.raises(LocalProtocolError):
        requestor.send(data(b"x"))
    with pytest.raises(LocalProtocolError):
        requestor.send(ProviderAbort())
    assert state_of(requestor) == State.STA1
    with pytest.raises(LocalProtocolError):
        requestor.receive_data(b"\x01")  # no transport yet


def test_pdata_longer_than_the_peer_accepts_is_refused(pair: ConnectionPair) -> None:
    associate(pair)  # the acceptor announced 2000
    with pytest.raises(LocalProtocolError):
        pair.requestor.conn.send(data(b"x" * 1995))
    pair.send(pair.requestor, data(b"x" * 1994))
    assert state_of(pair.requestor.conn) == State.STA6


def test_requestor_transport_must_be_requested_first() -> None:
    with pytest.raises(LocalProtocolError):
        Connection(Role.REQUESTOR).connection_made()


def test_a_connection_serves_one_transport_only() -> None:
    acceptor = Connection(Role.ACCEPTOR)
    acceptor.connection_made()
    acceptor.connection_lost()
    with pytest.raises(LocalProtocolError):
        acceptor.connection_made()


def test_acceptor_cannot_issue_a_request() -> None:
    acceptor = Connection(Role.ACCEPTOR)
    acceptor.connection_made()
    with pytest.raises(LocalProtocolError):
        acceptor.send(RQ)
