"""Django app tests run against the real services, started once before the first of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import ServiceUrls


@pytest.fixture(scope="session", autouse=True)
def _services_for_app_tests(pacs_services: ServiceUrls) -> None:
    """Makes sure PostgreSQL and Redis are up (and configured) before any app test runs."""
