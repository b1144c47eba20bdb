"""ARTIM timer and idle watchdog on a real event loop."""

from __future__ import annotations

import asyncio

from dicomkit.net.aio.timers import IdleWatchdog, Timer
from tests.dicomkit.net.aio.servers import run


def test_timer_fires_once_and_restart_postpones_it() -> None:
    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        done = asyncio.Event()
        start = loop.time()

        def expired() -> None:
            fired.append(loop.time() - start)
            done.set()

        timer = Timer(loop, 0.05, expired)
        timer.start()
        timer.start()  # restart: still one expiry
        assert timer.running
        await done.wait()
        assert not timer.running
        return fired

    (elapsed,) = run(scenario())
    assert elapsed >= 0.05


def test_stopped_timer_never_fires() -> None:
    async def scenario() -> bool:
        loop = asyncio.get_running_loop()
        fired = asyncio.Event()
        timer = Timer(loop, 0.01, fired.set)
        timer.start()
        timer.stop()
        try:
            await asyncio.wait_for(fired.wait(), 0.1)
        except TimeoutError:
            return False
        return True

    assert run(scenario()) is False


def test_watchdog_fires_only_after_a_full_quiet_period() -> None:
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        fired = asyncio.Event()
        watchdog = IdleWatchdog(loop, 0.1, fired.set)
        watchdog.start()
        touched_until = loop.time() + 0.25
        while loop.time() < touched_until:  # activity every 20 ms keeps it quiet
            watchdog.touch()
            try:
                await asyncio.wait_for(fired.wait(), 0.02)
            except TimeoutError:
                continue
            raise AssertionError("fired while active")
        await fired.wait()
        return loop.time() - touched_until

    assert run(scenario()) >= 0.05


def test_paused_watchdog_does_not_fire() -> None:
    async def scenario() -> bool:
        loop = asyncio.get_running_loop()
        fired = asyncio.Event()
        watchdog = IdleWatchdog(loop, 0.05, fired.set)
        watchdog.start()
        watchdog.pause()
        try:
            await asyncio.wait_for(fired.wait(), 0.2)
        except TimeoutError:
            pass
        else:
            return True
        watchdog.resume()
        await asyncio.wait_for(fired.wait(), 1)
        watchdog.stop()
        return False

    assert run(scenario()) is False
