"""Items and sub-items of the A-ASSOCIATE PDUs (PS3.8 §9.3.2-9.3.3, PS3.7 Annex D).

Frozen slotted dataclasses, each with ``encode() -> bytes`` (the whole item, header
included) and a ``decode(data, offset=0)`` classmethod taking the whole item. ``offset``
is where the item starts in its PDU, for error reports. ``pdus.py`` builds on these.

::

    A-ASSOCIATE-RQ / AC variable field
     +-- 10H Application Context Item                 ApplicationContextItem
     +-- 20H Presentation Context Item (RQ)           PresentationContextRQ
     |    +-- 30H Abstract Syntax Sub-Item            .abstract_syntax
     |    +-- 40H Transfer Syntax Sub-Item (1..n)     .transfer_syntaxes
     +-- 21H Presentation Context Item (AC)           PresentationContextAC
     |    +-- 40H Transfer Syntax Sub-Item            .transfer_syntax
     +-- 50H User Information Item                    UserInformation
          +-- 51H Maximum Length (D.1)                .maximum_length
          +-- 52H Implementation Class UID (D.3.3.2)  .implementation_class_uid
          +-- 53H Asynchronous Operations Window      AsynchronousOperationsWindow
          +-- 54H SCP/SCU Role Selection (0..n)       RoleSelection
          +-- 55H Implementation Version Name         .implementation_version_name
          +-- 56H SOP Class Extended Negotiation      SOPClassExtendedNegotiation
          +-- 57H SOP Class Common Extended Neg.      SOPClassCommonExtendedNegotiation
          +-- 58H / 59H User Identity RQ / AC         UserIdentityRQ / UserIdentityAC

Decoding rules (PS3.8 §9.3.1): items of unrecognized types are skipped; a recognized
item where it does not belong is an unexpected PDU parameter (A-ABORT reason 5); any
other violation is an invalid PDU parameter value (reason 6). Reserved fields are not
tested. Every length is checked against what remains before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final, Self

from dicomkit.errors import EncodeError, PDUError
from dicomkit.net.pdu.codes import AbortReason, ContextResult, ItemType
from dicomkit.net.pdu.decode import (
    ITEM_HEADER,
    Reader,
    decode_text,
    decode_uid,
    invalid,
)
from dicomkit.net.pdu.encode import U16, encode_item, encode_text, encode_uid

__all__ = [
    "DICOM_APPLICATION_CONTEXT",
    "ApplicationContextItem",
    "AsynchronousOperationsWindow",
    "PresentationContextAC",
    "PresentationContextRQ",
    "RoleSelection",
    "SOPClassCommonExtendedNegotiation",
    "SOPClassExtendedNegotiation",
    "UserIdentityAC",
    "UserIdentityRQ",
    "UserInformation",
]

DICOM_APPLICATION_CONTEXT: Final = "1.2.840.10008.3.1.1.1"
_KNOWN_TYPES: Final = frozenset(ItemType)
_MAX_VERSION_NAME: Final = 16


def _body(data: bytes | memoryview, offset: int, item_type: ItemType) -> Reader:
    """Check an item's header and return a reader over its body."""
    view = data if isinstance(data, memoryview) else memoryview(data)
    if len(view) < ITEM_HEADER.size:
        raise invalid(f"item 0x{item_type:02X} shorter than its header", offset)
    found, length = ITEM_HEADER.unpack_from(view, 0)
    if found != item_type:
        raise invalid(f"expected item 0x{item_type:02X}, found 0x{found:02X}", offset)
    if length != len(view) - ITEM_HEADER.size:
        raise invalid(
            f"item 0x{item_type:02X} length {length} does not match its {len(view) - 4} bytes", offset
        )
    return Reader(view[ITEM_HEADER.size :], offset + ITEM_HEADER.size)


def unexpected_item(item_type: int, where: str, offset: int) -> PDUError:
    """A recognized item in a place it does not belong (A-ABORT reason 5)."""
    return PDUError(
        f"item 0x{item_type:02X} not expected in {where}",
        abort_reason=AbortReason.UNEXPECTED_PDU_PARAMETER,
        offset=offset,
    )


def _sized_uid(reader: Reader, what: str) -> str:
    """A UID preceded by its 2-byte length (role selection and extended negotiation)."""
    length = reader.u16(f"{what} length")
    start = reader.offset
    return decode_uid(reader.take(length, what), start, what)


