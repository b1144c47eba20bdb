"""App configuration: registers the system checks ``dicom_net.E001``.. at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class DicomNetConfig(AppConfig):
    name = "apps.dicom_net"
    label = "dicom_net"
    verbose_name = "DICOM network"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.dicom_net import checks

        checks.register()
