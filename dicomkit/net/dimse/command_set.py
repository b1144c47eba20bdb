"""Command set elements (PS3.7 §6.3, §9.3, §10.3 and Annex E): the low level of the DIMSE codec.

A command set is a data set of group 0000 elements, always encoded in Implicit VR Little
Endian whatever the presentation context's transfer syntax (PS3.7 §6.3.1). Only the
elements of PS3.7 Annex E Table E.1-1 exist, so this module encodes and parses them
directly with precompiled structs instead of going through the general Part 10 writer:
C-ECHO is the throughput figure of the whole stack and a command set is a handful of
fixed-size values.

::

    (0000,0000) UL CommandGroupLength   bytes that follow this element
    (0000,0002) UI AffectedSOPClassUID  ...
    (0000,0100) US CommandField         CommandField
    (0000,0800) US CommandDataSetType   0x0101: no data set follows, anything else: one does

``CommandMessage`` is the base of the message dataclasses in ``c_messages`` and
``n_messages``: each declares its elements as ``(tag, attribute)`` pairs and which of
them are mandatory; encoding and validation are generic.

Invariants:
    * the parser reads only group 0000, at most ``MAX_COMMAND_LENGTH`` bytes, checks every
      length against what remains and raises only :class:`RemoteProtocolError`;
    * the parser keeps UI values that are not valid UIDs as text (a malformed value is the
      service's to refuse with a status, not a reason to abort the association); the
      encoder refuses them;
    * the encoder writes elements in ascending tag order, the group length first, values
      padded to even length (UI with NUL, text with space, PS3.5 §6.2).
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Any, ClassVar, Final, Self, TypeAlias

from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError, EncodeError, RemoteProtocolError
from dicomkit.part10.reader import read_dataset
from dicomkit.part10.transfer_syntax import IMPLICIT_VR_LITTLE_ENDIAN
from dicomkit.part10.writer import encode_dataset

__all__ = [
    "DATA_SET_PRESENT",
    "MAX_COMMAND_LENGTH",
    "NO_DATA_SET",
    "CommandField",
    "CommandMessage",
    "CommandValue",
    "Priority",
    "encode_command_set",
    "parse_command_set",
]

CommandValue: TypeAlias = str | int | tuple[int, ...]

#: (0000,0800) CommandDataSetType value meaning "no data set" (PS3.7 Table E.1-1).
NO_DATA_SET: Final = 0x0101
#: What we write when a data set follows; any value but 0x0101 means one does.
#: 0x0001 is what DCMTK and pynetdicom write.
DATA_SET_PRESENT: Final = 0x0001
#: Security bound on an encoded command set. The largest legitimate ones (an N-GET-RQ
#: with a long attribute identifier list) stay far below it.
MAX_COMMAND_LENGTH: Final = 64 * 1024


class CommandField(IntEnum):
    """(0000,0100) Command Field values (PS3.7 Annex E)."""

    C_STORE_RQ = 0x0001
    C_STORE_RSP = 0x8001
    C_GET_RQ = 0x0010
    C_GET_RSP = 0x8010
    C_FIND_RQ = 0x0020
    C_FIND_RSP = 0x8020
    C_MOVE_RQ = 0x0021
    C_MOVE_RSP = 0x8021
    C_ECHO_RQ = 0x0030
    C_ECHO_RSP = 0x8030
    N_EVENT_REPORT_RQ = 0x0100
    N_EVENT_REPORT_RSP = 0x8100
    N_GET_RQ = 0x0110
    N_GET_RSP = 0x8110
    N_SET_RQ = 0x0120
    N_SET_RSP = 0x8120
    N_ACTION_RQ = 0x0130
    N_ACTION_RSP = 0x8130
    N_CREATE_RQ = 0x0140
    N_CREATE_RSP = 0x8140
    N_DELETE_RQ = 0x0150
    N_DELETE_RSP = 0x8150
    C_CANCEL_RQ = 0x0FFF

    @property
    def message_name(self) -> str:
        """The standard's name, e.g. ``C-STORE-RQ``."""
        return self.name.replace("_", "-")


class Priority(IntEnum):
    """(0000,0700) Priority (PS3.7 Annex E)."""

    MEDIUM = 0x0000
    HIGH = 0x0001
    LOW = 0x0002


