"""Wire compatibility with pynetdicom (a test oracle): each side decodes what the other encodes."""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from hypothesis import given, settings
from pynetdicom import pdu as pyn_pdu
from pynetdicom import pdu_primitives as pyn
from pynetdicom.presentation import PresentationContext

from dicomkit.net.pdu import (
    AbortPDU,
    AbortReason,
    AbortSource,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    AsynchronousOperationsWindow,
    ContextResult,
    PDataTF,
    PresentationContextAC,
    PresentationContextRQ,
    PresentationDataValue,
    RejectResult,
    RejectSource,
    ReleaseRP,
    ReleaseRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
    decode_pdu,
)
from tests.dicomkit.net.pdu_bytes import ASSOCIATE_AC, ASSOCIATE_RQ
from tests.dicomkit.net.pdu_strategies import associate_acs, associate_rqs, p_data_tfs

_Associate = TypeVar("_Associate", AssociateRQ, AssociateAC)

# pynetdicom's user information sub-item primitives (what A_ASSOCIATE.user_information holds)
_PynUserItem = (
    pyn.MaximumLengthNotification
    | pyn.ImplementationClassUIDNotification
    | pyn.ImplementationVersionNameNotification
    | pyn.AsynchronousOperationsWindowNegotiation
    | pyn.SCP_SCU_RoleSelectionNegotiation
    | pyn.SOPClassExtendedNegotiation
    | pyn.SOPClassCommonExtendedNegotiation
    | pyn.UserIdentityNegotiation
)


def _interop(pdu: _Associate) -> _Associate:
    user = pdu.user_information
    if user.implementation_version_name is not None:
        user = replace(user, implementation_version_name="VERSION_1")
    # pynetdicom refuses a role selection with neither role, even as an AC reply
    roles = tuple(r for r in user.role_selections if r.scu_role or r.scp_role)
    user = replace(user, role_selections=roles)
    if isinstance(pdu, AssociateAC):  # and cannot encode a rejected context without a TS
        contexts = tuple(
            replace(c, transfer_syntax=c.transfer_syntax or "1.2.840.10008.1.2")
            for c in pdu.presentation_contexts
        )
        pdu = replace(pdu, presentation_contexts=contexts)
    else:
        identity = user.user_identity
        if isinstance(identity, UserIdentityRQ):  # pynetdicom's own rules for the fields
            secondary = (identity.secondary_field or b"pw") if identity.identity_type == 2 else b""
            identity = replace(
                identity, primary_field=identity.primary_field or b"id", secondary_field=secondary
            )
            user = replace(user, user_identity=identity)
    return replace(
        pdu, called_ae_title="CALLED", calling_ae_title="CALLING", user_information=user, protocol_version=1
    )


# -------------------------------------------------------------- our objects -> pynetdicom


def _user_items(user: UserInformation) -> list[_PynUserItem]:
    items: list[_PynUserItem] = []
    if user.maximum_length is not None:
        maximum_length = pyn.MaximumLengthNotification()
        maximum_length.maximum_length_received = user.maximum_length
        items.append(maximum_length)
    if user.implementation_class_uid is not None:
        class_uid = pyn.ImplementationClassUIDNotification()
        class_uid.implementation_class_uid = user.implementation_class_uid
        items.append(class_uid)
    if user.implementation_version_name is not None:
        version_name = pyn.ImplementationVersionNameNotification()
        version_name.implementation_version_name = user.implementation_version_name
        items.append(version_name)
    if user.asynchronous_operations_window is not None:
        window = pyn.AsynchronousOperationsWindowNegotiation()
        window.maximum_number_operations_invoked = user.asynchronous_operations_window.max_invoked
        window.maximum_number_operations_performed = user.asynchronous_operations_window.max_performed
        items.append(window)
    for role in user.role_selections:
        role_item = pyn.SCP_SCU_RoleSelectionNegotiation()
        role_item.sop_class_uid = role.sop_class_uid
        role_item.scu_role = role.scu_role
        role_item.scp_role = role.scp_role
        items.append(role_item)
    for ext in user.sop_class_extended_negotiations:
        ext_item = pyn.SOPClassExtendedNegotiation()
        ext_item.sop_class_uid = ext.sop_class_uid
        ext_item.service_class_application_information = ext.application_information
        items.append(ext_item)
    for common in user.sop_class_common_extended_negotiations:
        common_item = pyn.SOPClassCommonExtendedNegotiation()
        common_item.sop_class_uid = common.sop_class_uid
        common_item.service_class_uid = common.service_class_uid
        common_item.related_general_sop_class_identification = list(common.related_general_sop_classes)
        items.append(common_item)
    identity = user.user_identity
    if identity is not None:
        identity_item = pyn.UserIdentityNegotiation()
        if isinstance(identity, UserIdentityRQ):
            identity_item.user_identity_type = identity.identity_type
            identity_item.positive_response_requested = identity.positive_response_requested
            identity_item.primary_field = identity.primary_field
            identity_item.secondary_field = identity.secondary_field
        else:
            identity_item.server_response = identity.server_response
        items.append(identity_item)
    return items


