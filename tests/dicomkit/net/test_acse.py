"""Association negotiation: contexts, transfer syntax preference, roles, rejects (PS3.8 §7.1)."""

from __future__ import annotations

from typing import TypedDict

import pytest

from dicomkit.errors import RemoteProtocolError
from dicomkit.net.acse import (
    LOCAL_LIMIT_REJECTION,
    NegotiatedContext,
    association_limit_exceeded,
    build_request,
    check_request,
    negotiate,
    negotiated_contexts,
    peer_limit_exceeded,
)
from dicomkit.net.config import AEConfig, RequestedContext, SupportedContext
from dicomkit.net.pdu import (
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    ContextResult,
    PresentationContextAC,
    PresentationRejectReason,
    RejectResult,
    RejectSource,
    RoleSelection,
    UserIdentityAC,
    UserIdentityRQ,
    UserIdentityType,
    UserInformation,
    UserRejectReason,
)
from dicomkit.net.ul.connection import Connection, Role
from dicomkit.net.ul.states import State
from tests.dicomkit.net.ul.connection_pair import ConnectionPair

VERIFICATION = "1.2.840.10008.1.1"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"

SCP = AEConfig(
    "ARCHIVE",
    supported_contexts=(
        SupportedContext(VERIFICATION, (IMPLICIT_LE,)),
        SupportedContext(CT_STORAGE, (JPEG_LOSSLESS, EXPLICIT_LE, IMPLICIT_LE), scu_role=True, scp_role=True),
        SupportedContext(MR_STORAGE, (EXPLICIT_LE,), scu_role=False, scp_role=True),
    ),
    max_pdu_length=32768,
    allowed_calling_ae_titles=frozenset({"MODALITY", "VIEWER"}),
)
SCU = AEConfig("MODALITY", max_pdu_length=8192)


def request(*contexts: RequestedContext, called: str = "ARCHIVE", config: AEConfig = SCU) -> AssociateRQ:
    return build_request(config, called_ae_title=called, contexts=contexts)


def accept(rq: AssociateRQ) -> AssociateAC:
    response = negotiate(rq, SCP)
    assert isinstance(response, AssociateAC)
    return response


# ------------------------------------------------------------------ requestor side


def test_build_request_numbers_contexts_and_fills_user_information() -> None:
    rq = request(
        RequestedContext(VERIFICATION, (IMPLICIT_LE,)),
        RequestedContext(CT_STORAGE, (EXPLICIT_LE, IMPLICIT_LE), scu_role=True, scp_role=True),
    )
    assert [c.context_id for c in rq.presentation_contexts] == [1, 3]
    assert rq.calling_ae_title == "MODALITY" and rq.called_ae_title == "ARCHIVE"
    user = rq.user_information
    assert user.maximum_length == 8192
    assert user.implementation_class_uid == SCU.implementation_class_uid
    assert user.implementation_version_name == SCU.implementation_version_name
    assert user.role_selections == (RoleSelection(CT_STORAGE, True, True),)
    assert AssociateRQ.decode(rq.encode()) == rq


def test_an_ae_may_announce_no_maximum_length() -> None:
    unlimited = AEConfig("MODALITY", max_pdu_length=0)
    rq = build_request(
        unlimited, called_ae_title="ARCHIVE", contexts=[RequestedContext(VERIFICATION, (IMPLICIT_LE,))]
    )
    assert rq.user_information.maximum_length == 0
    scp = AEConfig("ARCHIVE", supported_contexts=SCP.supported_contexts, max_pdu_length=0)
    response = negotiate(rq, scp)
    assert isinstance(response, AssociateAC) and response.user_information.maximum_length == 0
    assert AssociateAC.decode(response.encode()).user_information.maximum_length == 0


def test_build_request_refuses_too_many_contexts() -> None:
    with pytest.raises(ValueError, match="128"):
        request(*[RequestedContext(VERIFICATION, (IMPLICIT_LE,))] * 129)


# --------------------------------------------------------------------- rejections


def test_associate_rq_with_wrong_called_aet_is_rejected_with_reason_7() -> None:
    assert negotiate(
        request(RequestedContext(VERIFICATION, (IMPLICIT_LE,)), called="OTHER"), SCP
    ) == AssociateRJ(
        RejectResult.REJECTED_PERMANENT,
        RejectSource.SERVICE_USER,
        UserRejectReason.CALLED_AE_TITLE_NOT_RECOGNIZED,
    )


