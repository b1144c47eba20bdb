"""ARTIM timer, idle watchdog and the PDU and message deadlines on a real event loop."""

from __future__ import annotations

import asyncio

from dicomkit.net.aio.timers import IdleWatchdog, MessageDeadline, PduDeadline, Timer
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


def test_pdu_deadline_fires_at_grace_plus_extension_and_not_after_end() -> None:
    async def scenario() -> tuple[float, bool]:
        loop = asyncio.get_running_loop()
        fired = asyncio.Event()
        deadline = PduDeadline(loop, 0.05, fired.set)
        start = loop.time()
        deadline.begin()
        deadline.extend(0.1)  # the PDU's length at the minimum rate
        await asyncio.wait_for(fired.wait(), 5)
        elapsed = loop.time() - start
        fired.clear()
        deadline.begin()
        deadline.end()  # complete in time
        try:
            await asyncio.wait_for(fired.wait(), 0.15)
        except TimeoutError:
            return elapsed, False
        return elapsed, True

    elapsed, fired_after_end = run(scenario())
    assert elapsed >= 0.15
    assert not fired_after_end


def test_pdu_deadline_does_not_count_time_spent_paused() -> None:
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        fired = asyncio.Event()
        deadline = PduDeadline(loop, 0.05, fired.set)
        start = loop.time()
        deadline.begin()
        deadline.pause()  # we stopped reading: the peer cannot send
        await asyncio.sleep(0.2)
        deadline.resume()
        await asyncio.wait_for(fired.wait(), 5)
        return loop.time() - start

    assert run(scenario()) >= 0.25


def test_message_deadline_fires_at_grace_plus_bytes_at_the_rate_and_not_after_end() -> None:
    async def scenario() -> tuple[float, int, int, bool]:
        loop = asyncio.get_running_loop()
        fired = asyncio.Event()
        deadline = MessageDeadline(loop, 0.05, 1000.0, fired.set)  # 1000 bytes/s
        start = loop.time()
        deadline.fragment(50)  # the first fragment begins it: 0.05 s more
        deadline.fragment(10)  # a fragment of a later read: counted by add, not again here
        deadline.add(50)  # a read while the message is incomplete: 0.05 s more
        await asyncio.wait_for(fired.wait(), 5)
        elapsed = loop.time() - start
        received, fragments = deadline.received, deadline.fragments
        fired.clear()
        deadline.fragment(1)
        deadline.end()  # complete in time
        try:
            await asyncio.wait_for(fired.wait(), 0.15)
        except TimeoutError:
            return elapsed, received, fragments, False
        return elapsed, received, fragments, True

    elapsed, received, fragments, fired_after_end = run(scenario())
    assert elapsed >= 0.15
    assert (received, fragments) == (100, 2)
    assert not fired_after_end


def test_message_deadline_begun_while_paused_counts_none_of_the_pause() -> None:
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        fired = asyncio.Event()
        deadline = MessageDeadline(loop, 0.05, 1000.0, fired.set)
        deadline.pause()  # reading paused before the message began (fed from what was held)
        await asyncio.sleep(0.5)
        deadline.fragment(0)
        await asyncio.sleep(0.1)
        deadline.resume()
        resumed = loop.time()
        await asyncio.wait_for(fired.wait(), 5)
        return loop.time() - resumed

    # Its 0.05 s of grace are left at the resume; counting the 0.5 s of pause before it
    # began would push the expiry half a second further.
    assert run(scenario()) < 0.4
