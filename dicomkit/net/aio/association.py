"""One association on asyncio: the transport driver of a sans-IO Connection (PS3.8 §9.1).

Part of ``dicomkit.net.aio``, below ``server`` and ``client``. :class:`AssociationProtocol`
is the single ``asyncio.Protocol`` per TCP (or TLS) connection. It owns what the pure
layers do not: the socket (asyncio sets TCP_NODELAY on it), the ARTIM timer, the
idle-network watchdog, write backpressure (``drain``) and read backpressure
(``pause_reading``)::

    socket --data_received--> Connection.receive_data --next_event--> directives: ARTIM, close
                                                                  \\-> P-DATA -> MessageAssembler
                                                                  \\-> other primitives
    inbox (deque) <-- Message | A-ASSOCIATE/RELEASE/ABORT primitive | LocalAbort | TransportClosed
    receive(timeout) <-- the server's per-association task or the client's Association

Invariants:

- Bytes are read only through ``Connection.receive_data``, which checks every declared
  PDU length before keeping a body: no read is sized by the peer.
- Bytes produced by the Connection are written before any directive that follows them
  is carried out, so an A-ABORT or A-ASSOCIATE-RJ always precedes the close.
- No task, future or timer is created per PDU; a future exists only while someone
  waits in ``receive`` or ``drain``.
- When the inbox holds ``_PAUSE_AT`` items, reading pauses until it is drained: a peer
  that sends faster than the handlers answer is throttled by TCP, not by memory. What
  was already read waits in the Connection's buffer (and a P-DATA's remaining PDVs
  here), unparsed: one read can hold hundreds of small messages, and each message taken
  out opens its data set's sink (a staging file), so taking them all would let a
  pipelining peer hold as many files open.
- The idle watchdog counts the peer taking our bytes as activity, not only bytes
  received: a large data set sent over a slow link brings no answer for a long while.
- A PDU and a DIMSE message being received each have a deadline: see ``receive_deadlines``.
- With a network timeout, a peer that takes none of our bytes for that long (write
  buffer full, no progress) is aborted like a silent one, and the connection is reset,
  since a close would wait for that buffer to flush. Any close still waiting for its
  buffer to flush after ARTIM is forced the same way.
- Once we abort, messages received but not handed on are dropped and their data sets'
  sinks aborted: nothing after an A-ABORT is answered. ``discard_pending`` does the
  same for whatever an association's task leaves when it ends.

:func:`raise_for` is the one place where an unexpected inbound item becomes an
exception (AssociationRejected, AssociationAborted, a timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Final, NoReturn

from dicomkit.errors import (
    AssociationAborted,
    AssociationRejected,
    DicomError,
    DicomTimeoutError,
    LocalProtocolError,
    NetworkTimeout,
)
from dicomkit.net.aio.receive_deadlines import ReceiveDeadlines
from dicomkit.net.aio.timers import IdleWatchdog, Timer
from dicomkit.net.config import Timeouts
from dicomkit.net.dimse.assemble import Message, MessageAssembler
from dicomkit.net.dimse.commands import CCancelRQ
from dicomkit.net.dimse.fragment import fragment_message
from dicomkit.net.pdu import (
    AbortPDU,
    AbortReason,
    AbortSource,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    PDataTF,
    PresentationDataValue,
    ReleaseRP,
    ReleaseRQ,
)
from dicomkit.net.ul import (
    NEED_DATA,
    CloseTransport,
    Connection,
    OpenTransport,
    Primitive,
    ProviderAbort,
    StartARTIM,
    State,
    StopARTIM,
)

__all__ = [
    "AssociationProtocol",
    "Inbound",
    "LocalAbort",
    "TransportClosed",
    "raise_for",
]

logger = logging.getLogger(__name__)

_PAUSE_AT: Final = 8  # inbox items before reading pauses
_RESUME_AT: Final = 2
_SMALL_PDU: Final = 4096  # PDUs shorter than this are written together ...
_COALESCE_BYTES: Final = 64 * 1024  # ... up to this much at a time


@dataclass(frozen=True, slots=True)
class TransportClosed:
    """The transport connection is closed: nothing more will arrive."""


@dataclass(frozen=True, slots=True)
class LocalAbort:
    """We aborted the association ourselves (idle timeout, shutdown, bad DIMSE message)."""

    detail: str
    timeout: bool = False


Inbound = (
    Message
    | AssociateRQ
    | AssociateAC
    | AssociateRJ
    | ReleaseRQ
    | ReleaseRP
    | AbortPDU
    | ProviderAbort
    | LocalAbort
    | TransportClosed
)

_CLOSED: Final = TransportClosed()


def raise_for(item: Inbound, *, expected: str) -> NoReturn:
    """Raise the error an inbound item means to someone waiting for ``expected``.

    The one mapping from the UL's outcomes to dicomkit errors:
    A-ASSOCIATE-RJ -> AssociationRejected; A-ABORT, A-P-ABORT, a closed transport or an
    unexpected primitive -> AssociationAborted; our own idle abort -> NetworkTimeout.
    """
    if isinstance(item, AssociateRJ):
        raise AssociationRejected(int(item.result), int(item.source), int(item.reason))
    if isinstance(item, AbortPDU):
        raise AssociationAborted(int(item.source), int(item.reason), f"A-ABORT while waiting for {expected}")
    if isinstance(item, ProviderAbort):
        source = int(AbortSource.SERVICE_PROVIDER)
        raise AssociationAborted(source, int(item.reason), item.detail or "A-P-ABORT")
    if isinstance(item, LocalAbort):
        if item.timeout:
            raise NetworkTimeout(item.detail)
        raise AssociationAborted(int(AbortSource.SERVICE_USER), 0, item.detail)
    if isinstance(item, TransportClosed):
        raise AssociationAborted(detail=f"connection closed while waiting for {expected}")
    raise AssociationAborted(detail=f"unexpected {type(item).__name__} while waiting for {expected}")


class AssociationProtocol(asyncio.Protocol):
    """Drives one :class:`Connection` over one transport; see the module docstring.

    Args:
        connection: the sans-IO Upper Layer, requestor or acceptor.
        timeouts: ``artim`` and ``network`` are applied here.
        assembler: reassembles P-DATA into DIMSE messages (a MessageAssembler).
        on_made: called once the transport is up (the server starts its task there).
        on_cancel: called with the Message ID a C-CANCEL-RQ names, as soon as it
            arrives (the request it cancels is still being handled); C-CANCEL-RQs are
            then not queued.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        timeouts: Timeouts,
        assembler: MessageAssembler | None = None,
        on_made: Callable[[AssociationProtocol], None] | None = None,
        on_cancel: Callable[[int], None] | None = None,
    ) -> None:
        self.connection = connection
        self.timeouts = timeouts
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.tls = False
        self.bytes_in = 0
        self.bytes_out = 0
        self.accepted_context_ids: frozenset[int] = frozenset()
        self._assembler = assembler if assembler is not None else MessageAssembler()
        self._on_made = on_made
        self._on_cancel = on_cancel
        self._loop = asyncio.get_running_loop()
        self._artim = Timer(self._loop, timeouts.artim, self._artim_expired)
        self._watchdog: IdleWatchdog | None = None
        self._deadlines: ReceiveDeadlines | None = None
        self._inbox: deque[Inbound] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._read_paused = False
        self._held_values: deque[PresentationDataValue] = deque()  # of a P-DATA, while paused
        self._local_abort: LocalAbort | None = None
        self._forced_close: asyncio.TimerHandle | None = None

    # --------------------------------------------------------- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # TCP_NODELAY (without it each small PDU waits ~40 ms for the peer's delayed ACK)
        # is already set by asyncio on every TCP transport it creates (Python >= 3.7).
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = (str(peer[0]), int(peer[1]))
        self.tls = transport.get_extra_info("sslcontext") is not None
        if self.timeouts.network is not None:
            self._watchdog = IdleWatchdog(self._loop, self.timeouts.network, self._idle_expired)
            self._watchdog.start()
            rate = self.timeouts.min_receive_rate
            if rate is not None:
                self._deadlines = ReceiveDeadlines(
                    self._loop,
                    self.connection,
                    grace=self.timeouts.network,
                    rate=rate,
                    peer=self.peer,
                    abort=partial(self.abort, timeout=True),
                )
        self.connection.connection_made()
        self._process()
        if self._on_made is not None:
            self._on_made(self)

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self._watchdog is not None:
            self._watchdog.touch()
        self.connection.receive_data(data)
        deadlines = self._deadlines
        if deadlines is not None:
            deadlines.data_read(data)
        self._process()

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._artim.stop()
        if self._forced_close is not None:
            self._forced_close.cancel()
        if self._watchdog is not None:
            self._watchdog.stop()
        self.connection.connection_lost()
        self._held_values.clear()  # never to be answered: the peer is gone
        self._process(everything=True)
        if self._deadlines is not None:  # after the PDUs still held are handled: none begins one anew
            self._deadlines.stop()
        self._assembler_abort()
        self._push(_CLOSED)
        if not self._closed.done():
            self._closed.set_result(None)
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._sent_something()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # ------------------------------------------------------------------ input

    def _process(self, *, everything: bool = False) -> None:
        """Carry out what the Connection asks, in order, until it needs data, or until the
        inbox is full (``receive`` goes on once it is drained) unless ``everything``."""
        connection = self.connection
        if self._held_values:
            self._pdata_values()
        while everything or not self._read_paused:
            event = connection.next_event()
            if event is NEED_DATA:
                break
            data = connection.data_to_send()
            if data:
                self._write(data)
            if isinstance(event, PDataTF):
                self._pdata(event)
            elif isinstance(event, StartARTIM):
                self._artim.start()
            elif isinstance(event, StopARTIM):
                self._artim.stop()
            elif isinstance(event, CloseTransport):
                self._close_transport()
            elif not isinstance(event, OpenTransport):
                self._push(event)  # A-ASSOCIATE, A-RELEASE, A-ABORT, A-P-ABORT primitives
        data = connection.data_to_send()
        if data:
            self._write(data)

    def _pdata(self, pdata: PDataTF) -> None:
        self._held_values.extend(pdata.values)
        self._pdata_values()

    def _pdata_values(self) -> None:
        """Feed the held PDVs to the assembler, until the inbox is full."""
        values = self._held_values
        if self._local_abort is not None:
            values.clear()  # nothing after our A-ABORT is taken in
            return
        deadlines = self._deadlines
        while values and not self._read_paused:
            value = values.popleft()
            if value.context_id not in self.accepted_context_ids:
                values.clear()
                self.abort(f"P-DATA on presentation context {value.context_id}, which is not accepted")
                return
            try:
                message = self._assembler.feed(value)
            except DicomError as error:
                values.clear()
                self.abort(f"invalid DIMSE message: {error}")
                return
            if message is None:
                if deadlines is not None:
                    deadlines.fragment(len(value.data))
                continue
            if deadlines is not None:
                deadlines.message_complete()
            if self._on_cancel is not None and isinstance(message.command, CCancelRQ):
                self._on_cancel(message.command.message_id_being_responded_to)
                continue
            self._push(message)

    def _push(self, item: Inbound) -> None:
        self._inbox.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        transport = self.transport
        if len(self._inbox) >= _PAUSE_AT and not self._read_paused and transport is not None:
            self._read_paused = True
            transport.pause_reading()
            if self._deadlines is not None:
                self._deadlines.pause()

    async def receive(
        self, timeout: float | None = None, error: type[DicomTimeoutError] = NetworkTimeout
    ) -> Inbound:
        """The next inbound item; ``error`` is raised if none arrives within ``timeout``."""
        if not self._inbox:
            waiter = self._loop.create_future()
            self._waiter = waiter
            handle = None
            if timeout is not None:
                handle = self._loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if handle is not None:
                    handle.cancel()
            if not self._inbox:
                raise error(f"nothing received within {timeout} s")
        item = self._inbox.popleft()
        if self._read_paused and len(self._inbox) <= _RESUME_AT and self.transport is not None:
            self._read_paused = False
            if self._local_abort is None:
                self._process()  # what was read but held, first
            if not self._read_paused and not self.transport.is_closing():
                self.transport.resume_reading()
                if self._deadlines is not None:
                    self._deadlines.resume()
        return item

    # ----------------------------------------------------------------- output

    def send(self, primitive: Primitive) -> None:
        """Issue a primitive and write its bytes now.

        Raises:
            LocalProtocolError: the association's state does not allow it.
        """
        data = self.connection.send(primitive)
        if data:
            self._write(data)
        self._process()

    async def send_message(self, context_id: int, command: bytes, dataset: bytes | None = None) -> None:
        """Send one DIMSE message, fragmented to the peer's maximum PDU length."""
        await self.send_pdus(
            fragment_message(context_id, command, dataset, self.connection.peer_max_pdu_length)
        )

    async def send_pdus(self, pdus: Iterable[PDataTF]) -> None:
        """Send P-DATA-TF PDUs, waiting whenever the transport's write buffer is full.

        PDUs under ``_SMALL_PDU`` bytes are written together, up to ``_COALESCE_BYTES``
        at a time: a run of small messages (C-FIND responses) then costs the transport
        one system call, and the peer one read, instead of one per PDU. Larger PDUs (data
        set fragments) are written one by one, as they come.

        Raises:
            NetworkTimeout, AssociationAborted: the association ended before all was sent
                (our abort, the peer's, or the connection's loss).
        """
        pending: list[bytes] = []
        size = 0
        try:
            for pdu in pdus:
                try:
                    data = self.connection.send(pdu)
                except LocalProtocolError:
                    self._raise_if_ended()
                    raise
                if len(data) >= _SMALL_PDU:
                    self._write_joined(pending)
                    self._write(data)
                    size = 0
                else:
                    pending.append(data)
                    size += len(data)
                    if size < _COALESCE_BYTES:
                        continue
                    self._write_joined(pending)
                    size = 0
                self._process()
                if self._write_paused:
                    await self.drain()
                else:
                    self._sent_something()
        finally:
            self._write_joined(pending)
        self._process()
        if self._write_paused:
            await self.drain()

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark.

        Raises:
            NetworkTimeout: the peer took none of our bytes for ``timeouts.network``
                seconds; the association is aborted.
            AssociationAborted: the connection was lost meanwhile.
        """
        if not self._write_paused or self._closed.done():
            return
        waiter = self._drain_waiter = self._loop.create_future()
        try:
            await self._drained(waiter)
        finally:
            self._drain_waiter = None
        if self._closed.done() and self._local_abort is None:
            raise AssociationAborted(detail="connection lost while sending")

    async def _drained(self, waiter: asyncio.Future[None]) -> None:
        """Wait for ``waiter`` while the peer reads; abort once it stops reading.

        Progress is the write buffer shrinking: a slow reader may take long to bring it
        under the low-water mark, but a peer that reads nothing never does, and with the
        handler busy sending, the idle watchdog (paused for it) cannot notice.
        """
        limit = self.timeouts.network
        transport = self.transport
        if limit is None or transport is None:
            await waiter
            return
        pending = transport.get_write_buffer_size()
        while True:
            done, _ = await asyncio.wait((waiter,), timeout=limit)
            if done:
                return
            left = transport.get_write_buffer_size()
            if left >= pending:
                detail = f"the peer read nothing for {limit} s"
                if logger.isEnabledFor(logging.INFO):
                    logger.info("aborting association whose peer reads nothing", extra={"peer": self.peer})
                self.abort(detail, timeout=True)
                transport.abort()  # the A-ABORT cannot get through a full buffer either
                raise NetworkTimeout(detail)
            pending = left
            self._sent_something()

    def abort(self, detail: str = "aborted by the local user", *, timeout: bool = False) -> None:
        """Send an A-ABORT (if the state allows one) and close the transport at once.

        A waiting ``receive`` gets a :class:`LocalAbort` first, so the reason is known.
        """
        if self._local_abort is not None or self._closed.done():
            return
        self._local_abort = LocalAbort(detail, timeout)
        if self._deadlines is not None:
            self._deadlines.stop()
        self._drop_messages()  # received, never to be answered
        self._push(self._local_abort)
        with contextlib.suppress(LocalProtocolError):  # Sta1, Sta13: nothing to abort, just close
            self.send(AbortPDU(AbortSource.SERVICE_USER, AbortReason.REASON_NOT_SPECIFIED))
        self._close_transport()

    def discard_pending(self) -> None:
        """Abort the data sets of every message not handed on: those in the inbox and the
        one being received. For the owner of the association when it stops serving it
        (cancelled), so that no sink (staging file) outlives it."""
        self._drop_messages()
        self._assembler_abort()

    async def wait_closed(self) -> None:
        if not self._closed.done():
            await asyncio.shield(self._closed)

    @property
    def closed(self) -> bool:
        return self._closed.done()

    @property
    def aborted(self) -> bool:
        """Whether we aborted the association: nothing more can be sent on it."""
        return self._local_abort is not None

    # -------------------------------------------------------------- internals

    def _write_joined(self, pending: list[bytes]) -> None:
        """Write and forget what ``pending`` holds (one write)."""
        if pending:
            self._write(pending[0] if len(pending) == 1 else b"".join(pending))
            pending.clear()

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.bytes_out += len(data)
        transport.write(data)

    def _close_transport(self) -> None:
        self._artim.stop()
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.close()
        if transport.get_write_buffer_size():
            # close() waits for the buffer to flush, which a peer reading nothing never lets
            # happen: bound the wait by ARTIM, as PS3.8 bounds waiting for the close.
            self._forced_close = self._loop.call_later(self.timeouts.artim, transport.abort)

    def _artim_expired(self) -> None:
        self.connection.timer_expired()
        self._process()

    def _raise_if_ended(self) -> None:
        """Once the association is over, what ended it, rather than the state machine's
        refusal of a P-DATA that can no longer go out."""
        if self._local_abort is not None:
            raise_for(self._local_abort, expected="the rest of a message to be sent")
        if self._closed.done() or self.connection.state in (State.STA1, State.STA13):
            raise AssociationAborted(detail="the association ended while a message was being sent")

    def _sent_something(self) -> None:
        """The peer took our bytes: an association sending a large data set to a slow peer
        (a WAN link) receives nothing for a long while, and is not idle."""
        if self._watchdog is not None:
            self._watchdog.touch()

    def _idle_expired(self) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("aborting idle association", extra={"peer": self.peer})
        self.abort(f"no activity for {self.timeouts.network} s", timeout=True)

    def pause_idle_watch(self) -> None:
        """A request is being handled: the association is busy, not idle."""
        if self._watchdog is not None:
            self._watchdog.pause()

    def resume_idle_watch(self) -> None:
        if self._watchdog is not None:
            self._watchdog.resume()

    def _assembler_abort(self) -> None:
        try:
            self._assembler.abort()
        except DicomError:  # a sink that cannot clean up must not break the close
            logger.exception("DIMSE assembler failed to abort")

    def _drop_messages(self) -> None:
        """Remove the messages from the inbox, aborting their data sets' sinks."""
        if not any(isinstance(item, Message) for item in self._inbox):
            return
        kept: deque[Inbound] = deque()
        for item in self._inbox:
            if not isinstance(item, Message):
                kept.append(item)
            elif item.dataset is not None:
                try:
                    item.dataset.abort()
                except Exception:  # one sink that cannot clean up must not keep the others
                    logger.exception("DIMSE data sink failed to abort")
        self._inbox = kept


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