def test_called_aet_is_not_checked_when_not_required() -> None:
    lenient = AEConfig("ARCHIVE", require_called_ae_title=False)
    assert (
        check_request(request(RequestedContext(VERIFICATION, (IMPLICIT_LE,)), called="ANY"), lenient) is None
    )


def test_calling_aet_not_allowed_is_rejected_with_reason_3() -> None:
    stranger = AEConfig("STRANGER")
    rq = request(RequestedContext(VERIFICATION, (IMPLICIT_LE,)), config=stranger)
    assert negotiate(rq, SCP) == AssociateRJ(
        RejectResult.REJECTED_PERMANENT,
        RejectSource.SERVICE_USER,
        UserRejectReason.CALLING_AE_TITLE_NOT_RECOGNIZED,
    )


def _titled(rq: AssociateRQ, *, called: str | None = None, calling: str | None = None) -> AssociateRQ:
    return AssociateRQ(
        rq.called_ae_title if called is None else called,
        rq.calling_ae_title if calling is None else calling,
        rq.presentation_contexts,
        rq.user_information,
    )


@pytest.mark.parametrize("title", ["", " ", " " * 16])
@pytest.mark.parametrize("config", [SCP, AEConfig("ARCHIVE")], ids=["allow-list", "anyone"])
def test_empty_calling_aet_is_rejected_with_reason_3(title: str, config: AEConfig) -> None:
    rq = _titled(request(RequestedContext(VERIFICATION, (IMPLICIT_LE,))), calling=title)
    assert check_request(rq, config) == AssociateRJ(
        RejectResult.REJECTED_PERMANENT,
        RejectSource.SERVICE_USER,
        UserRejectReason.CALLING_AE_TITLE_NOT_RECOGNIZED,
    )


@pytest.mark.parametrize("title", ["", " ", " " * 16])
@pytest.mark.parametrize("required", [True, False])
def test_empty_called_aet_is_rejected_with_reason_7_even_when_any_title_is_accepted(
    title: str, required: bool
) -> None:
    config = AEConfig("ARCHIVE", require_called_ae_title=required)
    rq = _titled(request(RequestedContext(VERIFICATION, (IMPLICIT_LE,))), called=title, calling="")
    # Both titles are empty: the called title is checked first (reason 7, then 3).
    assert check_request(rq, config) == AssociateRJ(
        RejectResult.REJECTED_PERMANENT,
        RejectSource.SERVICE_USER,
        UserRejectReason.CALLED_AE_TITLE_NOT_RECOGNIZED,
    )


def test_called_aet_with_padding_spaces_matches_ours() -> None:
    rq = _titled(request(RequestedContext(VERIFICATION, (IMPLICIT_LE,))), called=" ARCHIVE  ")
    assert check_request(rq, SCP) is None


def test_unsupported_application_context_is_rejected_with_reason_2() -> None:
    rq = request(RequestedContext(VERIFICATION, (IMPLICIT_LE,)))
    other = AssociateRQ(
        rq.called_ae_title, rq.calling_ae_title, rq.presentation_contexts, application_context="1.2.3"
    )
    assert negotiate(other, SCP) == AssociateRJ(
        RejectResult.REJECTED_PERMANENT,
        RejectSource.SERVICE_USER,
        UserRejectReason.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
    )


def test_too_many_associations_is_rejected_transient_by_the_provider() -> None:
    config = AEConfig("ARCHIVE", max_associations=2)
    assert not association_limit_exceeded(config, active_associations=1)
    assert association_limit_exceeded(config, active_associations=2)
    pair = ConnectionPair(
        acceptor=Connection(
            Role.ACCEPTOR,
            association_limit_exceeded=association_limit_exceeded(config, active_associations=2),
        )
    )
    pair.send(pair.requestor, request(RequestedContext(VERIFICATION, (IMPLICIT_LE,))))
    assert pair.requestor.take() == [
        AssociateRJ(
            RejectResult.REJECTED_TRANSIENT,
            RejectSource.SERVICE_PROVIDER_PRESENTATION,
            PresentationRejectReason.LOCAL_LIMIT_EXCEEDED,
        )
    ]


def test_the_per_peer_limit_counts_one_address_and_rejects_as_the_provider_would() -> None:
    assert not peer_limit_exceeded(AEConfig("ARCHIVE", max_associations=4), peer_associations=3)
    config = AEConfig("ARCHIVE", max_associations=4, max_associations_per_peer=2)
    assert not peer_limit_exceeded(config, peer_associations=1)
    assert peer_limit_exceeded(config, peer_associations=2)
    assert (
        AssociateRJ(
            RejectResult.REJECTED_TRANSIENT,
            RejectSource.SERVICE_PROVIDER_PRESENTATION,
            PresentationRejectReason.LOCAL_LIMIT_EXCEEDED,
        )
        == LOCAL_LIMIT_REJECTION
    )


# ---------------------------------------------------------- presentation contexts


def test_first_transfer_syntax_in_our_preference_order_is_chosen() -> None:
    # The requestor prefers implicit LE; we prefer JPEG lossless, then explicit LE.
    ac = accept(request(RequestedContext(CT_STORAGE, (IMPLICIT_LE, EXPLICIT_LE, JPEG_LOSSLESS))))
    assert ac.presentation_contexts == (PresentationContextAC(1, ContextResult.ACCEPTANCE, JPEG_LOSSLESS),)
    ac = accept(request(RequestedContext(CT_STORAGE, (IMPLICIT_LE, EXPLICIT_LE))))
    assert ac.presentation_contexts[0].transfer_syntax == EXPLICIT_LE


def test_unsupported_abstract_syntax_is_rejected_with_reason_3() -> None:
    ac = accept(
        request(RequestedContext("1.2.3.4.5", (IMPLICIT_LE,)), RequestedContext(VERIFICATION, (IMPLICIT_LE,)))
    )
    assert ac.presentation_contexts == (
        PresentationContextAC(1, ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED),
        PresentationContextAC(3, ContextResult.ACCEPTANCE, IMPLICIT_LE),
    )


def test_no_common_transfer_syntax_is_rejected_with_reason_4() -> None:
    ac = accept(request(RequestedContext(VERIFICATION, (EXPLICIT_LE, JPEG_LOSSLESS))))
    assert ac.presentation_contexts == (
        PresentationContextAC(1, ContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED),
    )


def test_response_carries_our_user_information_and_echoes_titles() -> None:
    rq = request(RequestedContext(VERIFICATION, (IMPLICIT_LE,)))
    ac = accept(rq)
    assert (ac.called_ae_title, ac.calling_ae_title) == ("ARCHIVE", "MODALITY")
    assert ac.user_information.maximum_length == 32768
    assert ac.user_information.implementation_class_uid == SCP.implementation_class_uid
    assert AssociateAC.decode(ac.encode()) == ac


# ------------------------------------------------------------------ role selection


def test_role_selection_grants_only_proposed_and_allowed_roles() -> None:
    rq = request(
        RequestedContext(CT_STORAGE, (EXPLICIT_LE,), scu_role=True, scp_role=True),
        RequestedContext(MR_STORAGE, (EXPLICIT_LE,), scu_role=True, scp_role=True),
    )
    ac = accept(rq)
    assert ac.user_information.role_selections == (
        RoleSelection(CT_STORAGE, True, True),
        RoleSelection(MR_STORAGE, False, True),  # we do not let the requestor be MR SCU
    )
    assert negotiated_contexts(rq, ac) == (
        NegotiatedContext(1, CT_STORAGE, EXPLICIT_LE, requestor_scu=True, requestor_scp=True),
        NegotiatedContext(3, MR_STORAGE, EXPLICIT_LE, requestor_scu=False, requestor_scp=True),
    )


def test_role_selection_leaving_no_role_rejects_the_context() -> None:
    rq = request(RequestedContext(MR_STORAGE, (EXPLICIT_LE,), scu_role=True, scp_role=False))
    ac = accept(rq)
    assert ac.presentation_contexts == (PresentationContextAC(1, ContextResult.USER_REJECTION),)
    assert ac.user_information.role_selections == ()
    assert negotiated_contexts(rq, ac) == ()


def test_default_roles_without_role_selection() -> None:
    rq = request(RequestedContext(CT_STORAGE, (EXPLICIT_LE,)))
    ac = accept(rq)
    assert ac.user_information.role_selections == ()
    [context] = negotiated_contexts(rq, ac)
    assert (context.requestor_scu, context.requestor_scp) == (True, False)
    assert (context.acceptor_scu, context.acceptor_scp) == (False, True)
    # An SOP class whose default (requestor SCU) role we do not allow is refused.
    assert accept(request(RequestedContext(MR_STORAGE, (EXPLICIT_LE,)))).presentation_contexts == (
        PresentationContextAC(1, ContextResult.USER_REJECTION),
    )


