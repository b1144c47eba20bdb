"""The DIMSE-C messages (PS3.7 §9.3): C-ECHO, C-STORE, C-FIND, C-GET, C-MOVE, C-CANCEL.

One frozen slotted dataclass per request and response, holding the command set fields
of PS3.7 Tables 9.3-1 to 9.3-17 (and the status-related fields of Annex C) under their
keywords in snake case. Encoding and validation are generic (``command_set.py``);
``commands.py`` ties all messages together.

The ``elements`` tables list each message's command elements in ascending element
order, which is also the order they are written in; ``required`` lists what PS3.7
marks M for the receiver to check (U fields and the C fields of responses are optional).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from dicomkit.net.dimse.command_set import CommandField, CommandMessage, Priority

__all__ = [
    "VERIFICATION_SOP_CLASS",
    "CCancelRQ",
    "CEchoRQ",
    "CEchoRSP",
    "CFindRQ",
    "CFindRSP",
    "CGetRQ",
    "CGetRSP",
    "CMoveRQ",
    "CMoveRSP",
    "CStoreRQ",
    "CStoreRSP",
]

#: Verification SOP Class (PS3.4 Annex A), the SOP class of C-ECHO.
VERIFICATION_SOP_CLASS: Final = "1.2.840.10008.1.1"

# Element numbers (group 0000) as in PS3.7 Annex E.
_AFFECTED_CLASS = 0x0002
_FIELD = 0x0100
_MESSAGE_ID = 0x0110
_RESPONDED_TO = 0x0120
_MOVE_DESTINATION = 0x0600
_PRIORITY = 0x0700
_DATA_SET_TYPE = 0x0800
_STATUS = 0x0900
_OFFENDING = 0x0901
_COMMENT = 0x0902
_AFFECTED_INSTANCE = 0x1000
_REMAINING = 0x1020
_COMPLETED = 0x1021
_FAILED = 0x1022
_WARNING = 0x1023
_ORIGINATOR_AE = 0x1030
_ORIGINATOR_ID = 0x1031

_RQ_REQUIRED: Final = frozenset({"message_id", "affected_sop_class_uid"})
_RSP_REQUIRED: Final = frozenset({"message_id_being_responded_to", "status"})

_QUERY_RQ_ELEMENTS: Final = (
    (_AFFECTED_CLASS, "affected_sop_class_uid"),
    (_FIELD, "command_field"),
    (_MESSAGE_ID, "message_id"),
    (_PRIORITY, "priority"),
    (_DATA_SET_TYPE, ""),
)
_RETRIEVE_RSP_ELEMENTS: Final = (
    (_AFFECTED_CLASS, "affected_sop_class_uid"),
    (_FIELD, "command_field"),
    (_RESPONDED_TO, "message_id_being_responded_to"),
    (_DATA_SET_TYPE, ""),
    (_STATUS, "status"),
    (_OFFENDING, "offending_element"),
    (_COMMENT, "error_comment"),
    (_REMAINING, "remaining_suboperations"),
    (_COMPLETED, "completed_suboperations"),
    (_FAILED, "failed_suboperations"),
    (_WARNING, "warning_suboperations"),
)


@dataclass(frozen=True, slots=True)
class CEchoRQ(CommandMessage):
    """C-ECHO-RQ (PS3.7 Table 9.3-12). Never has a data set."""

    message_id: int
    affected_sop_class_uid: str = VERIFICATION_SOP_CLASS

    command_field: ClassVar[CommandField] = CommandField.C_ECHO_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_AFFECTED_CLASS, "affected_sop_class_uid"),
        (_FIELD, "command_field"),
        (_MESSAGE_ID, "message_id"),
        (_DATA_SET_TYPE, ""),
    )
    required: ClassVar[frozenset[str]] = _RQ_REQUIRED
    fixed_data_set: ClassVar[bool | None] = False


@dataclass(frozen=True, slots=True)
class CEchoRSP(CommandMessage):
    """C-ECHO-RSP (PS3.7 Table 9.3-13). Never has a data set."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = VERIFICATION_SOP_CLASS
    error_comment: str | None = None

    command_field: ClassVar[CommandField] = CommandField.C_ECHO_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_AFFECTED_CLASS, "affected_sop_class_uid"),
        (_FIELD, "command_field"),
        (_RESPONDED_TO, "message_id_being_responded_to"),
        (_DATA_SET_TYPE, ""),
        (_STATUS, "status"),
        (_COMMENT, "error_comment"),
    )
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED
    fixed_data_set: ClassVar[bool | None] = False


@dataclass(frozen=True, slots=True)
class CStoreRQ(CommandMessage):
    """C-STORE-RQ (PS3.7 Table 9.3-1). Always followed by the data set to store."""

    message_id: int
    affected_sop_class_uid: str
    affected_sop_instance_uid: str
    priority: Priority = Priority.MEDIUM
    move_originator_ae_title: str | None = None
    move_originator_message_id: int | None = None

    command_field: ClassVar[CommandField] = CommandField.C_STORE_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_AFFECTED_CLASS, "affected_sop_class_uid"),
        (_FIELD, "command_field"),
        (_MESSAGE_ID, "message_id"),
        (_PRIORITY, "priority"),
        (_DATA_SET_TYPE, ""),
        (_AFFECTED_INSTANCE, "affected_sop_instance_uid"),
        (_ORIGINATOR_AE, "move_originator_ae_title"),
        (_ORIGINATOR_ID, "move_originator_message_id"),
    )
    required: ClassVar[frozenset[str]] = _RQ_REQUIRED | {"affected_sop_instance_uid"}
    fixed_data_set: ClassVar[bool | None] = True


