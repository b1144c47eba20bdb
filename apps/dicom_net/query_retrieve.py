"""The Query/Retrieve handlers: dicomkit's C-FIND, C-MOVE and C-GET SCPs over the archive (PS3.4 C.4).

Bound into the server by ``handlers.service_handlers``; each method runs in the server's
handler thread pool, with Django's connection hygiene (``close_old_connections``) at its
start and end, as a request would (C-FIND: ``connection_hygiene``, at most once a second
per thread; its health check round trip was a tenth of a selective query)::

    C-FIND  ArchiveFindHandler.find   -> generator: query_from_identifier -> query_execute_encoded
                                         (one pool thread from first page to last; cancel
                                         asked before every page and every match; each
                                         match encoded there, in the context's syntax)
    C-MOVE  ArchiveMoveHandler.destination -> RemoteNode (enabled, outgoing "move") | None (A801)
            ArchiveMoveHandler.instances   -> retrieval_instances -> [InstanceRef(path=...)]
    C-GET   ArchiveGetHandler.instances    -> retrieval_instances

Refusals become DIMSE statuses here, through the archive's one table: a ``QueryError``
is raised again as ``DimseStatusError(error.status, error.error_comment)``
(``apps.archive.errors.C_FIND_STATUS``: A900H for a level or unique key problem, C000H
for a malformed value, C001H when the index cannot be read). dicomkit refuses a missing
or unknown level and a malformed date/time range before a handler is asked.

Retrieval (PS3.4 C.4.2.2.1): the identifier holds the unique keys of the levels down to
the Query/Retrieve Level, the level's own with one or more UIDs (List of UID Matching).
Its instances are selected as an IMAGE-level relational query on those unique keys only,
through the archive's query engine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections

from apps.archive.conf import storage_backend_named
from apps.archive.errors import QueryError
from apps.archive.query import InformationModel as ArchiveModel
from apps.archive.query import Level, Query, query_execute_encoded, query_from_identifier, query_queryset
from apps.dicom_net.connection_hygiene import connection_hygiene, replace_dropped_connection
from apps.dicom_net.errors import RemoteNodeError
from apps.dicom_net.models import DimseOperation, RemoteNode
from apps.dicom_net.peer_access import check_peer
from apps.dicom_net.services.remote_nodes import remote_node_ssl_context
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DimseStatusError
from dicomkit.net.dimse.status import (
    IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS,
    REFUSED_OUT_OF_RESOURCES_SUB_OPERATIONS,
    UNABLE_TO_PROCESS,
)
from dicomkit.net.services.find import FindRequest
from dicomkit.net.services.move import Destination
from dicomkit.net.services.query_retrieve import InformationModel
from dicomkit.net.services.retrieve import InstanceRef, RetrieveRequest

__all__ = [
    "ArchiveFindHandler",
    "ArchiveGetHandler",
    "ArchiveMoveHandler",
    "move_destination",
    "query_status_error",
    "retrieval_instances",
]

logger = logging.getLogger(__name__)

_MODELS: Final = {
    InformationModel.PATIENT_ROOT: ArchiveModel.PATIENT_ROOT,
    InformationModel.STUDY_ROOT: ArchiveModel.STUDY_ROOT,
}
_UNIQUE_KEYS: Final = {
    Level.PATIENT: tags.PatientID,
    Level.STUDY: tags.StudyInstanceUID,
    Level.SERIES: tags.SeriesInstanceUID,
    Level.IMAGE: tags.SOPInstanceUID,
}
_KEYWORDS: Final = {
    Level.PATIENT: "Patient ID",
    Level.STUDY: "Study Instance UID",
    Level.SERIES: "Series Instance UID",
    Level.IMAGE: "SOP Instance UID",
}
_TOP_DOWN: Final = (Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE)
# C-FIND reads 200 rows first (the first matches go out soon), then pages growing to this:
# each SQL statement costs about a millisecond to build, plan and start.
_FIND_MAX_PAGE_SIZE: Final = 1600


def query_status_error(error: QueryError) -> DimseStatusError:
    """The DIMSE refusal of a query failure (status from ``C_FIND_STATUS``)."""
    return DimseStatusError(error.status, error.error_comment)


class ArchiveFindHandler:
    """dicomkit's ``FindHandler`` backed by the archive's query engine."""

    def find(self, request: FindRequest) -> Iterator[bytes]:
        # A generator: nothing runs until the service iterates it in one pool thread.
        return _matches(request)


def _matches(request: FindRequest) -> Iterator[bytes]:
    """The encoded response identifiers (dicomkit sends bytes matches as they are)."""
    connection_hygiene()
    try:
        check_peer(request.association.calling_ae_title, DimseOperation.FIND)
        try:
            query = query_from_identifier(identifier=request.identifier, model=_MODELS[request.model])
            yield from _encoded_matches(query, request)
        except QueryError as error:
            raise query_status_error(error) from None
    finally:
        connection_hygiene()


def _encoded_matches(query: Query, request: FindRequest) -> Iterator[bytes]:
    """``query_execute_encoded``; its first statement again on a fresh connection if the
    database server had dropped this thread's (no health check ran before it)."""
    for retry in (False, True):
        matches = query_execute_encoded(
            query=query,
            transfer_syntax=request.context.transfer_syntax,
            max_page_size=_FIND_MAX_PAGE_SIZE,
            cancelled=lambda: request.cancelled,
            retrieve_ae_title=request.association.called_ae_title,
        )
        try:
            first = next(matches, None)
        except QueryError:
            if retry or not replace_dropped_connection():
                raise
            continue
        if first is not None:
            yield first
            yield from matches
        return


