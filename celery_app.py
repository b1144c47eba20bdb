"""The Celery application: ``celery -A celery_app worker -Q default``.

Configuration comes from Django settings (``CELERY_*``, see
``pacs_project/settings/components/celery.py``); tasks are discovered in each installed
app's ``tasks.py``. Every task has an explicit, stable ``name=``: queued messages refer to
tasks by name, so renaming a module must not strand them.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacs_project.settings")

app = Celery("pacs")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="pacs.ping")  # type: ignore[untyped-decorator]  # celery ships no type hints
def ping() -> str:
    """Liveness probe for workers: answers ``"pong"``."""
    return "pong"
