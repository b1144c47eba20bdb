"""Remote nodes: creating, changing, removing and listing them; resolving a peer; C-ECHO to one.

``remote_node_create/update/delete`` are the writes behind the admin and ``manage.py
remote_node``; each validates the whole row (``RemoteNode.full_clean``) and reports every
problem at once as :class:`~apps.dicom_net.errors.RemoteNodeError`.

:func:`remote_node_resolve` turns what a user or a C-MOVE names into a :class:`Peer`
(address, AE title, TLS context): ``NAME`` is the AE title of an enabled remote node that
allows the operation as outgoing; ``AET@HOST:PORT`` is an ad-hoc peer (SCU commands only).
:func:`remote_node_echo` is the "test connection" of the admin and the command: one
association, one C-ECHO (PS3.4 Annex A), and a result with a message a person can read.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from apps.dicom_net.conf import dicom_settings
from apps.dicom_net.errors import RemoteNodeError, UnknownRemoteNode
from apps.dicom_net.models import DimseOperation, RemoteNode, TlsMode
from apps.dicom_net.models.remote_node import validate_ae_title
from dicomkit.errors import (
    AssociationAborted,
    AssociationRejected,
    DicomError,
    DicomTimeoutError,
)
from dicomkit.net.aio.client import echo_sync
from dicomkit.net.aio.tls import client_ssl_context
from dicomkit.net.config import AEConfig, Timeouts
from dicomkit.net.services.move import Destination

__all__ = [
    "EchoResult",
    "OperationNames",
    "Peer",
    "remote_node_create",
    "remote_node_delete",
    "remote_node_echo",
    "remote_node_get",
    "remote_node_list",
    "remote_node_resolve",
    "remote_node_ssl_context",
    "remote_node_update",
]

DEFAULT_ECHO_TIMEOUT = 10.0
_EDITABLE = frozenset(
    {
        "ae_title",
        "host",
        "port",
        "tls",
        "tls_ca_file",
        "tls_cert_file",
        "tls_key_file",
        "incoming_operations",
        "outgoing_operations",
        "description",
        "enabled",
    }
)
_AD_HOC = re.compile(r"^(?P<aet>[^@]{1,16})@(?P<host>\[[^\]]+\]|[^:\[\]]+):(?P<port>[0-9]{1,5})$")

OperationNames = str | list[str] | tuple[str, ...] | set[str] | frozenset[str]
"""A node's operations as callers give them: :class:`DimseOperation` values, or one string of
them separated by commas or spaces (``"echo,find"``, as ``manage.py remote_node --in`` takes)."""


@dataclass(frozen=True, slots=True)
class Peer:
    """A DICOM peer to associate with: a remote node, or one named ``AET@HOST:PORT``."""

    ae_title: str
    host: str
    port: int
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    node: RemoteNode | None = field(default=None, repr=False, compare=False)

    def destination(self) -> Destination:
        """The peer as dicomkit's C-MOVE destination."""
        return Destination(self.host, self.port, self.ae_title, self.ssl_context)

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class EchoResult:
    """What a C-ECHO to a peer gave: ``ok`` and a message saying why not, if not."""

    ok: bool
    message: str
    status: int | None = None
    seconds: float = 0.0


def _operations(values: object, name: str) -> list[str]:
    """The chosen operations in :class:`DimseOperation` order; ``values`` is checked here, as
    ``remote_node_update`` passes whatever its ``changes`` hold."""
    if values is None:
        return [operation.value for operation in DimseOperation]
    if isinstance(values, str):
        values = [part for part in re.split(r"[,\s]+", values) if part]
    if not isinstance(values, list | tuple | set | frozenset):
        raise RemoteNodeError(f"{name}: a list of operations", {name: ["a list of operations"]})
    chosen = {str(value).strip().lower() for value in values}
    unknown = sorted(chosen - set(DimseOperation.values))
    if unknown:
        allowed = ", ".join(DimseOperation.values)
        message = f"unknown operation(s) {', '.join(unknown)} (allowed: {allowed})"
        raise RemoteNodeError(f"{name}: {message}", {name: [message]})
    return [operation.value for operation in DimseOperation if operation.value in chosen]


def _save(node: RemoteNode) -> RemoteNode:
    try:
        node.full_clean()
    except ValidationError as error:
        problems = {name: [str(m) for m in messages] for name, messages in error.message_dict.items()}
        text = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in problems.items())
        raise RemoteNodeError(text, problems) from None
    node.save()
    return node


def remote_node_create(
    *,
    ae_title: str,
    host: str,
    port: int,
    tls: str = TlsMode.NONE,
    tls_ca_file: str = "",
    tls_cert_file: str = "",
    tls_key_file: str = "",
    incoming_operations: OperationNames | None = None,
    outgoing_operations: OperationNames | None = None,
    description: str = "",
    enabled: bool = True,
) -> RemoteNode:
    """A new remote node; operations default to all of them.

    Raises:
        RemoteNodeError: an invalid or taken AE title, a bad port or operation, TLS
            without the files it needs or naming one that is not there (every problem, by field).
    """
    node = RemoteNode(
        ae_title=ae_title,
        host=host,
        port=port,
        tls=tls,
        tls_ca_file=tls_ca_file,
        tls_cert_file=tls_cert_file,
        tls_key_file=tls_key_file,
        incoming_operations=_operations(incoming_operations, "incoming_operations"),
        outgoing_operations=_operations(outgoing_operations, "outgoing_operations"),
        description=description,
        enabled=enabled,
    )
    with transaction.atomic():
        return _save(node)


