"""The Query/Retrieve C-GET SCU (PS3.4 C.4.3; C-GET, PS3.7 §9.1.3 and §9.3.3).

Part of ``dicomkit.net.scu``, above ``dicomkit.net.aio.client``. :func:`get` retrieves
what ``identifier`` selects on one association, acting as Storage SCP for the C-STORE
sub-operations the peer sends on it::

    A-ASSOCIATE-RQ: the GET context; one context per storage SOP class (every transfer
                    syntax we can keep) with SCP/SCU Role Selection: SCP role for us
    C-GET-RQ --> C-STORE-RQ (peer) --StorageService + handler--> C-STORE-RSP (us) ...
                 C-GET-RSP FF00 (counts) --> progress ... C-GET-RSP final --> RetrieveResult

Received instances go to a :class:`~dicomkit.net.services.storage.StorageHandler` (the
same interface as our Storage SCP, so the same checks and sink contract apply), or to
a folder through :class:`~dicomkit.net.services.storage.FileStorageHandler`. At most 127
storage SOP classes fit beside the GET context; by default the common imaging ones
first, then the registry's others in UID order (``sop_classes`` chooses).
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Final, ParamSpec, TypeVar

from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import storage_sop_classes
from dicomkit.errors import DimseStatusError, RemoteProtocolError
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.aio.client import Association, associate
from dicomkit.net.config import AEConfig, RequestedContext, Timeouts
from dicomkit.net.dimse.assemble import DataSink, MemorySink, Message
from dicomkit.net.dimse.commands import (
    CGetRQ,
    CGetRSP,
    CStoreRQ,
    DimseMessage,
    Priority,
    failure_response,
)
from dicomkit.net.dimse.status import PROCESSING_FAILURE, StatusCategory, is_final, status_category
from dicomkit.net.pdu import PDataTF
from dicomkit.net.scu.retrieve import (
    GET_SOP_CLASS,
    CancelCheck,
    ProgressCallback,
    Retrieval,
    RetrieveResult,
    result_of,
)
from dicomkit.net.scu.storage import MAX_CONTEXTS
from dicomkit.net.services.protocols import AssociationInfo, ServiceRequest
from dicomkit.net.services.query_retrieve import IDENTIFIER_LIMIT, QUERY_TRANSFER_SYNTAXES, InformationModel
from dicomkit.net.services.storage import (
    FileStorageHandler,
    StorageHandler,
    StorageService,
)
from dicomkit.part10.transfer_syntax import EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN

__all__ = ["COMMON_STORAGE_SOP_CLASSES", "GET_TRANSFER_SYNTAXES", "get", "get_contexts", "get_sync"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: Proposed first when no SOP classes are named: what archives mostly hold.
COMMON_STORAGE_SOP_CLASSES: Final = (
    uids.CTImageStorage,
    uids.EnhancedCTImageStorage,
    uids.MRImageStorage,
    uids.EnhancedMRImageStorage,
    uids.ComputedRadiographyImageStorage,
    uids.DigitalXRayImageStorageForPresentation,
    uids.DigitalMammographyXRayImageStorageForPresentation,
    uids.UltrasoundImageStorage,
    uids.UltrasoundMultiFrameImageStorage,
    uids.SecondaryCaptureImageStorage,
    uids.MultiFrameTrueColorSecondaryCaptureImageStorage,
    uids.XRayAngiographicImageStorage,
    uids.XRayRadiofluoroscopicImageStorage,
    uids.NuclearMedicineImageStorage,
    uids.PositronEmissionTomographyImageStorage,
    uids.RTImageStorage,
    uids.RTDoseStorage,
    uids.RTStructureSetStorage,
    uids.RTPlanStorage,
    uids.BasicTextSRStorage,
    uids.EnhancedSRStorage,
    uids.ComprehensiveSRStorage,
    uids.KeyObjectSelectionDocumentStorage,
    uids.GrayscaleSoftcopyPresentationStateStorage,
    uids.EncapsulatedPDFStorage,
    uids.VLPhotographicImageStorage,
    uids.SegmentationStorage,
)

#: What we ask to receive by default: uncompressed, as DCMTK's getscu does (a compressed
#: proposal would let the SCP pick one codec for every instance of a SOP class).
GET_TRANSFER_SYNTAXES: Final = (EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN)


def get_contexts(
    sop_class_uid: str,
    storage_classes: Iterable[str] | None = None,
    transfer_syntaxes: tuple[str, ...] = GET_TRANSFER_SYNTAXES,
) -> list[RequestedContext]:
    """The GET context, then storage contexts with the SCP role for us (at most 128 in all).

    One context per SOP class carries all of ``transfer_syntaxes``; the SCP picks one,
    and converts instances held in another.
    """
    if storage_classes is None:
        rest = storage_sop_classes(include_retired=False)
        storage_classes = (
            *COMMON_STORAGE_SOP_CLASSES,
            *(u for u in rest if u not in COMMON_STORAGE_SOP_CLASSES),
        )
    chosen = list(dict.fromkeys(storage_classes))[: MAX_CONTEXTS - 1]
    return [
        RequestedContext(sop_class_uid, QUERY_TRANSFER_SYNTAXES),
        *(RequestedContext(uid, transfer_syntaxes, scu_role=False, scp_role=True) for uid in chosen),
    ]


class _StoreResponder:
    """The Responder StorageService answers one incoming C-STORE-RQ through."""

    __slots__ = ("_association", "_context_id", "status")

    def __init__(self, association: Association, context_id: int) -> None:
        self._association = association
        self._context_id = context_id
        self.status: int | None = None

    @property
    def cancelled(self) -> bool:
        return False

    async def send(self, command: DimseMessage, dataset: bytes | None = None) -> None:
        self.status = getattr(command, "status", None)
        await self._association.send_message(self._context_id, command, dataset)

    async def run_blocking(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await asyncio.to_thread(function, *args, **kwargs)

    @property
    def peer_max_pdu_length(self) -> int:
        return self._association.peer_max_pdu_length

    async def send_pdus(self, pdus: Iterable[PDataTF]) -> None:
        await self._association.protocol.send_pdus(pdus)

    async def receive(self, timeout: float | None = None) -> Message:
        return await self._association.receive(timeout)


class _Receiver:
    """Routes the data sets of incoming messages and stores incoming instances."""

    def __init__(self, handler: StorageHandler, ae: AEConfig, called_ae_title: str) -> None:
        self.service = StorageService(handler, sop_classes=storage_sop_classes(include_non_patient=True))
        self.contexts: dict[int, NegotiatedContext] = {}
        self.info = AssociationInfo(0, called_ae_title, ae.ae_title, "", 0, False, ())
        self.received = 0

    def sink_for(self, context_id: int, command: DimseMessage) -> DataSink:
        context = self.contexts.get(context_id)
        if isinstance(command, CStoreRQ) and context is not None:
            return self.service.sink_for(context, command, self.info)
        return MemorySink(limit=IDENTIFIER_LIMIT)

    def bind(self, association: Association) -> None:
        self.contexts = {context.context_id: context for context in association.contexts}
        self.info = AssociationInfo(
            0,
            self.info.calling_ae_title,
            self.info.called_ae_title,
            association.protocol.peer[0],
            association.protocol.peer[1],
            association.protocol.tls,
            association.contexts,
        )

    async def store(self, association: Association, message: Message) -> None:
        context = self.contexts[message.context_id]
        responder = _StoreResponder(association, message.context_id)
        await self.service.handle(ServiceRequest(self.info, context, message), responder)
        if responder.status is not None and status_category(responder.status) in (
            StatusCategory.SUCCESS,
            StatusCategory.WARNING,
        ):
            self.received += 1


async def _get_on(
    association: Association,
    receiver: _Receiver,
    identifier: Dataset,
    *,
    sop_class_uid: str,
    priority: Priority = Priority.MEDIUM,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> RetrieveResult:
    """C-GET on an association opened with ``receiver.sink_for`` as its sink factory."""
    receiver.bind(association)
    retrieval = await Retrieval.start(
        association,
        sop_class_uid,
        identifier,
        lambda message_id: CGetRQ(message_id, sop_class_uid, priority),
        progress=progress,
        cancel=cancel,
    )
    message_id = retrieval.message_id
    while True:
        message = await association.receive()
        command = message.command
        if isinstance(command, CStoreRQ):
            try:
                await receiver.store(association, message)
            except Exception as error:  # the service raised instead of answering: answer 0110
                status = error.status if isinstance(error, DimseStatusError) else PROCESSING_FAILURE
                comment = error.comment if isinstance(error, DimseStatusError) else type(error).__name__
                await association.send_message(message.context_id, failure_response(command, status, comment))
        elif isinstance(command, CGetRSP) and command.message_id_being_responded_to == message_id:
            if is_final(command.status):
                return result_of(message, retrieval.context.transfer_syntax, received=receiver.received)
            await retrieval.pending(command)
        else:
            association.abort()
            raise RemoteProtocolError(f"unexpected {command!r} during the C-GET of message {message_id}")


async def get(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    identifier: Dataset,
    store: StorageHandler | str | os.PathLike[str],
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
    sop_classes: Sequence[str] | None = None,
    transfer_syntaxes: tuple[str, ...] = GET_TRANSFER_SYNTAXES,
    priority: Priority = Priority.MEDIUM,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
) -> RetrieveResult:
    """Associate, C-GET ``identifier``, store what arrives with ``store``, release.

    ``store`` is a StorageHandler or a folder (instances written as
    ``<SOP Instance UID>.dcm``). ``cancel`` is asked after each pending response; once it returns
    True a C-CANCEL-RQ is sent.

    Raises:
        AssociationRejected, AssociationAborted, DicomTimeoutError, OSError: as
            :func:`~dicomkit.net.aio.client.associate`.
        RemoteProtocolError: a message that has no place in a C-GET.
    """
    handler = FileStorageHandler(store, fsync=False) if isinstance(store, str | os.PathLike) else store
    sop_class = GET_SOP_CLASS[model]
    receiver = _Receiver(handler, ae, called_ae_title)
    async with associate(
        host,
        port,
        ae,
        called_ae_title,
        get_contexts(sop_class, sop_classes, transfer_syntaxes),
        ssl_context=ssl_context,
        timeouts=timeouts,
        sink_factory=receiver.sink_for,
    ) as association:
        return await _get_on(
            association,
            receiver,
            identifier,
            sop_class_uid=sop_class,
            priority=priority,
            progress=progress,
            cancel=cancel,
        )


def get_sync(
    host: str,
    port: int,
    ae: AEConfig,
    called_ae_title: str,
    identifier: Dataset,
    store: StorageHandler | str | os.PathLike[str],
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
    sop_classes: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeouts: Timeouts | None = None,
) -> RetrieveResult:
    """:func:`get` for scripts and the CLI (runs its own event loop)."""
    return asyncio.run(
        get(
            host,
            port,
            ae,
            called_ae_title,
            identifier,
            store,
            model=model,
            sop_classes=sop_classes,
            progress=progress,
            ssl_context=ssl_context,
            timeouts=timeouts,
        )
    )
