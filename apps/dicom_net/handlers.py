"""The one place that binds dicomkit's service Protocols to this product's services.

dicomkit's DIMSE service classes (``dicomkit.net.services``) call handlers through typed
Protocols; :func:`service_handlers` assembles the service classes the server dispatches to,
and :func:`supported_contexts` derives from them what we accept in association negotiation
(read by ``services.server_config``), so the two cannot disagree.

- Verification (PS3.4 Annex A, C-ECHO): answered Success by dicomkit's service class.
- Query/Retrieve (PS3.4 Annex C): C-FIND, C-MOVE and C-GET on the Patient Root and Study
  Root models, answered by the archive handlers of ``query_retrieve`` (query engine,
  remote nodes as move destinations). The storage contexts also grant the SCP role to a
  C-GET requestor (``query_retrieve_contexts``), for the sub-operations on its association.
- Storage (PS3.4 Annex B, C-STORE) for every storage SOP class of the UID registry, in
  every transfer syntax dicomkit reads; compressed data sets are stored as received.
  :class:`ArchiveStorageHandler` streams each data set into the archive's ingest sink::

      C-STORE-RQ command  --open_sink (event loop)--> archive ingest_session() -> IngestSink
      data set fragments  ------------------------------> sink.write() ... close()
      complete            --on_store (handler thread)--> sink.commit(): parse, fsync, rows
                                                        -> 0000H, or IngestError -> status

Domain errors become DIMSE statuses in one place: :func:`store_status_for` answers an
``IngestError`` with the status of ``apps.archive.errors.C_STORE_STATUS`` (the one table
from refusal to C-STORE status), its Error Comment and Offending Element. Anything else a
handler raises is answered 0110H Processing failure by dicomkit's dispatcher.
"""

from __future__ import annotations

import asyncio

from django.db import close_old_connections

from apps.archive.errors import IngestError
from apps.archive.services import IngestSink, ingest_session
from apps.dicom_net.conf import dicom_settings
from apps.dicom_net.connection_hygiene import connection_hygiene
from apps.dicom_net.models import DimseOperation
from apps.dicom_net.peer_access import KnownPeersPolicy, known_peers_required, peer_refusal
from apps.dicom_net.query_retrieve import ArchiveFindHandler, ArchiveGetHandler, ArchiveMoveHandler
from dicomkit.data import uids
from dicomkit.net.config import SupportedContext, Timeouts
from dicomkit.net.dimse.assemble import DataSink
from dicomkit.net.dimse.status import NOT_AUTHORIZED
from dicomkit.net.services import (
    STORAGE_TRANSFER_SYNTAXES,
    EchoRequest,
    IncomingStore,
    ServiceHandlers,
    StorageService,
    StoreRequest,
    StoreStatus,
    VerificationService,
)
from dicomkit.net.services.find import FindService
from dicomkit.net.services.get import GetService
from dicomkit.net.services.move import MoveService
from dicomkit.net.services.query_retrieve import (
    FIND_SOP_CLASSES,
    GET_SOP_CLASSES,
    MOVE_SOP_CLASSES,
    query_retrieve_contexts,
)
from dicomkit.net.services.retrieve import RetrieveOptions

__all__ = [
    "NATIVE_TRANSFER_SYNTAXES",
    "ArchiveStorageHandler",
    "ArchiveVerificationHandler",
    "service_handlers",
    "store_status_for",
    "supported_contexts",
]

# Uncompressed transfer syntaxes of the non-storage SOP classes, preferred first (PS3.5 §10).
NATIVE_TRANSFER_SYNTAXES = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)


def store_status_for(error: IngestError) -> StoreStatus:
    """The C-STORE-RSP for a refused instance (status from ``C_STORE_STATUS``)."""
    offending = () if error.offending_tag is None else (error.offending_tag,)
    return StoreStatus(error.status, error.error_comment, offending)


class ArchiveStorageHandler:
    """dicomkit's ``StorageHandler`` backed by the archive's ingest pipeline.

    ``open_sink`` runs on the event loop and only creates the staging file (no database);
    ``on_store`` commits in the server's handler thread pool, where the success answer is
    sent only after the file is durable and its rows are committed. Commits run Django's
    connection hygiene (``close_old_connections``) as requests would, but at most once a
    second per thread (see ``connection_hygiene``), so a thread never keeps a broken
    or expired connection for long.
    """

    def open_sink(self, incoming: IncomingStore) -> DataSink:
        return ingest_session(
            sop_class_uid=incoming.sop_class_uid,
            sop_instance_uid=incoming.sop_instance_uid,
            transfer_syntax=incoming.transfer_syntax,
            source_ae=incoming.association.calling_ae_title,
        )

    async def on_store(self, request: StoreRequest) -> StoreStatus:
        sink = request.sink
        if not isinstance(sink, IngestSink):
            raise TypeError(f"ArchiveStorageHandler cannot commit a {type(sink).__name__}")
        return await request.run_blocking(_commit, sink, request.association.calling_ae_title)


