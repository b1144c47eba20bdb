"""Admin: the association log, read-only (rows are written by the DIMSE server only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from apps.dicom_net.models import AssociationLog

# ModelAdmin is generic only in django-stubs; at run time it cannot be subscripted.
if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[AssociationLog]
else:
    _ModelAdmin = admin.ModelAdmin


@admin.register(AssociationLog)
class AssociationLogAdmin(_ModelAdmin):
    list_display = (
        "started_at",
        "calling_ae_title",
        "called_ae_title",
        "peer_host",
        "outcome",
        "duration",
        "bytes_received",
        "bytes_sent",
    )
    list_filter = ("outcome", "called_ae_title", "tls")
    search_fields = ("calling_ae_title", "called_ae_title", "peer_host")
    date_hierarchy = "started_at"
    ordering = ("-started_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AssociationLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AssociationLog | None = None) -> bool:
        return False
