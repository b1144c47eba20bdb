"""JSON-lines log formatting and PHI redaction, wired in by ``settings/components/logging.py``.

A line looks like::

    {"ts": "2026-01-02T03:04:05.678Z", "level": "INFO", "logger": "apps.archive.ingest",
     "msg": "instance stored", "sop_instance_uid": "1.2.3", "bytes": 52431}

Fields passed with ``extra=`` become keys; exceptions go under ``exc``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

# Field names that carry patient identity (PS3.15 Annex E basic profile, patient module).
PHI_FIELDS = frozenset(
    {
        "patient_name",
        "patient_id",
        "patient_birth_date",
        "patient_birth_time",
        "patient_address",
        "patient_telephone_numbers",
        "other_patient_ids",
        "other_patient_names",
        "patients_mothers_birth_name",
        "medical_record_locator",
        "issuer_of_patient_id",
        "referring_physician_name",
        "accession_number",
    }
)
REDACTED = "[redacted]"


class RedactPhiFilter(logging.Filter):
    """Replaces the value of any ``extra=`` field named in :data:`PHI_FIELDS`."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in PHI_FIELDS.intersection(vars(record)):
            setattr(record, name, REDACTED)
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record, keys in a stable order, never raising on odd values."""

    def format(self, record: logging.LogRecord) -> str:
        timestamp = datetime.fromtimestamp(record.created, tz=UTC)
        payload: dict[str, object] = {
            "ts": timestamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)
