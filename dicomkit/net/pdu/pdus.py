"""The seven Upper Layer PDUs (PS3.8 §9.3.2-9.3.8) and ``decode_pdu``.

Frozen slotted dataclasses, each with ``encode() -> bytes`` and a ``decode(data)``
classmethod taking exactly one whole PDU (header included). They double as the UL
service primitives (PS3.8 §7): the A-ASSOCIATE, P-DATA, A-RELEASE and A-ABORT
primitives carry exactly the parameters of their PDUs that DICOM uses.

::

    +--------+----------+-------------+----------------------------------------+
    | type 1 | reserved | length (4)  | body (length bytes)                    |
    +--------+----------+-------------+----------------------------------------+
    01 A-ASSOCIATE-RQ   AssociateRQ   fixed 68 bytes, then items (items.py)
    02 A-ASSOCIATE-AC   AssociateAC   fixed 68 bytes, then items
    03 A-ASSOCIATE-RJ   AssociateRJ   reserved, result, source, reason
    04 P-DATA-TF        PDataTF       PDV items: length (4), context ID, data
    05 A-RELEASE-RQ     ReleaseRQ     4 reserved bytes
    06 A-RELEASE-RP     ReleaseRP     4 reserved bytes
    07 A-ABORT          AbortPDU      reserved, reserved, source, reason

Invariants: ``decode`` checks the PDU-length against the bytes given and every inner
length against what remains; PDV data are ``memoryview`` slices of the input (no copy).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar, Final, Self

from dicomkit.errors import EncodeError, PDUError
from dicomkit.net.pdu.codes import (
    AbortReason,
    AbortSource,
    ContextResult,
    ItemType,
    PDUType,
    RejectResult,
    RejectSource,
)
from dicomkit.net.pdu.decode import PDU_HEADER, Reader, decode_ae_title, invalid
from dicomkit.net.pdu.encode import encode_ae_title, encode_pdata, encode_pdu
from dicomkit.net.pdu.items import (
    DICOM_APPLICATION_CONTEXT,
    ApplicationContextItem,
    PresentationContextAC,
    PresentationContextRQ,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
    unexpected_item,
)

__all__ = [
    "PDU",
    "AbortPDU",
    "AssociateAC",
    "AssociateRJ",
    "AssociateRQ",
    "PDataTF",
    "PresentationDataValue",
    "ReleaseRP",
    "ReleaseRQ",
    "decode_pdu",
]

_ASSOCIATE_FIXED: Final = struct.Struct(">H2x16s16s32x")  # version, reserved, called, calling, reserved
_FOUR_BYTES: Final = struct.Struct(">xxBB")
_PDV_HEADER: Final = struct.Struct(">LBB")  # Item-length, context ID, message control header
_KNOWN_ITEMS: Final = frozenset(ItemType)


def _pdu_body(data: bytes | memoryview, pdu_type: PDUType) -> Reader:
    """Check a PDU's header against the bytes given; a reader over the body."""
    view = data if isinstance(data, memoryview) else memoryview(data)
    if len(view) < PDU_HEADER.size:
        raise invalid("PDU shorter than its 6-byte header", 0)
    found, length = PDU_HEADER.unpack_from(view, 0)
    if found != pdu_type:
        raise invalid(f"expected PDU type 0x{pdu_type:02X}, found 0x{found:02X}", 0)
    if length != len(view) - PDU_HEADER.size:
        raise invalid(f"PDU length {length} does not match the {len(view) - 6} bytes that follow", 2)
    return Reader(view[PDU_HEADER.size :], PDU_HEADER.size)


def _fixed_fields(reader: Reader) -> tuple[int, memoryview, memoryview]:
    if reader.remaining < _ASSOCIATE_FIXED.size:
        raise invalid("A-ASSOCIATE PDU shorter than its 68 fixed bytes", reader.offset)
    fixed = reader.take(_ASSOCIATE_FIXED.size, "fixed fields")
    return (int.from_bytes(fixed[0:2], "big"), fixed[4:20], fixed[20:36])