def _pynetdicom_associate(pdu: AssociateRQ | AssociateAC) -> bytes:
    primitive = pyn.A_ASSOCIATE()
    primitive.application_context_name = pdu.application_context
    primitive.called_ae_title = pdu.called_ae_title
    primitive.calling_ae_title = pdu.calling_ae_title
    primitive.user_information = _user_items(pdu.user_information)
    contexts: list[PresentationContext] = []
    for ours in pdu.presentation_contexts:
        context = PresentationContext()
        context.context_id = ours.context_id
        if isinstance(ours, PresentationContextRQ):
            context.abstract_syntax = ours.abstract_syntax
            context.transfer_syntax = list(ours.transfer_syntaxes)
        else:
            context.result = int(ours.result)
            if ours.transfer_syntax:
                context.transfer_syntax = [ours.transfer_syntax]
        contexts.append(context)
    if isinstance(pdu, AssociateRQ):
        primitive.presentation_context_definition_list = contexts
        encoded: pyn_pdu.A_ASSOCIATE_RQ | pyn_pdu.A_ASSOCIATE_AC = pyn_pdu.A_ASSOCIATE_RQ()
    else:
        primitive.result = 0
        primitive.presentation_context_definition_results_list = contexts
        encoded = pyn_pdu.A_ASSOCIATE_AC()
    encoded.from_primitive(primitive)
    return bytes(encoded.encode())


# -------------------------------------------------------------- pynetdicom -> our objects


def _ours_user(items: list[_PynUserItem]) -> UserInformation:
    user = UserInformation()
    roles: list[RoleSelection] = []
    extended: list[SOPClassExtendedNegotiation] = []
    common: list[SOPClassCommonExtendedNegotiation] = []
    for item in items:
        if isinstance(item, pyn.MaximumLengthNotification):
            user = replace(user, maximum_length=item.maximum_length_received)
        elif isinstance(item, pyn.ImplementationClassUIDNotification):
            user = replace(user, implementation_class_uid=str(item.implementation_class_uid))
        elif isinstance(item, pyn.ImplementationVersionNameNotification):
            user = replace(user, implementation_version_name=item.implementation_version_name)
        elif isinstance(item, pyn.AsynchronousOperationsWindowNegotiation):
            window = AsynchronousOperationsWindow(
                item.maximum_number_operations_invoked, item.maximum_number_operations_performed
            )
            user = replace(user, asynchronous_operations_window=window)
        elif isinstance(item, pyn.SCP_SCU_RoleSelectionNegotiation):
            roles.append(RoleSelection(str(item.sop_class_uid), bool(item.scu_role), bool(item.scp_role)))
        elif isinstance(item, pyn.SOPClassExtendedNegotiation):
            assert item.service_class_application_information is not None  # set by decode()
            extended.append(
                SOPClassExtendedNegotiation(
                    str(item.sop_class_uid), item.service_class_application_information
                )
            )
        elif isinstance(item, pyn.SOPClassCommonExtendedNegotiation):
            related = tuple(str(uid) for uid in item.related_general_sop_class_identification)
            common.append(
                SOPClassCommonExtendedNegotiation(
                    str(item.sop_class_uid), str(item.service_class_uid), related
                )
            )
        elif isinstance(item, pyn.UserIdentityNegotiation):
            identity: UserIdentityRQ | UserIdentityAC
            if item.server_response is not None:
                identity = UserIdentityAC(item.server_response)
            else:
                # an RQ sub-item always carries its type and primary field
                assert item.user_identity_type is not None and item.primary_field is not None
                identity = UserIdentityRQ(
                    item.user_identity_type,
                    item.primary_field,
                    item.secondary_field or b"",
                    bool(item.positive_response_requested),
                )
            user = replace(user, user_identity=identity)
    return replace(
        user,
        role_selections=tuple(roles),
        sop_class_extended_negotiations=tuple(extended),
        sop_class_common_extended_negotiations=tuple(common),
    )


def _ours_context_rq(context: PresentationContext) -> PresentationContextRQ:
    assert context.context_id is not None  # decoded from the item, so always set
    return PresentationContextRQ(
        context.context_id, str(context.abstract_syntax), tuple(str(ts) for ts in context.transfer_syntax)
    )


def _ours_context_ac(context: PresentationContext) -> PresentationContextAC:
    assert context.context_id is not None and context.result is not None  # decoded from the item
    transfer_syntax = str(context.transfer_syntax[0]) if context.transfer_syntax else ""
    return PresentationContextAC(context.context_id, ContextResult(context.result), transfer_syntax)


