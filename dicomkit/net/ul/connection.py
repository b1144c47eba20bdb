"""One association's Upper Layer, sans-IO, in the shape of h11's ``Connection`` (PS3.8 §9).

Bytes in, events out; primitives in, bytes out. No sockets, no clocks: the transport
driver (``dicomkit.net.aio``) owns those and feeds them in::

    driver                                Connection
    ------                                ----------
    connection_made()                 ->  Evt2 (requestor) / Evt5 (acceptor)
    receive_data(bytes)               ->  frames PDUs, checking each header first
    next_event()                      <-  a primitive for the user, a transport or
                                          timer directive, or NEED_DATA
    send(primitive) -> bytes          ->  Evt1/7/8/9/11/14/15; bytes to write
    data_to_send() -> bytes           <-  bytes produced while handling input (A-ABORT, RJ)
    timer_expired()                   ->  Evt18 (ARTIM)
    connection_lost()                 ->  Evt17

Directives returned by ``next_event`` besides primitives: :class:`OpenTransport` (connect
now, then call ``connection_made``), :class:`CloseTransport`, :class:`StartARTIM` (start
or restart the timer), :class:`StopARTIM`.

Invariants (bounded memory):

- A PDU header is checked as soon as its 6 bytes are here, before any of its body is
  kept: P-DATA-TF against the Maximum Length we announced (or, if we announced 0 "no
  maximum" or nothing, against ``max_unlimited_pdu_length``), A-ASSOCIATE-RQ/AC against
  ``max_associate_pdu_length``, the four fixed PDUs against their length of 4, and
  unknown types are refused at once. A violation becomes Evt19 (an A-ABORT with the
  reason of PS3.8 Table 9-26) and every later byte is dropped: the stream cannot be
  framed any more.
- At most one incomplete PDU is held; complete PDUs are views into the bytes the
  driver handed in, not copies. Call ``next_event`` until NEED_DATA before reading more.
- Once the transport is to be closed (Sta1 after having been connected) input is dropped.

Errors: misuse by the local user (a primitive the state does not allow, a P-DATA-TF
larger than the peer accepts) raises :class:`LocalProtocolError` and changes nothing.
Misbehaviour of the peer never raises: it yields the A-ABORT the standard prescribes and
a :class:`ProviderAbort` event.
"""

from __future__ import annotations

import enum
from collections import deque
from typing import Final

from dicomkit.errors import LocalProtocolError, PDUError
from dicomkit.net.config import MAX_ASSOCIATE_PDU_LENGTH, MAX_UNLIMITED_PDU_LENGTH
from dicomkit.net.pdu import (
    AbortPDU,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    PDataTF,
    ReleaseRP,
    ReleaseRQ,
    check_pdu_header,
    decode_pdu,
    read_pdu_header,
)
from dicomkit.net.ul.actions import (
    CloseTransport,
    Context,
    Indicate,
    OpenTransport,
    Payload,
    SendPDU,
    StartARTIM,
    StopARTIM,
)
from dicomkit.net.ul.events import Event, Primitive, ProviderAbort
from dicomkit.net.ul.machine import step
from dicomkit.net.ul.states import State

__all__ = [
    "NEED_DATA",
    "UNANNOUNCED_PDATA_LIMIT",
    "CloseTransport",
    "Connection",
    "ConnectionEvent",
    "NeedData",
    "OpenTransport",
    "Role",
    "StartARTIM",
    "StopARTIM",
]

# Default bound on P-DATA-TF PDUs when we announced 0 ("no maximum") or no Maximum
# Length at all (AEConfig.max_unlimited_pdu_length). Before we have announced anything,
# P-DATA-TF PDUs get the A-ASSOCIATE bound instead.
UNANNOUNCED_PDATA_LIMIT: Final = MAX_UNLIMITED_PDU_LENGTH
_HEADER: Final = 6


class Role(enum.Enum):
    """Which side of the association this connection is."""

    REQUESTOR = "requestor"
    ACCEPTOR = "acceptor"


class NeedData(enum.Enum):
    """Returned by ``next_event`` when more bytes must be received first.

    A one-member enum, so that ``event is not NEED_DATA`` narrows ``ConnectionEvent`` for
    a type checker (as h11's sentinels do); ``NEED_DATA`` is its only member.
    """

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"

    __str__ = __repr__


NEED_DATA: Final = NeedData.NEED_DATA

ConnectionEvent = Primitive | OpenTransport | CloseTransport | StartARTIM | StopARTIM | NeedData

_SEND_EVENTS: Final[dict[type, Event]] = {
    AssociateRQ: Event.EVT1,
    AssociateAC: Event.EVT7,
    AssociateRJ: Event.EVT8,
    PDataTF: Event.EVT9,
    ReleaseRQ: Event.EVT11,
    ReleaseRP: Event.EVT14,
    AbortPDU: Event.EVT15,
}
_RECEIVE_EVENTS: Final[dict[type, Event]] = {
    AssociateAC: Event.EVT3,
    AssociateRJ: Event.EVT4,
    AssociateRQ: Event.EVT6,
    PDataTF: Event.EVT10,
    ReleaseRQ: Event.EVT12,
    ReleaseRP: Event.EVT13,
    AbortPDU: Event.EVT16,
}