def _commit(sink: IngestSink, calling_ae_title: str) -> StoreStatus:
    """Runs in a handler thread: store and index the received instance."""
    connection_hygiene()
    try:
        refusal = peer_refusal(calling_ae_title, DimseOperation.STORE) if known_peers_required() else None
        if refusal is not None:
            sink.abort()
            return StoreStatus(NOT_AUTHORIZED, refusal)
        result = sink.commit()
    except IngestError as error:
        return store_status_for(error)
    finally:
        connection_hygiene()
    return StoreStatus(result.status)


class ArchiveVerificationHandler:
    """C-ECHO: Success, or 0124H for a peer the known-peers rule does not allow to echo."""

    async def on_echo(self, request: EchoRequest) -> int:
        if not known_peers_required():
            return 0x0000
        refusal = await asyncio.to_thread(_echo_refusal, request.association.calling_ae_title)
        return 0x0000 if refusal is None else NOT_AUTHORIZED


def _echo_refusal(calling_ae_title: str) -> str | None:
    close_old_connections()
    try:
        return peer_refusal(calling_ae_title, DimseOperation.ECHO)
    finally:
        close_old_connections()


# A pending C-MOVE/C-GET-RSP after every sub-operation, as DCMTK's dcmqrscp sends them:
# requestors show progress per instance, and the responses are small next to a C-STORE.
_RETRIEVE_OPTIONS = RetrieveOptions(pending_every=1)


def _sub_operation_timeouts() -> Timeouts:
    configured = dicom_settings().timeouts
    return Timeouts(
        artim=float(configured.artim),
        acse=float(configured.acse),
        dimse=None if configured.dimse is None else float(configured.dimse),
        network=None if configured.network is None else float(configured.network),
        connect=float(configured.acse),
    )


def service_handlers() -> ServiceHandlers:
    """The service classes of the product's AE (and the known-peers association policy)."""
    return ServiceHandlers(
        [
            VerificationService(ArchiveVerificationHandler()),
            StorageService(ArchiveStorageHandler()),
            FindService(ArchiveFindHandler()),
            MoveService(ArchiveMoveHandler(), options=_RETRIEVE_OPTIONS, timeouts=_sub_operation_timeouts()),
            GetService(ArchiveGetHandler(), options=_RETRIEVE_OPTIONS),
        ],
        policy=KnownPeersPolicy(),
    )


def supported_contexts(handlers: ServiceHandlers | None = None) -> tuple[SupportedContext, ...]:
    """The abstract syntaxes we accept as association-acceptor, with our transfer syntaxes.

    Storage SOP classes accept every syntax of ``STORAGE_TRANSFER_SYNTAXES`` (compressed
    first: what an SCU holds compressed is stored as received); the others the native ones.
    Query/Retrieve SOP classes come from dicomkit's ``query_retrieve_contexts``; with a
    C-GET service, the storage contexts also allow the requestor the SCP role (PS3.7
    D.3.3.4), so a C-GET SCU's Role Selection is granted.
    """
    handlers = handlers or service_handlers()
    sop_classes = handlers.sop_classes
    storage = next((s for s in handlers.services if isinstance(s, StorageService)), None)
    get = bool(sop_classes & GET_SOP_CLASSES)
    qr = query_retrieve_contexts(
        find=bool(sop_classes & FIND_SOP_CLASSES),
        move=bool(sop_classes & MOVE_SOP_CLASSES),
        get=get,
        storage_sop_classes=None if storage is None else sorted(storage.sop_classes),
        storage_transfer_syntaxes=STORAGE_TRANSFER_SYNTAXES,
    )
    covered = {context.abstract_syntax for context in qr}
    contexts: list[SupportedContext] = []
    for service in handlers.services:
        if isinstance(service, FindService | MoveService | GetService):
            continue
        for uid in sorted(service.sop_classes):
            if uid in covered:
                continue
            syntaxes = (
                STORAGE_TRANSFER_SYNTAXES if isinstance(service, StorageService) else NATIVE_TRANSFER_SYNTAXES
            )
            contexts.append(SupportedContext(uid, syntaxes))
    return (*contexts, *qr)
