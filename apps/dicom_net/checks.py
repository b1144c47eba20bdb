"""System checks of the DIMSE server configuration (``settings.PACS_DICOM``), ids ``dicom_net.E0xx``.

E001: our AE title is not a valid AE title (1-16 characters, no backslash or control
      characters, not all spaces; PS3.5 Table 6.2-1).
E002: an entry of ``PACS_DICOM_ALLOWED_CALLING_AE_TITLES`` is not a valid AE title.
E003: the DIMSE port is outside 1-65535.
E004: TLS is half configured, or a configured TLS file is missing or unreadable.
E005: a limit is out of range (max associations, max PDU length, workers, shutdown grace).
E006: a timeout is zero or negative where it may not be.

The rules live in ``validation`` (the server applies them to its command-line flags too).
``run_dicom_server`` runs the checks before it starts, so a bad setting stops it with these
messages rather than with a traceback from a worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks

from apps.dicom_net.conf import dicom_settings
from apps.dicom_net.validation import settings_problems

HINT = "See the PACS_DICOM_* variables in docs/configuration.md."


def check_dicom_network(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E001-E006 for ``settings.PACS_DICOM``."""
    return [
        checks.Error(problem, hint=HINT, id=check_id)
        for check_id, problems in settings_problems(dicom_settings()).items()
        for problem in problems
    ]


def register() -> None:
    """Called once from ``DicomNetConfig.ready``."""
    checks.register(check_dicom_network)