def test_unanswered_role_proposal_falls_back_to_default_roles() -> None:
    rq = request(RequestedContext(CT_STORAGE, (EXPLICIT_LE,), scu_role=False, scp_role=True))
    ac = AssociateAC(
        "ARCHIVE", "MODALITY", (PresentationContextAC(1, ContextResult.ACCEPTANCE, EXPLICIT_LE),)
    )
    [context] = negotiated_contexts(rq, ac)
    assert (context.requestor_scu, context.requestor_scp) == (True, False)


# ------------------------------------------------------------------ user identity


def test_user_identity_response_only_when_requested() -> None:
    identity = UserIdentityRQ(UserIdentityType.USERNAME, b"alice", positive_response_requested=True)
    rq = build_request(
        SCU,
        called_ae_title="ARCHIVE",
        contexts=[RequestedContext(VERIFICATION, (IMPLICIT_LE,))],
        user_identity=identity,
    )
    response = negotiate(rq, SCP, user_identity_response=b"ok")
    assert isinstance(response, AssociateAC)
    assert response.user_information.user_identity == UserIdentityAC(b"ok")
    silent = UserIdentityRQ(UserIdentityType.USERNAME, b"alice")
    rq = AssociateRQ(
        rq.called_ae_title,
        rq.calling_ae_title,
        rq.presentation_contexts,
        UserInformation(user_identity=silent),
    )
    response = negotiate(rq, SCP, user_identity_response=b"ok")
    assert isinstance(response, AssociateAC) and response.user_information.user_identity is None


# ------------------------------------------------------------ reading back the AC


def test_ac_with_unproposed_context_or_transfer_syntax_is_a_remote_error() -> None:
    rq = request(RequestedContext(VERIFICATION, (IMPLICIT_LE,)))
    bad_id = AssociateAC(
        "ARCHIVE", "MODALITY", (PresentationContextAC(3, ContextResult.ACCEPTANCE, IMPLICIT_LE),)
    )
    with pytest.raises(RemoteProtocolError):
        negotiated_contexts(rq, bad_id)
    bad_ts = AssociateAC(
        "ARCHIVE", "MODALITY", (PresentationContextAC(1, ContextResult.ACCEPTANCE, EXPLICIT_LE),)
    )
    with pytest.raises(RemoteProtocolError):
        negotiated_contexts(rq, bad_ts)


def test_negotiation_end_to_end_through_connections() -> None:
    pair = ConnectionPair()
    rq = request(RequestedContext(VERIFICATION, (IMPLICIT_LE,)), RequestedContext("1.2.9", (IMPLICIT_LE,)))
    pair.send(pair.requestor, rq)
    [indication] = pair.acceptor.take()
    assert isinstance(indication, AssociateRQ)
    response = negotiate(indication, SCP)
    pair.send(pair.acceptor, response)
    [confirmation] = pair.requestor.take()
    assert isinstance(confirmation, AssociateAC)
    assert negotiated_contexts(rq, confirmation) == (NegotiatedContext(1, VERIFICATION, IMPLICIT_LE),)
    assert pair.requestor.conn.state == State.STA6
    assert pair.requestor.conn.peer_max_pdu_length == 32768
    assert pair.acceptor.conn.peer_max_pdu_length == 8192


# ------------------------------------------------------------------ configuration


class _AEFields(TypedDict, total=False):
    """The AEConfig fields the invalid-configuration cases set."""

    ae_title: str
    max_pdu_length: int
    max_unlimited_pdu_length: int
    max_associations: int
    allowed_calling_ae_titles: frozenset[str] | None
    supported_contexts: tuple[SupportedContext, ...]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ae_title": ""},
        {"ae_title": "A" * 17},
        {"ae_title": " PADDED"},
        {"ae_title": "BACK\\SLASH"},
        {"ae_title": "OK", "max_pdu_length": -1},
        {"ae_title": "OK", "max_pdu_length": 1 << 32},
        {"ae_title": "OK", "max_unlimited_pdu_length": 4095},
        {"ae_title": "OK", "max_associations": 0},
        {"ae_title": "OK", "allowed_calling_ae_titles": frozenset({""})},
        {
            "ae_title": "OK",
            "supported_contexts": (
                SupportedContext(VERIFICATION, (IMPLICIT_LE,)),
                SupportedContext(VERIFICATION, (EXPLICIT_LE,)),
            ),
        },
    ],
)
def test_invalid_configuration_is_refused(kwargs: _AEFields) -> None:
    with pytest.raises(ValueError):
        AEConfig(**kwargs)