def _variable_items(
    reader: Reader, context_type: ItemType, what: str
) -> tuple[str, list[memoryview], list[int], UserInformation]:
    """Split the variable field of an A-ASSOCIATE-RQ/AC into its items."""
    application_context: str | None = None
    contexts: list[memoryview] = []
    offsets: list[int] = []
    user_information: UserInformation | None = None
    for item_type, item, at in reader.items():
        if item_type == ItemType.APPLICATION_CONTEXT:
            if application_context is not None:
                raise invalid(f"{what} has more than one application context item", at)
            application_context = ApplicationContextItem.decode(item, at).name
        elif item_type == context_type:
            contexts.append(item)
            offsets.append(at)
        elif item_type == ItemType.USER_INFORMATION:
            if user_information is not None:
                raise invalid(f"{what} has more than one user information item", at)
            user_information = UserInformation.decode(item, at)
        elif item_type in _KNOWN_ITEMS:
            raise unexpected_item(item_type, what, at)
    if application_context is None:
        raise invalid(f"{what} lacks its application context item", PDU_HEADER.size)
    if not contexts:
        raise invalid(f"{what} has no presentation context item", PDU_HEADER.size)
    if user_information is None:
        raise invalid(f"{what} lacks its user information item", PDU_HEADER.size)
    return application_context, contexts, offsets, user_information


def _duplicate_ids(contexts: tuple[PresentationContextRQ, ...] | tuple[PresentationContextAC, ...]) -> bool:
    """Presentation context IDs identify a context within the association (PS3.8 §7.1.1.13)."""
    return len({context.context_id for context in contexts}) != len(contexts)


def _untested_ae_title(data: memoryview) -> str:
    """A reserved AE title echo: kept if it is a valid title, else "" (never an error)."""
    try:
        return decode_ae_title(data, 0, "reserved AE title")
    except PDUError:
        return ""


def _associate_parts(
    protocol_version: int, called: str, calling: str, items: list[bytes]
) -> list[bytes | memoryview]:
    if not 0 <= protocol_version <= 0xFFFF:
        raise EncodeError(f"protocol version {protocol_version} is outside 0..65535")
    fixed = _ASSOCIATE_FIXED.pack(
        protocol_version,
        encode_ae_title(called, "called AE title"),
        encode_ae_title(calling, "calling AE title"),
    )
    return [fixed, *items]


@dataclass(frozen=True, slots=True)
class AssociateRQ:
    """A-ASSOCIATE-RQ PDU (PS3.8 §9.3.2, Table 9-11); also the A-ASSOCIATE request."""

    called_ae_title: str
    calling_ae_title: str
    presentation_contexts: tuple[PresentationContextRQ, ...]
    user_information: UserInformation = field(default_factory=UserInformation)
    application_context: str = DICOM_APPLICATION_CONTEXT
    protocol_version: int = 1

    pdu_type: ClassVar[PDUType] = PDUType.A_ASSOCIATE_RQ

    def encode(self) -> bytes:
        if not self.presentation_contexts:
            raise EncodeError("an A-ASSOCIATE-RQ proposes at least one presentation context")
        if _duplicate_ids(self.presentation_contexts):
            raise EncodeError("presentation context IDs are not unique")
        if isinstance(self.user_information.user_identity, UserIdentityAC):
            raise EncodeError("an A-ASSOCIATE-RQ cannot carry a user identity response")
        items = [ApplicationContextItem(self.application_context).encode()]
        items += [context.encode() for context in self.presentation_contexts]
        items.append(self.user_information.encode())
        parts = _associate_parts(self.protocol_version, self.called_ae_title, self.calling_ae_title, items)
        return encode_pdu(self.pdu_type, parts)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Self:
        reader = _pdu_body(data, cls.pdu_type)
        version, called, calling = _fixed_fields(reader)
        called_title = decode_ae_title(called, 10, "called AE title")
        calling_title = decode_ae_title(calling, 26, "calling AE title")
        app, raw, offsets, user = _variable_items(reader, ItemType.PRESENTATION_CONTEXT_RQ, "A-ASSOCIATE-RQ")
        if isinstance(user.user_identity, UserIdentityAC):
            raise PDUError(
                "user identity response (59H) in an A-ASSOCIATE-RQ",
                abort_reason=AbortReason.UNEXPECTED_PDU_PARAMETER,
            )
        contexts = tuple(PresentationContextRQ.decode(item, at) for item, at in zip(raw, offsets))
        if _duplicate_ids(contexts):
            raise invalid("presentation context IDs are not unique", PDU_HEADER.size)
        return cls(called_title, calling_title, contexts, user, app, version)


