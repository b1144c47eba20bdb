"""Logging: one JSON object per line on stderr, with PHI-bearing fields redacted.

Log records carry structured fields through ``extra=`` (``logger.info("stored",
extra={"sop_instance_uid": uid})``); the formatter writes them as JSON keys. Patient
identifiers never belong in logs: the redaction filter replaces known PHI field names as a
safety net, it does not make it acceptable to pass them.

``PACS_LOG_LEVEL`` sets our loggers (``apps``, ``dicomkit``, ``pacs_project``, ``celery_app``),
``DJANGO_LOG_LEVEL`` Django's and Celery's; both default to INFO.
"""

from __future__ import annotations

from typing import Any

from pacs_project.settings.env import Env, env_str

OUR_LOGGERS = ("apps", "dicomkit", "pacs_project", "celery_app")


def logging_config(env: Env) -> dict[str, Any]:
    """The ``LOGGING`` setting (``logging.config.dictConfig`` schema)."""
    level = env_str(env, "PACS_LOG_LEVEL", default="INFO").upper()
    framework_level = env_str(env, "DJANGO_LOG_LEVEL", default="INFO").upper()
    loggers: dict[str, Any] = {
        name: {"handlers": ["console"], "level": level, "propagate": False} for name in OUR_LOGGERS
    }
    for name in ("django", "celery", "daphne"):
        loggers[name] = {"handlers": ["console"], "level": framework_level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact_phi": {"()": "pacs_project.structured_logging.RedactPhiFilter"}},
        "formatters": {"json": {"()": "pacs_project.structured_logging.JsonLinesFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact_phi"],
            }
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": loggers,
    }
