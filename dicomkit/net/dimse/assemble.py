"""Reassembly of DIMSE messages from presentation data values (PS3.7 §8, PS3.8 Annex E).

The receiving half of ``fragment.py``: :class:`MessageAssembler` takes the PDVs of
P-DATA indications in order and returns each :class:`Message` once its command set and,
when CommandDataSetType announces one, its data set are complete. Pure: no I/O beyond
what a sink does.

Command fragments are small and joined in memory (bounded by ``MAX_COMMAND_LENGTH``,
checked before buffering). Data set fragments go straight to a :class:`DataSink` chosen
per message by ``sink_factory`` once the command is known, so a C-STORE data set can be
streamed to a temporary file on the archive volume and is never held whole in memory.

Invariants (every violation is the peer's and raises :class:`RemoteProtocolError`, after
which the association is aborted):
    * a message starts with a command fragment; data set fragments follow only a complete
      command set that announces a data set;
    * all fragments of a message carry the presentation context ID of its first one, and
      a message is complete before the next one starts (no interleaving);
    * a command fragment never arrives while a data set is incomplete.
On any error the pending sink is aborted before the exception leaves ``feed``. A local
failure of the sink (``OSError``: disk full) is not the peer's: the rest of that data
set is read and dropped and the message is returned with ``sink_error`` set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from dicomkit.errors import RemoteProtocolError
from dicomkit.net.dimse.command_set import MAX_COMMAND_LENGTH
from dicomkit.net.dimse.commands import DimseMessage, decode_command
from dicomkit.net.pdu import PresentationDataValue

__all__ = ["DataSink", "FileSink", "MemorySink", "Message", "MessageAssembler", "SinkFactory"]


class DataSink(Protocol):
    """Where the data set of a received message is written, fragment by fragment."""

    def write(self, data: bytes | memoryview) -> None:
        """Append one fragment (a view into the received PDU: copy what you keep)."""

    def close(self) -> None:
        """The data set is complete."""

    def abort(self) -> None:
        """The message will never complete: discard what was written."""


class MemorySink:
    """A sink that keeps the data set in memory, optionally bounded by ``limit`` bytes."""

    __slots__ = ("_buffer", "closed", "limit")

    def __init__(self, *, limit: int | None = None) -> None:
        self._buffer = bytearray()
        self.limit = limit
        self.closed = False

    def write(self, data: bytes | memoryview) -> None:
        if self.limit is not None and len(self._buffer) + len(data) > self.limit:
            raise RemoteProtocolError(f"data set exceeds the {self.limit}-byte limit of this receiver")
        self._buffer += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self._buffer = bytearray()
        self.closed = True

    @property
    def size(self) -> int:
        return len(self._buffer)

    def getvalue(self) -> bytes:
        """The data set received so far (all of it once closed)."""
        return bytes(self._buffer)


class FileSink:
    """A sink that writes each fragment to a file as it arrives.

    Given a path, the file is created (truncated) at once, closed by :meth:`close` and
    deleted by :meth:`abort`. Given an open binary file, the caller keeps ownership:
    :meth:`close` only flushes it and :meth:`abort` leaves it to the caller. Making the
    file durable (``fsync``, rename into place) is the caller's step after ``close``.
    """

    __slots__ = ("_fp", "_owned", "path", "size")

    def __init__(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        self.size = 0
        if isinstance(target, str | os.PathLike):
            self.path: str | None = os.fspath(target)
            self._fp: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by close()/abort()
            self._owned = True
        else:
            self.path = None
            self._fp = target
            self._owned = False

    def write(self, data: bytes | memoryview) -> None:
        self._fp.write(data)
        self.size += len(data)

    def close(self) -> None:
        if self._owned:
            self._fp.close()
        else:
            self._fp.flush()

    def abort(self) -> None:
        if not self._owned:
            return
        self._fp.close()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


SinkFactory = Callable[[int, DimseMessage], DataSink]


@dataclass(frozen=True, slots=True)
class Message:
    """A complete DIMSE message: its presentation context, command and data set (or None)."""

    context_id: int
    command: DimseMessage
    dataset: DataSink | None
    #: Set when the data set was announced but could not be kept: the sink factory,
    #: a write or the close failed locally (disk full, ...). The rest of the data set
    #: was read and dropped, ``dataset`` is None, and the association stays usable, so
    #: the SCP can answer with a failure status (e.g. A700 out of resources).
    sink_error: OSError | None = None


def _memory_sink(context_id: int, command: DimseMessage) -> DataSink:
    return MemorySink()


class MessageAssembler:
    """Builds DIMSE messages from PDVs, validating their order (PS3.8 Annex E)."""

    __slots__ = (
        "_command",
        "_context_id",
        "_last_command",
        "_max_command_length",
        "_parts",
        "_sink",
        "_sink_error",
        "_sink_factory",
        "_size",
    )

    def __init__(
        self,
        *,
        sink_factory: SinkFactory | None = None,
        max_command_length: int = MAX_COMMAND_LENGTH,
    ) -> None:
        self._sink_factory: SinkFactory = sink_factory or _memory_sink
        self._max_command_length = max_command_length
        self._context_id: int | None = None  # context of the message in progress
        self._parts: list[bytes] = []
        self._size = 0
        self._command: DimseMessage | None = None  # set while its data set arrives
        self._sink: DataSink | None = None
        self._sink_error: OSError | None = None
        # The last command set decoded, raw and decoded: consecutive pending responses
        # (C-FIND, C-GET) carry byte-identical command sets, decoded once.
        self._last_command: tuple[bytes, DimseMessage] | None = None

    @property
    def in_progress(self) -> bool:
        """True between the first fragment of a message and its last."""
        return self._context_id is not None

    def feed(self, pdv: PresentationDataValue) -> Message | None:
        """Take the next PDV; the message it completes, if any.

        Raises:
            RemoteProtocolError: fragments out of order, from another presentation
                context, a command set over the bound or one that does not decode.
        """
        try:
            if self._command is None:
                return self._feed_command(pdv)
            return self._feed_data(pdv, self._command)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the message in progress (the association ended): its sink is aborted."""
        sink = self._sink
        self._reset()
        if sink is not None:
            sink.abort()

    def _reset(self) -> None:
        self._context_id = None
        self._parts = []
        self._size = 0
        self._command = None
        self._sink = None
        self._sink_error = None

    def _feed_command(self, pdv: PresentationDataValue) -> Message | None:
        context_id = pdv.context_id
        if not pdv.is_command:
            raise RemoteProtocolError(
                f"data set fragment on presentation context {context_id} without a command set before it"
            )
        if self._context_id is None:
            self._context_id = context_id
        elif context_id != self._context_id:
            raise RemoteProtocolError(
                f"command fragment on presentation context {context_id} interleaved with a command "
                f"on context {self._context_id}"
            )
        size = self._size + len(pdv.data)
        if size > self._max_command_length:
            raise RemoteProtocolError(f"command set exceeds {self._max_command_length} bytes")
        self._size = size
        self._parts.append(bytes(pdv.data))
        if not pdv.is_last:
            return None
        raw = b"".join(self._parts)
        self._parts = []
        last = self._last_command
        if last is not None and last[0] == raw:
            command = last[1]  # frozen: sharing it is safe
        else:
            command = decode_command(raw)
            self._last_command = (raw, command)
        if not command.has_dataset:
            self._reset()
            return Message(context_id, command, None)
        self._command = command
        try:
            self._sink = self._sink_factory(context_id, command)
        except OSError as exc:
            self._sink_error = exc
        return None

    def _feed_data(self, pdv: PresentationDataValue, command: DimseMessage) -> Message | None:
        context_id = self._context_id
        if pdv.is_command:
            raise RemoteProtocolError(
                f"command fragment while the data set of a {command.command_field.message_name} is incomplete"
            )
        if pdv.context_id != context_id:
            raise RemoteProtocolError(
                f"data set fragment on presentation context {pdv.context_id} within a message "
                f"on context {context_id}"
            )
        assert context_id is not None  # set together with _command
        sink = self._sink
        if sink is not None:
            try:
                sink.write(pdv.data)
                if pdv.is_last:
                    sink.close()
            except OSError as exc:
                self._drop_sink(exc)
                sink = None
        if not pdv.is_last:
            return None
        error = self._sink_error
        self._reset()
        return Message(context_id, command, sink, error)

    def _drop_sink(self, error: OSError) -> None:
        """A local failure of the sink: abort it, read the rest of the data set into nothing."""
        sink = self._sink
        self._sink = None
        self._sink_error = error
        if sink is not None:
            with contextlib.suppress(OSError):
                sink.abort()
