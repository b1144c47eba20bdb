"""The Query/Retrieve Service Class: what its C-FIND, C-MOVE and C-GET SCPs share (PS3.4 Annex C).

Part of ``dicomkit.net.services``, below ``find``, ``move`` and ``get`` (one module per
DIMSE service, each a :class:`~dicomkit.net.services.protocols.ServiceClass`). This
module holds the SOP classes of the Patient Root and Study Root information models
(PS3.4 C.6.1, C.6.2), their Query/Retrieve Levels, and the checks every request's
identifier passes before an application handler sees it::

    identifier bytes --decode (the context's transfer syntax)--> Dataset
                     --QueryRetrieveLevel present, a level of the model--> QueryLevel
                     --every DA/TM/DT key a valid value or range (C.2.2.2.5)--> handler

A check that fails is answered with a failure status, an Error Comment and, where one
key is to blame, the Offending Element (statuses as the archive's query engine maps
them: A900 Identifier does not match SOP Class for a missing or unknown level, C000
Unable to process for an undecodable identifier or a malformed value).

:func:`query_retrieve_contexts` builds what an AE accepts to be a Query/Retrieve SCP,
including the storage contexts a C-GET requestor proposes with the SCP role.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, TypeVar

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.values.ranges import parse_range
from dicomkit.errors import DicomError, DimseStatusError
from dicomkit.net.config import SupportedContext
from dicomkit.net.dimse.assemble import DataSink, MemorySink, Message
from dicomkit.net.dimse.commands import DimseMessage
from dicomkit.net.dimse.status import (
    CANNOT_UNDERSTAND,
    IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS,
    UNRECOGNIZED_OPERATION,
)
from dicomkit.net.services.protocols import Responder, ServiceRequest
from dicomkit.part10.reader import read_dataset
from dicomkit.part10.transfer_syntax import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
)

__all__ = [
    "FIND_SOP_CLASSES",
    "GET_SOP_CLASSES",
    "IDENTIFIER_LIMIT",
    "MOVE_SOP_CLASSES",
    "PATIENT_ROOT_FIND",
    "PATIENT_ROOT_GET",
    "PATIENT_ROOT_MOVE",
    "QUERY_TRANSFER_SYNTAXES",
    "STUDY_ROOT_FIND",
    "STUDY_ROOT_GET",
    "STUDY_ROOT_MOVE",
    "Identifier",
    "IdentifierError",
    "InformationModel",
    "QueryLevel",
    "decode_identifier",
    "expect_command",
    "identifier_sink",
    "information_model",
    "query_retrieve_contexts",
    "receive_identifier",
]

PATIENT_ROOT_FIND: Final = "1.2.840.10008.5.1.4.1.2.1.1"
PATIENT_ROOT_MOVE: Final = "1.2.840.10008.5.1.4.1.2.1.2"
PATIENT_ROOT_GET: Final = "1.2.840.10008.5.1.4.1.2.1.3"
STUDY_ROOT_FIND: Final = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE: Final = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET: Final = "1.2.840.10008.5.1.4.1.2.2.3"

FIND_SOP_CLASSES: Final = frozenset({PATIENT_ROOT_FIND, STUDY_ROOT_FIND})
MOVE_SOP_CLASSES: Final = frozenset({PATIENT_ROOT_MOVE, STUDY_ROOT_MOVE})
GET_SOP_CLASSES: Final = frozenset({PATIENT_ROOT_GET, STUDY_ROOT_GET})

#: Identifiers are small (keys, a UID list); anything larger is refused while it arrives.
IDENTIFIER_LIMIT: Final = 4 * 1024 * 1024

#: What a Query/Retrieve SCP accepts for its own SOP classes (identifiers only).
QUERY_TRANSFER_SYNTAXES: Final = (EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN)


class QueryLevel(enum.Enum):
    """Query/Retrieve Level (0008,0052), PS3.4 C.6."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"


class InformationModel(enum.Enum):
    """The Query/Retrieve information models served here and their levels (PS3.4 C.6)."""

    PATIENT_ROOT = "patient-root"
    STUDY_ROOT = "study-root"

    @property
    def levels(self) -> tuple[QueryLevel, ...]:
        if self is InformationModel.PATIENT_ROOT:
            return (QueryLevel.PATIENT, QueryLevel.STUDY, QueryLevel.SERIES, QueryLevel.IMAGE)
        return (QueryLevel.STUDY, QueryLevel.SERIES, QueryLevel.IMAGE)


_MODELS: Final = {
    PATIENT_ROOT_FIND: InformationModel.PATIENT_ROOT,
    PATIENT_ROOT_MOVE: InformationModel.PATIENT_ROOT,
    PATIENT_ROOT_GET: InformationModel.PATIENT_ROOT,
    STUDY_ROOT_FIND: InformationModel.STUDY_ROOT,
    STUDY_ROOT_MOVE: InformationModel.STUDY_ROOT,
    STUDY_ROOT_GET: InformationModel.STUDY_ROOT,
}


def information_model(sop_class_uid: str) -> InformationModel | None:
    """The information model of a Query/Retrieve SOP class, None for another SOP class."""
    return _MODELS.get(sop_class_uid)


