"""DIMSE status codes and their categories (PS3.7 Annex C; PS3.4 service-specific statuses).

(0000,0900) Status is a US in every response. PS3.7 Annex C sorts statuses into five
classes; PS3.4 gives each service class its own codes within them. The categories of
:func:`status_category`:

==========  ===============================================================
SUCCESS     0000
PENDING     FF00, FF01 (C-FIND/C-GET/C-MOVE: more responses follow)
CANCEL      FE00
WARNING     0001, 0107, 0116, Bxxx
FAILURE     everything else: the general 01xx/02xx failures of PS3.7 C.5, Axxx
            and Cxxx service-specific failures, and any code nobody defined (an
            SCU treats a status it does not know as a failure)
==========  ===============================================================

The constants below are the general statuses of PS3.7 Annex C and the service-specific
ones of PS3.4 that this product meets (Verification, Storage, Query/Retrieve, Modality
Worklist, MPPS, Storage Commitment). Where two services give one code different
meanings, both names exist with the same value.

:func:`status_name` names a status for people. Given the service (``"C-MOVE"``), it uses
that service's PS3.4 meaning (0xA801 "Refused: Move Destination unknown"); otherwise,
or for a code the service does not define, the general PS3.7 meaning or the class of
its range.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final, Literal

__all__ = [
    "ATTRIBUTE_LIST_ERROR",
    "ATTRIBUTE_VALUE_OUT_OF_RANGE",
    "CANCEL",
    "CANNOT_UNDERSTAND",
    "CLASS_INSTANCE_CONFLICT",
    "COERCION_OF_DATA_ELEMENTS",
    "DATA_SET_DOES_NOT_MATCH_SOP_CLASS",
    "DATA_SET_DOES_NOT_MATCH_SOP_CLASS_WARNING",
    "DUPLICATE_INVOCATION",
    "DUPLICATE_SOP_INSTANCE",
    "ELEMENTS_DISCARDED",
    "IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS",
    "INVALID_ARGUMENT_VALUE",
    "INVALID_ATTRIBUTE_VALUE",
    "INVALID_OBJECT_INSTANCE",
    "MISSING_ATTRIBUTE",
    "MISSING_ATTRIBUTE_VALUE",
    "MISTYPED_ARGUMENT",
    "NOT_AUTHORIZED",
    "NO_SUCH_ACTION_TYPE",
    "NO_SUCH_ARGUMENT",
    "NO_SUCH_ATTRIBUTE",
    "NO_SUCH_EVENT_TYPE",
    "NO_SUCH_SOP_CLASS",
    "NO_SUCH_SOP_INSTANCE",
    "PENDING",
    "PENDING_WARNING",
    "PROCESSING_FAILURE",
    "REFUSED_MOVE_DESTINATION_UNKNOWN",
    "REFUSED_OUT_OF_RESOURCES",
    "REFUSED_OUT_OF_RESOURCES_MATCHES",
    "REFUSED_OUT_OF_RESOURCES_SUB_OPERATIONS",
    "RESOURCE_LIMITATION",
    "SOP_CLASS_NOT_SUPPORTED",
    "STATUS_NAMES",
    "SUB_OPERATIONS_COMPLETE_WITH_FAILURES",
    "SUCCESS",
    "UNABLE_TO_PROCESS",
    "UNRECOGNIZED_OPERATION",
    "WARNING",
    "DimseService",
    "StatusCategory",
    "is_final",
    "status_category",
    "status_name",
]


class StatusCategory(Enum):
    """The status classes of PS3.7 Annex C."""

    SUCCESS = "Success"
    WARNING = "Warning"
    FAILURE = "Failure"
    CANCEL = "Cancel"
    PENDING = "Pending"


# ------------------------------------------------------- PS3.7 Annex C, general
SUCCESS: Final = 0x0000
PENDING: Final = 0xFF00
CANCEL: Final = 0xFE00
WARNING: Final = 0x0001  # PS3.4: e.g. requested optional attributes not supported
ATTRIBUTE_LIST_ERROR: Final = 0x0107  # warning (C.4.2)
ATTRIBUTE_VALUE_OUT_OF_RANGE: Final = 0x0116  # warning (C.4.3)
NO_SUCH_ATTRIBUTE: Final = 0x0105
INVALID_ATTRIBUTE_VALUE: Final = 0x0106
PROCESSING_FAILURE: Final = 0x0110
DUPLICATE_SOP_INSTANCE: Final = 0x0111
NO_SUCH_SOP_INSTANCE: Final = 0x0112
NO_SUCH_EVENT_TYPE: Final = 0x0113
NO_SUCH_ARGUMENT: Final = 0x0114
INVALID_ARGUMENT_VALUE: Final = 0x0115
INVALID_OBJECT_INSTANCE: Final = 0x0117
NO_SUCH_SOP_CLASS: Final = 0x0118
CLASS_INSTANCE_CONFLICT: Final = 0x0119
MISSING_ATTRIBUTE: Final = 0x0120
MISSING_ATTRIBUTE_VALUE: Final = 0x0121
SOP_CLASS_NOT_SUPPORTED: Final = 0x0122
NO_SUCH_ACTION_TYPE: Final = 0x0123
NOT_AUTHORIZED: Final = 0x0124
DUPLICATE_INVOCATION: Final = 0x0210
UNRECOGNIZED_OPERATION: Final = 0x0211
MISTYPED_ARGUMENT: Final = 0x0212
RESOURCE_LIMITATION: Final = 0x0213

# ------------------------------------------- PS3.4 Annex B, Storage (B.2.3)
REFUSED_OUT_OF_RESOURCES: Final = 0xA700  # A7xx
DATA_SET_DOES_NOT_MATCH_SOP_CLASS: Final = 0xA900  # A9xx, failure
CANNOT_UNDERSTAND: Final = 0xC000  # Cxxx
COERCION_OF_DATA_ELEMENTS: Final = 0xB000
ELEMENTS_DISCARDED: Final = 0xB006
DATA_SET_DOES_NOT_MATCH_SOP_CLASS_WARNING: Final = 0xB007

# ------------------------------- PS3.4 Annex C, Query/Retrieve (C.4.1-C.4.3)
PENDING_WARNING: Final = 0xFF01  # C-FIND: optional keys not supported
IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS: Final = 0xA900
UNABLE_TO_PROCESS: Final = 0xC001  # Cxxx; C000 is as valid
REFUSED_OUT_OF_RESOURCES_MATCHES: Final = 0xA701  # C-MOVE/C-GET: cannot count matches
REFUSED_OUT_OF_RESOURCES_SUB_OPERATIONS: Final = 0xA702  # C-MOVE/C-GET: cannot start them
REFUSED_MOVE_DESTINATION_UNKNOWN: Final = 0xA801
SUB_OPERATIONS_COMPLETE_WITH_FAILURES: Final = 0xB000  # C-MOVE/C-GET warning

#: Names of the general statuses (PS3.7 Annex C), for logs and error messages.
STATUS_NAMES: Final[dict[int, str]] = {
    SUCCESS: "Success",
    PENDING: "Pending",
    PENDING_WARNING: "Pending: warning",
    CANCEL: "Cancel",
    WARNING: "Warning",
    ATTRIBUTE_LIST_ERROR: "Attribute list error",
    ATTRIBUTE_VALUE_OUT_OF_RANGE: "Attribute value out of range",
    NO_SUCH_ATTRIBUTE: "No such attribute",
    INVALID_ATTRIBUTE_VALUE: "Invalid attribute value",
    PROCESSING_FAILURE: "Processing failure",
    DUPLICATE_SOP_INSTANCE: "Duplicate SOP Instance",
    NO_SUCH_SOP_INSTANCE: "No such SOP Instance",
    NO_SUCH_EVENT_TYPE: "No such event type",
    NO_SUCH_ARGUMENT: "No such argument",
    INVALID_ARGUMENT_VALUE: "Invalid argument value",
    INVALID_OBJECT_INSTANCE: "Invalid object instance",
    NO_SUCH_SOP_CLASS: "No such SOP Class",
    CLASS_INSTANCE_CONFLICT: "Class-instance conflict",
    MISSING_ATTRIBUTE: "Missing attribute",
    MISSING_ATTRIBUTE_VALUE: "Missing attribute value",
    SOP_CLASS_NOT_SUPPORTED: "Refused: SOP Class not supported",
    NO_SUCH_ACTION_TYPE: "No such action type",
    NOT_AUTHORIZED: "Refused: not authorized",
    DUPLICATE_INVOCATION: "Duplicate invocation",
    UNRECOGNIZED_OPERATION: "Unrecognized operation",
    MISTYPED_ARGUMENT: "Mistyped argument",
    RESOURCE_LIMITATION: "Resource limitation",
}

_WARNINGS: Final = frozenset({WARNING, ATTRIBUTE_LIST_ERROR, ATTRIBUTE_VALUE_OUT_OF_RANGE})
_RANGE_NAMES: Final = {
    0xA: "Refused / error (service specific)",
    0xB: "Warning (service specific)",
    0xC: "Error: cannot understand / unable to process",
}


def status_category(status: int) -> StatusCategory:
    """The PS3.7 Annex C class of a status; unknown codes are failures."""
    if status == SUCCESS:
        return StatusCategory.SUCCESS
    if status in (PENDING, PENDING_WARNING):
        return StatusCategory.PENDING
    if status == CANCEL:
        return StatusCategory.CANCEL
    if status in _WARNINGS or 0xB000 <= status <= 0xBFFF:
        return StatusCategory.WARNING
    return StatusCategory.FAILURE


def is_final(status: int) -> bool:
    """True unless the status is pending (the last response to a request)."""
    return status not in (PENDING, PENDING_WARNING)


#: The DIMSE services whose PS3.4 status meanings :func:`status_name` knows.
DimseService = Literal["C-STORE", "C-FIND", "C-MOVE", "C-GET"]

# (first, last, meaning) per service, exact codes before the ranges that contain them.
_StatusRanges = tuple[tuple[int, int, str], ...]
_RETRIEVE_COMMON: Final[_StatusRanges] = (
    (0xA701, 0xA701, "Refused: out of resources, cannot count the matches"),
    (0xA702, 0xA702, "Refused: out of resources, cannot perform the sub-operations"),
    (0xA900, 0xA900, "Failed: identifier does not match SOP Class"),
    (0xC000, 0xCFFF, "Failed: unable to process"),
    (0xFE00, 0xFE00, "Cancel: sub-operations stopped by a cancel request"),
    (0xFF00, 0xFF00, "Pending: sub-operations are continuing"),
)
_SERVICE_STATUS_NAMES: Final[Mapping[DimseService, _StatusRanges]] = {
    # PS3.4 B.2.3 (Storage)
    "C-STORE": (
        (0xA700, 0xA7FF, "Refused: out of resources"),
        (0xA900, 0xA9FF, "Error: data set does not match SOP Class"),
        (0xC000, 0xCFFF, "Error: cannot understand"),
        (0xB000, 0xB000, "Warning: coercion of data elements"),
        (0xB006, 0xB006, "Warning: elements discarded"),
        (0xB007, 0xB007, "Warning: data set does not match SOP Class"),
    ),
    # PS3.4 C.4.1.1.4 (C-FIND, also Modality Worklist K.4.1.1.4)
    "C-FIND": (
        (0xA700, 0xA700, "Refused: out of resources"),
        (0xA900, 0xA900, "Failed: identifier does not match SOP Class"),
        (0xC000, 0xCFFF, "Failed: unable to process"),
        (0xFE00, 0xFE00, "Cancel: matching stopped by a cancel request"),
        (0xFF00, 0xFF00, "Pending: matches are continuing"),
        (0xFF01, 0xFF01, "Pending: matches are continuing, some optional keys not supported"),
    ),
    # PS3.4 C.4.2.1.5 (C-MOVE)
    "C-MOVE": (
        (0xA801, 0xA801, "Refused: Move Destination unknown"),
        *_RETRIEVE_COMMON,
        (0xB000, 0xB000, "Warning: sub-operations complete, one or more failed"),
    ),
    # PS3.4 C.4.3.1.4 (C-GET)
    "C-GET": (
        *_RETRIEVE_COMMON,
        (0xB000, 0xB000, "Warning: sub-operations complete, one or more failed or warned"),
    ),
}


def status_name(status: int, *, service: DimseService | None = None) -> str:
    """A readable name for a status, e.g. ``"0x0122 Refused: SOP Class not supported"``.

    With ``service``, its PS3.4 meaning comes first: ``status_name(0xA801,
    service="C-MOVE")`` is ``"0xA801 Refused: Move Destination unknown"``.
    """
    name = _service_status_name(status, service) if service is not None else None
    if name is None:
        name = STATUS_NAMES.get(status) or _RANGE_NAMES.get(status >> 12) or status_category(status).value
    return f"0x{status:04X} {name}"


def _service_status_name(status: int, service: DimseService) -> str | None:
    for first, last, name in _SERVICE_STATUS_NAMES.get(service, ()):
        if first <= status <= last:
            return name
    return None
