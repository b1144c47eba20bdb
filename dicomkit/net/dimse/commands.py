"""DIMSE messages and their command sets (PS3.7 §6.3, §9.3, §10.3, Annex E).

The public face of the command codec: every DIMSE-C and DIMSE-N request and response
as a frozen dataclass (``c_messages``, ``n_messages``), the ``DimseMessage`` union, and
``encode_command`` / ``decode_command`` between a message and its Implicit VR Little
Endian command set bytes. Pure: no I/O. ``fragment`` and ``assemble`` carry the bytes
in and out of P-DATA-TF PDUs.

::

    CStoreRQ(message_id=7, affected_sop_class_uid=..., affected_sop_instance_uid=...)
        --encode_command()-->  b"\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x00..."  (group 0000)
        <--decode_command()--
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final, TypeAlias

from dicomkit.data.uid import is_valid_uid
from dicomkit.errors import RemoteProtocolError
from dicomkit.net.dimse.c_messages import (
    VERIFICATION_SOP_CLASS,
    CCancelRQ,
    CEchoRQ,
    CEchoRSP,
    CFindRQ,
    CFindRSP,
    CGetRQ,
    CGetRSP,
    CMoveRQ,
    CMoveRSP,
    CStoreRQ,
    CStoreRSP,
)
from dicomkit.net.dimse.command_set import (
    COMMAND_FIELD,
    DATA_SET_PRESENT,
    MAX_COMMAND_LENGTH,
    NO_DATA_SET,
    CommandField,
    Priority,
    encode_command_set,
    parse_command_set,
)
from dicomkit.net.dimse.n_messages import (
    NActionRQ,
    NActionRSP,
    NCreateRQ,
    NCreateRSP,
    NDeleteRQ,
    NDeleteRSP,
    NEventReportRQ,
    NEventReportRSP,
    NGetRQ,
    NGetRSP,
    NSetRQ,
    NSetRSP,
)

__all__ = [
    "DATA_SET_PRESENT",
    "MAX_COMMAND_LENGTH",
    "MESSAGE_TYPES",
    "NO_DATA_SET",
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
    "CommandField",
    "DimseMessage",
    "DimseRequest",
    "DimseResponse",
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
    "Priority",
    "decode_command",
    "encode_command",
    "failure_response",
    "response_type",
]

DimseRequest: TypeAlias = (
    CEchoRQ
    | CStoreRQ
    | CFindRQ
    | CGetRQ
    | CMoveRQ
    | CCancelRQ
    | NEventReportRQ
    | NGetRQ
    | NSetRQ
    | NActionRQ
    | NCreateRQ
    | NDeleteRQ
)
DimseResponse: TypeAlias = (
    CEchoRSP
    | CStoreRSP
    | CFindRSP
    | CGetRSP
    | CMoveRSP
    | NEventReportRSP
    | NGetRSP
    | NSetRSP
    | NActionRSP
    | NCreateRSP
    | NDeleteRSP
)
DimseMessage: TypeAlias = DimseRequest | DimseResponse

#: The message class for each Command Field value.
MESSAGE_TYPES: Final[dict[CommandField, type[DimseMessage]]] = {
    cls.command_field: cls
    for cls in (
        CEchoRQ,
        CEchoRSP,
        CStoreRQ,
        CStoreRSP,
        CFindRQ,
        CFindRSP,
        CGetRQ,
        CGetRSP,
        CMoveRQ,
        CMoveRSP,
        CCancelRQ,
        NEventReportRQ,
        NEventReportRSP,
        NGetRQ,
        NGetRSP,
        NSetRQ,
        NSetRSP,
        NActionRQ,
        NActionRSP,
        NCreateRQ,
        NCreateRSP,
        NDeleteRQ,
        NDeleteRSP,
    )
}
_BY_VALUE: Final[dict[int, type[DimseMessage]]] = {int(field): cls for field, cls in MESSAGE_TYPES.items()}


def encode_command(message: DimseMessage, *, has_dataset: bool | None = None) -> bytes:
    """The command set of ``message`` in Implicit VR Little Endian, group length included.

    ``has_dataset`` overrides the message's own (0000,0800) CommandDataSetType: ``True``
    writes 0x0001, ``False`` 0x0101. Only tests of peers' error handling need it.

    Raises:
        EncodeError: a field value that does not fit its VR (a UID with letters, a
            message ID above 65535, an error comment over 64 characters, ...).
    """
    present = message.has_dataset if has_dataset is None else has_dataset
    return encode_command_set(message.command_values(present))


def decode_command(data: bytes | bytearray | memoryview) -> DimseMessage:
    """The message held by an encoded command set.

    Bounded by ``MAX_COMMAND_LENGTH``; retired command elements are skipped.

    Raises:
        RemoteProtocolError: (only) for anything malformed: a bad element structure,
            an unknown Command Field, a missing mandatory element, a value of the wrong
            form, or a data set flag the message type does not allow.
    """
    values = parse_command_set(data)
    field = values.get(COMMAND_FIELD)
    if field is None:
        raise RemoteProtocolError("malformed command set: no (0000,0100) CommandField")
    cls = _BY_VALUE.get(field) if isinstance(field, int) else None
    if cls is None:
        raise RemoteProtocolError(f"malformed command set: unknown CommandField {field!r}")
    return cls.from_values(values)


_RESPONSE_TYPES: Final[dict[int, type[DimseResponse]]] = {
    int(cls.command_field): cls
    for cls in (
        CEchoRSP,
        CStoreRSP,
        CFindRSP,
        CGetRSP,
        CMoveRSP,
        NEventReportRSP,
        NGetRSP,
        NSetRSP,
        NActionRSP,
        NCreateRSP,
        NDeleteRSP,
    )
}
_MAX_ERROR_COMMENT: Final = 64  # (0000,0902) Error Comment is LO


def response_type(request: DimseMessage) -> type[DimseResponse]:
    """The message class answering ``request`` (its Command Field with bit 15 set, PS3.7 E.1).

    Raises:
        ValueError: ``request`` is a response, or a C-CANCEL-RQ (which has none).
    """
    cls = _RESPONSE_TYPES.get(request.command_field | 0x8000) if not request.command_field & 0x8000 else None
    if cls is None:
        raise ValueError(f"{request.command_field.message_name} has no response")
    return cls


def failure_response(request: DimseMessage, status: int, comment: str = "") -> DimseResponse:
    """The response of ``request``'s type carrying ``status`` and, if it has one, ``comment``.

    The response names the request's Message ID and its SOP class and instance (the
    Affected SOP Class/Instance UID of the response takes the Requested one of an
    N-GET/SET/ACTION/DELETE-RQ); a malformed UID of the request is left out. ``comment``
    becomes the Error Comment, cut to the 64 characters of its VR (LO) and stripped of
    characters LO does not allow; responses without an Error Comment element do not carry it.

    Raises:
        ValueError: ``request`` has no response (see :func:`response_type`).
    """
    cls = response_type(request)
    names = {field.name for field in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {
        "message_id_being_responded_to": getattr(request, "message_id", 0),
        "status": status,
    }
    for kind in ("class", "instance"):
        value = getattr(request, f"affected_sop_{kind}_uid", None) or getattr(
            request, f"requested_sop_{kind}_uid", None
        )
        # A request's malformed UID (kept as text by the decoder) is not echoed: the
        # response's UIDs are optional, U(=), and we never send an invalid one.
        if value is not None and is_valid_uid(value) and f"affected_sop_{kind}_uid" in names:
            kwargs[f"affected_sop_{kind}_uid"] = value
    text = "".join(c for c in comment if " " <= c <= "~" and c != "\\")[:_MAX_ERROR_COMMENT]
    if text and "error_comment" in names:
        kwargs["error_comment"] = text
    return cls(**kwargs)