class IdentifierError(DicomError):
    """A request identifier the SCP refuses: answered with ``status`` and ``comment``.

    Attributes:
        status: the failure status (A900H, C000H ...).
        comment: the Error Comment.
        offending_tag: the key to blame, for Offending Element (0000,0901), if one is.
    """

    def __init__(self, status: int, comment: str, *, offending_tag: int | None = None) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment
        self.offending_tag = offending_tag

    @property
    def offending_element(self) -> tuple[int, ...] | None:
        return None if self.offending_tag is None else (self.offending_tag,)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A decoded, checked request identifier."""

    dataset: Dataset
    model: InformationModel
    level: QueryLevel


_C = TypeVar("_C", bound=DimseMessage)
_RANGE_VRS: Final = frozenset({"DA", "TM", "DT"})


def identifier_sink() -> DataSink:
    """Where a C-FIND/MOVE/GET identifier is received: memory, bounded."""
    return MemorySink(limit=IDENTIFIER_LIMIT)


def decode_identifier(message: Message, transfer_syntax: str, model: InformationModel) -> Identifier:
    """The identifier of a C-FIND/MOVE/GET-RQ, decoded in ``transfer_syntax`` and checked.

    Raises:
        IdentifierError: no identifier, one that does not decode, no or an unknown
            Query/Retrieve Level for ``model``, or a malformed date/time value or range.
    """
    sink = message.dataset
    if message.sink_error is not None or not isinstance(sink, MemorySink):
        raise IdentifierError(CANNOT_UNDERSTAND, "No identifier could be received")
    try:
        dataset = read_dataset(sink.getvalue(), transfer_syntax)
    except DicomError as error:
        raise IdentifierError(CANNOT_UNDERSTAND, f"Identifier does not decode: {error}") from None
    level = _level(dataset, model)
    _check_values(dataset)
    return Identifier(dataset, model, level)


def expect_command(request: ServiceRequest, kind: type[_C], service: str) -> _C:
    """``request``'s command if it is a ``kind``.

    Raises:
        DimseStatusError: 0211H Unrecognized operation, for another command on a
            ``service`` (``"C-FIND"`` ...) SOP class.
    """
    command = request.command
    if not isinstance(command, kind):
        name = command.command_field.message_name
        raise DimseStatusError(UNRECOGNIZED_OPERATION, f"{name} on a {service} SOP class")
    return command


async def receive_identifier(
    request: ServiceRequest, responder: Responder, refusal: Callable[[IdentifierError], DimseMessage]
) -> Identifier | None:
    """The checked identifier of a C-FIND/MOVE/GET-RQ on a Query/Retrieve SOP class.

    None once one that fails the checks has been answered with ``refusal(error)``.
    """
    context = request.context
    model = information_model(context.abstract_syntax)
    assert model is not None  # the services' SOP classes are Query/Retrieve classes
    try:
        return decode_identifier(request.message, context.transfer_syntax, model)
    except IdentifierError as error:
        await responder.send(refusal(error))
        return None


def _level(dataset: Dataset, model: InformationModel) -> QueryLevel:
    tag = tags.QueryRetrieveLevel
    try:
        text = dataset.get_str(tag) if tag in dataset else None
    except DicomError:
        text = "?"
    if not text:
        raise IdentifierError(
            IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, "Query/Retrieve Level is missing", offending_tag=tag
        )
    value = text.strip().upper()
    for level in model.levels:
        if level.value == value:
            return level
    shown = "".join(c for c in value if " " <= c <= "~")[:16]
    raise IdentifierError(
        IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS,
        f"Query/Retrieve Level {shown!r} is not one of the {model.value} model",
        offending_tag=tag,
    )


def _check_values(dataset: Dataset) -> None:
    """Date, time and date-time keys hold a value or a range (PS3.4 C.2.2.2.5.1)."""
    for element in dataset.elements():
        if element.vr not in _RANGE_VRS:
            continue
        try:
            values = dataset.get_strs(element.tag)
            for value in values:
                if value.strip():
                    parse_range(value, element.vr)
        except DicomError as error:
            raise IdentifierError(
                CANNOT_UNDERSTAND, f"Invalid {element.vr} value or range: {error}", offending_tag=element.tag
            ) from None


def query_retrieve_contexts(
    *,
    find: bool = True,
    move: bool = True,
    get: bool = True,
    storage_sop_classes: Iterable[str] | None = None,
    storage_transfer_syntaxes: tuple[str, ...] | None = None,
) -> tuple[SupportedContext, ...]:
    """What an AE accepts to be a Query/Retrieve SCP (``AEConfig.supported_contexts``).

    With ``get``, also the storage SOP classes (default every one of the registry) with
    the SCP role allowed to the requestor: a C-GET requestor proposes them so that we
    can send it the instances on the same association (PS3.4 C.4.3.3, PS3.7 D.3.3.4).
    """
    from dicomkit.net.services.storage import STORAGE_TRANSFER_SYNTAXES, storage_contexts

    chosen: list[str] = []
    for wanted, classes in ((find, FIND_SOP_CLASSES), (move, MOVE_SOP_CLASSES), (get, GET_SOP_CLASSES)):
        if wanted:
            chosen.extend(sorted(classes))
    contexts = [SupportedContext(uid, QUERY_TRANSFER_SYNTAXES) for uid in chosen]
    if get:
        syntaxes = storage_transfer_syntaxes or STORAGE_TRANSFER_SYNTAXES
        for context in storage_contexts(storage_sop_classes, syntaxes):
            contexts.append(SupportedContext(context.abstract_syntax, syntaxes, scu_role=True, scp_role=True))
    return tuple(contexts)
