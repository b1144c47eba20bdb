"""Wire compatibility with pynetdicom (a test oracle): each side decodes what the other encodes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

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


def _interop(pdu: AssociateRQ | AssociateAC) -> Any:
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


def _user_items(user: UserInformation) -> list[Any]:
    items: list[Any] = []
    if user.maximum_length is not None:
        item = pyn.MaximumLengthNotification()
        item.maximum_length_received = user.maximum_length
        items.append(item)
    if user.implementation_class_uid is not None:
        item = pyn.ImplementationClassUIDNotification()
        item.implementation_class_uid = user.implementation_class_uid
        items.append(item)
    if user.implementation_version_name is not None:
        item = pyn.ImplementationVersionNameNotification()
        item.implementation_version_name = user.implementation_version_name
        items.append(item)
    if user.asynchronous_operations_window is not None:
        item = pyn.AsynchronousOperationsWindowNegotiation()
        item.maximum_number_operations_invoked = user.asynchronous_operations_window.max_invoked
        item.maximum_number_operations_performed = user.asynchronous_operations_window.max_performed
        items.append(item)
    for role in user.role_selections:
        item = pyn.SCP_SCU_RoleSelectionNegotiation()
        item.sop_class_uid = role.sop_class_uid
        item.scu_role = role.scu_role
        item.scp_role = role.scp_role
        items.append(item)
    for ext in user.sop_class_extended_negotiations:
        item = pyn.SOPClassExtendedNegotiation()
        item.sop_class_uid = ext.sop_class_uid
        item.service_class_application_information = ext.application_information
        items.append(item)
    for common in user.sop_class_common_extended_negotiations:
        item = pyn.SOPClassCommonExtendedNegotiation()
        item.sop_class_uid = common.sop_class_uid
        item.service_class_uid = common.service_class_uid
        item.related_general_sop_class_identification = list(common.related_general_sop_classes)
        items.append(item)
    identity = user.user_identity
    if identity is not None:
        item = pyn.UserIdentityNegotiation()
        if isinstance(identity, UserIdentityRQ):
            item.user_identity_type = identity.identity_type
            item.positive_response_requested = identity.positive_response_requested
            item.primary_field = identity.primary_field
            item.secondary_field = identity.secondary_field
        else:
            item.server_response = identity.server_response
        items.append(item)
    return items


def _pynetdicom_associate(pdu: AssociateRQ | AssociateAC) -> bytes:
    primitive = pyn.A_ASSOCIATE()
    primitive.application_context_name = pdu.application_context
    primitive.called_ae_title = pdu.called_ae_title
    primitive.calling_ae_title = pdu.calling_ae_title
    primitive.user_information = _user_items(pdu.user_information)
    contexts = []
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
        encoded: Any = pyn_pdu.A_ASSOCIATE_RQ()
    else:
        primitive.result = 0
        primitive.presentation_context_definition_results_list = contexts
        encoded = pyn_pdu.A_ASSOCIATE_AC()
    encoded.from_primitive(primitive)
    return bytes(encoded.encode())


# -------------------------------------------------------------- pynetdicom -> our objects


def _ours_user(items: list[Any]) -> UserInformation:
    fields: dict[str, Any] = {}
    roles, extended, common = [], [], []
    for item in items:
        if isinstance(item, pyn.MaximumLengthNotification):
            fields["maximum_length"] = item.maximum_length_received
        elif isinstance(item, pyn.ImplementationClassUIDNotification):
            fields["implementation_class_uid"] = str(item.implementation_class_uid)
        elif isinstance(item, pyn.ImplementationVersionNameNotification):
            fields["implementation_version_name"] = item.implementation_version_name
        elif isinstance(item, pyn.AsynchronousOperationsWindowNegotiation):
            fields["asynchronous_operations_window"] = AsynchronousOperationsWindow(
                item.maximum_number_operations_invoked, item.maximum_number_operations_performed
            )
        elif isinstance(item, pyn.SCP_SCU_RoleSelectionNegotiation):
            roles.append(RoleSelection(str(item.sop_class_uid), bool(item.scu_role), bool(item.scp_role)))
        elif isinstance(item, pyn.SOPClassExtendedNegotiation):
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
            if item.server_response is not None:
                fields["user_identity"] = UserIdentityAC(item.server_response)
            else:
                fields["user_identity"] = UserIdentityRQ(
                    item.user_identity_type,
                    item.primary_field,
                    item.secondary_field or b"",
                    bool(item.positive_response_requested),
                )
    return UserInformation(
        role_selections=tuple(roles),
        sop_class_extended_negotiations=tuple(extended),
        sop_class_common_extended_negotiations=tuple(common),
        **fields,
    )


def _ours_from_pynetdicom(raw: bytes) -> AssociateRQ | AssociateAC:
    if raw[0] == 0x01:
        rq = pyn_pdu.A_ASSOCIATE_RQ()
        rq.decode(raw)
        primitive = rq.to_primitive()
        contexts_rq = tuple(
            PresentationContextRQ(
                c.context_id, str(c.abstract_syntax), tuple(str(ts) for ts in c.transfer_syntax)
            )
            for c in primitive.presentation_context_definition_list
        )
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
    contexts_ac = tuple(
        PresentationContextAC(
            c.context_id, ContextResult(c.result), str(c.transfer_syntax[0]) if c.transfer_syntax else ""
        )
        for c in primitive.presentation_context_definition_results_list
    )
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
    primitive.presentation_data_value_list = [[5, b"\x02\x01\x02\x03"]]
    theirs = pyn_pdu.P_DATA_TF()
    theirs.from_primitive(primitive)
    assert pdu.encode() == theirs.encode()
