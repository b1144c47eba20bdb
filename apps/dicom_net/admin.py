"""Admin: the association log, read-only (rows are written by the DIMSE server only); remote nodes.

Remote nodes are edited with their operations as check boxes; the "Test connection
(C-ECHO)" action echoes each selected node (``services.remote_nodes.remote_node_echo``)
and shows one success or error message per node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.dicom_net.models import AssociationLog, DimseOperation, RemoteNode
from apps.dicom_net.services.remote_nodes import remote_node_echo

# ModelAdmin is generic only in django-stubs; at run time it cannot be subscripted.
if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[AssociationLog]
    _NodeAdmin = admin.ModelAdmin[RemoteNode]
    _NodeForm = forms.ModelForm[RemoteNode]
else:
    _ModelAdmin = admin.ModelAdmin
    _NodeAdmin = admin.ModelAdmin
    _NodeForm = forms.ModelForm


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


class RemoteNodeForm(_NodeForm):
    incoming_operations = forms.MultipleChoiceField(
        label="Operations it may ask of us",
        choices=DimseOperation.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    outgoing_operations = forms.MultipleChoiceField(
        label="Operations we may do to it",
        choices=DimseOperation.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = RemoteNode
        fields = "__all__"


@admin.register(RemoteNode)
class RemoteNodeAdmin(_NodeAdmin):
    form = RemoteNodeForm
    list_display = ("ae_title", "host", "port", "tls", "incoming", "outgoing", "enabled", "description")
    list_filter = ("enabled", "tls")
    search_fields = ("ae_title", "host", "description")
    ordering = ("ae_title",)
    actions = ("test_connection",)
    fieldsets = (
        (None, {"fields": ("ae_title", "host", "port", "description", "enabled")}),
        ("Operations", {"fields": ("incoming_operations", "outgoing_operations")}),
        ("TLS", {"fields": ("tls", "tls_ca_file", "tls_cert_file", "tls_key_file")}),
    )

    @admin.display(description="in")
    def incoming(self, node: RemoteNode) -> str:
        return ", ".join(node.incoming_operations or []) or "-"

    @admin.display(description="out")
    def outgoing(self, node: RemoteNode) -> str:
        return ", ".join(node.outgoing_operations or []) or "-"

    @admin.action(description="Test connection (C-ECHO)")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[RemoteNode]) -> None:
        for node in queryset:
            result = remote_node_echo(node=node)
            if result.ok:
                text, level = f"{node.ae_title}: C-ECHO succeeded ({result.message})", messages.SUCCESS
            else:
                text, level = f"{node.ae_title}: C-ECHO failed: {result.message}", messages.ERROR
            self.message_user(request, text, level)
