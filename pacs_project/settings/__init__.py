"""Django settings package. ``DJANGO_SETTINGS_MODULE=pacs_project.settings`` is the default.

``base`` holds everything; ``test`` only speeds the test suite up. Configuration comes from
environment variables (docs/configuration.md).
"""

from pacs_project.settings.base import *  # noqa: F403