def _with_length(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise EncodeError(f"a field of {len(data)} bytes exceeds its 2-byte length")
    return U16.pack(len(data)) + data


def _in_range(value: int, low: int, high: int, what: str) -> int:
    """Encode-time range check, so that struct and bytes() never raise their own errors."""
    if not low <= value <= high:
        raise EncodeError(f"{what} {value} is outside {low}..{high}")
    return value


def _check_context_id(context_id: int) -> int:
    if not 1 <= context_id <= 255 or context_id % 2 == 0:
        raise EncodeError(f"presentation context ID {context_id} is not odd in 1..255")
    return context_id


def _flag(reader: Reader, what: str) -> bool:
    start = reader.offset
    value = reader.u8(what)
    if value > 1:
        raise invalid(f"{what} must be 0 or 1, not {value}", start)
    return value == 1


# ------------------------------------------------------------------ PS3.8 §9.3.2


@dataclass(frozen=True, slots=True)
class ApplicationContextItem:
    """Application Context Item (10H, PS3.8 §9.3.2.1)."""

    name: str = DICOM_APPLICATION_CONTEXT

    item_type: ClassVar[ItemType] = ItemType.APPLICATION_CONTEXT

    def encode(self) -> bytes:
        return encode_item(self.item_type, encode_uid(self.name, "application context name"))

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        start = reader.offset
        return cls(decode_uid(reader.rest(), start, "application context name"))


@dataclass(frozen=True, slots=True)
class PresentationContextRQ:
    """Presentation Context Item of an A-ASSOCIATE-RQ (20H, PS3.8 §9.3.2.2).

    ``transfer_syntaxes`` are in the requestor's order of proposal.
    """

    context_id: int
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]

    item_type: ClassVar[ItemType] = ItemType.PRESENTATION_CONTEXT_RQ

    def encode(self) -> bytes:
        if not self.transfer_syntaxes:
            raise EncodeError("a presentation context proposes at least one transfer syntax")
        parts = [
            bytes((_check_context_id(self.context_id), 0, 0, 0)),
            encode_item(ItemType.ABSTRACT_SYNTAX, encode_uid(self.abstract_syntax, "abstract syntax")),
        ]
        parts += [
            encode_item(ItemType.TRANSFER_SYNTAX, encode_uid(ts, "transfer syntax"))
            for ts in self.transfer_syntaxes
        ]
        return encode_item(self.item_type, b"".join(parts))

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        context_id = _context_id(reader)
        reader.skip(3, "reserved bytes")
        abstract_syntax: str | None = None
        transfer_syntaxes: list[str] = []
        for item_type, item, at in reader.items():
            value = item[ITEM_HEADER.size :]
            if item_type == ItemType.ABSTRACT_SYNTAX:
                if abstract_syntax is not None:
                    raise invalid("more than one abstract syntax in a presentation context", at)
                abstract_syntax = decode_uid(value, at + 4, "abstract syntax")
            elif item_type == ItemType.TRANSFER_SYNTAX:
                transfer_syntaxes.append(decode_uid(value, at + 4, "transfer syntax"))
            elif item_type in _KNOWN_TYPES:
                raise unexpected_item(item_type, "a presentation context (RQ)", at)
        if abstract_syntax is None or not transfer_syntaxes:
            raise invalid("presentation context lacks its abstract or transfer syntax", offset)
        return cls(context_id, abstract_syntax, tuple(transfer_syntaxes))


def _context_id(reader: Reader) -> int:
    start = reader.offset
    context_id = reader.u8("presentation context ID")
    if context_id % 2 == 0:
        raise invalid(f"presentation context ID {context_id} is not odd", start)
    return context_id


# ------------------------------------------------------------------ PS3.8 §9.3.3


