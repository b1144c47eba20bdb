"""The one typed accessor for this app's settings (``settings.PACS_DICOM``).

Everything in ``apps.dicom_net`` reads its configuration through :func:`dicom_settings`,
so the type is checked in one place and tests override ``settings.PACS_DICOM`` with a
:class:`DicomNetworkSettings` (``dataclasses.replace`` of the current one).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from pacs_project.settings.components.dicom import DicomNetworkSettings, DicomTimeouts

__all__ = ["DicomNetworkSettings", "DicomTimeouts", "dicom_settings"]


def dicom_settings() -> DicomNetworkSettings:
    """``settings.PACS_DICOM``, checked to be what ``pacs_project.settings`` builds."""
    value = getattr(settings, "PACS_DICOM", None)
    if not isinstance(value, DicomNetworkSettings):
        raise ImproperlyConfigured(
            f"settings.PACS_DICOM must be a DicomNetworkSettings, got {type(value).__name__}"
        )
    return value
