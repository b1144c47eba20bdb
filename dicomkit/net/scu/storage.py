"""The Storage Service Class, SCU side (PS3.4 Annex B; C-STORE, PS3.7 §9.1.1 and §9.3.1).

Part of ``dicomkit.net.scu``, above ``dicomkit.net.aio.client``. :func:`store_files` sends
files and folders to a Storage SCP and returns one :class:`StoreResult` per file::

    paths --find_files/scan_instance--> instances (SOP class, SOP instance, transfer syntax)
          --propose--> associations of at most 128 presentation contexts each
          --per instance: choose context, stream (or convert), C-STORE-RQ / -RSP--> results

Negotiation: for each SOP class, one presentation context per transfer syntax its files
are in, plus Explicit and Implicit VR Little Endian as fallbacks, each context with a
single transfer syntax so that what the peer accepted is known per syntax. An instance
goes on the context of its own syntax when accepted: its data set is then streamed from
the file as it is (read one fragment at a time, pixel data never decoded or held
whole; a deflated data set of odd length is padded to even, as PDV fragments must be).
Otherwise it is converted to an accepted fallback while it is sent (``scu.conversion``:
the header re-encoded, native Pixel Data copied from the file in chunks, compressed
Pixel Data decoded a frame at a time, so memory does not grow with the object); only
what cannot be taken apart (a deflated file, a few odd pixel layouts) is converted in
memory (``instances.encode_for``). SOP classes beyond 128 contexts go on further
associations, one after the other.

Before anything is sent, each file's element lengths are checked against its size
(``instances.check_lengths``, headers only): a truncated file streamed as is makes the
peer abort the association mid-message, so it is refused locally instead.

Failures are reported per instance (``StoreResult.error``): a file that is not a DICOM
instance or is malformed, no accepted context, a conversion that is impossible, a
failure status. When an association breaks (the peer aborts, the connection drops, a
timeout), the instance in flight fails with the reason (``StoreResult.interrupted``)
and the rest go on a new association, negotiated as the first one was. After
:data:`MAX_BROKEN_ASSOCIATIONS` associations in a row broke before the peer answered a
single C-STORE on them, the instances still pending are reported not sent; so is every
pending instance when an association cannot be opened at all (refused, rejected).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Final

from dicomkit.data.uid import uid_name
from dicomkit.errors import DicomError, RemoteProtocolError
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.aio.client import Association, open_association
from dicomkit.net.config import AEConfig, RequestedContext, Timeouts
from dicomkit.net.dimse.batches import send_in_batches
from dicomkit.net.dimse.commands import CStoreRQ, CStoreRSP, Priority, encode_command
from dicomkit.net.dimse.fragment import fragment_message, fragment_stream
from dicomkit.net.dimse.status import StatusCategory, status_category, status_name
from dicomkit.net.scu.conversion import ConvertedStream, open_converted
from dicomkit.net.scu.instances import Instance, check_lengths, find_files, scan_instance
from dicomkit.part10.transfer_syntax import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    transfer_syntax,
)

__all__ = [
    "FALLBACK_SYNTAXES",
    "MAX_BROKEN_ASSOCIATIONS",
    "MAX_CONTEXTS",
    "StoreResult",
    "propose",
    "store_files",
    "store_files_sync",
]

#: Uncompressed syntaxes proposed for every SOP class, preferred first (PS3.5 §10.1:
#: Implicit VR Little Endian is the default every SCP supports).
FALLBACK_SYNTAXES: Final = (EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN)
#: Presentation context IDs are the odd numbers 1..255 (PS3.8 §9.3.2.2).
MAX_CONTEXTS: Final = 128
#: Associations in a row that may break before the peer answered any C-STORE on them;
#: then the batch gives up, so a peer that aborts every association ends it.
MAX_BROKEN_ASSOCIATIONS: Final = 3

ProgressCallback = Callable[["StoreResult"], None]


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What became of one file.

    Attributes:
        status: the C-STORE-RSP status; None when nothing was sent (see ``error``).
        transfer_syntax: the syntax it was sent in (None when not sent).
        converted: sent in another syntax than the file's.
        error: why it was not sent, or the peer's Error Comment.
        interrupted: it was being sent when the association broke, so it has no
            status; the peer may or may not have stored it.
    """

    path: Path
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    transfer_syntax: str | None = None
    status: int | None = None
    converted: bool = False
    error: str = ""
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Stored: Success or a Warning status."""
        return self.status is not None and status_category(self.status) in (
            StatusCategory.SUCCESS,
            StatusCategory.WARNING,
        )

    def describe(self) -> str:
        """One line for people: the status name or why it was not sent."""
        if self.status is None:
            return f"{'interrupted' if self.interrupted else 'not sent'}: {self.error}"
        text = status_name(self.status, service="C-STORE")
        return f"{text} ({self.error})" if self.error else text


def propose(instances: Iterable[Instance]) -> list[list[RequestedContext]]:
    """The presentation contexts to propose, split into associations of at most 128.

    All contexts of a SOP class go on the same association; SOP classes in UID order,
    each with its files' syntaxes (in order of appearance) and then the fallbacks.
    """
    syntaxes: dict[str, list[str]] = {}
    for instance in instances:
        wanted = syntaxes.setdefault(instance.sop_class_uid, [])
        if instance.transfer_syntax not in wanted:
            wanted.append(instance.transfer_syntax)
    groups: list[list[RequestedContext]] = []
    current: list[RequestedContext] = []
    for sop_class in sorted(syntaxes):
        offered = [*syntaxes[sop_class], *(ts for ts in FALLBACK_SYNTAXES if ts not in syntaxes[sop_class])]
        contexts = [RequestedContext(sop_class, (ts,)) for ts in offered]
        if len(contexts) > MAX_CONTEXTS:  # more syntaxes than PS3.5 defines: keep the first
            contexts = contexts[: MAX_CONTEXTS - len(FALLBACK_SYNTAXES)] + contexts[-len(FALLBACK_SYNTAXES) :]
        if current and len(current) + len(contexts) > MAX_CONTEXTS:
            groups.append(current)
            current = []
        current.extend(contexts)
    if current:
        groups.append(current)
    return groups


def _choose(contexts: Sequence[NegotiatedContext], instance: Instance) -> NegotiatedContext | None:
    """The accepted context for an instance: its own syntax, else a fallback."""
    accepted = {c.transfer_syntax: c for c in contexts if c.abstract_syntax == instance.sop_class_uid}
    for syntax in (instance.transfer_syntax, *FALLBACK_SYNTAXES):
        if syntax in accepted:
            return accepted[syntax]
    return None


def _why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return str(error) or type(error).__name__


class _Sender:
    """Sends instances on one association."""

    def __init__(self, association: Association) -> None:
        self.association = association

    async def send(self, instance: Instance) -> StoreResult:
        """Store one instance. Local problems become its result; network ones raise."""
        association = self.association
        context = _choose(association.contexts, instance)
        unsent = StoreResult(instance.path, instance.sop_class_uid, instance.sop_instance_uid)
        if context is None:
            name = uid_name(instance.sop_class_uid) or instance.sop_class_uid
            return _replace_error(unsent, f"the peer accepted no presentation context for {name}")
        target = context.transfer_syntax
        converted = target != instance.transfer_syntax
        payload: bytes | None = None
        stream: BinaryIO | ConvertedStream | None = None
        length = instance.dataset_length
        try:
            if converted:
                stream = await asyncio.to_thread(open_converted, instance, target)
                length = stream.length
            elif instance.dataset_length % 2 and transfer_syntax(target).deflated:
                payload = _padded(instance)
            else:
                stream = _open_dataset(instance)
        except (DicomError, OSError) as error:
            verb = f"cannot convert to {uid_name(target) or target}" if converted else "cannot read"
            return _replace_error(unsent, f"{verb}: {_why(error)}")
        message_id = association.next_message_id()
        command = CStoreRQ(message_id, instance.sop_class_uid, instance.sop_instance_uid, Priority.MEDIUM)
        if stream is None:
            await association.send_message(context.context_id, command, payload)
        else:
            with stream:
                maximum = association.peer_max_pdu_length
                pdus = chain(
                    fragment_message(context.context_id, encode_command(command), None, maximum),
                    fragment_stream(context.context_id, stream, length, maximum),
                )
                if isinstance(stream, ConvertedStream):  # reads decode frames: off the loop
                    await send_in_batches(association.protocol.send_pdus, pdus, asyncio.to_thread)
                else:
                    await association.protocol.send_pdus(pdus)
        response = (await association.receive()).command
        if not isinstance(response, CStoreRSP) or response.message_id_being_responded_to != message_id:
            association.abort()
            raise RemoteProtocolError(f"expected the C-STORE-RSP to message {message_id}, got {response!r}")
        return StoreResult(
            instance.path,
            instance.sop_class_uid,
            instance.sop_instance_uid,
            target,
            int(response.status),
            converted,
            response.error_comment or "",
        )


def _open_dataset(instance: Instance) -> BinaryIO:
    """The instance's file, positioned at its data set."""
    stream = open(instance.path, "rb")  # noqa: SIM115 - the caller closes it
    try:
        stream.seek(instance.dataset_offset)
    except BaseException:
        stream.close()
        raise
    return stream


def _padded(instance: Instance) -> bytes:
    """A deflated data set of odd length, padded to even (PS3.5 A.5; peers such as DCMTK
    refuse odd PDV fragments). Inflating stops at the end of the deflate stream."""
    with open(instance.path, "rb") as fp:
        fp.seek(instance.dataset_offset)
        return fp.read(instance.dataset_length) + b"\x00"


def _replace_error(result: StoreResult, error: str) -> StoreResult:
    return StoreResult(result.path, result.sop_class_uid, result.sop_instance_uid, error=error)


async def store_files(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    paths: Iterable[str | Path],
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
    recursive: bool = True,
    progress: ProgressCallback | None = None,
) -> list[StoreResult]:
    """C-STORE every file in ``paths`` (folders expanded) at ``called_ae_title@host:port``.

    Returns one result per file, in the order the files were found; ``progress`` is
    called with each result as soon as it is known. Never raises for what happens to a
    single instance or association; see the module docstring.
    """
    files = find_files(paths, recursive=recursive)
    results: list[StoreResult | None] = [None] * len(files)

    def record(index: int, result: StoreResult) -> None:
        results[index] = result
        if progress is not None:
            progress(result)

    scanned: list[tuple[int, Instance]] = []
    for index, path in enumerate(files):
        try:
            instance = scan_instance(path)
        except (DicomError, OSError) as error:
            record(index, StoreResult(path, error=f"not a DICOM instance: {_why(error)}"))
            continue
        try:
            check_lengths(instance)
        except (DicomError, OSError) as error:
            unsent = StoreResult(path, instance.sop_class_uid, instance.sop_instance_uid)
            record(index, _replace_error(unsent, f"malformed data set: {_why(error)}"))
            continue
        scanned.append((index, instance))
    for contexts in propose(instance for _, instance in scanned):
        classes = {context.abstract_syntax for context in contexts}
        batch = [(index, instance) for index, instance in scanned if instance.sop_class_uid in classes]
        await _store_batch(host, port, ae, called_ae_title, contexts, batch, record, ssl_context, timeouts)
    return [result for result in results if result is not None]