def remote_node_update(*, ae_title: str, changes: Mapping[str, object]) -> RemoteNode:
    """Changes fields of the node called ``ae_title`` (operations as lists or "a,b").

    Raises:
        UnknownRemoteNode: no node has that AE title.
        RemoteNodeError: an unknown field or an invalid result.
    """
    unknown = sorted(set(changes) - _EDITABLE)
    if unknown:
        raise RemoteNodeError(f"cannot change {', '.join(unknown)}")
    with transaction.atomic():
        node = RemoteNode.objects.select_for_update().filter(ae_title=ae_title).first()
        if node is None:
            raise UnknownRemoteNode(f"no remote node {ae_title!r}")
        for name, value in changes.items():
            if name in ("incoming_operations", "outgoing_operations"):
                value = _operations(value, name)
            setattr(node, name, value)
        return _save(node)


def remote_node_delete(*, ae_title: str) -> bool:
    """Removes the node called ``ae_title``; False if there was none."""
    deleted, _ = RemoteNode.objects.filter(ae_title=ae_title).delete()
    return deleted > 0


def remote_node_list(*, enabled_only: bool = False) -> QuerySet[RemoteNode]:
    nodes = RemoteNode.objects.order_by("ae_title")
    return nodes.filter(enabled=True) if enabled_only else nodes


def remote_node_get(*, ae_title: str) -> RemoteNode | None:
    return RemoteNode.objects.filter(ae_title=ae_title).first()


def remote_node_ssl_context(node: RemoteNode) -> ssl.SSLContext | None:
    """The client TLS context to reach ``node`` (None without TLS).

    Raises:
        RemoteNodeError: a TLS file that cannot be read or does not fit.
    """
    if node.tls == TlsMode.NONE:
        return None
    mutual = node.tls == TlsMode.MUTUAL
    try:
        return client_ssl_context(
            ca_file=node.tls_ca_file or None,
            certfile=node.tls_cert_file if mutual else None,
            keyfile=node.tls_key_file if mutual and node.tls_key_file else None,
        )
    except (OSError, ssl.SSLError, ValueError) as error:
        raise RemoteNodeError(f"TLS files of {node.ae_title} cannot be loaded: {error}") from error


def _peer_of(node: RemoteNode) -> Peer:
    return Peer(node.ae_title, node.host, node.port, remote_node_ssl_context(node), node)


def remote_node_resolve(spec: str, *, operation: DimseOperation | None = None) -> Peer:
    """The peer ``spec`` names: a remote node's AE title, or ``AET@HOST:PORT``.

    A node must be enabled and, when ``operation`` is given, allow it as outgoing.

    Raises:
        UnknownRemoteNode: no such enabled node, or it does not allow ``operation``.
        RemoteNodeError: a malformed ``AET@HOST:PORT`` or unreadable TLS files.
    """
    spec = spec.strip()
    if "@" in spec:
        match = _AD_HOC.match(spec)
        if match is None:
            raise RemoteNodeError(f"{spec!r} is not AET@HOST:PORT")
        ae_title, host, port = match["aet"], match["host"].strip("[]"), int(match["port"])
        try:
            validate_ae_title(ae_title)
        except ValidationError as error:
            raise RemoteNodeError(f"{ae_title!r}: {' '.join(error.messages)}") from None
        if not 1 <= port <= 65535:
            raise RemoteNodeError(f"port {port} is not between 1 and 65535")
        return Peer(ae_title, host, port)
    node = RemoteNode.objects.filter(ae_title=spec).first()
    if node is None or not node.enabled:
        state = "disabled" if node is not None else "unknown"
        raise UnknownRemoteNode(f"remote node {spec!r} is {state} (add it with: remote_node add)")
    if operation is not None and not node.allows_outgoing(operation):
        raise UnknownRemoteNode(
            f"remote node {spec!r} does not allow {operation.label} from us (its outgoing operations)"
        )
    return _peer_of(node)


def _why(error: BaseException, peer: Peer, timeout: float) -> str:
    where = f"{peer.host}:{peer.port}"
    if isinstance(error, AssociationRejected | AssociationAborted):
        return f"{peer.ae_title}: {error}"  # the error names the rejection or abort itself
    if isinstance(error, DicomTimeoutError | TimeoutError):
        return f"no answer from {where} within {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused by {where} (nothing listens there?)"
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake with {where} failed: {error.reason or error}"
    if isinstance(error, OSError):
        return f"cannot connect to {where}: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


def remote_node_echo(
    *, node: RemoteNode | Peer, timeout: float = DEFAULT_ECHO_TIMEOUT, calling_ae_title: str | None = None
) -> EchoResult:
    """Associates with ``node``, sends one C-ECHO, releases; never raises for network trouble.

    Blocking (runs its own event loop): call it from a view, a command or a thread.
    """
    started = time.monotonic()
    try:
        peer = node if isinstance(node, Peer) else _peer_of(node)
    except RemoteNodeError as error:
        return EchoResult(False, str(error))
    ae = AEConfig(calling_ae_title or dicom_settings().ae_title)
    timeouts = Timeouts(artim=timeout, acse=timeout, dimse=timeout, network=timeout, connect=timeout)
    try:
        statuses = echo_sync(
            peer.host, peer.port, ae, peer.ae_title, ssl_context=peer.ssl_context, timeouts=timeouts
        )
    except (DicomError, OSError) as error:
        return EchoResult(False, _why(error, peer, timeout), seconds=time.monotonic() - started)
    seconds = time.monotonic() - started
    status = statuses[0] if statuses else None
    if status != 0:
        shown = "none" if status is None else f"0x{status:04X}"
        return EchoResult(False, f"{peer} answered C-ECHO with status {shown}", status, seconds)
    return EchoResult(True, f"{peer} answered C-ECHO in {seconds * 1000:.0f} ms", status, seconds)