class _Framer:
    """Cuts a byte stream into whole PDUs, checking each header before keeping its body."""

    __slots__ = ("_pending", "_total")

    def __init__(self) -> None:
        self._pending = bytearray()  # the one incomplete PDU
        self._total = 0  # its full size once the header is known, else 0

    @property
    def buffered(self) -> int:
        return len(self._pending)

    def clear(self) -> None:
        self._pending.clear()
        self._total = 0

    def feed(
        self, data: bytes, max_pdata: int, max_associate: int
    ) -> tuple[list[memoryview], PDUError | None]:
        """Complete PDUs found in ``data`` and, if a header was refused, the error."""
        frames: list[memoryview] = []
        view = memoryview(data)
        pos, end = 0, len(view)
        try:
            if self._pending:
                if self._total == 0:
                    take = min(_HEADER - len(self._pending), end)
                    self._pending += view[:take]
                    pos = take
                    if len(self._pending) < _HEADER:
                        return frames, None
                    self._total = self._checked_size(self._pending, max_pdata, max_associate)
                take = min(self._total - len(self._pending), end - pos)
                self._pending += view[pos : pos + take]
                pos += take
                if len(self._pending) < self._total:
                    return frames, None
                # Hand the buffer itself on (no copy: a PDU may be many MiB) and start anew.
                frames.append(memoryview(self._pending))
                self._pending = bytearray()
                self._total = 0
            while end - pos >= _HEADER:
                total = self._checked_size(view[pos : pos + _HEADER], max_pdata, max_associate)
                if end - pos < total:
                    self._total = total
                    break
                frames.append(view[pos : pos + total])
                pos += total
            self._pending += view[pos:]
        except PDUError as error:
            self.clear()
            return frames, error
        return frames, None

    @staticmethod
    def _checked_size(header: bytes | bytearray | memoryview, max_pdata: int, max_associate: int) -> int:
        pdu_type, length = read_pdu_header(header)
        check_pdu_header(pdu_type, length, max_pdata=max_pdata, max_associate=max_associate)
        return _HEADER + length