def retrieval_instances(*, identifier: Dataset, model: InformationModel) -> list[InstanceRef]:
    """The stored instances a C-MOVE/C-GET identifier selects, in series and instance order.

    Raises:
        DimseStatusError: A900H when the level or a unique key is missing or wrong, C000H
            for a malformed value, C001H when the index cannot be read.
    """
    archive_model = _MODELS[model]
    try:
        query = query_from_identifier(identifier=identifier, model=archive_model)
    except QueryError as error:
        raise query_status_error(error) from None
    unique = query.key(_UNIQUE_KEYS[query.level])
    if unique is None or not unique.matched:
        raise DimseStatusError(
            IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS,
            f"A retrieval at {query.level.value} level needs a {_KEYWORDS[query.level]}",
        )
    selection = Dataset()
    selection.set(tags.QueryRetrieveLevel, Level.IMAGE.value, "CS")
    for level in _TOP_DOWN[: query.level.depth + 1]:
        if level is Level.PATIENT and archive_model is ArchiveModel.STUDY_ROOT:
            continue  # not a unique key in the Study Root model
        element = identifier.get_element(_UNIQUE_KEYS[level])
        if element is not None:
            selection.add(element)
    try:
        images = query_from_identifier(identifier=selection, model=archive_model, relational=True)
        rows = list(
            query_queryset(images)
            .select_related("location")
            .order_by("series_id", "instance_number", "pk")
            .values_list(
                "sop_class_uid",
                "sop_instance_uid",
                "location__backend",
                "location__key",
                "location__transfer_syntax_uid",
            )
        )
    except QueryError as error:
        raise query_status_error(error) from None
    instances = []
    paths: dict[str, object] = {}
    for sop_class_uid, sop_instance_uid, backend_name, key, syntax in rows:
        if backend_name not in paths:
            try:
                paths[backend_name] = getattr(storage_backend_named(backend_name), "path_for", None)
            except ImproperlyConfigured:
                paths[backend_name] = None
        path_for = paths[backend_name]
        if not callable(path_for):
            raise DimseStatusError(UNABLE_TO_PROCESS, f"Storage tier {backend_name} cannot be retrieved from")
        path = path_for(key)
        assert isinstance(path, Path)
        instances.append(InstanceRef(sop_class_uid, sop_instance_uid, syntax, path=path))
    return instances


def move_destination(ae_title: str) -> Destination | None:
    """The enabled remote node called ``ae_title`` that allows "move" as outgoing, or None."""
    node = RemoteNode.objects.filter(ae_title=ae_title.strip(), enabled=True).first()
    if node is None or not node.allows_outgoing(DimseOperation.MOVE):
        return None
    try:
        ssl_context = remote_node_ssl_context(node)
    except RemoteNodeError as error:
        logger.error("move destination unusable", extra={"ae_title": node.ae_title, "error": str(error)})
        comment = f"{node.ae_title}: TLS files unusable"
        raise DimseStatusError(REFUSED_OUT_OF_RESOURCES_SUB_OPERATIONS, comment) from None
    return Destination(node.host, node.port, node.ae_title, ssl_context)


class ArchiveMoveHandler:
    """dicomkit's ``MoveHandler``: destinations are remote nodes, instances the archive's."""

    def destination(self, request: RetrieveRequest) -> Destination | None:
        close_old_connections()
        try:
            check_peer(request.association.calling_ae_title, DimseOperation.MOVE)
            return move_destination(request.move_destination or "")
        finally:
            close_old_connections()

    def instances(self, request: RetrieveRequest) -> Sequence[InstanceRef]:
        close_old_connections()
        try:
            return retrieval_instances(identifier=request.identifier, model=request.model)
        finally:
            close_old_connections()


class ArchiveGetHandler:
    """dicomkit's ``GetHandler``: the archive's instances, sent on the C-GET's association."""

    def instances(self, request: RetrieveRequest) -> Sequence[InstanceRef]:
        close_old_connections()
        try:
            check_peer(request.association.calling_ae_title, DimseOperation.GET)
            return retrieval_instances(identifier=request.identifier, model=request.model)
        finally:
            close_old_connections()
