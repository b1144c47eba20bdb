"""Timers of the transport driver: ARTIM (PS3.8 §9.1.4), the idle-network watchdog and
the PDU and DIMSE message deadlines.

Part of ``dicomkit.net.aio``, the only layer that owns clocks. The sans-IO
:class:`~dicomkit.net.ul.Connection` says *when* ARTIM starts and stops (StartARTIM /
StopARTIM directives); :class:`Timer` runs it on ``loop.call_later`` and its expiry is fed
back as Evt18 through ``Connection.timer_expired``.

:class:`IdleWatchdog` bounds how long an association may stay silent. It is built for the
hot path: noting activity is one attribute write (no timer is cancelled and re-armed per
PDU); the single pending ``call_later`` re-arms itself for the remaining time when it
fires early.

:class:`PduDeadline` bounds how long one PDU may take to arrive once its first byte is
here (``Timeouts.min_receive_rate``): the idle watchdog is reset by every byte, so it
cannot see a peer that trickles. It is built the same way: starting, extending and
ending a PDU's deadline are attribute writes, and its one ``call_later`` is armed at
most ``grace`` seconds ahead, so a new PDU (whose deadline is at least ``grace`` away)
never needs it re-armed.

:class:`MessageDeadline` is its sibling for a DIMSE message (PS3.7 §8, PS3.8 Annex E):
a peer sending small complete PDUs, each just inside the network timeout, meets every
PDU deadline, so the message as a whole gets one too, from its first fragment:
``grace`` plus the bytes received since at the minimum rate. Noting a fragment or a
read is an attribute write or two; a message in one fragment costs nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["IdleWatchdog", "MessageDeadline", "PduDeadline", "Timer"]


class Timer:
    """A restartable one-shot timer on the event loop."""

    __slots__ = ("_callback", "_handle", "_loop", "delay")

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self.delay = delay

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        """Start the timer, or restart it if it is running."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop.call_later(self.delay, self._fire)

    def stop(self) -> None:
        """Stop the timer if it is running."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._callback()


class IdleWatchdog:
    """Calls ``callback`` once nothing was noted for ``timeout`` seconds.

    ``touch()`` records activity; ``pause()`` suspends the watch while the local side is
    busy (a handler still working on a request is not an idle association).
    """

    __slots__ = ("_callback", "_handle", "_last", "_loop", "_paused", "timeout")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self._last = loop.time()
        self._paused = 0
        self.timeout = timeout

    def start(self) -> None:
        self._last = self._loop.time()
        if self._handle is None:
            self._handle = self._loop.call_later(self.timeout, self._check)

    def touch(self) -> None:
        self._last = self._loop.time()

    def pause(self) -> None:
        self._paused += 1

    def resume(self) -> None:
        self._paused -= 1
        self._last = self._loop.time()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _check(self) -> None:
        self._handle = None
        idle = self._loop.time() - self._last
        if self._paused or idle < self.timeout:
            delay = self.timeout if self._paused else self.timeout - idle
            self._handle = self._loop.call_later(delay, self._check)
            return
        self._callback()


class PduDeadline:
    """Calls ``callback`` when the PDU being received is not complete by its deadline.

    ``begin()`` when a PDU's first byte arrives (deadline: ``grace`` seconds on),
    ``extend(seconds)`` once its length is known, ``end()`` once it is complete.
    ``pause()``/``resume()`` bracket a time when we do not read (read backpressure):
    the peer cannot send then, so that time is not counted against it.
    """

    __slots__ = ("_callback", "_deadline", "_handle", "_loop", "_paused_at", "_started", "active", "grace")

    def __init__(self, loop: asyncio.AbstractEventLoop, grace: float, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self._started = 0.0
        self._deadline = 0.0
        self._paused_at: float | None = None
        self.active = False
        self.grace = grace

    @property
    def limit(self) -> float:
        """Seconds the PDU in progress is given in all, from its first byte."""
        return self._deadline - self._started

    def begin(self) -> None:
        now = self._loop.time()
        self._started = now
        self._deadline = now + self.grace
        self.active = True
        if self._paused_at is not None:  # begun while paused: only the pause from now on is its own
            self._paused_at = now
        if self._handle is None:
            self._handle = self._loop.call_later(self.grace, self._check)

    def extend(self, seconds: float) -> None:
        self._deadline += seconds

    def end(self) -> None:
        self.active = False  # the pending check finds nothing to do and is not re-armed

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = self._loop.time()

    def resume(self) -> None:
        if self._paused_at is not None:
            paused = self._loop.time() - self._paused_at
            self._deadline += paused
            self._started += paused
            self._paused_at = None

    def stop(self) -> None:
        self.active = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _check(self) -> None:
        self._handle = None
        if not self.active:
            return
        left = self._deadline - self._loop.time()
        if self._paused_at is None and left <= 0:
            self.active = False
            self._callback()
            return
        delay = self.grace if self._paused_at is not None else min(left, self.grace)
        self._handle = self._loop.call_later(delay, self._check)


class MessageDeadline(PduDeadline):
    """Calls ``callback`` when the DIMSE message being received is not complete by its
    deadline: ``grace`` seconds from its first fragment, plus the bytes received since
    (its first fragment's included) at ``rate`` bytes per second.

    ``fragment(size)`` for every fragment that leaves the message incomplete (the first
    one begins it), ``add(size)`` for the bytes of each read while it is incomplete,
    ``end()`` once a fragment completes it; ``pause()``/``resume()`` as for a PDU.
    Bytes are counted as read, not as fragments complete, so that one large PDU arriving
    slowly but above the rate extends the message's deadline as it comes.
    """

    __slots__ = ("_per_byte", "fragments", "received")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, grace: float, rate: float, callback: Callable[[], None]
    ) -> None:
        super().__init__(loop, grace, callback)
        self._per_byte = 1.0 / rate
        self.received = 0
        self.fragments = 0

    def fragment(self, size: int) -> None:
        if self.active:
            self.fragments += 1
            return
        self.begin()
        self.fragments = 1
        self.received = size
        self._deadline += size * self._per_byte

    def add(self, size: int) -> None:
        self.received += size
        self._deadline += size * self._per_byte