class Connection:
    """The Upper Layer of one association: state machine, PDU framing, bounded buffers.

    Args:
        role: requestor (we send the A-ASSOCIATE-RQ) or acceptor.
        max_associate_pdu_length: bound on received A-ASSOCIATE-RQ/AC PDU-lengths.
        max_unlimited_pdu_length: bound on received P-DATA-TF PDU-lengths once we
            announced 0 (no maximum) or no Maximum Length.
        association_limit_exceeded: acceptor only; AE-6 then rejects the request
            (rejected-transient, service-provider presentation, local-limit-exceeded).
    """

    def __init__(
        self,
        role: Role,
        *,
        max_associate_pdu_length: int = MAX_ASSOCIATE_PDU_LENGTH,
        max_unlimited_pdu_length: int = UNANNOUNCED_PDATA_LIMIT,
        association_limit_exceeded: bool = False,
    ) -> None:
        self.role = role
        self._context = Context(
            requestor=role is Role.REQUESTOR, association_limit_exceeded=association_limit_exceeded
        )
        self._state = State.STA1
        self._max_associate = max_associate_pdu_length
        self._max_unlimited = max_unlimited_pdu_length
        self._framer = _Framer()
        # Complete PDUs, a refused header (PDUError) or the transport's close (None), in order.
        self._frames: deque[memoryview | PDUError | None] = deque()
        self._events: deque[ConnectionEvent] = deque()
        self._outgoing: list[bytes] = []
        self._dropping = False  # input can no longer be framed, or the transport is closing
        self._connected = False
        self._pending_request: AssociateRQ | None = None
        self._announced = False  # whether we sent our A-ASSOCIATE-RQ/AC (and Maximum Length)
        self.artim_running = False
        self.associate_rq: AssociateRQ | None = None
        self.associate_ac: AssociateAC | None = None
        self.our_max_pdu_length = 0
        self.peer_max_pdu_length = 0

    @property
    def state(self) -> State:
        return self._state

    @property
    def buffered(self) -> int:
        """Bytes held for the one incomplete PDU (never more than its checked length)."""
        return self._framer.buffered

    # ------------------------------------------------------------- driver input

    def connection_made(self) -> None:
        """The transport is open: Evt2 for a requestor (in Sta4), Evt5 for an acceptor.

        A Connection serves one transport connection (PS3.8 §9.1.1: one association per
        TCP connection); it cannot be opened twice.
        """
        if self._connected:
            raise LocalProtocolError("this connection's transport was already opened")
        self._connected = True
        if self.role is Role.REQUESTOR:
            if self._state is not State.STA4:
                raise LocalProtocolError(f"a requestor's transport opens in STA4, not {self._state.name}")
            self._fire(Event.EVT2, self._pending_request)
            self._pending_request = None
        else:
            self._fire(Event.EVT5, None)

    def connection_lost(self) -> None:
        """The transport closed (Evt17); a report after we closed it ourselves is ignored.

        PDUs already received are handled first: Evt17 takes its turn after them in
        ``next_event`` (at once if none is waiting).
        """
        self._drop_input()
        if self._frames:
            self._frames.append(None)
        else:
            self._fire(Event.EVT17, None)

    def timer_expired(self) -> None:
        """The ARTIM timer expired (Evt18); a stale expiry is ignored."""
        self.artim_running = False
        self._fire(Event.EVT18, None)

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes from the peer. Headers are checked here; decoding waits for next_event."""
        if self._state in (State.STA1, State.STA4) and not self._connected:
            raise LocalProtocolError(f"no transport to receive on in {self._state.name}")
        if self._dropping or not data:
            return
        frames, error = self._framer.feed(
            data if isinstance(data, bytes) else bytes(data),
            self._pdata_limit(),
            self._max_associate,
        )
        self._frames.extend(frames)
        if error is not None:
            self._frames.append(error)
            self._drop_input()

    # ------------------------------------------------------------ driver output

    def next_event(self) -> ConnectionEvent:
        """The next primitive or directive, or NEED_DATA."""
        while not self._events:
            if not self._frames:
                return NEED_DATA
            frame = self._frames.popleft()
            if frame is None:
                self._fire(Event.EVT17, None)
                continue
            if isinstance(frame, PDUError):
                self._fire(Event.EVT19, frame)
                continue
            try:
                pdu = decode_pdu(frame)
            except PDUError as error:
                self._fire(Event.EVT19, error)
                continue
            self._fire(_RECEIVE_EVENTS[type(pdu)], pdu)
        return self._events.popleft()

    def data_to_send(self) -> bytes:
        """All bytes produced so far and not yet collected."""
        if not self._outgoing:
            return b""
        data = self._outgoing[0] if len(self._outgoing) == 1 else b"".join(self._outgoing)
        self._outgoing.clear()
        return data

    # ----------------------------------------------------------------- user input

    def send(self, primitive: Primitive) -> bytes:
        """Issue a request or response primitive; returns the bytes to write now.

        Raises:
            LocalProtocolError: the current state does not allow this primitive, or a
                P-DATA-TF is longer than the Maximum Length the peer announced.
        """
        event = _SEND_EVENTS.get(type(primitive))
        if event is None or isinstance(primitive, ProviderAbort):
            raise LocalProtocolError(f"{type(primitive).__name__} is not a primitive the local user issues")
        if isinstance(primitive, AssociateRQ) and self.role is Role.ACCEPTOR:
            raise LocalProtocolError("an acceptor does not issue an A-ASSOCIATE request")
        if (
            isinstance(primitive, PDataTF)
            and self.peer_max_pdu_length
            and primitive.length > self.peer_max_pdu_length
        ):
            raise LocalProtocolError(
                f"P-DATA-TF of {primitive.length} bytes exceeds the peer's maximum "
                f"of {self.peer_max_pdu_length}"
            )
        self._fire(event, primitive)
        if isinstance(primitive, AssociateRQ):
            self._pending_request = primitive
            self.associate_rq = primitive
            self.our_max_pdu_length = primitive.user_information.maximum_length or 0
            self._announced = True
        elif isinstance(primitive, AssociateAC):
            self.associate_ac = primitive
            self.our_max_pdu_length = primitive.user_information.maximum_length or 0
            self._announced = True
        return self.data_to_send()

    # ------------------------------------------------------------------ internals

    def _pdata_limit(self) -> int:
        if not self._announced:
            # We have announced nothing yet, and no P-DATA-TF is legal before we have:
            # the smaller associate bound is enough to reach the abort.
            return self._max_associate
        return self.our_max_pdu_length or self._max_unlimited

    def _drop_input(self) -> None:
        self._dropping = True
        self._framer.clear()

    def _fire(self, event: Event, payload: Payload) -> None:
        self._state, effects = step(self._state, event, self._context, payload)
        for effect in effects:
            if isinstance(effect, SendPDU):
                self._outgoing.append(effect.pdu.encode())
            elif isinstance(effect, Indicate):
                self._indicated(effect.primitive)
            elif isinstance(effect, (StartARTIM, StopARTIM, OpenTransport, CloseTransport)):
                if isinstance(effect, (StartARTIM, StopARTIM)):
                    self.artim_running = isinstance(effect, StartARTIM)
                self._events.append(effect)
        if self._state is State.STA1 and self._connected:
            # The association is gone and the transport closed or closing: what the
            # peer sent after the PDU that ended it is not processed.
            self._drop_input()
            self._frames.clear()

    def _indicated(self, primitive: Primitive) -> None:
        if isinstance(primitive, AssociateRQ):
            self.associate_rq = primitive
            self.peer_max_pdu_length = primitive.user_information.maximum_length or 0
        elif isinstance(primitive, AssociateAC):
            self.associate_ac = primitive
            self.peer_max_pdu_length = primitive.user_information.maximum_length or 0
        self._events.append(primitive)
