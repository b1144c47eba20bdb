"""INSTALLED_APPS. To add one of our apps, append ``"apps.<name>"`` to ``PACS_APPS``."""

from __future__ import annotations

DJANGO_APPS = [
    # daphne first: its runserver (ASGI, channels) replaces staticfiles' one.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

THIRD_PARTY_APPS = [
    "rest_framework",
    "guardian",
    "channels",
]

PACS_APPS: list[str] = [
    # Registers the project's system checks (pacs_project.checks).
    "pacs_project.apps.PacsProjectConfig",
    "apps.dicom_net",
    "apps.archive",
]

INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + PACS_APPS
