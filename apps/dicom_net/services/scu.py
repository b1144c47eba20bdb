"""Our AE as Query/Retrieve SCU towards a peer: C-FIND, C-MOVE, C-GET (PS3.4 C.4, requestor side).

What ``manage.py dicom_find|dicom_move|dicom_get`` call, once the peer is resolved
(``remote_nodes.remote_node_resolve``). The calling AE title is ours
(``PACS_DICOM_AE_TITLE``) unless given; timeouts are the ``PACS_DICOM_*`` ones.
C-GET stores what arrives into the archive through its ingest pipeline (the same
handler as our Storage SCP) or into a folder. Network and protocol errors are dicomkit's
(``DicomError``) or ``OSError``; failure statuses of C-FIND raise ``DimseStatusError``;
C-MOVE/C-GET failures are results.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Protocol, TypeVar

from apps.dicom_net.conf import dicom_settings
from apps.dicom_net.handlers import ArchiveStorageHandler
from apps.dicom_net.services.remote_nodes import Peer
from dicomkit.data.dataset import Dataset
from dicomkit.net.config import AEConfig, Timeouts
from dicomkit.net.scu.find import find_sync
from dicomkit.net.scu.get import get_sync
from dicomkit.net.scu.move import move_sync
from dicomkit.net.scu.retrieve import ProgressCallback, RetrieveResult
from dicomkit.net.services.query_retrieve import InformationModel

__all__ = ["scu_find", "scu_get", "scu_move"]

_Target_contra = TypeVar("_Target_contra", contravariant=True)


class _RetrieveSync(Protocol[_Target_contra]):
    """``move_sync`` (target: the destination AE) or ``get_sync`` (target: the store)."""

    def __call__(
        self,
        host: str,
        port: int,
        ae: AEConfig,
        called_ae_title: str,
        identifier: Dataset,
        target: _Target_contra,
        /,
        *,
        model: InformationModel,
        progress: ProgressCallback | None,
        ssl_context: ssl.SSLContext | None,
        timeouts: Timeouts | None,
    ) -> RetrieveResult: ...


def _ae(calling_ae_title: str | None) -> AEConfig:
    settings = dicom_settings()
    return AEConfig(calling_ae_title or settings.ae_title, max_pdu_length=settings.max_pdu_length)


def _timeouts(timeout: float | None) -> Timeouts:
    configured = dicom_settings().timeouts
    if timeout is not None:
        return Timeouts(artim=timeout, acse=timeout, dimse=timeout, network=None, connect=timeout)
    return Timeouts(
        artim=float(configured.artim),
        acse=float(configured.acse),
        dimse=None if configured.dimse is None else float(configured.dimse),
        network=None,
        connect=float(configured.acse),
    )


def scu_find(
    *,
    peer: Peer,
    identifier: Dataset,
    model: InformationModel = InformationModel.STUDY_ROOT,
    limit: int | None = None,
    calling_ae_title: str | None = None,
    timeout: float | None = None,
) -> list[Dataset]:
    """The matches of a C-FIND to ``peer`` (blocking).

    Raises:
        DimseStatusError: the peer refused the query (its status and comment).
        DicomError, OSError: the association failed.
    """
    return find_sync(
        peer.host,
        peer.port,
        _ae(calling_ae_title),
        peer.ae_title,
        identifier,
        model=model,
        limit=limit,
        ssl_context=peer.ssl_context,
        timeouts=_timeouts(timeout),
    )


def scu_move(
    *,
    peer: Peer,
    identifier: Dataset,
    destination_ae_title: str | None = None,
    model: InformationModel = InformationModel.STUDY_ROOT,
    progress: ProgressCallback | None = None,
    calling_ae_title: str | None = None,
    timeout: float | None = None,
) -> RetrieveResult:
    """Asks ``peer`` to C-MOVE what ``identifier`` selects to ``destination_ae_title`` (default: us)."""
    destination = destination_ae_title or dicom_settings().ae_title
    return _retrieve(move_sync, peer, identifier, destination, model, progress, calling_ae_title, timeout)


def scu_get(
    *,
    peer: Peer,
    identifier: Dataset,
    folder: Path | None = None,
    model: InformationModel = InformationModel.STUDY_ROOT,
    progress: ProgressCallback | None = None,
    calling_ae_title: str | None = None,
    timeout: float | None = None,
) -> RetrieveResult:
    """C-GETs what ``identifier`` selects from ``peer`` into the archive (or ``folder``)."""
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    store = folder if folder is not None else ArchiveStorageHandler()
    return _retrieve(get_sync, peer, identifier, store, model, progress, calling_ae_title, timeout)


def _retrieve(
    sync: _RetrieveSync[_Target_contra],
    peer: Peer,
    identifier: Dataset,
    target: _Target_contra,
    model: InformationModel,
    progress: ProgressCallback | None,
    calling_ae_title: str | None,
    timeout: float | None,
) -> RetrieveResult:
    return sync(
        peer.host,
        peer.port,
        _ae(calling_ae_title),
        peer.ae_title,
        identifier,
        target,
        model=model,
        progress=progress,
        ssl_context=peer.ssl_context,
        timeouts=_timeouts(timeout),
    )