# --------------------------------------------------------------------- elements

COMMAND_GROUP_LENGTH: Final = 0x0000
COMMAND_FIELD: Final = 0x0100
COMMAND_DATA_SET_TYPE: Final = 0x0800

# The elements of PS3.7 Table E.1-1 that are not retired, by element number (group 0000),
# with their VR and keyword.
_ELEMENTS: Final[dict[int, tuple[str, str]]] = {
    0x0000: ("UL", "CommandGroupLength"),
    0x0002: ("UI", "AffectedSOPClassUID"),
    0x0003: ("UI", "RequestedSOPClassUID"),
    0x0100: ("US", "CommandField"),
    0x0110: ("US", "MessageID"),
    0x0120: ("US", "MessageIDBeingRespondedTo"),
    0x0600: ("AE", "MoveDestination"),
    0x0700: ("US", "Priority"),
    0x0800: ("US", "CommandDataSetType"),
    0x0900: ("US", "Status"),
    0x0901: ("AT", "OffendingElement"),
    0x0902: ("LO", "ErrorComment"),
    0x0903: ("US", "ErrorID"),
    0x1000: ("UI", "AffectedSOPInstanceUID"),
    0x1001: ("UI", "RequestedSOPInstanceUID"),
    0x1002: ("US", "EventTypeID"),
    0x1005: ("AT", "AttributeIdentifierList"),
    0x1008: ("US", "ActionTypeID"),
    0x1020: ("US", "NumberOfRemainingSuboperations"),
    0x1021: ("US", "NumberOfCompletedSuboperations"),
    0x1022: ("US", "NumberOfFailedSuboperations"),
    0x1023: ("US", "NumberOfWarningSuboperations"),
    0x1030: ("AE", "MoveOriginatorApplicationEntityTitle"),
    0x1031: ("US", "MoveOriginatorMessageID"),
}

_HEADER: Final = struct.Struct("<HHL")  # group, element, value length (Implicit VR LE)
_US: Final = struct.Struct("<HHLH")
_UL: Final = struct.Struct("<HHLL")
_TAG_VALUE: Final = struct.Struct("<HH")
_UID_CHARS: Final = frozenset(b"0123456789.")
_TEXT_CHARS: Final = frozenset(chr(c) for c in range(0x20, 0x7F)) - {"\\"}
_MAX_TEXT: Final = {"AE": 16, "LO": 64}


def keyword(element: int) -> str:
    """The keyword of a command element (group 0000), for messages."""
    entry = _ELEMENTS.get(element)
    return f"({0:04X},{element:04X}) {entry[1] if entry else 'unknown'}"


# --------------------------------------------------------------------- encoding


def _encode_us(element: int, value: object) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise EncodeError(f"{keyword(element)} must be an integer 0..65535, not {value!r}")
    return _US.pack(0, element, 2, value)


def _encode_uid(element: int, value: object) -> bytes:
    if not isinstance(value, str):
        raise EncodeError(f"{keyword(element)} must be a UID string, not {value!r}")
    data = value.encode("ascii", "replace")
    if not data or len(data) > 64 or not _UID_CHARS.issuperset(data):
        raise EncodeError(f"{keyword(element)} {value!r} is not a valid UID")
    if len(data) % 2:
        data += b"\x00"
    return _HEADER.pack(0, element, len(data)) + data


def _encode_text(element: int, value: object) -> bytes:
    vr = _ELEMENTS[element][0]
    if not isinstance(value, str) or len(value) > _MAX_TEXT[vr] or not _TEXT_CHARS.issuperset(value):
        raise EncodeError(
            f"{keyword(element)} must be at most {_MAX_TEXT[vr]} printable ISO 646 characters "
            f"without backslash, not {value!r}"
        )
    data = value.encode("ascii")
    if len(data) % 2:
        data += b" "
    return _HEADER.pack(0, element, len(data)) + data


def _encode_at(element: int, value: object) -> bytes:
    if not isinstance(value, tuple) or not value:
        raise EncodeError(f"{keyword(element)} must be a non-empty tuple of tags, not {value!r}")
    parts = []
    for tag in value:
        if not isinstance(tag, int) or not 0 <= tag <= 0xFFFFFFFF:
            raise EncodeError(f"{keyword(element)}: {tag!r} is not a tag")
        parts.append(_TAG_VALUE.pack(tag >> 16, tag & 0xFFFF))
    data = b"".join(parts)
    return _HEADER.pack(0, element, len(data)) + data