def _ours_from_pynetdicom(raw: bytes) -> AssociateRQ | AssociateAC:
    if raw[0] == 0x01:
        rq = pyn_pdu.A_ASSOCIATE_RQ()
        rq.decode(raw)
        primitive = rq.to_primitive()
        contexts_rq = tuple(_ours_context_rq(c) for c in primitive.presentation_context_definition_list)
        return AssociateRQ(
            primitive.called_ae_title,
            primitive.calling_ae_title,
            contexts_rq,
            _ours_user(primitive.user_information),
            str(primitive.application_context_name),
        )
    ac = pyn_pdu.A_ASSOCIATE_AC()
    ac.decode(raw)
    primitive = ac.to_primitive()
    contexts_ac = tuple(_ours_context_ac(c) for c in primitive.presentation_context_definition_results_list)
    return AssociateAC(
        ac.reserved_aet or "CALLED",
        ac.reserved_aec or "CALLING",
        contexts_ac,
        _ours_user(primitive.user_information),
        str(primitive.application_context_name),
    )


# -------------------------------------------------------------------------- tests


def test_pynetdicom_decodes_our_fixture_rq() -> None:
    assert _ours_from_pynetdicom(ASSOCIATE_RQ.encode()) == ASSOCIATE_RQ


def test_pynetdicom_decodes_our_fixture_ac() -> None:
    assert _ours_from_pynetdicom(ASSOCIATE_AC.encode()) == ASSOCIATE_AC


def test_we_decode_pynetdicom_fixture_rq() -> None:
    assert decode_pdu(_pynetdicom_associate(ASSOCIATE_RQ)) == ASSOCIATE_RQ


@given(associate_rqs.map(_interop))
@settings(max_examples=60)
def test_associate_rq_interoperates(pdu: AssociateRQ) -> None:
    assert _ours_from_pynetdicom(pdu.encode()) == pdu
    assert decode_pdu(_pynetdicom_associate(pdu)) == pdu


@given(associate_acs.map(_interop))
@settings(max_examples=60)
def test_associate_ac_interoperates(pdu: AssociateAC) -> None:
    ours = _ours_from_pynetdicom(pdu.encode())
    assert isinstance(ours, AssociateAC)
    assert ours.presentation_contexts == pdu.presentation_contexts
    assert ours.user_information == pdu.user_information
    assert decode_pdu(_pynetdicom_associate(pdu)) == replace(
        pdu, called_ae_title="CALLED", calling_ae_title="CALLING"
    )


@given(p_data_tfs)
def test_p_data_tf_interoperates(pdu: PDataTF) -> None:
    theirs = pyn_pdu.P_DATA_TF()
    theirs.decode(pdu.encode())
    values = theirs.to_primitive().presentation_data_value_list
    assert values == [(v.context_id, bytes([v.control_header]) + bytes(v.data)) for v in pdu.values]
    again = pyn_pdu.P_DATA_TF()
    again.from_primitive(theirs.to_primitive())
    assert decode_pdu(again.encode()) == pdu


def test_fixed_pdus_interoperate() -> None:
    rj = AssociateRJ(RejectResult.REJECTED_TRANSIENT, RejectSource.SERVICE_PROVIDER_PRESENTATION, 2)
    theirs_rj = pyn_pdu.A_ASSOCIATE_RJ()
    theirs_rj.decode(rj.encode())
    assert (theirs_rj.result, theirs_rj.source, theirs_rj.reason_diagnostic) == (2, 3, 2)
    assert decode_pdu(theirs_rj.encode()) == rj

    abort = AbortPDU(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU)
    theirs_abort = pyn_pdu.A_ABORT_RQ()
    theirs_abort.decode(abort.encode())
    assert (theirs_abort.source, theirs_abort.reason_diagnostic) == (2, 2)
    assert decode_pdu(theirs_abort.encode()) == abort

    for ours, cls in ((ReleaseRQ(), pyn_pdu.A_RELEASE_RQ), (ReleaseRP(), pyn_pdu.A_RELEASE_RP)):
        theirs = cls()
        theirs.decode(ours.encode())
        assert theirs.encode() == ours.encode()


def test_single_pdv_fast_path_matches_pynetdicom() -> None:
    pdu = PDataTF((PresentationDataValue(5, 0x02, b"\x01\x02\x03"),))
    primitive = pyn.P_DATA()
    # pynetdicom types this list[tuple[int, bytes]] but its setter accepts only [int, bytes] lists
    primitive.presentation_data_value_list = [[5, b"\x02\x01\x02\x03"]]  # type: ignore[list-item]
    theirs = pyn_pdu.P_DATA_TF()
    theirs.from_primitive(primitive)
    assert pdu.encode() == theirs.encode()
