"""The project talks to the real services it is configured for: PostgreSQL, Redis, Celery."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections

from celery_app import app as celery_app
from pacs_project.settings.components.db import databases, socket_database_url

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import LiveCeleryWorker, ServiceUrls


@pytest.mark.django_db
def test_database_url_selects_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        (version,) = cursor.fetchone()
    assert version >= 130000


@pytest.mark.django_db
def test_database_url_reaches_a_local_postgresql_through_its_unix_socket(
    pacs_services: ServiceUrls, tmp_path: Path
) -> None:
    """The socket form of ``DATABASE_URL`` (docs/configuration.md) connects Django over the
    socket: the server sees no client address, where over TCP it sees 127.0.0.1."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW unix_socket_directories")
        (folders,) = cursor.fetchone()
    test_database = "/" + str(connection.settings_dict["NAME"])
    tcp_url = urlunsplit(urlsplit(pacs_services.database_url)._replace(path=test_database))
    url = socket_database_url(tcp_url, folders.split(",")[0].strip())
    config = databases({"DATABASE_URL": url}, var_dir=tmp_path)["default"]
    assert config["HOST"].startswith("/")
    wrapper = type(connections[DEFAULT_DB_ALIAS])({**connection.settings_dict, **config}, alias="socket")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT inet_client_addr() IS NULL, current_database()")
            over_socket, name = cursor.fetchone()
    finally:
        wrapper.close()
    assert over_socket is True
    assert name == connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_client_addr() IS NULL")
        assert cursor.fetchone() == (False,)  # the usual test connection: TCP


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