@dataclass(frozen=True, slots=True)
class AssociateAC:
    """A-ASSOCIATE-AC PDU (PS3.8 §9.3.3, Table 9-17); also the accepting A-ASSOCIATE response.

    ``called_ae_title`` and ``calling_ae_title`` echo the RQ in fields the standard
    reserves: they are sent as received and not tested when received.
    """

    called_ae_title: str
    calling_ae_title: str
    presentation_contexts: tuple[PresentationContextAC, ...]
    user_information: UserInformation = field(default_factory=UserInformation)
    application_context: str = DICOM_APPLICATION_CONTEXT
    protocol_version: int = 1

    pdu_type: ClassVar[PDUType] = PDUType.A_ASSOCIATE_AC

    def encode(self) -> bytes:
        if not self.presentation_contexts:
            raise EncodeError("an A-ASSOCIATE-AC answers at least one presentation context")
        if _duplicate_ids(self.presentation_contexts):
            raise EncodeError("presentation context IDs are not unique")
        if isinstance(self.user_information.user_identity, UserIdentityRQ):
            raise EncodeError("an A-ASSOCIATE-AC cannot carry a user identity request")
        items = [ApplicationContextItem(self.application_context).encode()]
        items += [context.encode() for context in self.presentation_contexts]
        items.append(self.user_information.encode())
        parts = _associate_parts(self.protocol_version, self.called_ae_title, self.calling_ae_title, items)
        return encode_pdu(self.pdu_type, parts)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Self:
        reader = _pdu_body(data, cls.pdu_type)
        version, called, calling = _fixed_fields(reader)
        # Reserved in the AC: "not tested to this value when received".
        called_title = _untested_ae_title(called)
        calling_title = _untested_ae_title(calling)
        app, raw, offsets, user = _variable_items(reader, ItemType.PRESENTATION_CONTEXT_AC, "A-ASSOCIATE-AC")
        if isinstance(user.user_identity, UserIdentityRQ):
            raise PDUError(
                "user identity request (58H) in an A-ASSOCIATE-AC",
                abort_reason=AbortReason.UNEXPECTED_PDU_PARAMETER,
            )
        contexts = tuple(PresentationContextAC.decode(item, at) for item, at in zip(raw, offsets))
        if _duplicate_ids(contexts):
            raise invalid("presentation context IDs are not unique", PDU_HEADER.size)
        return cls(called_title, calling_title, contexts, user, app, version)

    def accepted_transfer_syntax(self, context_id: int) -> str | None:
        """The transfer syntax of an accepted context, or None if it was not accepted."""
        for context in self.presentation_contexts:
            if context.context_id == context_id and context.result == ContextResult.ACCEPTANCE:
                return context.transfer_syntax
        return None


