"""ConnectionPair: a requestor and an acceptor Connection wired together in memory (as in h11).

It plays the transport driver for both: opens the "transport" on OpenTransport, carries
bytes across (whole, or one byte at a time), honours CloseTransport by delivering what
the closing side wrote and then reporting connection_lost to both sides, and tracks
ARTIM per side. Primitives each side receives are collected in ``side.events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dicomkit.net.pdu import PDU, decode_pdu
from dicomkit.net.ul.connection import (
    NEED_DATA,
    CloseTransport,
    Connection,
    ConnectionEvent,
    OpenTransport,
    Role,
    StartARTIM,
    StopARTIM,
)
from dicomkit.net.ul.events import Primitive


@dataclass
class Side:
    conn: Connection
    name: str
    events: list[Primitive] = field(default_factory=list)
    artim: bool = False
    artim_starts: int = 0
    closed_transport: bool = False

    def take(self) -> list[Primitive]:
        events, self.events = self.events, []
        return events


class ConnectionPair:
    def __init__(self, *, byte_at_a_time: bool = False, acceptor: Connection | None = None) -> None:
        self.requestor = Side(Connection(Role.REQUESTOR), "requestor")
        self.acceptor = Side(acceptor or Connection(Role.ACCEPTOR), "acceptor")
        self.byte_at_a_time = byte_at_a_time
        self.transport_open = False
        self.wire: list[tuple[str, PDU]] = []  # (sender name, PDU) as seen on the wire

    def other(self, side: Side) -> Side:
        return self.acceptor if side is self.requestor else self.requestor

    def send(self, side: Side, primitive: Primitive) -> None:
        self._carry(side, side.conn.send(primitive))
        self.pump()

    def expire_artim(self, side: Side) -> None:
        assert side.artim, "ARTIM was not running"
        side.artim = False
        side.conn.timer_expired()
        self.pump()

    def pump(self) -> None:
        progress = True
        while progress:
            progress = False
            for side in (self.requestor, self.acceptor):
                while (event := side.conn.next_event()) is not NEED_DATA:
                    progress = True
                    self._handle(side, event)
                data = side.conn.data_to_send()
                if data:
                    progress = True
                    self._carry(side, data)

    def _handle(self, side: Side, event: ConnectionEvent) -> None:
        if isinstance(event, OpenTransport):
            self.transport_open = True
            self.acceptor.conn.connection_made()
            self.requestor.conn.connection_made()
        elif isinstance(event, CloseTransport):
            self._close(side)
        elif isinstance(event, StartARTIM):
            side.artim = True
            side.artim_starts += 1
        elif isinstance(event, StopARTIM):
            side.artim = False
        else:
            assert event is not NEED_DATA
            side.events.append(event)

    def _carry(self, sender: Side, data: bytes) -> None:
        if not data or not self.transport_open:
            return
        self._log(sender, data)
        receiver = self.other(sender)
        if self.byte_at_a_time:
            for i in range(len(data)):
                receiver.conn.receive_data(data[i : i + 1])
        else:
            receiver.conn.receive_data(data)

    def _log(self, sender: Side, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            length = int.from_bytes(data[pos + 2 : pos + 6], "big")
            self.wire.append((sender.name, decode_pdu(data[pos : pos + 6 + length])))
            pos += 6 + length

    def _close(self, side: Side) -> None:
        side.closed_transport = True
        if not self.transport_open:
            return
        self._carry(side, side.conn.data_to_send())  # TCP delivers what was written first
        self.transport_open = False
        self.other(side).conn.connection_lost()
        side.conn.connection_lost()
