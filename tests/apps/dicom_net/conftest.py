"""Fixtures of the dicom_net tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def caplog_apps(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """``caplog`` that also sees our loggers, which LOGGING keeps from propagating to the root."""
    monkeypatch.setattr(logging.getLogger("apps"), "propagate", True)
    caplog.set_level(logging.INFO, logger="apps")
    return caplog
