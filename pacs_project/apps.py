"""The project itself as an app, so that its system checks are registered at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class PacsProjectConfig(AppConfig):
    name = "pacs_project"
    verbose_name = "PACS project"

    def ready(self) -> None:
        from pacs_project import checks

        checks.register()
