"""Hypothesis strategies for DIMSE messages, and their translation to pynetdicom (the oracle)."""

from __future__ import annotations

import dataclasses
from io import BytesIO
from typing import Any

from hypothesis import strategies as st
from pynetdicom import dimse_messages, dimse_primitives

from dicomkit.net.dimse import MESSAGE_TYPES, DimseMessage, Priority

MESSAGE_CLASSES = tuple(MESSAGE_TYPES.values())

_component = st.one_of(st.just("0"), st.integers(1, 10**12).map(str))
uids = st.lists(_component, min_size=2, max_size=12).map(".".join).filter(lambda uid: len(uid) <= 64)
_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="\\")
ae_titles = st.text(_printable, min_size=1, max_size=16).map(str.strip).filter(bool)
error_comments = st.text(_printable, max_size=64).map(str.strip)
us = st.integers(0, 0xFFFF)
tag_lists = st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=6).map(tuple)

# Field name -> (strategy, PS3.7 keyword = pynetdicom primitive attribute).
FIELDS: dict[str, tuple[st.SearchStrategy[Any], str]] = {
    "message_id": (us, "MessageID"),
    "message_id_being_responded_to": (us, "MessageIDBeingRespondedTo"),
    "affected_sop_class_uid": (uids, "AffectedSOPClassUID"),
    "affected_sop_instance_uid": (uids, "AffectedSOPInstanceUID"),
    "requested_sop_class_uid": (uids, "RequestedSOPClassUID"),
    "requested_sop_instance_uid": (uids, "RequestedSOPInstanceUID"),
    "priority": (st.sampled_from(Priority), "Priority"),
    "move_destination": (ae_titles, "MoveDestination"),
    "move_originator_ae_title": (ae_titles, "MoveOriginatorApplicationEntityTitle"),
    "move_originator_message_id": (us, "MoveOriginatorMessageID"),
    "status": (us, "Status"),
    "error_comment": (error_comments, "ErrorComment"),
    "error_id": (us, "ErrorID"),
    "offending_element": (tag_lists, "OffendingElement"),
    "attribute_identifier_list": (tag_lists, "AttributeIdentifierList"),
    "event_type_id": (us, "EventTypeID"),
    "action_type_id": (us, "ActionTypeID"),
    "remaining_suboperations": (us, "NumberOfRemainingSuboperations"),
    "completed_suboperations": (us, "NumberOfCompletedSuboperations"),
    "failed_suboperations": (us, "NumberOfFailedSuboperations"),
    "warning_suboperations": (us, "NumberOfWarningSuboperations"),
    "has_dataset": (st.booleans(), ""),
}


def messages_of(cls: type[DimseMessage]) -> st.SearchStrategy[DimseMessage]:
    """Any valid message of one type: mandatory fields always, optional ones sometimes."""
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for field in dataclasses.fields(cls):
        strategy = FIELDS[field.name][0]
        optional = field.default is None or (field.name == "affected_sop_class_uid" and "RSP" in cls.__name__)
        kwargs[field.name] = st.one_of(st.none(), strategy) if optional else strategy
    return st.builds(cls, **kwargs)


messages = st.sampled_from(MESSAGE_CLASSES).flatmap(messages_of)

# pynetdicom's name for the data set parameter of each primitive, request then response.
_DATASET_PARAMETER = {
    "C_STORE": ("DataSet", None),
    "C_FIND": ("Identifier", "Identifier"),
    "C_GET": ("Identifier", "Identifier"),
    "C_MOVE": ("Identifier", "Identifier"),
    "N_EVENT_REPORT": ("EventInformation", "EventReply"),
    "N_GET": (None, "AttributeList"),
    "N_SET": ("ModificationList", "AttributeList"),
    "N_ACTION": ("ActionInformation", "ActionReply"),
    "N_CREATE": ("AttributeList", "AttributeList"),
}


def pynetdicom_message(message: DimseMessage) -> Any:
    """The same message built by pynetdicom (primitive -> DIMSEMessage)."""
    name = message.command_field.name  # e.g. C_STORE_RQ
    service, kind = name.rsplit("_", 1)
    primitive = getattr(dimse_primitives, service)()
    for field in dataclasses.fields(message):
        value = getattr(message, field.name)
        keyword = FIELDS[field.name][1]
        if value is None or not keyword:
            continue
        if isinstance(value, tuple):
            value = list(value)
        setattr(primitive, keyword, int(value) if isinstance(value, Priority) else value)
    parameter = _DATASET_PARAMETER.get(service, (None, None))[kind == "RSP"]
    if message.has_dataset and parameter is not None:
        setattr(primitive, parameter, BytesIO(b"\x08\x00\x18\x00\x00\x00\x00\x00"))
    pyn = getattr(dimse_messages, name)()
    pyn.primitive_to_message(primitive)
    return pyn