@dataclass(frozen=True, slots=True)
class CStoreRSP(CommandMessage):
    """C-STORE-RSP (PS3.7 Table 9.3-2). Never has a data set."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    error_comment: str | None = None
    offending_element: tuple[int, ...] | None = None

    command_field: ClassVar[CommandField] = CommandField.C_STORE_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_AFFECTED_CLASS, "affected_sop_class_uid"),
        (_FIELD, "command_field"),
        (_RESPONDED_TO, "message_id_being_responded_to"),
        (_DATA_SET_TYPE, ""),
        (_STATUS, "status"),
        (_OFFENDING, "offending_element"),
        (_COMMENT, "error_comment"),
        (_AFFECTED_INSTANCE, "affected_sop_instance_uid"),
    )
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED
    fixed_data_set: ClassVar[bool | None] = False


@dataclass(frozen=True, slots=True)
class CFindRQ(CommandMessage):
    """C-FIND-RQ (PS3.7 Table 9.3-3). Always followed by the identifier."""

    message_id: int
    affected_sop_class_uid: str
    priority: Priority = Priority.MEDIUM

    command_field: ClassVar[CommandField] = CommandField.C_FIND_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = _QUERY_RQ_ELEMENTS
    required: ClassVar[frozenset[str]] = _RQ_REQUIRED
    fixed_data_set: ClassVar[bool | None] = True


@dataclass(frozen=True, slots=True)
class CFindRSP(CommandMessage):
    """C-FIND-RSP (PS3.7 Table 9.3-4).

    A pending response carries a match as its identifier: pass ``has_dataset=True``
    (PS3.4 C.4.1.1.3); other responses have none.
    """

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    error_comment: str | None = None
    offending_element: tuple[int, ...] | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.C_FIND_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_AFFECTED_CLASS, "affected_sop_class_uid"),
        (_FIELD, "command_field"),
        (_RESPONDED_TO, "message_id_being_responded_to"),
        (_DATA_SET_TYPE, ""),
        (_STATUS, "status"),
        (_OFFENDING, "offending_element"),
        (_COMMENT, "error_comment"),
    )
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED


@dataclass(frozen=True, slots=True)
class CGetRQ(CommandMessage):
    """C-GET-RQ (PS3.7 Table 9.3-7). Always followed by the identifier."""

    message_id: int
    affected_sop_class_uid: str
    priority: Priority = Priority.MEDIUM

    command_field: ClassVar[CommandField] = CommandField.C_GET_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = _QUERY_RQ_ELEMENTS
    required: ClassVar[frozenset[str]] = _RQ_REQUIRED
    fixed_data_set: ClassVar[bool | None] = True


@dataclass(frozen=True, slots=True)
class CGetRSP(CommandMessage):
    """C-GET-RSP (PS3.7 Table 9.3-8).

    The sub-operation counts are conditional (PS3.4 C.4.3.1.3); a final response with
    failures may carry the Failed SOP Instance UID List as its identifier
    (``has_dataset=True``).
    """

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    remaining_suboperations: int | None = None
    completed_suboperations: int | None = None
    failed_suboperations: int | None = None
    warning_suboperations: int | None = None
    error_comment: str | None = None
    offending_element: tuple[int, ...] | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.C_GET_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = _RETRIEVE_RSP_ELEMENTS
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED


@dataclass(frozen=True, slots=True)
class CMoveRQ(CommandMessage):
    """C-MOVE-RQ (PS3.7 Table 9.3-9). Always followed by the identifier."""

    message_id: int
    affected_sop_class_uid: str
    move_destination: str
    priority: Priority = Priority.MEDIUM

    command_field: ClassVar[CommandField] = CommandField.C_MOVE_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_AFFECTED_CLASS, "affected_sop_class_uid"),
        (_FIELD, "command_field"),
        (_MESSAGE_ID, "message_id"),
        (_MOVE_DESTINATION, "move_destination"),
        (_PRIORITY, "priority"),
        (_DATA_SET_TYPE, ""),
    )
    required: ClassVar[frozenset[str]] = _RQ_REQUIRED | {"move_destination"}
    fixed_data_set: ClassVar[bool | None] = True


@dataclass(frozen=True, slots=True)
class CMoveRSP(CommandMessage):
    """C-MOVE-RSP (PS3.7 Table 9.3-10); fields as :class:`CGetRSP`."""

    message_id_being_responded_to: int
    status: int
    affected_sop_class_uid: str | None = None
    remaining_suboperations: int | None = None
    completed_suboperations: int | None = None
    failed_suboperations: int | None = None
    warning_suboperations: int | None = None
    error_comment: str | None = None
    offending_element: tuple[int, ...] | None = None
    has_dataset: bool = False

    command_field: ClassVar[CommandField] = CommandField.C_MOVE_RSP
    elements: ClassVar[tuple[tuple[int, str], ...]] = _RETRIEVE_RSP_ELEMENTS
    required: ClassVar[frozenset[str]] = _RSP_REQUIRED


@dataclass(frozen=True, slots=True)
class CCancelRQ(CommandMessage):
    """C-CANCEL-RQ (PS3.7 Table 9.3-5/-6/-11): cancels the C-FIND/GET/MOVE it names."""

    message_id_being_responded_to: int

    command_field: ClassVar[CommandField] = CommandField.C_CANCEL_RQ
    elements: ClassVar[tuple[tuple[int, str], ...]] = (
        (_FIELD, "command_field"),
        (_RESPONDED_TO, "message_id_being_responded_to"),
        (_DATA_SET_TYPE, ""),
    )
    required: ClassVar[frozenset[str]] = frozenset({"message_id_being_responded_to"})
    fixed_data_set: ClassVar[bool | None] = False
