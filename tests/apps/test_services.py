"""The project talks to the real services it is configured for: PostgreSQL, Redis, Celery."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import redis
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from celery_app import app as celery_app

if TYPE_CHECKING:
    from tests.conftest import LiveCeleryWorker, ServiceUrls


@pytest.mark.django_db
def test_database_url_selects_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        (version,) = cursor.fetchone()
    assert version >= 130000


def test_redis_answers_at_redis_url(pacs_services: ServiceUrls) -> None:
    client = redis.Redis.from_url(pacs_services.redis_url)
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_cache_is_shared_through_redis(pacs_services: ServiceUrls) -> None:
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    cache.set("smoke-key", {"value": 42}, timeout=30)
    # Read back through a separate client: the value really is in Redis, not in this process.
    client = redis.Redis.from_url(pacs_services.redis_url)
    try:
        assert any(key.endswith(b"smoke-key") for key in client.scan_iter("pacs:*"))
    finally:
        client.close()
    assert cache.get("smoke-key") == {"value": 42}


def test_a_real_worker_runs_a_task_sent_through_redis(
    live_celery_worker: LiveCeleryWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test settings run tasks eagerly; this test is about the real, queued path.
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    assert celery_app.conf.broker_url.startswith("redis://")
    result = celery_app.send_task("pacs.ping", queue=live_celery_worker.queue)
    try:
        answer = result.get(timeout=60)
    except CeleryTimeoutError:
        pytest.fail(f"worker did not answer; its log:\n{live_celery_worker.log()}")
    assert answer == "pong"
    assert live_celery_worker.process.poll() is None
