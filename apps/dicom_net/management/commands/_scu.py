"""What ``dicom_find``, ``dicom_move`` and ``dicom_get`` share: the peer and query options,
running a retrieval behind a progress bar, and reporting its outcome.

Not a command (the leading underscore). Keys and levels are parsed by dicomkit's CLI
helpers (``-k KEY[=VALUE]``, ``--level``, ``--patient-root``), so the product's commands
and ``python -m dicomkit find`` read a query the same way.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError, OutputWrapper

from apps.dicom_net.errors import RemoteNodeError
from apps.dicom_net.models import DimseOperation
from apps.dicom_net.services.remote_nodes import Peer, remote_node_resolve
from dicomkit.cli import find as find_cli
from dicomkit.cli.move import RetrieveBar
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError
from dicomkit.net.scu.retrieve import ProgressCallback, RetrieveProgress, RetrieveResult
from dicomkit.net.services.query_retrieve import InformationModel


def add_peer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="peer",
        required=True,
        metavar="NAME|AET@HOST:PORT",
        help="the peer: a remote node's AE title, or an address",
    )
    find_cli.add_query_arguments(parser)
    parser.add_argument("--aet", help="our calling AE title (default: PACS_DICOM_AE_TITLE)")
    parser.add_argument("--timeout", type=float, help="seconds per network step (default: PACS_DICOM_*)")


def resolve(options: dict[str, Any], operation: DimseOperation) -> Peer:
    try:
        return remote_node_resolve(options["peer"], operation=operation)
    except RemoteNodeError as error:
        raise CommandError(str(error)) from error


def query(options: dict[str, Any]) -> tuple[Dataset, list[int], InformationModel]:
    args = argparse.Namespace(**options)
    try:
        identifier, order = find_cli.identifier(args)
    except DicomError as error:
        raise CommandError(f"bad key: {error}") from error
    return identifier, order, find_cli.model(args, identifier)


def network_failure(peer: Peer, error: BaseException) -> CommandError:
    return CommandError(f"{peer}: {type(error).__name__}: {error}")


def retrieve_with_bar(
    peer: Peer,
    options: dict[str, Any],
    stderr: OutputWrapper,
    retrieve: Callable[[ProgressCallback], RetrieveResult],
) -> RetrieveResult:
    """``retrieve(progress)`` (a C-MOVE or C-GET) behind a progress bar on the command's ``stderr``.

    As with ``dicom_send``, the bar is drawn only when ``stderr`` is a terminal, so none is
    redrawn into a log file; ``--progress`` or ``--no-progress`` decides otherwise. The bar
    ends at the final counts. Network failures become a CommandError.
    """
    enabled = stderr.isatty() if options["progress"] is None else bool(options["progress"])
    try:
        with RetrieveBar(enabled=enabled, file=BarStream(stderr)) as bar:
            result = retrieve(bar.update)
            bar.update(RetrieveProgress(0, result.completed, result.failed, result.warning))
    except (DicomError, OSError) as error:
        raise network_failure(peer, error) from error
    return result


class BarStream:
    """The command's ``stderr`` as tqdm's file.

    Each write goes out as given: ``OutputWrapper.write`` would end every redraw with a
    newline and colour it as an error.
    """

    def __init__(self, stream: OutputWrapper) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        self._stream.write(text, style_func=_as_is, ending="")

    def flush(self) -> None:
        self._stream.flush()

    # tqdm sizes the bar to the terminal behind fileno(), and draws it in Unicode
    # when the encoding allows.
    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str | None:
        return getattr(self._stream, "encoding", None)


def _as_is(text: str) -> str:
    return text


def retrieval_report(stdout: OutputWrapper, what: str, result: RetrieveResult) -> None:
    """Write the outcome and the failed instances to the command's ``stdout``.

    Written through the command's stream, not ``print()``, so that ``call_command(...,
    stdout=buffer)`` gets the report.

    Raises:
        CommandError: with exit status 1, unless every sub-operation completed.
    """
    stdout.write(f"{what}: {result.describe()}")
    for uid in result.failed_sop_instance_uids:
        stdout.write(f"failed {uid}")
    if not result.ok:
        raise CommandError(f"{what} did not complete every sub-operation", returncode=1)