@dataclass(frozen=True, slots=True)
class PresentationContextAC:
    """Presentation Context Item of an A-ASSOCIATE-AC (21H, PS3.8 §9.3.3.2).

    ``transfer_syntax`` is significant only when ``result`` is ACCEPTANCE; for a
    rejected context it is "" unless the acceptor sent a valid UID anyway.
    """

    context_id: int
    result: ContextResult
    transfer_syntax: str = ""

    item_type: ClassVar[ItemType] = ItemType.PRESENTATION_CONTEXT_AC

    def encode(self) -> bytes:
        ts = b""
        if self.transfer_syntax or self.result == ContextResult.ACCEPTANCE:
            ts = encode_uid(self.transfer_syntax, "transfer syntax")
        result = _in_range(self.result, 0, max(ContextResult), "presentation context result")
        body = bytes((_check_context_id(self.context_id), 0, result, 0))
        body += encode_item(ItemType.TRANSFER_SYNTAX, ts)
        return encode_item(self.item_type, body)

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        context_id = _context_id(reader)
        reader.skip(1, "reserved byte")
        start = reader.offset
        raw_result = reader.u8("result/reason")
        if raw_result > max(ContextResult):
            raise invalid(f"presentation context result {raw_result} is not defined", start)
        result = ContextResult(raw_result)
        reader.skip(1, "reserved byte")
        transfer_syntax: str | None = None
        for item_type, item, at in reader.items():
            if item_type == ItemType.TRANSFER_SYNTAX:
                if transfer_syntax is not None:
                    raise invalid("more than one transfer syntax in an accepted context", at)
                value = item[ITEM_HEADER.size :]
                if result == ContextResult.ACCEPTANCE:
                    transfer_syntax = decode_uid(value, at + 4, "transfer syntax")
                else:  # "shall not be significant and its value shall not be tested"
                    try:
                        transfer_syntax = decode_uid(value, at + 4, "transfer syntax")
                    except PDUError:
                        transfer_syntax = ""
            elif item_type in _KNOWN_TYPES:
                raise unexpected_item(item_type, "a presentation context (AC)", at)
        if transfer_syntax is None and result == ContextResult.ACCEPTANCE:
            raise invalid("accepted presentation context lacks its transfer syntax", offset)
        return cls(context_id, result, transfer_syntax or "")


# ------------------------------------------------------------- PS3.7 Annex D.3.3


@dataclass(frozen=True, slots=True)
class AsynchronousOperationsWindow:
    """Asynchronous Operations Window Sub-Item (53H, PS3.7 §D.3.3.3); 0 means unlimited."""

    max_invoked: int = 1
    max_performed: int = 1

    item_type: ClassVar[ItemType] = ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW

    def encode(self) -> bytes:
        invoked = _in_range(self.max_invoked, 0, 0xFFFF, "maximum operations invoked")
        performed = _in_range(self.max_performed, 0, 0xFFFF, "maximum operations performed")
        return encode_item(self.item_type, U16.pack(invoked) + U16.pack(performed))

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        invoked = reader.u16("maximum number of operations invoked")
        performed = reader.u16("maximum number of operations performed")
        reader.expect_end("asynchronous operations window")
        return cls(invoked, performed)


@dataclass(frozen=True, slots=True)
class RoleSelection:
    """SCP/SCU Role Selection Sub-Item (54H, PS3.7 §D.3.3.4).

    In an RQ the flags mean "proposes this role"; in an AC, "accepts this role".
    """

    sop_class_uid: str
    scu_role: bool
    scp_role: bool

    item_type: ClassVar[ItemType] = ItemType.ROLE_SELECTION

    def encode(self) -> bytes:
        uid = encode_uid(self.sop_class_uid, "role selection SOP class")
        return encode_item(self.item_type, _with_length(uid) + bytes((self.scu_role, self.scp_role)))

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        uid = _sized_uid(reader, "role selection SOP class UID")
        scu = _flag(reader, "SCU role")
        scp = _flag(reader, "SCP role")
        reader.expect_end("role selection")
        return cls(uid, scu, scp)


@dataclass(frozen=True, slots=True)
class SOPClassExtendedNegotiation:
    """SOP Class Extended Negotiation Sub-Item (56H, PS3.7 §D.3.3.5).

    ``application_information`` is the Service-class-application-information field,
    whose meaning the service class defines (PS3.4).
    """

    sop_class_uid: str
    application_information: bytes

    item_type: ClassVar[ItemType] = ItemType.SOP_CLASS_EXTENDED_NEGOTIATION

    def encode(self) -> bytes:
        uid = encode_uid(self.sop_class_uid, "extended negotiation SOP class")
        return encode_item(self.item_type, _with_length(uid) + bytes(self.application_information))

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        uid = _sized_uid(reader, "extended negotiation SOP class UID")
        return cls(uid, bytes(reader.rest()))


