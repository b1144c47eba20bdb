"""Timers of the transport driver: ARTIM (PS3.8 §9.1.4) and the idle-network watchdog.

Part of ``dicomkit.net.aio``, the only layer that owns clocks. The sans-IO
:class:`~dicomkit.net.ul.Connection` says *when* ARTIM starts and stops (StartARTIM /
StopARTIM directives); :class:`Timer` runs it on ``loop.call_later`` and its expiry is fed
back as Evt18 through ``Connection.timer_expired``.

:class:`IdleWatchdog` bounds how long an association may stay silent. It is built for the
hot path: noting activity is one attribute write (no timer is cancelled and re-armed per
PDU); the single pending ``call_later`` re-arms itself for the remaining time when it
fires early.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["IdleWatchdog", "Timer"]


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
