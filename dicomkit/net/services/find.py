"""The Query/Retrieve C-FIND SCP (PS3.4 C.4.1; C-FIND, PS3.7 §9.1.2 and §9.3.2).

A :class:`~dicomkit.net.services.protocols.ServiceClass` for the Patient Root and Study
Root FIND SOP classes. The identifier is decoded in the context's transfer syntax and
checked (``query_retrieve.decode_identifier``); the application's :class:`FindHandler`
then yields the matches, each sent as a pending response, and a final response ends it::

    C-FIND-RQ + identifier --checks--> FindRequest --handler.find()--> match, match, ...
    C-FIND-RSP FF00 (match) ... FF00 (match) ... 0000 Success   (or FE00 after C-CANCEL)

- A match is a :class:`Dataset` (answered FF00), a :class:`FindMatch`, whose
  ``optional_keys_supported=False`` answers FF01 (PS3.4 C.4.1.1.4), or ``bytes``: an
  identifier the handler encoded itself in the context's transfer syntax
  (``FindRequest.context.transfer_syntax``), Query/Retrieve Level included (FF00).
- Query/Retrieve Level is added to a Dataset match that lacks it (PS3.4 C.4.1.1.3.2).
- A C-CANCEL-RQ is looked at before each batch of matches is sent (the loop does not
  read the socket while it sends one): the search stops, FE00 follows.
- The handler raises :class:`~dicomkit.errors.DimseStatusError` to refuse (its status
  and comment are sent); the dispatcher answers anything else with 0110H.

``find`` may return a plain iterator (a Django queryset, a generator over a database
cursor): it is then run in one thread of the server's pool from start to end, so its
database connection stays with it, and hands matches over in batches through a small
bounded queue (:func:`iterate_batches_in_thread`). An async iterator is consumed on the
event loop. Calling ``find`` itself must not block.

Each batch goes out as one ``send_pdus`` call (the transport writes it in few system
calls), with the pending C-FIND-RSP command set encoded once per request: only the
identifiers differ from one pending response to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, Protocol, TypeVar

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.dimse.assemble import DataSink
from dicomkit.net.dimse.commands import CFindRQ, CFindRSP, DimseMessage, Priority, encode_command
from dicomkit.net.dimse.fragment import fragment_message
from dicomkit.net.dimse.status import CANCEL, PENDING, PENDING_WARNING, SUCCESS
from dicomkit.net.pdu import PDataTF
from dicomkit.net.services.protocols import AssociationInfo, Responder, ServiceRequest
from dicomkit.net.services.query_retrieve import (
    FIND_SOP_CLASSES,
    IdentifierError,
    InformationModel,
    QueryLevel,
    expect_command,
    identifier_sink,
    receive_identifier,
)
from dicomkit.part10.writer import encode_dataset

__all__ = [
    "FindHandler",
    "FindMatch",
    "FindRequest",
    "FindService",
    "Match",
    "Matches",
    "iterate_batches_in_thread",
    "iterate_in_thread",
]

_QUEUE_SIZE: Final = 4  # batches handed over and not yet sent (bounds the matches in flight)
_BATCH_SIZE: Final = 32  # matches per hand-over from the producing thread
_BATCH_SECONDS: Final = 0.002  # hand a partial batch over once the last hand-over is this old
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class FindRequest:
    """A checked C-FIND request as the application's handler sees it.

    ``identifier`` is the decoded request identifier (keys to match and to return);
    ``level`` its Query/Retrieve Level, one of ``model``'s.
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

    @property
    def cancelled(self) -> bool:
        """Whether the requestor sent C-CANCEL-RQ (a handler may stop early)."""
        return self.responder.cancelled


@dataclass(frozen=True, slots=True)
class FindMatch:
    """A match with how it was found: FF01 when optional keys were not all supported."""

    dataset: Dataset
    optional_keys_supported: bool = True


#: One match: a response identifier, or one already encoded (see the module docstring).
Match = Dataset | FindMatch | bytes
#: What ``FindHandler.find`` returns: the matches, blocking or async.
Matches = Iterator[Match] | AsyncIterator[Match]


class FindHandler(Protocol):
    """What the application provides to answer C-FIND (see the module docstring)."""

    def find(self, request: FindRequest) -> Matches:
        """The matches of ``request``: each a response identifier.

        Raises:
            DimseStatusError: refuse the query with this status (A700H, A900H, Cxxx ...).
        """
        ...


class FindService:
    """Answers C-FIND-RQ on the Patient Root and Study Root FIND SOP classes."""

    __slots__ = ("handler", "sop_classes")

    def __init__(self, handler: FindHandler, *, sop_classes: frozenset[str] = FIND_SOP_CLASSES) -> None:
        self.handler = handler
        self.sop_classes = sop_classes

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink:
        return identifier_sink()

    async def handle(self, request: ServiceRequest, responder: Responder) -> None:
        command = expect_command(request, CFindRQ, "C-FIND")

        def refusal(error: IdentifierError) -> CFindRSP:
            return _response(command, error.status, error.comment, error.offending_element)

        identifier = await receive_identifier(request, responder, refusal)
        if identifier is None:
            return
        context = request.context
        find = FindRequest(
            request.association,
            context,
            command.message_id,
            command.affected_sop_class_uid,
            command.priority,
            identifier.model,
            identifier.level,
            identifier.dataset,
            responder,
        )
        matches = self.handler.find(find)
        batches: AsyncIterator[list[Match]]
        if isinstance(matches, AsyncIterator):
            batches = _batches_on_loop(matches)
        else:
            batches = iterate_batches_in_thread(responder, matches)
        pending = _PendingResponses(command, context, identifier.level, responder)
        status = SUCCESS
        try:
            async for batch in batches:
                if responder.cancelled:
                    status = CANCEL
                    break
                await pending.send(batch)
        finally:
            await _close(batches)
        if status == SUCCESS and responder.cancelled:
            status = CANCEL
        await responder.send(_response(command, status))


class _PendingResponses:
    """Sends matches as pending C-FIND-RSPs, a batch at a time (see the module docstring)."""

    __slots__ = ("_commands", "_context", "_level", "_request", "_responder")

    def __init__(
        self, request: CFindRQ, context: NegotiatedContext, level: QueryLevel, responder: Responder
    ) -> None:
        self._request = request
        self._context = context
        self._level = level
        self._responder = responder
        self._commands: dict[int, bytes] = {}  # status -> encoded command set

    async def send(self, batch: Sequence[Match]) -> None:
        context_id = self._context.context_id
        limit = self._responder.peer_max_pdu_length
        pdus: list[PDataTF] = []
        for match in batch:
            status, payload = self._encode(match)
            pdus.extend(fragment_message(context_id, self._command(status), payload, limit))
        await self._responder.send_pdus(pdus)

    def _command(self, status: int) -> bytes:
        command = self._commands.get(status)
        if command is None:
            request = self._request
            response = CFindRSP(request.message_id, status, request.affected_sop_class_uid, has_dataset=True)
            command = self._commands[status] = encode_command(response)
        return command

    def _encode(self, match: Match) -> tuple[int, bytes]:
        if isinstance(match, bytes):
            return PENDING, match
        if isinstance(match, FindMatch):
            dataset = match.dataset
            status = PENDING if match.optional_keys_supported else PENDING_WARNING
        else:
            dataset, status = match, PENDING
        if tags.QueryRetrieveLevel not in dataset:
            dataset = dataset.copy()
            dataset.set(tags.QueryRetrieveLevel, self._level.value, "CS")
        return status, encode_dataset(dataset, self._context.transfer_syntax)


async def _batches_on_loop(matches: AsyncIterator[Match]) -> AsyncIterator[list[Match]]:
    """An async handler's matches, one per batch (each is sent as soon as it comes)."""
    try:
        async for match in matches:
            yield [match]
    finally:
        await _close(matches)


