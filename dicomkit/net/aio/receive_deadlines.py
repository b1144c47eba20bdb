"""Receive deadlines of one association: how slowly a PDU or a DIMSE message may arrive.

Part of ``dicomkit.net.aio``, used by ``association`` only: :class:`ReceiveDeadlines` owns
the two deadline timers of ``timers`` (:class:`~dicomkit.net.aio.timers.PduDeadline`,
:class:`~dicomkit.net.aio.timers.MessageDeadline`), works out where each incoming PDU
(PS3.8 §9.3.1) starts, and logs why it aborts. The association tells it what it read, what
DIMSE fragments (PS3.7 §8, PS3.8 Annex E) it took in, and when it stops reading; it calls
back into the association to abort as an idle association is (AA-1's A-ABORT)::

    data_received --data_read--> PDU deadline (begin, extend, end) + message's bytes
    _pdata_values --fragment / message_complete--> message deadline (begin, end)
    _push / receive --pause / resume--> both      abort, connection_lost --stop--> both
    deadline missed --> log line, abort(detail)

Invariants:

- Every byte resets the idle watchdog, so a PDU has a deadline of its own
  (``Timeouts.min_receive_rate``): once its first byte is here, its 6-byte header must
  be complete within ``network`` seconds and the PDU within ``network`` + length / rate,
  or the association is aborted as an idle one is (AA-1's A-ABORT). Where a PDU starts
  is read off ``Connection.buffered`` after each read (the bytes held for the one
  incomplete PDU), so tracking costs nothing per PDU of a read. Time spent with reading
  paused for backpressure is not counted: the peer cannot send then.
- A DIMSE message has a deadline on the same principle, since a peer sending small
  complete PDUs, each just inside the network timeout, meets every PDU's deadline and
  resets the idle watchdog: once its first fragment (PDV) is here, the message must be
  complete within ``network`` + the bytes received since / rate, or the association is
  aborted the same way. Bytes count as read, so a large PDU arriving slowly but above
  the rate extends it as it comes. A message in one PDV costs a call that finds nothing
  to do; a fragment that leaves one incomplete, or a read while one is, an attribute
  write or two.
- A read costs one call here and no allocation beyond the slice of a PDU header (up to
  6 bytes) that starts in it. With the deadlines disabled the association holds no
  :class:`ReceiveDeadlines` and calls nothing.
- The log lines are the association's: same logger name, messages and ``extra`` fields
  (peer, sizes, limits; no UIDs or other PHI).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from dicomkit.net.aio.timers import MessageDeadline, PduDeadline
from dicomkit.net.ul import Connection

__all__ = ["ReceiveDeadlines"]

# The association's logger: these lines report its abort, and operators and tests filter
# on that name.
logger = logging.getLogger("dicomkit.net.aio.association")

_PDU_HEADER: Final = 6  # PDU-type, reserved, PDU-length (4 bytes, big endian): PS3.8 §9.3.1


class ReceiveDeadlines:
    """The PDU and DIMSE message deadlines of one association; see the module docstring.

    Args:
        loop: the association's event loop.
        connection: its Connection, read for the bytes held of the incomplete PDU.
        grace: ``Timeouts.network``: what every PDU and message gets before its bytes count.
        rate: ``Timeouts.min_receive_rate``, in bytes per second.
        peer: the peer's address, for the log lines.
        abort: aborts the association with the given detail, as a timeout.
    """

    __slots__ = ("_abort", "_connection", "_header", "_message", "_pdu", "_peer", "_rate")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connection: Connection,
        *,
        grace: float,
        rate: float,
        peer: tuple[str, int],
        abort: Callable[[str], None],
    ) -> None:
        self._connection = connection
        self._rate = rate
        self._peer = peer
        self._abort = abort
        self._header = bytearray()  # the start of the PDU being received (up to 6 bytes)
        self._pdu = PduDeadline(loop, grace, self._pdu_overdue)
        self._message = MessageDeadline(loop, grace, rate, self._message_overdue)

    # ------------------------------------------------------- the association's calls

    def data_read(self, data: bytes) -> None:
        """``data`` was read and given to the Connection: count it towards the message in
        progress, and start, extend or end the deadline of the PDU in progress.

        ``Connection.buffered`` is what is held of the one incomplete PDU. If it is no more
        than ``data`` holds, that PDU began in this read (any PDU begun earlier had a byte
        before it), and its first bytes are the last ``held`` of ``data``; otherwise the
        PDU in progress before this read goes on.
        """
        message = self._message
        if message.active:
            message.add(len(data))
        deadline = self._pdu
        held = self._connection.buffered
        header = self._header
        if held == 0:
            if deadline.active:
                deadline.end()
            return
        if held <= len(data):
            start = len(data) - held
            header[:] = data[start : start + _PDU_HEADER]
            deadline.begin()
        elif len(header) < _PDU_HEADER:
            header += data[: _PDU_HEADER - len(header)]
        else:
            return
        if len(header) == _PDU_HEADER:
            length = int.from_bytes(header[2:6], "big")
            deadline.extend((_PDU_HEADER + length) / self._rate)

    def fragment(self, size: int) -> None:
        """A PDV of ``size`` bytes left its DIMSE message incomplete (the first begins it)."""
        self._message.fragment(size)

    def message_complete(self) -> None:
        """A PDV completed the DIMSE message in progress."""
        message = self._message
        if message.active:
            message.end()

    def pause(self) -> None:
        """Reading is paused (backpressure): the peer cannot send, so the time is not its."""
        self._pdu.pause()
        self._message.pause()

    def resume(self) -> None:
        self._pdu.resume()
        self._message.resume()

    def stop(self) -> None:
        """For good: the association is aborted or its connection lost."""
        self._pdu.stop()
        self._message.stop()

    # ------------------------------------------------------------ deadlines missed

    def _pdu_overdue(self) -> None:
        header = self._header
        limit = self._pdu.limit
        if len(header) < _PDU_HEADER:
            detail = f"a PDU header was not completed within {limit:.0f} s"
            pdu_type, length = (header[0] if header else 0), None
        else:
            length = int.from_bytes(header[2:6], "big")
            detail = f"a PDU of {_PDU_HEADER + length} bytes was not received within {limit:.0f} s"
            pdu_type = header[0]
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "aborting association whose PDU arrives too slowly",
                extra={
                    "peer": self._peer,
                    "pdu_type": pdu_type,
                    "pdu_length": length,
                    "held": self._connection.buffered,
                    "limit_seconds": round(limit, 3),
                    "min_receive_rate": self._rate,
                },
            )
        self._abort(detail)  # the A-ABORT of AA-1, as for the idle timeout

    def _message_overdue(self) -> None:
        deadline = self._message
        limit, received, fragments = deadline.limit, deadline.received, deadline.fragments
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "aborting association whose DIMSE message arrives too slowly",
                extra={
                    "peer": self._peer,
                    "message_bytes": received,
                    "fragments": fragments,
                    "limit_seconds": round(limit, 3),
                    "min_receive_rate": self._rate,
                },
            )
        detail = (
            f"a DIMSE message was not complete within {limit:.0f} s "
            f"({received} bytes in {fragments} fragments so far)"
        )
        self._abort(detail)  # as for a late PDU
