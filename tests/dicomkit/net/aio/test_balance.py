"""Several servers on one shared listening socket: the least loaded one takes the next
association (``dicomkit.net.aio.balance``)."""

from __future__ import annotations

import socket
from contextlib import AsyncExitStack

import pytest

from dicomkit.net.aio import VERIFICATION_CONTEXT, open_association
from dicomkit.net.aio.balance import LoadBoard, listening_sockets
from tests.dicomkit.net.aio.servers import run, scu_ae, serving


def test_associations_go_to_the_least_loaded_server() -> None:
    sockets = listening_sockets("127.0.0.1", 0)
    # Each server its own descriptor of the shared sockets, as each forked process has.
    copies = [sockets, [sock.dup() for sock in sockets]]
    board = LoadBoard(2)

    async def scenario() -> tuple[list[int], list[int | None]]:
        async with AsyncExitStack() as stack:
            servers = [
                await stack.enter_async_context(serving(sockets=copies[slot], load=board.claim(slot)))
                for slot in (0, 1)
            ]
            port = servers[0].port
            held = [
                await open_association("127.0.0.1", port, scu_ae(), "SCP", [VERIFICATION_CONTEXT])
                for _ in range(4)
            ]
            loads = [server.active_associations for server in servers]
            counts = board.counts()
            for association in held:
                assert await association.echo() == 0
                await association.release()
            return loads, counts

    try:
        loads, counts = run(scenario())
    finally:
        for sock in [*copies[0], *copies[1]]:
            sock.close()
    assert loads == [2, 2]
    assert counts == [2, 2]


def test_a_server_takes_the_connection_when_the_least_loaded_one_never_does() -> None:
    sockets = listening_sockets("127.0.0.1", 0)
    board = LoadBoard(2)
    board.claim(1)  # another process that says 0 associations and never accepts

    async def scenario() -> int:
        async with serving(sockets=sockets, load=board.claim(0)) as server:
            association = await open_association(
                "127.0.0.1", server.port, scu_ae(), "SCP", [VERIFICATION_CONTEXT]
            )
            status = await association.echo()
            await association.release()
            return status

    try:
        assert run(scenario()) == 0
    finally:
        for sock in sockets:
            sock.close()


def test_listening_sockets_refuse_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", taken.getsockname()[1])


def test_a_vacated_slot_is_never_the_least_loaded() -> None:
    board = LoadBoard(2)
    first, second = board.claim(0), board.claim(1)
    first.publish(3)
    assert not first.may_accept() and second.may_accept()
    board.vacate(1)
    assert first.may_accept()
    assert board.counts() == [3, None]