@dataclass(frozen=True, slots=True)
class AssociateRJ:
    """A-ASSOCIATE-RJ PDU (PS3.8 §9.3.4, Table 9-21); also the rejecting A-ASSOCIATE response.

    ``reason`` is a :class:`UserRejectReason`, :class:`ACSERejectReason` or
    :class:`PresentationRejectReason` value according to ``source``; reserved values
    received from a peer are kept as plain ints.
    """

    result: RejectResult
    source: RejectSource
    reason: int

    pdu_type: ClassVar[PDUType] = PDUType.A_ASSOCIATE_RJ

    def encode(self) -> bytes:
        if not 0 <= self.reason <= 255 or self.result not in (1, 2) or self.source not in (1, 2, 3):
            raise EncodeError(f"invalid A-ASSOCIATE-RJ fields {self.result}/{self.source}/{self.reason}")
        return PDU_HEADER.pack(self.pdu_type, 4) + bytes((0, self.result, self.source, self.reason))

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Self:
        reader = _pdu_body(data, cls.pdu_type)
        reader.skip(1, "reserved byte")
        result, source, reason = reader.u8("result"), reader.u8("source"), reader.u8("reason/diag")
        reader.expect_end("A-ASSOCIATE-RJ")
        if result not in (1, 2):
            raise invalid(f"A-ASSOCIATE-RJ result {result} is not defined", 7)
        if source not in (1, 2, 3):
            raise invalid(f"A-ASSOCIATE-RJ source {source} is not defined", 8)
        return cls(RejectResult(result), RejectSource(source), reason)


@dataclass(frozen=True, slots=True)
class PresentationDataValue:
    """One Presentation-data-value Item (PS3.8 §9.3.5.1) with its message control header.

    ``control_header`` (PS3.8 Annex E.2): bit 0 set for a command fragment, clear for a
    data set fragment; bit 1 set for the last fragment. ``data`` is the fragment, a
    memoryview into the received PDU when decoded.
    """

    context_id: int
    control_header: int
    data: bytes | memoryview

    @property
    def is_command(self) -> bool:
        return bool(self.control_header & 0x01)

    @property
    def is_last(self) -> bool:
        return bool(self.control_header & 0x02)


@dataclass(frozen=True, slots=True)
class PDataTF:
    """P-DATA-TF PDU (PS3.8 §9.3.5, Table 9-22); also the P-DATA request/indication."""

    values: tuple[PresentationDataValue, ...]

    pdu_type: ClassVar[PDUType] = PDUType.P_DATA_TF

    @property
    def length(self) -> int:
        """The PDU-length this PDU encodes to (checked against the peer's maximum)."""
        return sum(len(value.data) + 6 for value in self.values)

    def encode(self) -> bytes:
        for value in self.values:
            if (
                not 1 <= value.context_id <= 255
                or not value.context_id & 1
                or not 0 <= value.control_header <= 255
            ):
                raise EncodeError(f"invalid PDV header {value.context_id}/{value.control_header}")
        return encode_pdata((value.context_id, value.control_header, value.data) for value in self.values)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Self:
        reader = _pdu_body(data, cls.pdu_type)
        body = reader.rest()
        values: list[PresentationDataValue] = []
        pos, end = 0, len(body)
        while pos < end:
            if end - pos < _PDV_HEADER.size:
                raise invalid("PDV item shorter than its 6-byte header", 6 + pos)
            length, context_id, control = _PDV_HEADER.unpack_from(body, pos)
            if length < 2:
                raise invalid(f"PDV item length {length} leaves no message control header", 6 + pos)
            stop = pos + 4 + length
            if stop > end:
                raise invalid(f"PDV item declares {length} bytes, {end - pos - 4} remain", 6 + pos)
            if not context_id & 1:
                raise invalid(f"PDV presentation context ID {context_id} is not odd", 6 + pos + 4)
            values.append(PresentationDataValue(context_id, control, body[pos + 6 : stop]))
            pos = stop
        if not values:
            raise invalid("P-DATA-TF PDU holds no presentation data value", 6)
        return cls(tuple(values))