def _response(
    command: CFindRQ, status: int, comment: str = "", offending: tuple[int, ...] | None = None
) -> CFindRSP:
    text = "".join(c for c in comment if " " <= c <= "~" and c != "\\")[:64].strip()
    return CFindRSP(
        command.message_id,
        status,
        command.affected_sop_class_uid,
        error_comment=text or None,
        offending_element=offending,
    )


async def _close(iterator: AsyncIterator[object]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


@dataclass(frozen=True, slots=True)
class _End(Generic[_T]):
    """The producer is done: its last ``items``, then ``error`` raised if its iterator raised."""

    items: list[_T]
    error: BaseException | None = None


async def iterate_batches_in_thread(
    responder: Responder, iterator: Iterator[_T]
) -> AsyncGenerator[list[_T], None]:
    """The items of a blocking iterator in batches, produced in one thread of the server's pool.

    The whole iteration runs in a single ``run_blocking`` call (a database cursor stays
    in the thread that opened it); items come to the event loop in batches (one hop
    per batch, not per item: that hop dominated broad queries). A batch is handed over
    when it holds ``_BATCH_SIZE`` items or the last hand-over is ``_BATCH_SECONDS`` old
    (so the first item of a slow iterator is not held back); the last one is the
    thread's result, so a short result costs one wake-up of the loop, once the thread
    is done (a wake-up while it still runs costs a GIL hand-over both ways). Handing a
    batch over does not wait for the loop; at most ``_QUEUE_SIZE`` batches wait unsent,
    after which the thread waits, so a slow peer throttles the producer. Closing this
    generator early stops the thread after the item it is producing; the iterator's
    own ``close`` runs in that thread.
    """
    loop = asyncio.get_running_loop()
    ready: deque[list[_T]] = deque()  # appended to on the loop only
    wakeup: asyncio.Future[None] | None = None
    slots = threading.Semaphore(_QUEUE_SIZE)
    stop = threading.Event()

    def wake(_: object = None) -> None:
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def deliver(batch: list[_T]) -> None:
        ready.append(batch)
        wake()

    def hand_over(batch: list[_T]) -> None:  # in the producing thread
        slots.acquire()
        if not stop.is_set():
            loop.call_soon_threadsafe(deliver, batch)

    def produce() -> _End[_T]:
        failure: BaseException | None = None
        batch: list[_T] = []
        handed = time.monotonic()
        try:
            for item in iterator:
                if stop.is_set():
                    break
                batch.append(item)
                if len(batch) >= _BATCH_SIZE or time.monotonic() - handed >= _BATCH_SECONDS:
                    hand_over(batch)
                    batch = []
                    handed = time.monotonic()
        except BaseException as error:  # raised again on the consumer's side
            failure = error
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as error:
                    failure = failure or error
        return _End(batch, failure)

    worker = asyncio.ensure_future(responder.run_blocking(produce))
    worker.add_done_callback(wake)
    try:
        while True:
            while ready:
                slots.release()
                yield ready.popleft()
            if worker.done():
                # Batches handed over were delivered before the worker's result came
                # (both are loop callbacks, run in order): ``ready`` is complete.
                end = worker.result()
                if end.items:
                    yield end.items
                if end.error is not None:
                    raise end.error
                return
            wakeup = loop.create_future()
            await wakeup
            wakeup = None
    finally:
        stop.set()
        slots.release()  # a producer waiting for a slot sees the stop
        if not worker.done():
            with contextlib.suppress(Exception):
                await worker


async def iterate_in_thread(responder: Responder, iterator: Iterator[_T]) -> AsyncIterator[_T]:
    """The items of a blocking iterator one by one (see :func:`iterate_batches_in_thread`)."""
    batches = iterate_batches_in_thread(responder, iterator)
    try:
        async for batch in batches:
            for item in batch:
                yield item
    finally:
        await batches.aclose()
