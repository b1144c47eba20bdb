"""Session-wide fixtures: real PostgreSQL and Redis, and a real Celery worker on demand.

``scripts/test.sh`` starts PostgreSQL and Redis and exports ``DATABASE_URL``/``REDIS_URL``
before pytest starts, so Django's settings see them from the first import. A plain
``pytest`` run without them gets the same servers from :func:`pacs_services`, started
lazily through ``scripts/services.py`` the first time a test needs them (``tests/apps``
asks for them up front; ``tests/dicomkit`` never does, so it runs without any server).
Because pytest-django has read the settings by then, that path re-points the service
settings (database, cache, channel layer, Celery broker) at the new servers.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL")


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str


@dataclass(frozen=True)
class LiveCeleryWorker:
    """A ``celery worker`` subprocess consuming :attr:`queue` (send tasks there)."""

    queue: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _services_module() -> ModuleType:
    """``scripts/services.py``, which is a script rather than a package module."""
    spec = importlib.util.spec_from_file_location("pacs_test_services", REPO_ROOT / "scripts" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def _point_django_at(env: Mapping[str, str]) -> None:
    """Re-derive the service-dependent settings from ``env`` after Django has loaded them."""
    from asgiref.local import Local
    from django.conf import settings
    from django.db import connections
    from django.test.signals import setting_changed

    from celery_app import app as celery
    from pacs_project.settings.components import cache, channels, db
    from pacs_project.settings.components import celery as celery_settings

    settings.DATABASES = db.databases(env, var_dir=settings.VAR_DIR)
    # Django has no setting_changed receiver for DATABASES; reset the handler as its
    # receiver for CACHES does. Its private attributes are on purpose (django-stubs omits them).
    connections.close_all()
    settings_dict = connections.configure_settings(None)
    connections._settings = connections.settings = settings_dict  # type: ignore[attr-defined]
    connections._connections = Local(connections.thread_critical)  # type: ignore[attr-defined]
    for name, value in (("CACHES", cache.caches(env)), ("CHANNEL_LAYERS", channels.channel_layers(env))):
        setattr(settings, name, value)
        setting_changed.send(sender=type(settings), setting=name, value=value, enter=True)
    service = celery_settings.celery_service_settings(env)
    settings.CELERY_BROKER_URL = service.broker_url
    settings.CELERY_RESULT_BACKEND = service.result_backend
    celery.conf.update(broker_url=service.broker_url, result_backend=service.result_backend)


@pytest.fixture(autouse=True)
def _wal_journals_settled() -> Iterator[None]:
    """After each test, the archive's pending staging journals (``services.wal_settle``) are
    ended and its thread stopped, while the test may still use the database: the thread
    must not outlive the test's database access, nor hold a connection to the test database."""
    yield
    module = sys.modules.get("apps.archive.services.wal_settle")
    if module is not None:
        module.stop()


@pytest.fixture(scope="session")
def services_module() -> ModuleType:
    """``scripts/services.py`` as a module (start/stop of throwaway PostgreSQL and Redis)."""
    return _services_module()


@pytest.fixture(scope="session")
def pacs_services() -> Iterator[ServiceUrls]:
    """PostgreSQL and Redis for this session: the exported ones, else throwaway ones."""
    missing = [name for name in SERVICE_VARIABLES if not os.environ.get(name)]
    if not missing:
        yield ServiceUrls(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
        return
    services = _services_module()
    # As root PostgreSQL runs as the postgres user, which must reach its data: use /tmp then.
    root = Path(tempfile.mkdtemp(prefix="pacs-test-services-", dir="/tmp" if os.geteuid() == 0 else None))
    try:
        started = services.start(root)
    except services.ServiceError as exc:
        services.stop(root)
        shutil.rmtree(root, ignore_errors=True)
        pytest.exit(
            f"Could not start PostgreSQL and Redis for the tests: {exc}\n"
            "Run the suite with `bash scripts/test.sh`, which installs and starts them.",
            returncode=3,
        )
    exported = {name: value for name, value in started.env().items() if name in missing}
    os.environ.update(exported)
    _point_django_at(os.environ)
    try:
        yield ServiceUrls(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    finally:
        services.stop(root)
        shutil.rmtree(root, ignore_errors=True)
        for name in exported:
            os.environ.pop(name, None)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    pacs_services: ServiceUrls,
    django_db_modify_db_settings_parallel_suffix: None,
) -> None:
    """Hooks pytest-django's database setup: the servers exist before the test database."""


def _test_database_url(database_url: str) -> str:
    """``database_url`` re-pointed at the test database pytest-django created."""
    from django.db import connection

    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/" + str(connection.settings_dict["NAME"])))


@pytest.fixture(scope="session")
def live_celery_worker(
    pacs_services: ServiceUrls,
    django_db_setup: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveCeleryWorker]:
    """A real worker process on Redis, on its own queue, using the test database.

    Its writes are visible to tests that use ``transactional_db`` (not ``db``, whose
    transaction the worker cannot see).
    """
    queue = f"test-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {**os.environ, "DATABASE_URL": _test_database_url(pacs_services.database_url)}
    argv = [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool", "solo",
            "--queues", queue, "--hostname", f"{queue}@%h", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = LiveCeleryWorker(queue=queue, process=process, log_path=log_path)
    try:
        yield worker
    finally:
        process.terminate()  # warm shutdown: finishes the current task
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
