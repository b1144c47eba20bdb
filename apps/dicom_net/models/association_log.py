"""The association log: one row per association (or refused connection) the DIMSE server saw.

Written by ``services.association_log`` from the frozen record dicomkit's server hands to
its observer when an association ends, off the event loop. Holds who (AE titles, peer
address), when, what was negotiated, how it ended, and how much was transferred; never
patient data. Rows are read-only in the admin.
"""

from __future__ import annotations

from django.db import models


class AssociationOutcome(models.TextChoices):
    """How an association ended (PS3.8 §7.2-7.4), as dicomkit's server reports it."""

    RELEASED = "released", "released"
    REJECTED = "rejected", "rejected"
    ABORTED_BY_PEER = "aborted-by-peer", "aborted by the peer (A-ABORT)"
    ABORTED_LOCALLY = "aborted-locally", "aborted by us (idle, shutdown, protocol error)"
    PROVIDER_ABORT = "provider-abort", "provider abort (invalid PDU, connection lost)"
    CLOSED = "closed", "closed before an association request"


class AssociationLog(models.Model):
    started_at = models.DateTimeField(db_index=True)
    duration = models.DurationField()
    calling_ae_title = models.CharField("calling AE", max_length=16, db_index=True, blank=True)
    called_ae_title = models.CharField("called AE", max_length=16, blank=True)
    peer_host = models.CharField("peer address", max_length=255)
    peer_port = models.PositiveIntegerField(null=True, blank=True)
    tls = models.BooleanField("TLS", default=False)
    outcome = models.CharField(max_length=16, choices=AssociationOutcome.choices)
    # Reject result/source/reason, abort source/reason or the error, as text; never PHI.
    detail = models.CharField(max_length=255, blank=True)
    # [{"id": 1, "abstract_syntax": "1.2.840.10008.1.1",
    #   "transfer_syntax": "1.2.840.10008.1.2", "result": "acceptance"}, ...]
    contexts = models.JSONField("negotiated contexts", default=list, blank=True)
    messages = models.PositiveIntegerField("DIMSE messages", default=0)
    bytes_received = models.PositiveBigIntegerField(default=0)
    bytes_sent = models.PositiveBigIntegerField(default=0)
    server_pid = models.PositiveIntegerField("server process", null=True, blank=True)

    class Meta:
        ordering = ("-started_at",)
        verbose_name = "association"
        verbose_name_plural = "association log"

    def __str__(self) -> str:
        when = f"{self.started_at:%Y-%m-%d %H:%M:%S}"
        return f"{self.calling_ae_title} -> {self.called_ae_title} at {when} ({self.outcome})"

    @property
    def bytes_total(self) -> int:
        return self.bytes_received + self.bytes_sent
