"""Django app tests run against the real services, started once before the first of them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _services_for_app_tests(pacs_services: object) -> None:
    """Makes sure PostgreSQL and Redis are up (and configured) before any app test runs."""
