"""The Query/Retrieve C-FIND SCP (PS3.4 C.4.1; C-FIND, PS3.7 §9.1.2 and §9.3.2).

A :class:`~dicomkit.net.services.protocols.ServiceClass` for the Patient Root and Study
Root FIND SOP classes. The identifier is decoded in the context's transfer syntax and
checked (``query_retrieve.decode_identifier``); the application's :class:`FindHandler`
then yields the matches, each sent as a pending response, and a final response ends it::

    C-FIND-RQ + identifier --checks--> FindRequest --handler.find()--> match, match, ...
    C-FIND-RSP FF00 (match) ... FF00 (match) ... 0000 Success   (or FE00 after C-CANCEL)

- A match is a :class:`Dataset` (answered FF00) or a :class:`FindMatch`, whose
  ``optional_keys_supported=False`` answers FF01 (PS3.4 C.4.1.1.4).
- Query/Retrieve Level is added to a match that lacks it (PS3.4 C.4.1.1.3.2).
- A C-CANCEL-RQ is looked at before each match is sent: the search stops, FE00 follows.
- The handler raises :class:`~dicomkit.errors.DimseStatusError` to refuse (its status
  and comment are sent); the dispatcher answers anything else with 0110H.

``find`` may return a plain iterator (a Django queryset, a generator over a database
cursor): it is then run in one thread of the server's pool from start to end, so its
database connection stays with it, and hands matches over a small bounded queue. An
async iterator is consumed on the event loop. Calling ``find`` itself must not block.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.dimse.assemble import DataSink
from dicomkit.net.dimse.commands import CFindRQ, CFindRSP, DimseMessage, Priority
from dicomkit.net.dimse.status import CANCEL, PENDING, PENDING_WARNING, SUCCESS
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

__all__ = ["FindHandler", "FindMatch", "FindRequest", "FindService", "Matches", "iterate_in_thread"]

_QUEUE_SIZE: Final = 16  # batches
_BATCH_SIZE: Final = 32  # matches per hand-over from the producing thread
_BATCH_SECONDS: Final = 0.005  # hand a partial batch over after this long
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


#: What ``FindHandler.find`` returns: the matches, blocking or async.
Matches = Iterator[Dataset | FindMatch] | AsyncIterator[Dataset | FindMatch]


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
        if isinstance(matches, AsyncIterator):
            iterator = matches
        else:
            iterator = iterate_in_thread(responder, matches)
        status = SUCCESS
        try:
            async for match in iterator:
                if responder.cancelled:
                    status = CANCEL
                    break
                await _send_match(responder, command, context, identifier.level, match)
        finally:
            await _close(iterator)
        if status == SUCCESS and responder.cancelled:
            status = CANCEL
        await responder.send(_response(command, status))


async def _send_match(
    responder: Responder,
    command: CFindRQ,
    context: NegotiatedContext,
    level: QueryLevel,
    match: Dataset | FindMatch,
) -> None:
    dataset, status = (match, PENDING) if isinstance(match, Dataset) else (match.dataset, PENDING_WARNING)
    if isinstance(match, FindMatch) and match.optional_keys_supported:
        status = PENDING
    if tags.QueryRetrieveLevel not in dataset:
        dataset = dataset.copy()
        dataset.set(tags.QueryRetrieveLevel, level.value, "CS")
    payload = encode_dataset(dataset, context.transfer_syntax)
    await responder.send(
        CFindRSP(command.message_id, status, command.affected_sop_class_uid, has_dataset=True), payload
    )


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


class _End:
    """The producer is done."""


@dataclass(frozen=True, slots=True)
class _Failed:
    """The producer's iterator raised ``error``."""

    error: BaseException


async def iterate_in_thread(responder: Responder, iterator: Iterator[_T]) -> AsyncIterator[_T]:
    """The items of a blocking iterator, produced in one thread of the server's pool.

    The whole iteration runs in a single ``run_blocking`` call (a database cursor stays
    in the thread that opened it); items come over a bounded queue in small batches (one
    hop to the event loop per batch, not per match: that hop dominated broad queries),
    so the thread waits when the peer reads slowly. A batch is handed over when it is
    full or a few milliseconds old, so a slow iterator still delivers promptly. Closing
    this generator early stops the thread after the batch it is producing; the
    iterator's own ``close`` runs in that thread.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[_T] | _End | _Failed] = asyncio.Queue(_QUEUE_SIZE)
    stop = threading.Event()

    def hand_over(item: list[_T] | _End | _Failed) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def produce() -> None:
        failure: BaseException | None = None
        batch: list[_T] = []
        started = time.monotonic()
        try:
            for item in iterator:
                if stop.is_set():
                    break
                batch.append(item)
                if len(batch) >= _BATCH_SIZE or time.monotonic() - started > _BATCH_SECONDS:
                    hand_over(batch)
                    batch = []
                    started = time.monotonic()
        except BaseException as error:  # raised again on the consumer's side
            failure = error
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as error:
                    failure = failure or error
        if batch and not stop.is_set():
            hand_over(batch)
        hand_over(_End() if failure is None else _Failed(failure))

    worker = asyncio.ensure_future(responder.run_blocking(produce))
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _End):
                break
            if isinstance(item, _Failed):
                raise item.error
            for match in item:
                yield match
    finally:
        stop.set()
        while not worker.done():  # unblock a producer waiting on the full queue
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, worker}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
        await worker
