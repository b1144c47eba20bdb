"""Log lines are JSON objects with structured fields, and PHI field values never appear."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from pacs_project.settings.components.logging import logging_config
from pacs_project.structured_logging import REDACTED

Captured = tuple[logging.Logger, io.StringIO]
"""The ``apps.archive.ingest`` logger and the stream its JSON lines go to."""


@pytest.fixture
def captured() -> Iterator[Captured]:
    config = logging_config({"PACS_LOG_LEVEL": "debug"})
    logging.config.dictConfig(config)
    stream = io.StringIO()
    handler = logging.getLogger("apps").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield logging.getLogger("apps.archive.ingest"), stream
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def test_record_is_one_json_line_with_extra_fields(captured: Captured) -> None:
    logger, stream = captured
    logger.info("stored %d bytes", 512, extra={"sop_instance_uid": "1.2.3.4", "size": 512})
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO"
    assert record["logger"] == "apps.archive.ingest"
    assert record["msg"] == "stored 512 bytes"
    assert record["sop_instance_uid"] == "1.2.3.4"
    assert record["size"] == 512
    assert record["ts"].endswith("Z")


def test_phi_fields_are_redacted(captured: Captured) -> None:
    logger, stream = captured
    logger.warning("duplicate", extra={"patient_name": "Doe^Jane", "patient_id": "MRN123", "study": 7})
    text = stream.getvalue()
    assert "Doe^Jane" not in text
    assert "MRN123" not in text
    record = json.loads(text)
    assert record["patient_name"] == REDACTED
    assert record["study"] == 7


def test_exceptions_are_kept_inside_the_json_line(captured: Captured) -> None:
    logger, stream = captured
    try:
        raise ValueError("bad length")
    except ValueError:
        logger.exception("ingest failed")
    (line,) = stream.getvalue().splitlines()
    assert "ValueError: bad length" in json.loads(line)["exc"]
