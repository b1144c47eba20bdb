"""Spreading associations evenly over several server processes on one port.

SO_REUSEPORT hands each connection to one process by a hash of its addresses, so four
associations over two processes are split 3:1 or 4:0 more often than 2:2, and a process
holds one core at most (the GIL). Here the processes share one listening socket instead
(bound before they are forked, :func:`listening_sockets`) and publish how many associations
each serves on a :class:`LoadBoard` in shared memory. A process accepts a waiting
connection only while it is among the least loaded (:meth:`WorkerLoad.may_accept`); the
others leave it to that one, and take it themselves after a few deferrals, so that a
stuck process cannot hold connections back.

Standard library only (shared memory from ``multiprocessing``); the board must be created
before the processes are forked.
"""

from __future__ import annotations

import socket
from ctypes import Array, c_int
from multiprocessing.sharedctypes import RawArray

__all__ = ["LoadBoard", "WorkerLoad", "listening_sockets"]

_ABSENT = 2**31 - 1  # a slot without a live process: never the least loaded


class LoadBoard:
    """The association count of each of ``slots`` processes, readable by all of them."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a load board needs at least one slot")
        # Aligned int stores and loads are atomic; a count read while it changes is stale,
        # which only makes a process defer once more or accept once early.
        self._counts: Array[c_int] = RawArray(c_int, [_ABSENT] * slots)

    def claim(self, slot: int) -> WorkerLoad:
        """The load of the process serving ``slot`` (call in that process)."""
        self._counts[slot] = 0
        return WorkerLoad(self._counts, slot)

    def vacate(self, slot: int) -> None:
        """The process of ``slot`` is gone: it no longer counts as the least loaded."""
        self._counts[slot] = _ABSENT

    def counts(self) -> list[int | None]:
        """Each slot's count, None where no process holds it."""
        return [None if value == _ABSENT else value for value in self._counts]


class WorkerLoad:
    """One process's entry on a :class:`LoadBoard`."""

    __slots__ = ("_counts", "_slot")

    def __init__(self, counts: Array[c_int], slot: int) -> None:
        self._counts = counts
        self._slot = slot

    def publish(self, load: int) -> None:
        self._counts[self._slot] = load

    def may_accept(self) -> bool:
        """Whether no other process serves fewer associations than this one."""
        mine = self._counts[self._slot]
        return all(mine <= other for other in self._counts)


def listening_sockets(host: str | None, port: int, *, backlog: int = 256) -> list[socket.socket]:
    """Bound, listening, non-blocking TCP sockets for ``host:port`` (every address of it;
    all interfaces for None), as ``asyncio``'s ``create_server`` would bind them.

    Raises:
        OSError: an address could not be bound (taken, not local).
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    chosen = port  # with port 0: the one the first address got, for every other address
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], chosen, *address[2:]))
            chosen = sock.getsockname()[1]
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets
