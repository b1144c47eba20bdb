"""Celery: Redis as broker and result backend from ``REDIS_URL``, else eager in-process tasks.

Without Redis there is no worker to send to, so tasks run eagerly in the caller
(``task_always_eager``). ``PACS_CELERY_EAGER`` forces either mode, e.g. Redis for the cache
and channels but no worker on a single-machine install.

Read by ``celery_app`` through ``config_from_object("django.conf:settings", namespace="CELERY")``:
a Django setting ``CELERY_TASK_ACKS_LATE`` is Celery's ``task_acks_late``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pacs_project.settings.env import Env, env_bool, env_str

DEFAULT_QUEUE = "default"


@dataclass(frozen=True, slots=True)
class CeleryServiceSettings:
    """The part of the Celery configuration that depends on which services exist."""

    broker_url: str
    result_backend: str
    task_always_eager: bool


def celery_service_settings(env: Env) -> CeleryServiceSettings:
    """Broker, result backend and eagerness for this environment."""
    url = env_str(env, "REDIS_URL")
    if url:
        return CeleryServiceSettings(
            broker_url=url,
            result_backend=url,
            task_always_eager=env_bool(env, "PACS_CELERY_EAGER", default=False),
        )
    return CeleryServiceSettings(
        broker_url="memory://",
        result_backend="cache+memory://",
        task_always_eager=env_bool(env, "PACS_CELERY_EAGER", default=True),
    )
