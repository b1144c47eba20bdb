"""Project-wide system checks (``manage.py check``), ids ``pacs_project.E0xx``.

E001: outside DEBUG, ``SECRET_KEY`` must be configured (environment or key file). Without it
      sessions, password reset tokens and signed values would use a key published in this
      repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from pacs_project.settings.components.security import INSECURE_SECRET_KEY


def check_secret_key(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E001: a real secret key outside DEBUG."""
    if settings.DEBUG or settings.SECRET_KEY != INSECURE_SECRET_KEY:
        return []
    return [
        checks.Error(
            "No SECRET_KEY is configured and DEBUG is off.",
            hint=(
                'Set DJANGO_SECRET_KEY to a long random value (e.g. `python -c "import secrets; '
                'print(secrets.token_urlsafe(50))"`) or PACS_SECRET_KEY_FILE to a file holding one, '
                "or DJANGO_DEBUG=1 on a development machine."
            ),
            id="pacs_project.E001",
        )
    ]


def register() -> None:
    """Called once from ``PacsProjectConfig.ready``."""
    checks.register(check_secret_key, checks.Tags.security)
