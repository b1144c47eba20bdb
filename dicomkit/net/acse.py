"""Association negotiation as pure functions (PS3.8 §7.1, PS3.7 Annex D).

Above ``dicomkit.net.pdu`` and beside the UL machine: these functions build the
A-ASSOCIATE request a requestor sends and the response an acceptor's user gives to an
A-ASSOCIATE indication (AE-6 -> Evt7/Evt8), and read back what was agreed. No I/O.

Acceptor rules:

- The A-ASSOCIATE-RQ is rejected (rejected-permanent, DICOM UL service-user) when the
  application context is not the DICOM one (reason 2), when the called AE title is
  empty (all spaces) or not ours (reason 7), or when the calling AE title is empty or
  not allowed (reason 3), checked in that order. An empty title is refused even when
  any title is accepted (an AE title has at least one significant character). The
  association limit is the service-provider's decision, made in AE-6 (see
  :func:`association_limit_exceeded` and ``Connection``). So is the per-peer limit
  (:func:`peer_limit_exceeded`): the peer's address is known only once the transport
  is up, after the Connection is made, so the driver sends :data:`LOCAL_LIMIT_REJECTION`,
  the A-ASSOCIATE-RJ AE-6 would have sent, in its place.
- Each presentation context is accepted with the first transfer syntax in *our*
  preference order that the requestor proposed; otherwise it is rejected with
  abstract-syntax-not-supported (3) or transfer-syntaxes-not-supported (4).
- SCP/SCU role selection (PS3.7 §D.3.3.4) is answered for each proposed SOP class we
  accept: a role is granted only if proposed and allowed by our ``SupportedContext``.
  Contexts whose SOP class would leave the requestor with no allowed role are
  rejected with user-rejection (1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from dicomkit.errors import RemoteProtocolError
from dicomkit.net.config import AEConfig, RequestedContext, SupportedContext
from dicomkit.net.pdu import (
    DICOM_APPLICATION_CONTEXT,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    ContextResult,
    PresentationContextAC,
    PresentationContextRQ,
    PresentationRejectReason,
    RejectResult,
    RejectSource,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
    UserRejectReason,
)

__all__ = [
    "LOCAL_LIMIT_REJECTION",
    "NegotiatedContext",
    "association_limit_exceeded",
    "build_request",
    "check_request",
    "negotiate",
    "negotiated_contexts",
    "peer_limit_exceeded",
]

_MAX_CONTEXTS: Final = 128  # odd presentation context IDs 1..255


@dataclass(frozen=True, slots=True)
class NegotiatedContext:
    """An accepted presentation context and the roles agreed for its SOP class.

    ``requestor_scu``/``requestor_scp`` are the association-requestor's roles; the
    acceptor takes the complementary ones (acceptor SCP when the requestor is SCU).
    """

    context_id: int
    abstract_syntax: str
    transfer_syntax: str
    requestor_scu: bool = True
    requestor_scp: bool = False

    @property
    def acceptor_scu(self) -> bool:
        return self.requestor_scp

    @property
    def acceptor_scp(self) -> bool:
        return self.requestor_scu


# ---------------------------------------------------------------------- requestor


def build_request(
    config: AEConfig,
    *,
    called_ae_title: str,
    contexts: Sequence[RequestedContext],
    user_identity: UserIdentityRQ | None = None,
    extended_negotiations: Sequence[SOPClassExtendedNegotiation] = (),
    common_extended_negotiations: Sequence[SOPClassCommonExtendedNegotiation] = (),
) -> AssociateRQ:
    """The A-ASSOCIATE-RQ for ``contexts``, numbered 1, 3, 5 ... in the order given.

    Raises:
        ValueError: no contexts, more than 128, or conflicting roles for one SOP class.
    """
    if not contexts:
        raise ValueError("an association proposes at least one presentation context")
    if len(contexts) > _MAX_CONTEXTS:
        raise ValueError(f"{len(contexts)} presentation contexts exceed the {_MAX_CONTEXTS} IDs available")
    roles: dict[str, RoleSelection] = {}
    for context in contexts:
        if context.scu_role is None or context.scp_role is None:
            continue
        role = RoleSelection(context.abstract_syntax, context.scu_role, context.scp_role)
        if roles.setdefault(context.abstract_syntax, role) != role:
            raise ValueError(f"conflicting role selections for {context.abstract_syntax}")
    return AssociateRQ(
        called_ae_title=called_ae_title,
        calling_ae_title=config.ae_title,
        presentation_contexts=tuple(
            PresentationContextRQ(2 * index + 1, context.abstract_syntax, context.transfer_syntaxes)
            for index, context in enumerate(contexts)
        ),
        user_information=UserInformation(
            maximum_length=config.max_pdu_length,
            implementation_class_uid=config.implementation_class_uid,
            implementation_version_name=config.implementation_version_name,
            role_selections=tuple(roles.values()),
            sop_class_extended_negotiations=tuple(extended_negotiations),
            sop_class_common_extended_negotiations=tuple(common_extended_negotiations),
            user_identity=user_identity,
        ),
    )


# ----------------------------------------------------------------------- acceptor


def association_limit_exceeded(config: AEConfig, *, active_associations: int) -> bool:
    """Whether one more association exceeds ``config.max_associations``.

    The driver passes the answer to ``Connection(association_limit_exceeded=...)``;
    AE-6 then rejects with rejected-transient / service-provider (presentation) /
    local-limit-exceeded (PS3.8 Table 9-21).
    """
    return active_associations >= config.max_associations


def peer_limit_exceeded(config: AEConfig, *, peer_associations: int) -> bool:
    """Whether one more association from a peer holding ``peer_associations`` exceeds
    ``config.max_associations_per_peer`` (counted by source IP address)."""
    limit = config.max_associations_per_peer
    return limit is not None and peer_associations >= limit


# What AE-6 sends beyond a local limit (PS3.8 Table 9-21, §9.3.4): rejected-transient,
# service-provider (presentation related), local-limit-exceeded.
LOCAL_LIMIT_REJECTION: Final = AssociateRJ(
    RejectResult.REJECTED_TRANSIENT,
    RejectSource.SERVICE_PROVIDER_PRESENTATION,
    PresentationRejectReason.LOCAL_LIMIT_EXCEEDED,
)


def _user_reject(reason: UserRejectReason) -> AssociateRJ:
    return AssociateRJ(RejectResult.REJECTED_PERMANENT, RejectSource.SERVICE_USER, reason)


def check_request(request: AssociateRQ, config: AEConfig) -> AssociateRJ | None:
    """The service-user's rejection of an A-ASSOCIATE-RQ, or None if it may proceed."""
    if request.application_context != DICOM_APPLICATION_CONTEXT:
        return _user_reject(UserRejectReason.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
    called = request.called_ae_title.strip(" ")
    if not called or (config.require_called_ae_title and called != config.ae_title):
        return _user_reject(UserRejectReason.CALLED_AE_TITLE_NOT_RECOGNIZED)
    calling = request.calling_ae_title.strip(" ")
    allowed = config.allowed_calling_ae_titles
    if not calling or (allowed is not None and calling not in allowed):
        return _user_reject(UserRejectReason.CALLING_AE_TITLE_NOT_RECOGNIZED)
    return None


def _answer_roles(request: AssociateRQ, supported: dict[str, SupportedContext]) -> dict[str, RoleSelection]:
    replies: dict[str, RoleSelection] = {}
    for proposal in request.user_information.role_selections:
        ours = supported.get(proposal.sop_class_uid)
        if ours is not None and proposal.sop_class_uid not in replies:
            replies[proposal.sop_class_uid] = RoleSelection(
                proposal.sop_class_uid,
                scu_role=proposal.scu_role and ours.scu_role,
                scp_role=proposal.scp_role and ours.scp_role,
            )
    return replies


def _answer_context(
    proposed: PresentationContextRQ,
    supported: dict[str, SupportedContext],
    roles: dict[str, RoleSelection],
) -> PresentationContextAC:
    ours = supported.get(proposed.abstract_syntax)
    if ours is None:
        return PresentationContextAC(proposed.context_id, ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED)
    offered = set(proposed.transfer_syntaxes)
    chosen = next((ts for ts in ours.transfer_syntaxes if ts in offered), None)
    if chosen is None:
        return PresentationContextAC(proposed.context_id, ContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED)
    role = roles.get(proposed.abstract_syntax)
    usable = (role.scu_role or role.scp_role) if role is not None else ours.scu_role
    if not usable:
        return PresentationContextAC(proposed.context_id, ContextResult.USER_REJECTION)
    return PresentationContextAC(proposed.context_id, ContextResult.ACCEPTANCE, chosen)


def negotiate(
    request: AssociateRQ,
    config: AEConfig,
    *,
    user_identity_response: bytes | None = None,
) -> AssociateAC | AssociateRJ:
    """The local user's A-ASSOCIATE response to ``request`` (Evt7 accept / Evt8 reject).

    Args:
        user_identity_response: the server response to return when the requestor
            asked for a positive user identity response (PS3.7 §D.3.3.7.2); deciding
            whether the identity is acceptable is the caller's business.
    """
    rejection = check_request(request, config)
    if rejection is not None:
        return rejection
    supported = {context.abstract_syntax: context for context in config.supported_contexts}
    roles = _answer_roles(request, supported)
    results = tuple(_answer_context(proposed, supported, roles) for proposed in request.presentation_contexts)
    accepted = {
        proposed.abstract_syntax
        for proposed, result in zip(request.presentation_contexts, results)
        if result.result == ContextResult.ACCEPTANCE
    }
    identity = request.user_information.user_identity
    response: UserIdentityAC | None = None
    if (
        isinstance(identity, UserIdentityRQ)
        and identity.positive_response_requested
        and user_identity_response is not None
    ):
        response = UserIdentityAC(user_identity_response)
    return AssociateAC(
        called_ae_title=request.called_ae_title,
        calling_ae_title=request.calling_ae_title,
        presentation_contexts=results,
        user_information=UserInformation(
            maximum_length=config.max_pdu_length,
            implementation_class_uid=config.implementation_class_uid,
            implementation_version_name=config.implementation_version_name,
            role_selections=tuple(role for uid, role in roles.items() if uid in accepted),
            user_identity=response,
        ),
        application_context=request.application_context,
    )


# ----------------------------------------------------------------- both sides


def negotiated_contexts(request: AssociateRQ, response: AssociateAC) -> tuple[NegotiatedContext, ...]:
    """The accepted contexts of an association, with their agreed roles.

    Raises:
        RemoteProtocolError: the A-ASSOCIATE-AC answers a context that was not
            proposed, or accepts it with a transfer syntax that was not offered.
    """
    proposed = {context.context_id: context for context in request.presentation_contexts}
    proposals = {role.sop_class_uid: role for role in request.user_information.role_selections}
    replies = {role.sop_class_uid: role for role in response.user_information.role_selections}
    agreed: list[NegotiatedContext] = []
    for result in response.presentation_contexts:
        context = proposed.get(result.context_id)
        if context is None:
            raise RemoteProtocolError(f"A-ASSOCIATE-AC answers unproposed context {result.context_id}")
        if result.result != ContextResult.ACCEPTANCE:
            continue
        if result.transfer_syntax not in context.transfer_syntaxes:
            raise RemoteProtocolError(
                f"context {result.context_id} accepted with transfer syntax "
                f"{result.transfer_syntax}, which was not proposed"
            )
        scu, scp = True, False  # default roles: requestor SCU, acceptor SCP
        proposal, reply = proposals.get(context.abstract_syntax), replies.get(context.abstract_syntax)
        if proposal is not None and reply is not None:
            scu, scp = proposal.scu_role and reply.scu_role, proposal.scp_role and reply.scp_role
        agreed.append(
            NegotiatedContext(result.context_id, context.abstract_syntax, result.transfer_syntax, scu, scp)
        )
    return tuple(agreed)
