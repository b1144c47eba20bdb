"""Sending instances to another AE with C-STORE (``manage.py dicom_send``), PS3.4 Annex B.

:func:`dicom_send` resolves the peer (a remote node's AE title or ``AET@HOST:PORT``, through
``remote_nodes.remote_node_resolve``, TLS as the node says) and what to send (files and
folders, or a stored study or series through ``apps.archive.selectors``), and hands the
files to dicomkit's Storage SCU
(``dicomkit.net.scu.store_files``), which

- proposes one presentation context per SOP class and transfer syntax of the files, plus
  Explicit and Implicit VR Little Endian as fallbacks,
- sends each instance in its own syntax when the peer accepted it (streamed from the file),
  and otherwise converts it to an uncompressed syntax the peer accepted,
- reports a status (or why nothing was sent) per instance.

Our calling AE title, maximum PDU length and timeouts come from ``settings.PACS_DICOM``
(``server_config.ae_config_from_settings``), as for the server. Stored instances are sent
from their files in place; instances of a storage tier without local files are copied to
a temporary folder first. A stored file that cannot be read (gone from the storage,
unreadable) is reported as not sent, like a file the peer refused, and the rest are sent.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from apps.archive.errors import StorageError
from apps.archive.selectors import instance_open, instances_of_series, instances_of_study
from apps.dicom_net.conf import dicom_settings
from apps.dicom_net.errors import SendError
from apps.dicom_net.models import DimseOperation
from apps.dicom_net.services.remote_nodes import Peer, remote_node_resolve
from apps.dicom_net.services.server_config import ae_config_from_settings
from dicomkit.net.config import AEConfig
from dicomkit.net.scu import StoreResult, store_files_sync
from dicomkit.net.scu.instances import find_files

__all__ = ["SendSummary", "dicom_send"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendSummary:
    """What became of each instance sent (dicomkit's per-file results, in order)."""

    destination: Peer
    results: tuple[StoreResult, ...]

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def stored(self) -> int:
        return sum(result.ok for result in self.results)

    @property
    def converted(self) -> int:
        return sum(result.ok and result.converted for result in self.results)

    @property
    def failed(self) -> tuple[StoreResult, ...]:
        return tuple(result for result in self.results if not result.ok)

    @property
    def ok(self) -> bool:
        """Something was sent and every instance was stored (Success or Warning)."""
        return bool(self.results) and not self.failed


class ProgressStream(Protocol):
    """Where a progress bar is drawn: a text stream, or a wrapper around a command's."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


def dicom_send(
    *,
    destination: str | Peer,
    files: Sequence[str | Path] = (),
    study_uid: str | None = None,
    series_uid: str | None = None,
    calling_ae_title: str | None = None,
    progress: ProgressStream | None = None,
) -> SendSummary:
    """C-STORE ``files`` (folders searched recursively) and/or the stored study or series.

    With both ``study_uid`` and ``series_uid``, only that series of that study is sent.
    ``progress``: a stream to draw a bar counting instances on (the caller decides whether
    it is a terminal).

    Raises:
        RemoteNodeError: a malformed ``AET@HOST:PORT``, or no enabled remote node of that
            AE title allowing C-STORE from us (``UnknownRemoteNode``).
        SendError: a bad calling AE title, an unknown study or series, nothing to send.
    """
    peer = (
        destination
        if isinstance(destination, Peer)
        else remote_node_resolve(destination, operation=DimseOperation.STORE)
    )
    settings = dicom_settings()
    try:
        ae = AEConfig(
            calling_ae_title or settings.ae_title,
            max_pdu_length=settings.max_pdu_length,
            timeouts=ae_config_from_settings().timeouts,
        )
    except ValueError as exc:
        raise SendError(f"calling AE title {calling_ae_title!r}: {exc}") from exc
    with ExitStack() as stack:
        paths = [path for name in files for path in find_files([name])]
        unreadable: list[StoreResult] = []
        if study_uid is not None or series_uid is not None:
            for item in _stored_files(stack, study_uid=study_uid, series_uid=series_uid):
                if isinstance(item, StoreResult):
                    unreadable.append(item)
                else:
                    paths.append(item)
        if not paths and not unreadable:
            raise SendError("nothing to send")
        bar = stack.enter_context(
            tqdm(
                total=len(paths) + len(unreadable),
                unit="instance",
                file=progress,
                disable=progress is None,
                dynamic_ncols=True,
            )
        )

        failed = 0

        def advance(result: StoreResult) -> None:
            nonlocal failed
            if not result.ok:
                failed += 1
                bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)

        for result in unreadable:
            advance(result)
        results = (
            store_files_sync(
                peer.host,
                peer.port,
                ae,
                peer.ae_title,
                paths,
                ssl_context=peer.ssl_context,
                timeouts=ae.timeouts,
                progress=advance,
            )
            if paths
            else []
        )
    summary = SendSummary(peer, (*results, *unreadable))
    logger.info(
        "dicom send finished",
        extra={
            "destination": str(peer),
            "calling_ae_title": ae.ae_title,
            "total": summary.total,
            "stored": summary.stored,
            "failed": len(summary.failed),
        },
    )
    return summary


def _stored_files(
    stack: ExitStack, *, study_uid: str | None, series_uid: str | None
) -> Iterator[Path | StoreResult]:
    """The stored files of a study or series, in series and instance order; a file that
    cannot be read comes as the result of not sending it."""
    if series_uid is None:
        assert study_uid is not None
        instances = instances_of_study(study_instance_uid=study_uid)
        missing = f"no stored instances of study {study_uid}"
    else:
        instances = instances_of_series(series_instance_uid=series_uid, study_instance_uid=study_uid)
        if study_uid is None:
            missing = f"no stored series {series_uid}"
        else:
            missing = f"no stored instances of series {series_uid} of study {study_uid}"
    uids = list(instances.values_list("sop_instance_uid", flat=True))
    if not uids:
        raise SendError(missing)
    spool: Path | None = None
    for uid in uids:
        try:
            stream = instance_open(sop_instance_uid=uid)
            if stream is None:
                continue  # deleted meanwhile
            with stream:
                name = getattr(stream, "name", None)
                if isinstance(name, str) and Path(name).is_file():
                    yield Path(name)  # a local file: sent in place
                    continue
                if spool is None:
                    spool = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dicom-send-")))
                copy = spool / f"{uid}.dcm"
                with copy.open("wb") as target:
                    shutil.copyfileobj(stream, target)
        except (OSError, StorageError) as exc:
            # The index has the instance but the storage cannot give its file: one failed
            # instance (verify_storage finds the rest), not the end of the whole send.
            where = Path(exc.filename) if isinstance(exc, OSError) and exc.filename else Path("-")
            yield StoreResult(where, sop_instance_uid=uid, error=f"stored file unreadable: {exc}")
            continue
        yield copy