@dataclass(frozen=True, slots=True)
class ReleaseRQ:
    """A-RELEASE-RQ PDU (PS3.8 §9.3.6); also the A-RELEASE request/indication."""

    pdu_type: ClassVar[PDUType] = PDUType.A_RELEASE_RQ

    def encode(self) -> bytes:
        return _RELEASE_RQ_BYTES

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Self:
        reader = _pdu_body(data, cls.pdu_type)
        reader.skip(4, "reserved bytes")
        reader.expect_end("A-RELEASE PDU")
        return cls()


@dataclass(frozen=True, slots=True)
class ReleaseRP:
    """A-RELEASE-RP PDU (PS3.8 §9.3.7); also the A-RELEASE response/confirmation."""

    pdu_type: ClassVar[PDUType] = PDUType.A_RELEASE_RP

    def encode(self) -> bytes:
        return _RELEASE_RP_BYTES

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Self:
        reader = _pdu_body(data, cls.pdu_type)
        reader.skip(4, "reserved bytes")
        reader.expect_end("A-RELEASE PDU")
        return cls()


@dataclass(frozen=True, slots=True)
class AbortPDU:
    """A-ABORT PDU (PS3.8 §9.3.8, Table 9-26); also the A-ABORT request/indication.

    ``reason`` is an :class:`AbortReason` value when the source is the service-provider;
    for a service-user source it is not significant (sent as 0).
    """

    source: AbortSource = AbortSource.SERVICE_USER
    reason: int = AbortReason.REASON_NOT_SPECIFIED

    pdu_type: ClassVar[PDUType] = PDUType.A_ABORT

    def encode(self) -> bytes:
        if self.source not in (0, 1, 2) or not 0 <= self.reason <= 255:
            raise EncodeError(f"invalid A-ABORT fields {self.source}/{self.reason}")
        return PDU_HEADER.pack(self.pdu_type, 4) + _FOUR_BYTES.pack(self.source, self.reason)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Self:
        reader = _pdu_body(data, cls.pdu_type)
        reader.skip(2, "reserved bytes")
        source, reason = reader.u8("source"), reader.u8("reason/diag")
        reader.expect_end("A-ABORT")
        if source not in (0, 1, 2):
            raise invalid(f"A-ABORT source {source} is not defined", 8)
        return cls(AbortSource(source), reason)


_RELEASE_RQ_BYTES: Final = PDU_HEADER.pack(PDUType.A_RELEASE_RQ, 4) + bytes(4)
_RELEASE_RP_BYTES: Final = PDU_HEADER.pack(PDUType.A_RELEASE_RP, 4) + bytes(4)

PDU = AssociateRQ | AssociateAC | AssociateRJ | PDataTF | ReleaseRQ | ReleaseRP | AbortPDU

_DECODERS: Final[dict[int, type[PDU]]] = {
    PDUType.A_ASSOCIATE_RQ: AssociateRQ,
    PDUType.A_ASSOCIATE_AC: AssociateAC,
    PDUType.A_ASSOCIATE_RJ: AssociateRJ,
    PDUType.P_DATA_TF: PDataTF,
    PDUType.A_RELEASE_RQ: ReleaseRQ,
    PDUType.A_RELEASE_RP: ReleaseRP,
    PDUType.A_ABORT: AbortPDU,
}


def decode_pdu(data: bytes | memoryview) -> PDU:
    """Decode exactly one PDU (header included).

    Raises:
        PDUError: unrecognized PDU type (A-ABORT reason 1) or any malformation (reasons 5, 6).
    """
    if len(data) < PDU_HEADER.size:
        raise invalid("PDU shorter than its 6-byte header", 0)
    decoder = _DECODERS.get(data[0])
    if decoder is None:
        raise PDUError(
            f"unrecognized PDU type 0x{data[0]:02X}", abort_reason=AbortReason.UNRECOGNIZED_PDU, offset=0
        )
    return decoder.decode(data)
