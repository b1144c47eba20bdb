"""The Query/Retrieve C-FIND SCU (PS3.4 C.4.1; C-FIND, PS3.7 §9.1.2 and §9.3.2).

Part of ``dicomkit.net.scu``, above ``dicomkit.net.aio.client``. :func:`find` opens an
association, sends one C-FIND-RQ with the query identifier and yields each match as
it arrives (an async generator); :func:`find_on` does the same on an association the
caller holds; :func:`find_sync` collects the matches for scripts and the CLI::

    async for match in find("pacs", 104, AEConfig("ME"), "PACS", query, limit=50):
        print(match.get_str(tags.PatientName))

A failure status ends the search with :class:`~dicomkit.errors.DimseStatusError` (its
status and Error Comment). With ``limit``, a C-CANCEL-RQ is sent once that many matches
have arrived, and the matches still in flight are dropped. Closing the generator early
cancels the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Final

from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError, DimseStatusError, RemoteProtocolError
from dicomkit.net.aio.client import Association, associate
from dicomkit.net.config import AEConfig, RequestedContext, Timeouts
from dicomkit.net.dimse.assemble import MemorySink
from dicomkit.net.dimse.commands import CCancelRQ, CFindRQ, CFindRSP, Priority
from dicomkit.net.dimse.status import StatusCategory, status_category
from dicomkit.net.services.query_retrieve import (
    PATIENT_ROOT_FIND,
    QUERY_TRANSFER_SYNTAXES,
    STUDY_ROOT_FIND,
    InformationModel,
)
from dicomkit.part10.reader import read_dataset
from dicomkit.part10.writer import encode_dataset

__all__ = ["FIND_SOP_CLASS", "find", "find_on", "find_sync"]

#: The FIND SOP class of each information model.
FIND_SOP_CLASS: Final = {
    InformationModel.PATIENT_ROOT: PATIENT_ROOT_FIND,
    InformationModel.STUDY_ROOT: STUDY_ROOT_FIND,
}


async def find_on(
    association: Association,
    identifier: Dataset,
    *,
    sop_class_uid: str = STUDY_ROOT_FIND,
    priority: Priority = Priority.MEDIUM,
    limit: int | None = None,
) -> AsyncGenerator[Dataset, None]:
    """C-FIND on an established association; yields the matches (see the module docstring).

    Raises:
        DimseStatusError: the SCP answered with a failure status.
        RemoteProtocolError: a response that does not answer our request.
        LocalProtocolError: no accepted context for ``sop_class_uid``.
    """
    context = association.context_for(sop_class_uid)
    message_id = association.next_message_id()
    payload = encode_dataset(identifier, context.transfer_syntax)
    await association.send_message(context.context_id, CFindRQ(message_id, sop_class_uid, priority), payload)
    received = 0
    cancelled = False
    try:
        while True:
            response = await association.receive()
            command = response.command
            if not isinstance(command, CFindRSP) or command.message_id_being_responded_to != message_id:
                association.abort()
                raise RemoteProtocolError(f"expected a C-FIND-RSP to message {message_id}, got {command!r}")
            category = status_category(command.status)
            if category is StatusCategory.PENDING:
                if cancelled:
                    continue
                sink = response.dataset
                if not isinstance(sink, MemorySink):
                    raise RemoteProtocolError("a pending C-FIND-RSP without an identifier")
                match = read_dataset(sink.getvalue(), context.transfer_syntax)
                received += 1
                if limit is not None and received >= limit:
                    cancelled = True
                    await association.send_message(context.context_id, CCancelRQ(message_id))
                yield match
                continue
            if category is StatusCategory.FAILURE:
                raise DimseStatusError(command.status, command.error_comment or "")
            return  # success, warning or cancel: the search is over
    except GeneratorExit:
        # Closed early: cancel, and read to the final response so the association
        # stays usable.
        if not cancelled and association.is_established:
            with contextlib.suppress(DicomError, OSError):
                await association.send_message(context.context_id, CCancelRQ(message_id))
                while True:
                    command = (await association.receive()).command
                    if isinstance(command, CFindRSP) and status_category(command.status) not in (
                        StatusCategory.PENDING,
                    ):
                        break
        raise


def find_contexts(sop_class_uid: str) -> list[RequestedContext]:
    return [RequestedContext(sop_class_uid, QUERY_TRANSFER_SYNTAXES)]


async def find(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    identifier: Dataset,
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
    priority: Priority = Priority.MEDIUM,
    limit: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
) -> AsyncIterator[Dataset]:
    """Associate, C-FIND ``identifier`` in ``model``, yield the matches, release.

    Raises:
        DimseStatusError: the SCP answered with a failure status.
        AssociationRejected, AssociationAborted, DicomTimeoutError, OSError: as
            :func:`~dicomkit.net.aio.client.associate`.
    """
    sop_class = FIND_SOP_CLASS[model]
    async with associate(
        host, port, ae, called_ae_title, find_contexts(sop_class), ssl_context=ssl_context, timeouts=timeouts
    ) as association:
        matches = find_on(association, identifier, sop_class_uid=sop_class, priority=priority, limit=limit)
        try:
            async for match in matches:
                yield match
        finally:
            await matches.aclose()


def find_sync(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    identifier: Dataset,
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
    limit: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
) -> list[Dataset]:
    """:func:`find` for scripts and the CLI: every match, in order (runs its own loop)."""

    async def run() -> list[Dataset]:
        return [
            match
            async for match in find(
                host,
                port,
                ae,
                called_ae_title,
                identifier,
                model=model,
                limit=limit,
                ssl_context=ssl_context,
                timeouts=timeouts,
            )
        ]

    return asyncio.run(run())
