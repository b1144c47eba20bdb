"""The Query/Retrieve C-MOVE SCU (PS3.4 C.4.2; C-MOVE, PS3.7 §9.1.4 and §9.3.4).

Part of ``dicomkit.net.scu``, above ``dicomkit.net.aio.client``. :func:`move` asks an
SCP to send what ``identifier`` selects to the AE ``destination_ae`` (which the SCP must
know: its own configuration maps the title to an address); the instances travel on
another association, from the SCP to that destination. Each pending response is
handed to ``progress``; the final one is returned as a
:class:`~dicomkit.net.scu.retrieve.RetrieveResult`::

    result = await move("pacs", 104, AEConfig("ME"), "PACS", query, "ARCHIVE2",
                        progress=lambda p: print(p.completed, "of", p.total))

``cancel`` is asked after each pending response; once it returns True a C-CANCEL-RQ
is sent (PS3.7 §9.3.4.3) and the SCP's final response (FE00) is awaited. A refused
request (A801 unknown destination, A900, Cxxx) is a result, not an exception.
"""

from __future__ import annotations

import asyncio
import ssl

from dicomkit.data.dataset import Dataset
from dicomkit.errors import RemoteProtocolError
from dicomkit.net.aio.client import Association, associate
from dicomkit.net.config import AEConfig, RequestedContext, Timeouts
from dicomkit.net.dimse.commands import CMoveRQ, CMoveRSP, Priority
from dicomkit.net.dimse.status import is_final
from dicomkit.net.scu.retrieve import (
    MOVE_SOP_CLASS,
    CancelCheck,
    ProgressCallback,
    Retrieval,
    RetrieveResult,
    result_of,
)
from dicomkit.net.services.query_retrieve import QUERY_TRANSFER_SYNTAXES, InformationModel

__all__ = ["move", "move_on", "move_sync"]


async def move_on(
    association: Association,
    identifier: Dataset,
    destination_ae: str,
    *,
    sop_class_uid: str,
    priority: Priority = Priority.MEDIUM,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> RetrieveResult:
    """C-MOVE on an established association (see the module docstring).

    The DIMSE timeout applies between responses: an SCP that sends no pending
    responses must finish within it.

    Raises:
        RemoteProtocolError: a response that does not answer our request.
        LocalProtocolError: no accepted context for ``sop_class_uid``.
    """
    retrieval = await Retrieval.start(
        association,
        sop_class_uid,
        identifier,
        lambda message_id: CMoveRQ(message_id, sop_class_uid, destination_ae, priority),
        progress=progress,
        cancel=cancel,
    )
    message_id = retrieval.message_id
    while True:
        response = await association.receive()
        command = response.command
        if not isinstance(command, CMoveRSP) or command.message_id_being_responded_to != message_id:
            association.abort()
            raise RemoteProtocolError(f"expected a C-MOVE-RSP to message {message_id}, got {command!r}")
        if is_final(command.status):
            return result_of(response, retrieval.context.transfer_syntax)
        await retrieval.pending(command)


async def move(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    identifier: Dataset,
    destination_ae: str,
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
    priority: Priority = Priority.MEDIUM,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
) -> RetrieveResult:
    """Associate, C-MOVE ``identifier`` to ``destination_ae``, release; the final result.

    Raises:
        AssociationRejected, AssociationAborted, DicomTimeoutError, OSError: as
            :func:`~dicomkit.net.aio.client.associate`.
    """
    sop_class = MOVE_SOP_CLASS[model]
    contexts = [RequestedContext(sop_class, QUERY_TRANSFER_SYNTAXES)]
    async with associate(
        host, port, ae, called_ae_title, contexts, ssl_context=ssl_context, timeouts=timeouts
    ) as association:
        return await move_on(
            association,
            identifier,
            destination_ae,
            sop_class_uid=sop_class,
            priority=priority,
            progress=progress,
            cancel=cancel,
        )


def move_sync(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    identifier: Dataset,
    destination_ae: str,
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
    progress: ProgressCallback | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
) -> RetrieveResult:
    """:func:`move` for scripts and the CLI (runs its own event loop)."""
    return asyncio.run(
        move(
            host,
            port,
            ae,
            called_ae_title,
            identifier,
            destination_ae,
            model=model,
            progress=progress,
            ssl_context=ssl_context,
            timeouts=timeouts,
        )
    )
