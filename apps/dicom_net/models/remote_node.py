"""RemoteNode: a DICOM application entity we know, and what it and we may do to each other.

A remote node is found by its AE title (unique). It is where a C-MOVE destination leads
(PS3.4 C.4.2.1.2: the Move Destination is an AE title the SCP must be configured with),
the peer of the SCU commands (``dicom_find --from AE``), and, when
``PACS_DICOM_REQUIRE_KNOWN_PEERS`` is on, the list of calling AEs we serve.

Operations are DIMSE services (PS3.7 §9): ``incoming_operations`` are those it may ask of
us (we are SCP), ``outgoing_operations`` those we may do to it (echo, store, find, move,
get as SCU; ``move`` also lets it be the destination of our C-MOVE sub-operations).
Both are stored as sorted lists of :class:`DimseOperation` values.

Invariants: ``ae_title`` is a valid AE title (PS3.5 §6.2, 1-16 characters, no backslash or
control character, not only spaces); ``port`` 1-65535; ``tls`` other than ``none`` needs a
CA file to verify the node with, and ``mutual`` our certificate and key as well; each file
the TLS mode reads is readable when the node is validated new, or after a change of its TLS
fields (switching TLS on included). Other edits do not look at the files, so that a node
whose CA file or certificate has gone can still be disabled or described; connecting to it
then fails with "TLS files of <AE> cannot be loaded".
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.dicom_net.validation import file_problems


class DimseOperation(models.TextChoices):
    """A DIMSE-C service one AE may ask of another (PS3.7 §9.1)."""

    ECHO = "echo", "C-ECHO"
    STORE = "store", "C-STORE"
    FIND = "find", "C-FIND"
    MOVE = "move", "C-MOVE"
    GET = "get", "C-GET"


class TlsMode(models.TextChoices):
    """How we connect to the node (PS3.15 B.1 secure transport connection profile)."""

    NONE = "none", "no TLS"
    TLS = "tls", "TLS (verify the node's certificate)"
    MUTUAL = "mutual", "mutual TLS (and present our certificate)"


#: The fields whose change makes ``clean()`` check the TLS files again.
TLS_FIELDS = ("tls", "tls_ca_file", "tls_cert_file", "tls_key_file")


def all_operations() -> list[str]:
    return [operation.value for operation in DimseOperation]


def validate_ae_title(value: str) -> None:
    """PS3.5 §6.2 AE VR: 1-16 characters of the default repertoire, no backslash or control."""
    if not value.strip():
        raise ValidationError("An AE title cannot be empty or only spaces.")
    if len(value) > 16:
        raise ValidationError("An AE title has at most 16 characters.")
    if any(not " " <= c <= "~" or c == "\\" for c in value):
        raise ValidationError("An AE title holds printable ASCII characters other than backslash.")


def validate_operations(value: object) -> None:
    if not isinstance(value, list) or any(item not in DimseOperation.values for item in value):
        allowed = ", ".join(DimseOperation.values)
        raise ValidationError(f"A list of operations among: {allowed}.")


class RemoteNode(models.Model):
    ae_title = models.CharField("AE title", max_length=16, unique=True, validators=[validate_ae_title])
    host = models.CharField(max_length=255, help_text="host name or IP address")
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    tls = models.CharField("TLS", max_length=8, choices=TlsMode.choices, default=TlsMode.NONE)
    tls_ca_file = models.CharField(
        "TLS CA file", max_length=1024, blank=True, help_text="PEM CA bundle to verify the node's certificate"
    )
    tls_cert_file = models.CharField(
        "TLS certificate file", max_length=1024, blank=True, help_text="our PEM certificate (mutual TLS)"
    )
    tls_key_file = models.CharField(
        "TLS key file", max_length=1024, blank=True, help_text="the private key of our certificate"
    )
    incoming_operations = models.JSONField(
        "operations it may ask of us",
        default=all_operations,
        blank=True,
        validators=[validate_operations],
    )
    outgoing_operations = models.JSONField(
        "operations we may do to it",
        default=all_operations,
        blank=True,
        validators=[validate_operations],
    )
    description = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The TLS fields as stored, set when the row is loaded or saved; None on a new node.
    _stored_tls: dict[str, Any] | None = None

    class Meta:
        ordering = ("ae_title",)
        verbose_name = "remote node"

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any
    ) -> RemoteNode:
        node = super().from_db(db, field_names, values, **kwargs)
        node._remember_tls()
        return node

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self._remember_tls()

    def _remember_tls(self) -> None:
        # Only the loaded fields: reading a deferred one would query the row again.
        self._stored_tls = {name: self.__dict__[name] for name in TLS_FIELDS if name in self.__dict__}

    def _tls_changed(self) -> bool:
        """Whether a TLS field differs from the stored row: always for a new node, and for a
        field that was not loaded (``only()``/``defer()``), which cannot be compared."""
        if self._state.adding or self._stored_tls is None:
            return True
        return any(
            name not in self._stored_tls or getattr(self, name) != self._stored_tls[name]
            for name in TLS_FIELDS
        )

    def clean(self) -> None:
        problems: dict[str, str] = {}
        if self.tls != TlsMode.NONE and not self.tls_ca_file:
            problems["tls_ca_file"] = "TLS needs a CA file to verify the node's certificate."
        if self.tls == TlsMode.MUTUAL:
            if not self.tls_cert_file:
                problems["tls_cert_file"] = "Mutual TLS needs our certificate."
            if not self.tls_key_file:
                problems["tls_key_file"] = "Mutual TLS needs the key of our certificate."
        # The files must be there now, not only when a connection first needs them, so that
        # the admin and ``remote_node add`` refuse a mistyped path instead of storing it. Only
        # when TLS is set up or changed: a file that went away later must not lock every
        # other field (disabling the node included) until it is back.
        files = self._tls_files_in_use() if self._tls_changed() else []
        for name, label in files:
            path = getattr(self, name)
            if path and name not in problems:
                found = file_problems(Path(path), what=label)
                if found:
                    problems[name] = found[0] + "."
        if problems:
            raise ValidationError(problems)

    def _tls_files_in_use(self) -> list[tuple[str, str]]:
        """(field, label) of each TLS file the mode reads."""
        files = [("tls_ca_file", "TLS CA file")] if self.tls in (TlsMode.TLS, TlsMode.MUTUAL) else []
        if self.tls == TlsMode.MUTUAL:
            files += [("tls_cert_file", "TLS certificate file"), ("tls_key_file", "TLS key file")]
        return files

    def allows_incoming(self, operation: DimseOperation) -> bool:
        return self.enabled and operation.value in (self.incoming_operations or [])

    def allows_outgoing(self, operation: DimseOperation) -> bool:
        return self.enabled and operation.value in (self.outgoing_operations or [])
