"""P-DATA-TF PDUs produced off the event loop, a batch at a time (PS3.8 §9.3.5).

Part of ``dicomkit.net.dimse``, between ``fragment`` (which cuts a message into PDUs as
its source is read) and the asyncio senders (``scu.storage``, ``services.retrieve``). A
data set converted while it is sent (``scu.conversion``) is read through a stream whose
``read`` may decode a compressed frame: tens of milliseconds or more, during which a
loop iterating ``fragment_stream`` serves nothing else, not the association's timers,
not the server's other associations. :func:`send_in_batches` advances the PDU iterator in
a worker (``asyncio.to_thread``, ``Responder.run_blocking``), about :data:`BATCH_BYTES` of
PDUs per call, and sends each batch on the loop while the worker produces the next::

    worker:  batch 1 (decode, copy)   batch 2 ...          batch 3 ...
    loop:                             send_pdus(batch 1)   send_pdus(batch 2)

A data set read from its file as it is goes straight to ``send_pdus``, as before: file
reads are page-cache copies, cheaper than a thread hop.

Invariants:

* The iterator is advanced by one worker call at a time, never concurrently: a generator
  may move between threads, not run in two. The loop only sends PDUs already produced.
* Two batches are held at most: the one being sent and the one being produced.
* A worker call in flight is waited for even when the sender is cancelled or sending
  fails, so that the caller's clean-up (closing the stream) never meets a read in
  progress.
* What the iterator raises (CodecError for a frame that does not decode,
  LocalProtocolError for a short stream, OSError) comes out of :func:`send_in_batches`
  as it is, after the batches before it were sent: the caller sees the failure it would
  see sending on the loop. A failure to send comes out first, once the worker is done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from functools import partial
from typing import Final, TypeAlias

from dicomkit.net.pdu import PDataTF

__all__ = ["BATCH_BYTES", "BlockingRunner", "PDUSender", "send_in_batches"]

#: PDU-length produced per worker call: large enough that the thread hop is a small part
#: of the work (a few hundred 16 KiB PDUs), small enough to bound what a batch holds.
BATCH_BYTES: Final = 2 * 1024 * 1024

#: Runs a blocking callable off the event loop and awaits its result.
BlockingRunner: TypeAlias = Callable[[Callable[[], list[PDataTF]]], Awaitable[list[PDataTF]]]
#: Sends PDUs on an association (``AssociationProtocol.send_pdus``, ``StoreChannel.send_pdus``).
PDUSender: TypeAlias = Callable[[list[PDataTF]], Awaitable[None]]


async def send_in_batches(
    send: PDUSender,
    pdus: Iterable[PDataTF],
    run: BlockingRunner,
    *,
    batch_bytes: int = BATCH_BYTES,
) -> None:
    """Send ``pdus``, produced by ``run`` (off the loop) in batches of about ``batch_bytes``.

    Each batch holds at least one PDU; the last may hold fewer bytes.

    Raises:
        Whatever advancing ``pdus`` or ``send`` raises.
    """
    if batch_bytes <= 0:
        raise ValueError(f"batch size {batch_bytes} is not positive")
    take = partial(_take, iter(pdus), batch_bytes)
    batch = await _produced(asyncio.ensure_future(run(take)))
    while batch:
        ahead = asyncio.ensure_future(run(take))  # the next batch, while this one is sent
        try:
            await send(batch)
        except BaseException:
            await _settled(ahead)
            raise
        batch = await _produced(ahead)


def _take(source: Iterator[PDataTF], batch_bytes: int) -> list[PDataTF]:
    """The next PDUs of ``source`` up to ``batch_bytes`` (at least one); [] at its end."""
    batch: list[PDataTF] = []
    size = 0
    for pdu in source:
        batch.append(pdu)
        size += pdu.length
        if size >= batch_bytes:
            break
    return batch


async def _produced(work: asyncio.Future[list[PDataTF]]) -> list[PDataTF]:
    """The batch ``work`` produces; cancelled meanwhile, the worker is still waited for."""
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await _settled(work)
        raise


async def _settled(work: asyncio.Future[list[PDataTF]]) -> None:
    """Wait until ``work`` is done, whatever its outcome and however often we are
    cancelled meanwhile: a thread cannot be stopped, and the caller closes the stream it
    reads once we return. Its result or error is dropped (the caller has its own)."""
    while not work.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait((work,))
    if not work.cancelled():
        work.exception()  # retrieved, so that asyncio does not report it as lost