@dataclass(frozen=True, slots=True)
class SOPClassCommonExtendedNegotiation:
    """SOP Class Common Extended Negotiation Sub-Item (57H, PS3.7 §D.3.3.6), RQ only."""

    sop_class_uid: str
    service_class_uid: str
    related_general_sop_classes: tuple[str, ...] = ()

    item_type: ClassVar[ItemType] = ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION

    def encode(self) -> bytes:
        related = b"".join(
            _with_length(encode_uid(uid, "related general SOP class"))
            for uid in self.related_general_sop_classes
        )
        body = (
            _with_length(encode_uid(self.sop_class_uid, "common extended negotiation SOP class"))
            + _with_length(encode_uid(self.service_class_uid, "service class"))
            + _with_length(related)
        )
        # Byte 2 is the Sub-Item-version, 0 (PS3.7 Table D.3-12); encode_item writes 0 there.
        return encode_item(self.item_type, body)

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        sop_class = _sized_uid(reader, "common extended negotiation SOP class UID")
        service_class = _sized_uid(reader, "service class UID")
        length = reader.u16("related general SOP class identification length")
        related = Reader(
            reader.take(length, "related general SOP class identification"), reader.offset - length
        )
        reader.expect_end("SOP class common extended negotiation")
        uids: list[str] = []
        while related.remaining:
            uids.append(_sized_uid(related, "related general SOP class UID"))
        return cls(sop_class, service_class, tuple(uids))


@dataclass(frozen=True, slots=True)
class UserIdentityRQ:
    """User Identity Sub-Item of an RQ (58H, PS3.7 §D.3.3.7.1).

    ``identity_type`` is a :class:`UserIdentityType` value (kept an int so that a type
    defined after this code was written can still be answered). ``secondary_field`` is
    the passcode, used only with USERNAME_AND_PASSCODE.
    """

    identity_type: int
    primary_field: bytes
    secondary_field: bytes = b""
    positive_response_requested: bool = False

    item_type: ClassVar[ItemType] = ItemType.USER_IDENTITY_RQ

    def __repr__(self) -> str:  # never log credentials
        return f"UserIdentityRQ(identity_type={self.identity_type}, <{len(self.primary_field)} bytes>)"

    def encode(self) -> bytes:
        body = (
            bytes(
                (
                    _in_range(self.identity_type, 0, 255, "user identity type"),
                    self.positive_response_requested,
                )
            )
            + _with_length(self.primary_field)
            + _with_length(self.secondary_field)
        )
        return encode_item(self.item_type, body)

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        identity_type = reader.u8("user identity type")
        positive = _flag(reader, "positive response requested")
        primary = bytes(reader.take(reader.u16("primary field length"), "primary field"))
        secondary = bytes(reader.take(reader.u16("secondary field length"), "secondary field"))
        reader.expect_end("user identity")
        return cls(identity_type, primary, secondary, positive)


@dataclass(frozen=True, slots=True)
class UserIdentityAC:
    """User Identity Sub-Item of an AC (59H, PS3.7 §D.3.3.7.2)."""

    server_response: bytes = b""

    item_type: ClassVar[ItemType] = ItemType.USER_IDENTITY_AC

    def __repr__(self) -> str:
        return f"UserIdentityAC(<{len(self.server_response)} bytes>)"

    def encode(self) -> bytes:
        return encode_item(self.item_type, _with_length(self.server_response))

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        response = bytes(reader.take(reader.u16("server response length"), "server response"))
        reader.expect_end("user identity response")
        return cls(response)


@dataclass(frozen=True, slots=True)
class UserInformation:
    """User Information Item (50H, PS3.8 §9.3.2.3) with its sub-items flattened.

    ``maximum_length`` is the Maximum Length Received (PS3.8 Annex D.1): the largest
    P-DATA-TF PDU-length the sender accepts, 0 meaning no limit; None if absent.
    """

    maximum_length: int | None = None
    implementation_class_uid: str | None = None
    implementation_version_name: str | None = None
    asynchronous_operations_window: AsynchronousOperationsWindow | None = None
    role_selections: tuple[RoleSelection, ...] = ()
    sop_class_extended_negotiations: tuple[SOPClassExtendedNegotiation, ...] = ()
    sop_class_common_extended_negotiations: tuple[SOPClassCommonExtendedNegotiation, ...] = ()
    user_identity: UserIdentityRQ | UserIdentityAC | None = None

    item_type: ClassVar[ItemType] = ItemType.USER_INFORMATION

    def encode(self) -> bytes:
        # Sub-items in increasing item type order (PS3.8 §9.3.1).
        parts: list[bytes] = []
        if self.maximum_length is not None:
            value = _in_range(self.maximum_length, 0, 0xFFFFFFFF, "maximum length")
            parts.append(encode_item(ItemType.MAXIMUM_LENGTH, value.to_bytes(4, "big")))
        if self.implementation_class_uid is not None:
            uid = encode_uid(self.implementation_class_uid, "implementation class UID")
            parts.append(encode_item(ItemType.IMPLEMENTATION_CLASS_UID, uid))
        if self.asynchronous_operations_window is not None:
            parts.append(self.asynchronous_operations_window.encode())
        parts += [item.encode() for item in self.role_selections]
        if self.implementation_version_name is not None:
            name = encode_text(self.implementation_version_name, "implementation version name", max_length=16)
            parts.append(encode_item(ItemType.IMPLEMENTATION_VERSION_NAME, name))
        parts += [item.encode() for item in self.sop_class_extended_negotiations]
        parts += [item.encode() for item in self.sop_class_common_extended_negotiations]
        if self.user_identity is not None:
            parts.append(self.user_identity.encode())
        return encode_item(self.item_type, b"".join(parts))

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> Self:
        reader = _body(data, offset, cls.item_type)
        maximum_length: int | None = None
        class_uid: str | None = None
        version_name: str | None = None
        window: AsynchronousOperationsWindow | None = None
        identity: UserIdentityRQ | UserIdentityAC | None = None
        roles: list[RoleSelection] = []
        extended: list[SOPClassExtendedNegotiation] = []
        common: list[SOPClassCommonExtendedNegotiation] = []
        seen: set[int] = set()
        for item_type, item, at in reader.items():
            if item_type in _SINGLE_SUB_ITEMS:
                if item_type in seen:
                    raise invalid(f"sub-item 0x{item_type:02X} appears more than once", at)
                seen.add(item_type)
            value = item[ITEM_HEADER.size :]
            if item_type == ItemType.MAXIMUM_LENGTH:
                if len(value) != 4:
                    raise invalid("maximum length sub-item must hold 4 bytes", at)
                maximum_length = int.from_bytes(value, "big")
            elif item_type == ItemType.IMPLEMENTATION_CLASS_UID:
                class_uid = decode_uid(value, at + 4, "implementation class UID")
            elif item_type == ItemType.IMPLEMENTATION_VERSION_NAME:
                version_name = decode_text(
                    value, at + 4, "implementation version name", max_length=_MAX_VERSION_NAME
                )
            elif item_type == ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW:
                window = AsynchronousOperationsWindow.decode(item, at)
            elif item_type == ItemType.ROLE_SELECTION:
                roles.append(RoleSelection.decode(item, at))
            elif item_type == ItemType.SOP_CLASS_EXTENDED_NEGOTIATION:
                extended.append(SOPClassExtendedNegotiation.decode(item, at))
            elif item_type == ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION:
                common.append(SOPClassCommonExtendedNegotiation.decode(item, at))
            elif item_type == ItemType.USER_IDENTITY_RQ:
                identity = UserIdentityRQ.decode(item, at)
            elif item_type == ItemType.USER_IDENTITY_AC:
                identity = UserIdentityAC.decode(item, at)
            elif item_type in _KNOWN_TYPES:
                raise unexpected_item(item_type, "user information", at)
        if ItemType.USER_IDENTITY_RQ in seen and ItemType.USER_IDENTITY_AC in seen:
            raise invalid("user identity sub-items of both RQ and AC kinds", offset)
        return cls(
            maximum_length,
            class_uid,
            version_name,
            window,
            tuple(roles),
            tuple(extended),
            tuple(common),
            identity,
        )


_SINGLE_SUB_ITEMS: Final = frozenset(
    {
        ItemType.MAXIMUM_LENGTH,
        ItemType.IMPLEMENTATION_CLASS_UID,
        ItemType.IMPLEMENTATION_VERSION_NAME,
        ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW,
        ItemType.USER_IDENTITY_RQ,
        ItemType.USER_IDENTITY_AC,
    }
)
