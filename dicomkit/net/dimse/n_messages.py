"""The DIMSE-N messages (PS3.7 §10.3): N-EVENT-REPORT, N-GET, N-SET, N-ACTION, N-CREATE, N-DELETE.

One frozen slotted dataclass per request and response, holding the command set fields
of PS3.7 Tables 10.3-1 to 10.3-12 and the status-related fields of Annex C (Error
Comment, Error ID, Attribute Identifier List) under their keywords in snake case.
Requests address an instance by *Requested* SOP Class/Instance UID, except
N-EVENT-REPORT and N-CREATE, which use the *Affected* ones; responses always use the
Affected ones, optionally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from dicomkit.net.dimse.command_set import CommandField, CommandMessage

__all__ = [
    "NActionRQ",
    "NActionRSP",
    "NCreateRQ",
    "NCreateRSP",
    "NDeleteRQ",
    "NDeleteRSP",
    "NEventReportRQ",
    "NEventReportRSP",
    "NGetRQ",
    "NGetRSP",
    "NSetRQ",
    "NSetRSP",
]

# Element numbers (group 0000) as in PS3.7 Annex E.
_AFFECTED_CLASS = 0x0002
_REQUESTED_CLASS = 0x0003
_FIELD = 0x0100
_MESSAGE_ID = 0x0110
_RESPONDED_TO = 0x0120
_DATA_SET_TYPE = 0x0800
_STATUS = 0x0900
_COMMENT = 0x0902
_ERROR_ID = 0x0903
_AFFECTED_INSTANCE = 0x1000
_REQUESTED_INSTANCE = 0x1001
_EVENT_TYPE = 0x1002
_ATTRIBUTES = 0x1005
_ACTION_TYPE = 0x1008

_RSP_REQUIRED: Final = frozenset({"message_id_being_responded_to", "status"})
_REQUESTED_REQUIRED: Final = frozenset(
    {"message_id", "requested_sop_class_uid", "requested_sop_instance_uid"}
)

# Requests on an existing instance: N-GET, N-SET, N-ACTION, N-DELETE.
_REQUESTED_RQ_ELEMENTS: Final = (
    (_REQUESTED_CLASS, "requested_sop_class_uid"),
    (_FIELD, "command_field"),
    (_MESSAGE_ID, "message_id"),
    (_DATA_SET_TYPE, ""),
    (_REQUESTED_INSTANCE, "requested_sop_instance_uid"),
)
# Responses to N-SET, N-CREATE, N-DELETE (N-GET adds the attribute list it could not find).
_RSP_ELEMENTS: Final = (
    (_AFFECTED_CLASS, "affected_sop_class_uid"),
    (_FIELD, "command_field"),
    (_RESPONDED_TO, "message_id_being_responded_to"),
    (_DATA_SET_TYPE, ""),
    (_STATUS, "status"),
    (_COMMENT, "error_comment"),
    (_ERROR_ID, "error_id"),
    (_AFFECTED_INSTANCE, "affected_sop_instance_uid"),
)
_RSP_WITH_ATTRIBUTES_ELEMENTS: Final = (*_RSP_ELEMENTS, (_ATTRIBUTES, "attribute_identifier_list"))


@dataclass(frozen=True, slots=True)
class NEventReportRQ(CommandMessage):
    """N-EVENT-REPORT-RQ (PS3.7 Table 10.3-1); the Event Information is the optional data set."""

    message_id: int
    affected_sop_class_uid: str
    affected_sop_instance_uid: str
    event_type_id: int
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.N_EVENT_REPORT_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_AFFECTED_CLASS, "affected_sop_class_uid"),
        (_FIELD, "command_field"),
        (_MESSAGE_ID, "message_id"),
        (_DATA_SET_TYPE, ""),
        (_AFFECTED_INSTANCE, "affected_sop_instance_uid"),
        (_EVENT_TYPE, "event_type_id"),
    )
    required: ClassVar[frozenset[str]] = frozenset(
        {"message_id", "affected_sop_class_uid", "affected_sop_instance_uid", "event_type_id"}
    )


@dataclass(frozen=True, slots=True)
class NEventReportRSP(CommandMessage):
    """N-EVENT-REPORT-RSP (PS3.7 Table 10.3-2); the Event Reply is the optional data set."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    event_type_id: int | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.N_EVENT_REPORT_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = (*_RSP_ELEMENTS, (_EVENT_TYPE, "event_type_id"))
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED


@dataclass(frozen=True, slots=True)
class NGetRQ(CommandMessage):
    """N-GET-RQ (PS3.7 Table 10.3-3). Never has a data set; no identifier list means all attributes."""

    message_id: int
    requested_sop_class_uid: str
    requested_sop_instance_uid: str
    attribute_identifier_list: tuple[int, ...] | None = None

    command_field: ClassVar[CommandField] = CommandField.N_GET_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        *_REQUESTED_RQ_ELEMENTS,
        (_ATTRIBUTES, "attribute_identifier_list"),
    )
    required: ClassVar[frozenset[str]] = _REQUESTED_REQUIRED
    fixed_data_set: ClassVar[bool | None] = False


@dataclass(frozen=True, slots=True)
class NGetRSP(CommandMessage):
    """N-GET-RSP (PS3.7 Table 10.3-4); the Attribute List is the data set on success."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    attribute_identifier_list: tuple[int, ...] | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.N_GET_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = _RSP_WITH_ATTRIBUTES_ELEMENTS
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED


@dataclass(frozen=True, slots=True)
class NSetRQ(CommandMessage):
    """N-SET-RQ (PS3.7 Table 10.3-5). Always followed by the Modification List."""

    message_id: int
    requested_sop_class_uid: str
    requested_sop_instance_uid: str

    command_field: ClassVar[CommandField] = CommandField.N_SET_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = _REQUESTED_RQ_ELEMENTS
    required: ClassVar[frozenset[str]] = _REQUESTED_REQUIRED
    fixed_data_set: ClassVar[bool | None] = True


@dataclass(frozen=True, slots=True)
class NSetRSP(CommandMessage):
    """N-SET-RSP (PS3.7 Table 10.3-6); the Attribute List is the optional data set."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    attribute_identifier_list: tuple[int, ...] | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.N_SET_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = _RSP_WITH_ATTRIBUTES_ELEMENTS
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED


@dataclass(frozen=True, slots=True)
class NActionRQ(CommandMessage):
    """N-ACTION-RQ (PS3.7 Table 10.3-7); the Action Information is the optional data set."""

    message_id: int
    requested_sop_class_uid: str
    requested_sop_instance_uid: str
    action_type_id: int
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.N_ACTION_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        *_REQUESTED_RQ_ELEMENTS,
        (_ACTION_TYPE, "action_type_id"),
    )
    required: ClassVar[frozenset[str]] = _REQUESTED_REQUIRED | {"action_type_id"}


@dataclass(frozen=True, slots=True)
class NActionRSP(CommandMessage):
    """N-ACTION-RSP (PS3.7 Table 10.3-8); the Action Reply is the optional data set."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    action_type_id: int | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.N_ACTION_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = (*_RSP_ELEMENTS, (_ACTION_TYPE, "action_type_id"))
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED


@dataclass(frozen=True, slots=True)
class NCreateRQ(CommandMessage):
    """N-CREATE-RQ (PS3.7 Table 10.3-9).

    Without an Affected SOP Instance UID the SCP assigns one; the Attribute List is the
    optional data set.
    """

    message_id: int
    affected_sop_class_uid: str
    affected_sop_instance_uid: str | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.N_CREATE_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_AFFECTED_CLASS, "affected_sop_class_uid"),
        (_FIELD, "command_field"),
        (_MESSAGE_ID, "message_id"),
        (_DATA_SET_TYPE, ""),
        (_AFFECTED_INSTANCE, "affected_sop_instance_uid"),
    )
    required: ClassVar[frozenset[str]] = frozenset({"message_id", "affected_sop_class_uid"})


@dataclass(frozen=True, slots=True)
class NCreateRSP(CommandMessage):
    """N-CREATE-RSP (PS3.7 Table 10.3-10); the Attribute List is the optional data set."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.N_CREATE_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = _RSP_ELEMENTS
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED


@dataclass(frozen=True, slots=True)
class NDeleteRQ(CommandMessage):
    """N-DELETE-RQ (PS3.7 Table 10.3-11). Never has a data set."""

    message_id: int
    requested_sop_class_uid: str
    requested_sop_instance_uid: str

    command_field: ClassVar[CommandField] = CommandField.N_DELETE_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = _REQUESTED_RQ_ELEMENTS
    required: ClassVar[frozenset[str]] = _REQUESTED_REQUIRED
    fixed_data_set: ClassVar[bool | None] = False


@dataclass(frozen=True, slots=True)
class NDeleteRSP(CommandMessage):
    """N-DELETE-RSP (PS3.7 Table 10.3-12). Never has a data set."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    error_comment: str | None = None
    error_id: int | None = None

    command_field: ClassVar[CommandField] = CommandField.N_DELETE_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = _RSP_ELEMENTS
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED
    fixed_data_set: ClassVar[bool | None] = False
