"""Retrieval sub-operations of the C-MOVE and C-GET SCPs (PS3.4 C.4.2.3, C.4.3.3).

Part of ``dicomkit.net.services``, below ``move`` and ``get``. Both services find the
instances to send (the application's handler lists :class:`InstanceRef` s), send each with
a C-STORE sub-operation, count the outcomes, report them in pending responses and end
with a final status. They differ only in where the C-STOREs go: a new association to
the move destination, or the C-GET's own association (the requestor as Storage SCP).
:class:`StoreChannel` is that difference; :class:`SubOperations` is all the rest::

    InstanceRef --prepare (scan the file / take the bytes)--> choose an accepted context
                --its own syntax: streamed as is | another: streamed while converted
                  (scu.conversion, frame by frame through the codecs)-->
                C-STORE-RQ --> channel --> C-STORE-RSP --> counts: completed/warning/failed
    every N sub-operations or T seconds: C-MOVE/C-GET-RSP FF00 with the four counts
    the end: 0000 | B000 + Failed SOP Instance UID List | FE00 (cancel, with counts)

Context choice (as the Storage SCU's, ``dicomkit.net.scu.storage``): the instance's own
transfer syntax, else Explicit then Implicit VR Little Endian, else any syntax accepted
for its SOP class (through the codecs). An instance that cannot be read, has no
accepted context or cannot be converted is a failed sub-operation; the others go on.
So is a file whose declared lengths run past its end (``instances.check_lengths``,
element headers only, before anything is sent): streamed as it is, a truncated file
makes the peer abort the association, and every sub-operation after it would fail.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Protocol

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError, RemoteProtocolError
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.config import RequestedContext
from dicomkit.net.dimse.assemble import Message
from dicomkit.net.dimse.batches import send_in_batches
from dicomkit.net.dimse.commands import (
    CGetRQ,
    CGetRSP,
    CMoveRQ,
    CMoveRSP,
    CStoreRQ,
    CStoreRSP,
    Priority,
    encode_command,
)
from dicomkit.net.dimse.fragment import fragment_message, fragment_stream
from dicomkit.net.dimse.status import (
    CANCEL,
    PENDING,
    SUB_OPERATIONS_COMPLETE_WITH_FAILURES,
    SUCCESS,
    StatusCategory,
    status_category,
)
from dicomkit.net.pdu import PDataTF
from dicomkit.net.scu.conversion import ConvertedStream, open_converted
from dicomkit.net.scu.instances import Instance, check_lengths, scan_instance
from dicomkit.net.scu.storage import FALLBACK_SYNTAXES, MAX_CONTEXTS
from dicomkit.net.services.protocols import AssociationInfo, Responder, ServiceRequest
from dicomkit.net.services.query_retrieve import (
    IdentifierError,
    InformationModel,
    QueryLevel,
    expect_command,
    receive_identifier,
)
from dicomkit.part10.reader import read_dataset
from dicomkit.part10.transfer_syntax import transfer_syntax
from dicomkit.part10.writer import encode_dataset

__all__ = [
    "InstanceRef",
    "Outcome",
    "RetrieveOptions",
    "RetrieveRequest",
    "StoreChannel",
    "SubOperations",
    "propose_contexts",
    "receive_retrieve",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InstanceRef:
    """One instance to send: its identity and where its data set is.

    Exactly one source: ``path``, a PS3.10 file (or a raw data set in
    ``transfer_syntax``), streamed from disk when sent in its own syntax; or ``data``,
    the data set without File Meta, encoded in ``transfer_syntax``.
    """

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.path is None) == (self.data is None):
            raise ValueError("an InstanceRef has exactly one source: path or data")


@dataclass(frozen=True, slots=True)
class RetrieveRequest:
    """A checked C-MOVE or C-GET request as the application's handler sees it.

    ``move_destination`` is the Move Destination AE title (None for C-GET).
    """

    association: AssociationInfo
    context: NegotiatedContext
    message_id: int
    sop_class_uid: str
    priority: Priority
    model: InformationModel
    level: QueryLevel
    identifier: Dataset
    responder: Responder = field(repr=False)
    move_destination: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.responder.cancelled


async def receive_retrieve(
    request: ServiceRequest, responder: Responder, kind: type[CMoveRQ] | type[CGetRQ]
) -> RetrieveRequest | None:
    """The C-MOVE or C-GET-RQ (``kind``) of ``request``, checked, as the handler sees it.

    None once an identifier that fails the checks has been answered (its status,
    Error Comment and Offending Element).

    Raises:
        DimseStatusError: 0211H for another command on the service's SOP class.
    """
    service = "C-MOVE" if kind is CMoveRQ else "C-GET"
    command: CMoveRQ | CGetRQ = expect_command(request, kind, service)

    def refusal(error: IdentifierError) -> CMoveRSP | CGetRSP:
        response = CMoveRSP if isinstance(command, CMoveRQ) else CGetRSP
        return response(
            command.message_id,
            error.status,
            command.affected_sop_class_uid,
            error_comment=error.comment[:64],
            offending_element=error.offending_element,
        )

    identifier = await receive_identifier(request, responder, refusal)
    if identifier is None:
        return None
    return RetrieveRequest(
        request.association,
        request.context,
        command.message_id,
        command.affected_sop_class_uid,
        command.priority,
        identifier.model,
        identifier.level,
        identifier.dataset,
        responder,
        move_destination=command.move_destination if isinstance(command, CMoveRQ) else None,
    )


@dataclass(frozen=True, slots=True)
class RetrieveOptions:
    """How often pending responses report progress: after ``pending_every``
    sub-operations or ``pending_interval`` seconds since the last one, whichever first."""

    pending_every: int = 10
    pending_interval: float = 1.0


class Outcome(enum.Enum):
    COMPLETED = "completed"
    WARNING = "warning"
    FAILED = "failed"


class StoreChannel(Protocol):
    """An association the C-STORE sub-operations go out on."""

    @property
    def contexts(self) -> Sequence[NegotiatedContext]:
        """The accepted contexts we may send C-STORE-RQs on."""
        ...

    @property
    def peer_max_pdu_length(self) -> int: ...

    def next_message_id(self) -> int: ...

    async def send_pdus(self, pdus: Iterable[PDataTF]) -> None: ...

    async def receive(self) -> Message: ...


def propose_contexts(instances: Sequence[InstanceRef]) -> list[list[RequestedContext]]:
    """Presentation contexts to send ``instances``, in groups of at most 128.

    Per SOP class, one context per transfer syntax its instances are in, then the
    uncompressed fallbacks, each with a single syntax (what was accepted is then known
    per syntax), as the Storage SCU proposes them.
    """
    syntaxes: dict[str, list[str]] = {}
    for instance in instances:
        wanted = syntaxes.setdefault(instance.sop_class_uid, [])
        if instance.transfer_syntax not in wanted:
            wanted.append(instance.transfer_syntax)
    groups: list[list[RequestedContext]] = []
    current: list[RequestedContext] = []
    for sop_class in sorted(syntaxes):
        offered = [*syntaxes[sop_class], *(ts for ts in FALLBACK_SYNTAXES if ts not in syntaxes[sop_class])]
        offered = offered[: MAX_CONTEXTS - len(FALLBACK_SYNTAXES)] + [
            ts for ts in FALLBACK_SYNTAXES if ts not in offered[: MAX_CONTEXTS - len(FALLBACK_SYNTAXES)]
        ]
        contexts = [RequestedContext(sop_class, (ts,)) for ts in offered]
        if current and len(current) + len(contexts) > MAX_CONTEXTS:
            groups.append(current)
            current = []
        current.extend(contexts)
    if current:
        groups.append(current)
    return groups


def _choose(contexts: Sequence[NegotiatedContext], sop_class: str, syntax: str) -> NegotiatedContext | None:
    accepted = {c.transfer_syntax: c for c in contexts if c.abstract_syntax == sop_class}
    for candidate in (syntax, *FALLBACK_SYNTAXES):
        if candidate in accepted:
            return accepted[candidate]
    return next(iter(accepted.values()), None)


@dataclass(slots=True)
class _Prepared:
    """An instance ready to send: streamed from ``instance``'s file, streamed while
    ``converted`` (its file re-encoded, see ``scu.conversion``), or ``payload``."""

    context: NegotiatedContext
    instance: Instance | None
    payload: bytes | None
    converted: ConvertedStream | None = None


class SubOperations:
    """Sends the instances of one retrieval, counts, reports progress, builds the end.

    Args:
        request: the C-MOVE/C-GET being served (its responder gets the responses).
        instances: what the handler listed.
        options: how often to send pending responses.
        originator: Move Originator AE title and Message ID for C-MOVE sub-operations.
    """

    def __init__(
        self,
        request: RetrieveRequest,
        instances: Sequence[InstanceRef],
        options: RetrieveOptions,
        *,
        originator: tuple[str, int] | None = None,
    ) -> None:
        self.request = request
        self.instances = instances
        self.options = options
        self.originator = originator
        self.remaining = len(instances)
        self.completed = 0
        self.failed = 0
        self.warning = 0
        self.failed_uids: list[str] = []
        self.cancelled = False
        self._since_pending = 0
        self._last_pending = time.monotonic()

    @property
    def responder(self) -> Responder:
        return self.request.responder

    # ---------------------------------------------------------------- sending

    async def send(self, channel: StoreChannel, instance: InstanceRef) -> Outcome:
        """One C-STORE sub-operation; the outcome is counted. Network failures raise."""
        try:
            prepared = await self.responder.run_blocking(_prepare, channel.contexts, instance)
        except (DicomError, OSError, ValueError) as error:
            logger.warning(
                "sub-operation failed, not sent: %s",
                error,
                extra={"sop_instance_uid": instance.sop_instance_uid},
            )
            return self.count(instance, Outcome.FAILED)
        if prepared is None:
            logger.info("sub-operation failed: no accepted context for %s", instance.sop_class_uid)
            return self.count(instance, Outcome.FAILED)
        message_id = channel.next_message_id()
        ae_title, originator_id = self.originator if self.originator is not None else (None, None)
        command = CStoreRQ(
            message_id,
            instance.sop_class_uid,
            instance.sop_instance_uid,
            self.request.priority,
            move_originator_ae_title=ae_title,
            move_originator_message_id=originator_id,
        )
        context_id = prepared.context.context_id
        maximum = channel.peer_max_pdu_length
        encoded = encode_command(command)
        if prepared.payload is not None:
            await channel.send_pdus(fragment_message(context_id, encoded, prepared.payload, maximum))
        elif prepared.converted is not None:
            with prepared.converted as converted:
                head = fragment_message(context_id, encoded, None, maximum)
                body = fragment_stream(context_id, converted, converted.length, maximum)
                # Its reads decode frames: in the server's thread pool, not on the loop
                # every association shares.
                await send_in_batches(channel.send_pdus, chain(head, body), self.responder.run_blocking)
        else:
            head = fragment_message(context_id, encoded, None, maximum)
            source = prepared.instance
            assert source is not None
            with open(source.path, "rb") as stream:
                stream.seek(source.dataset_offset)
                body = fragment_stream(context_id, stream, source.dataset_length, maximum)
                await channel.send_pdus(chain(head, body))
        response = (await channel.receive()).command
        if not isinstance(response, CStoreRSP) or response.message_id_being_responded_to != message_id:
            raise RemoteProtocolError(f"expected the C-STORE-RSP to message {message_id}, got {response!r}")
        category = status_category(response.status)
        if category is StatusCategory.SUCCESS:
            return self.count(instance, Outcome.COMPLETED)
        if category is StatusCategory.WARNING:
            return self.count(instance, Outcome.WARNING)
        return self.count(instance, Outcome.FAILED)

    def count(self, instance: InstanceRef, outcome: Outcome) -> Outcome:
        self.remaining -= 1
        self._since_pending += 1
        if outcome is Outcome.COMPLETED:
            self.completed += 1
        elif outcome is Outcome.WARNING:
            self.warning += 1
        else:
            self.failed += 1
            self.failed_uids.append(instance.sop_instance_uid)
        return outcome

    def fail_all(self, instances: Sequence[InstanceRef]) -> None:
        for instance in instances:
            self.count(instance, Outcome.FAILED)

    # --------------------------------------------------------------- responses

    async def maybe_pending(self) -> None:
        """Send a pending response if it is time to (never after the last sub-operation)."""
        if self.remaining <= 0:
            return
        now = time.monotonic()
        due = self._since_pending >= self.options.pending_every
        if not due and now - self._last_pending < self.options.pending_interval:
            return
        self._since_pending = 0
        self._last_pending = now
        await self.responder.send(self._response(PENDING, remaining=True))

    def check_cancel(self) -> bool:
        """Whether the requestor cancelled (PS3.4 C.4.2.3.1: stop between sub-operations)."""
        if self.responder.cancelled:
            self.cancelled = True
        return self.cancelled

    async def finish(self, comment: str = "") -> None:
        """The final response: FE00 after a cancel, B000 if any sub-operation failed or
        warned, 0000 otherwise; with the Failed SOP Instance UID List when some failed."""
        if self.cancelled:
            status = CANCEL
        elif self.failed or self.warning:
            status = SUB_OPERATIONS_COMPLETE_WITH_FAILURES
        else:
            status = SUCCESS
        await self.final(status, comment)

    async def final(self, status: int, comment: str = "") -> None:
        payload = None
        if self.failed_uids:
            identifier = Dataset()
            identifier.set(tags.FailedSOPInstanceUIDList, list(self.failed_uids), "UI")
            payload = encode_dataset(identifier, self.request.context.transfer_syntax)
        response = self._response(
            status, remaining=status == CANCEL, comment=comment, has_dataset=payload is not None
        )
        await self.responder.send(response, payload)

    def _response(
        self, status: int, *, remaining: bool, comment: str = "", has_dataset: bool = False
    ) -> CMoveRSP | CGetRSP:
        cls = CMoveRSP if self.request.move_destination is not None else CGetRSP
        text = "".join(c for c in comment if " " <= c <= "~" and c != "\\")[:64].strip()
        return cls(
            self.request.message_id,
            status,
            self.request.sop_class_uid,
            remaining_suboperations=max(self.remaining, 0) if remaining else None,
            completed_suboperations=self.completed,
            failed_suboperations=self.failed,
            warning_suboperations=self.warning,
            error_comment=text or None,
            has_dataset=has_dataset,
        )


def _prepare(contexts: Sequence[NegotiatedContext], instance: InstanceRef) -> _Prepared | None:
    """Pick the context and, unless the file goes as it is, open the data set converted
    for it (``open_converted``: streamed as it is sent, or in memory where it cannot be).

    Runs in the server's thread pool (file reads, codecs). None: no context accepted.

    Raises:
        DecodeError: the file's declared lengths run past its end (``check_lengths``;
            TruncatedError for a truncated file), or it cannot be read.
        OSError, ValueError: it cannot be opened, or holds another instance than listed.
    """
    if instance.path is not None:
        scanned = scan_instance(instance.path)
        if (scanned.sop_class_uid, scanned.sop_instance_uid) != (
            instance.sop_class_uid,
            instance.sop_instance_uid,
        ):
            raise ValueError(f"{instance.path} holds another instance than listed")
        check_lengths(scanned)
        context = _choose(contexts, scanned.sop_class_uid, scanned.transfer_syntax)
        if context is None:
            return None
        target = context.transfer_syntax
        if target != scanned.transfer_syntax:
            return _Prepared(context, None, None, open_converted(scanned, target))
        if scanned.dataset_length % 2:  # PDV fragments are even (a deflated data set may not be)
            with open(scanned.path, "rb") as fp:
                fp.seek(scanned.dataset_offset)
                return _Prepared(context, None, fp.read(scanned.dataset_length) + b"\x00")
        return _Prepared(context, scanned, None)
    assert instance.data is not None
    context = _choose(contexts, instance.sop_class_uid, instance.transfer_syntax)
    if context is None:
        return None
    target = context.transfer_syntax
    if target == instance.transfer_syntax:
        return _Prepared(context, None, _even(instance.data))
    dataset = read_dataset(instance.data, instance.transfer_syntax)
    if transfer_syntax(instance.transfer_syntax).encapsulated or transfer_syntax(target).encapsulated:
        from dicomkit.codecs.transcode import transcode  # numpy and codecs only when needed

        dataset = transcode(dataset, instance.transfer_syntax, target)
    return _Prepared(context, None, _even(encode_dataset(dataset, target)))


def _even(data: bytes) -> bytes:
    return data + b"\x00" if len(data) % 2 else data
