"""The one place that binds dicomkit's service Protocols to this product's services.

dicomkit's DIMSE service classes (``dicomkit.net.services``) call handlers through typed
Protocols; :func:`service_handlers` assembles the service classes the server dispatches to,
and :func:`supported_contexts` derives from them what we accept in association negotiation
(read by ``services.server_config``), so the two cannot disagree.

- Verification (PS3.4 Annex A, C-ECHO): answered Success by dicomkit's service class.
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

from django.db import close_old_connections

from apps.archive.errors import IngestError
from apps.archive.services import IngestSink, ingest_session
from dicomkit.data import uids
from dicomkit.net.config import SupportedContext
from dicomkit.net.dimse.assemble import DataSink
from dicomkit.net.services import (
    STORAGE_TRANSFER_SYNTAXES,
    IncomingStore,
    ServiceHandlers,
    StorageService,
    StoreRequest,
    StoreStatus,
    VerificationService,
)

__all__ = [
    "NATIVE_TRANSFER_SYNTAXES",
    "ArchiveStorageHandler",
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
    sent only after the file is durable and its rows are committed. Each commit starts
    and ends with Django's connection hygiene (``close_old_connections``), as a request
    would, so a thread never keeps a broken or expired connection.
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
        return await request.run_blocking(_commit, sink)


def _commit(sink: IngestSink) -> StoreStatus:
    """Runs in a handler thread: store and index the received instance."""
    close_old_connections()
    try:
        result = sink.commit()
    except IngestError as error:
        return store_status_for(error)
    finally:
        close_old_connections()
    return StoreStatus(result.status)


def service_handlers() -> ServiceHandlers:
    """The service classes of the product's AE."""
    return ServiceHandlers([VerificationService(), StorageService(ArchiveStorageHandler())])


def supported_contexts(handlers: ServiceHandlers | None = None) -> tuple[SupportedContext, ...]:
    """The abstract syntaxes we accept as association-acceptor, with our transfer syntaxes.

    Storage SOP classes accept every syntax of ``STORAGE_TRANSFER_SYNTAXES`` (compressed
    first: what an SCU holds compressed is stored as received); the others the native ones.
    """
    handlers = handlers or service_handlers()
    contexts: list[SupportedContext] = []
    for service in handlers.services:
        syntaxes = (
            STORAGE_TRANSFER_SYNTAXES if isinstance(service, StorageService) else NATIVE_TRANSFER_SYNTAXES
        )
        contexts.extend(SupportedContext(uid, syntaxes) for uid in sorted(service.sop_classes))
    return tuple(contexts)