_ENCODERS: Final = {
    "US": _encode_us,
    "UI": _encode_uid,
    "AE": _encode_text,
    "LO": _encode_text,
    "AT": _encode_at,
}
_ENCODER_BY_ELEMENT: Final = {element: _ENCODERS[vr] for element, (vr, _) in _ELEMENTS.items() if vr != "UL"}


def encode_command_set(values: list[tuple[int, CommandValue]]) -> bytes:
    """Encode ``(element, value)`` pairs of group 0000, given in ascending order.

    The group length is computed and written first; it must not be among ``values``.
    """
    parts = [_ENCODER_BY_ELEMENT[element](element, value) for element, value in values]
    body = b"".join(parts)
    return _UL.pack(0, 0, 4, len(body)) + body


# --------------------------------------------------------------------- parsing


def _bad(reason: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"malformed command set: {reason}")


def _parse_value(element: int, vr: str, raw: bytes) -> CommandValue | None:
    if vr == "US":
        if len(raw) != 2:
            raise _bad(f"{keyword(element)} has length {len(raw)}, US needs 2")
        return raw[0] | raw[1] << 8
    if vr == "UL":
        if len(raw) != 4:
            raise _bad(f"{keyword(element)} has length {len(raw)}, UL needs 4")
        return int.from_bytes(raw, "little")
    if vr == "UI":
        uid = raw.rstrip(b"\x00").strip(b" ")
        if not uid:
            return None  # an empty optional UID is the same as an absent one
        # A UID that breaks PS3.5 §9.1 (letters, '/', too long) is kept as text: the command
        # is still understood, and the service answers it with a failure status (C-STORE:
        # A900H) while the association goes on. Services validate before use; the
        # encoder never writes such a value.
        return uid.decode("ascii", "replace")
    if vr == "AT":
        if not raw or len(raw) % 4:
            raise _bad(f"{keyword(element)} has length {len(raw)}, AT needs a multiple of 4")
        return tuple(group << 16 | number for group, number in _TAG_VALUE.iter_unpack(raw))
    # AE, LO: the default character repertoire; anything else is shown, not trusted.
    text = raw.decode("ascii", "replace").strip(" \x00")
    if len(text) > _MAX_TEXT[vr]:
        raise _bad(f"{keyword(element)} is longer than {_MAX_TEXT[vr]} characters")
    return text


def parse_command_set(data: bytes | bytearray | memoryview) -> dict[int, CommandValue]:
    """The known elements of an encoded command set, by element number.

    Retired and unknown elements of group 0000 are skipped; an element of another group,
    a duplicate, a length running past the end or a group length that disagrees with the
    bytes is a :class:`RemoteProtocolError`.
    """
    size = len(data)
    if size > MAX_COMMAND_LENGTH:
        raise _bad(f"{size} bytes exceed the {MAX_COMMAND_LENGTH}-byte bound")
    buf = bytes(data)
    values: dict[int, CommandValue] = {}
    seen: set[int] = set()
    pos = 0
    group_length_end: int | None = None
    while pos < size:
        if size - pos < 8:
            raise _bad(f"element header cut short at offset {pos}")
        group, element, length = _HEADER.unpack_from(buf, pos)
        if group != 0:
            raise _bad(f"element ({group:04X},{element:04X}) at offset {pos} is not in group 0000")
        if element in seen:
            raise _bad(f"{keyword(element)} appears twice")
        seen.add(element)
        start = pos + 8
        if length > size - start:
            raise _bad(f"{keyword(element)} declares {length} bytes at offset {pos}, {size - start} remain")
        pos = start + length
        entry = _ELEMENTS.get(element)
        if entry is None:
            continue  # retired (ACR-NEMA) or unknown command element: not ours to judge
        value = _parse_value(element, entry[0], buf[start:pos])
        if value is not None:
            values[element] = value
        if element == COMMAND_GROUP_LENGTH:
            group_length_end = pos
    if group_length_end is not None and values[COMMAND_GROUP_LENGTH] != size - group_length_end:
        raise _bad(
            f"CommandGroupLength {values[COMMAND_GROUP_LENGTH]} but {size - group_length_end} bytes follow it"
        )
    return values


# --------------------------------------------------------------------- messages


class CommandMessage:
    """Base of the DIMSE message dataclasses: generic encode to and decode from elements.

    A subclass declares:

    * ``command_field``: its Command Field value;
    * ``elements``: ``(element, attribute)`` pairs in ascending element order, with
      ``"command_field"`` for (0000,0100) and ``""`` for (0000,0800) CommandDataSetType;
    * ``required``: the attributes PS3.7 marks mandatory for the receiver to check;
    * ``fixed_data_set``: ``True``/``False`` when the message always/never has a data set
      (``has_dataset`` is then a property), ``None`` when ``has_dataset`` is a field.
    """

    __slots__ = ()

    command_field: ClassVar[CommandField]
    elements: ClassVar[tuple[tuple[int, str], ...]]
    required: ClassVar[frozenset[str]]
    fixed_data_set: ClassVar[bool | None] = None

    @property
    def has_dataset(self) -> bool:
        """Whether a data set follows the command (a field where the message allows both)."""
        return bool(self.fixed_data_set)

    def to_dataset(self) -> Dataset:
        """The command set as a :class:`Dataset`, group length included."""
        return read_dataset(
            encode_command_set(self.command_values(self.has_dataset)), IMPLICIT_VR_LITTLE_ENDIAN
        )

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> Self:
        """The message held by a command set :class:`Dataset`, validated as on the wire.

        Raises:
            RemoteProtocolError: a missing mandatory element, an element outside group
                0000, a value of the wrong form, or a different command.
        """
        body = Dataset()
        for element in dataset.elements():
            if element.tag != COMMAND_GROUP_LENGTH:  # recomputed: a stale one is no error here
                body.add(element)
        try:
            data = encode_dataset(body, IMPLICIT_VR_LITTLE_ENDIAN)
        except DicomError as exc:
            raise _bad(f"cannot be encoded: {exc}") from None
        return cls.from_values(parse_command_set(data))

    def command_values(self, has_dataset: bool) -> list[tuple[int, CommandValue]]:
        """The ``(element, value)`` pairs to encode, absent optional fields left out."""
        values: list[tuple[int, CommandValue]] = []
        for element, attribute in self.elements:
            if not attribute:
                values.append((element, DATA_SET_PRESENT if has_dataset else NO_DATA_SET))
                continue
            value = getattr(self, attribute)
            if value is not None:
                values.append((element, value))
        return values

    @classmethod
    def from_values(cls, values: dict[int, CommandValue]) -> Self:
        """Build the message from parsed elements, checking the mandatory ones."""
        name = cls.command_field.message_name
        if values.get(COMMAND_FIELD) != cls.command_field:
            raise _bad(f"{keyword(COMMAND_FIELD)} is not {name}")
        dataset_type = values.get(COMMAND_DATA_SET_TYPE)
        if dataset_type is None:
            raise _bad(f"{name} without {keyword(COMMAND_DATA_SET_TYPE)}")
        present = dataset_type != NO_DATA_SET
        kwargs: dict[str, Any] = {}
        for element, attribute in cls.elements:
            if not attribute or attribute == "command_field":
                continue
            value = values.get(element)
            if value is None:
                if attribute in cls.required:
                    raise _bad(f"{name} without {keyword(element)}")
                if attribute != "priority":  # an absent priority is MEDIUM (0000)
                    kwargs[attribute] = None  # absent on the wire, even where a default exists
                continue
            kwargs[attribute] = value
        if cls.fixed_data_set is None:
            kwargs["has_dataset"] = present
        elif cls.fixed_data_set != present:
            expected = "with" if cls.fixed_data_set else "without"
            raise _bad(f"{name} must come {expected} a data set (CommandDataSetType 0x{dataset_type:04X})")
        if "priority" in kwargs:
            try:
                kwargs["priority"] = Priority(kwargs["priority"])
            except ValueError:
                raise _bad(f"{name} with unknown priority {kwargs['priority']}") from None
        return cls(**kwargs)