async def _store_batch(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    contexts: list[RequestedContext],
    batch: list[tuple[int, Instance]],
    record: Callable[[int, StoreResult], None],
    ssl_context: ssl.SSLContext | None,
    timeouts: Timeouts | None,
) -> None:
    """Send the batch on one association, or on new ones when one breaks (bounded)."""
    pending = deque(batch)

    def fail(index: int, instance: Instance, why: str, *, interrupted: bool = False) -> None:
        path, sop_class, sop_instance = instance.path, instance.sop_class_uid, instance.sop_instance_uid
        record(index, StoreResult(path, sop_class, sop_instance, error=why, interrupted=interrupted))

    def fail_pending(why: str) -> None:
        while pending:
            fail(*pending.popleft(), why)

    broken = 0  # associations in a row that broke before the peer answered a C-STORE
    while pending:
        try:
            association = await open_association(
                host, port, ae, called_ae_title, contexts, ssl_context=ssl_context, timeouts=timeouts
            )
        except (DicomError, OSError) as error:
            fail_pending(f"association failed: {_why(error)}")
            return
        sender = _Sender(association)
        try:
            while pending:
                index, instance = pending[0]
                result = await sender.send(instance)
                pending.popleft()
                if result.status is not None:
                    broken = 0
                record(index, result)
        except (DicomError, OSError) as error:
            association.abort()
            why = _why(error)
            fail(*pending.popleft(), f"association broke while sending it: {why}", interrupted=True)
            broken += 1
            if broken >= MAX_BROKEN_ASSOCIATIONS:
                fail_pending(f"gave up after {broken} associations in a row broke (the last: {why})")
            continue
        # Every instance has its answer: a lost A-RELEASE-RP changes none of them.
        with contextlib.suppress(DicomError):
            await association.release()


def store_files_sync(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    paths: Iterable[str | Path],
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
    recursive: bool = True,
    progress: ProgressCallback | None = None,
) -> list[StoreResult]:
    """:func:`store_files` for scripts and the CLI (runs its own event loop)."""
    return asyncio.run(
        store_files(
            host,
            port,
            ae,
            called_ae_title,
            paths,
            ssl_context=ssl_context,
            timeouts=timeouts,
            recursive=recursive,
            progress=progress,
        )
    )
