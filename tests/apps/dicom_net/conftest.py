"""Fixtures of the dicom_net tests: log capture, and ``run_dicom_server`` as a real subprocess.

:func:`dicom_server` starts ``manage.py run_dicom_server`` on a free port against the test
database (as ``live_celery_worker`` in tests/conftest.py does), so its association log rows
are visible to ``transactional_db`` tests. The server's JSON log lines are read by a thread
as they come; tests wait for a line (an event) with a bounded deadline instead of sleeping.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from pytest_django import Settings

from tests.apps.archive.conftest import locked_by_someone, ready_in_reserve

REPO_ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 60.0

LogLine = dict[str, Any]  # a JSON object


@pytest.fixture
def caplog_apps(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """``caplog`` that also sees our loggers, which LOGGING keeps from propagating to the root."""
    monkeypatch.setattr(logging.getLogger("apps"), "propagate", True)
    caplog.set_level(logging.INFO, logger="apps")
    return caplog


class Terminal(io.StringIO):
    """A command's stream that says it is a terminal (progress bars are drawn on those)."""

    def isatty(self) -> bool:
        return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DicomServerProcess:
    """A running ``run_dicom_server``; its stderr JSON lines are collected in :attr:`lines`."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.lines: list[LogLine] = []
        self.other_output: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                line = None
            with self._changed:
                if isinstance(line, dict):
                    self.lines.append(line)
                else:
                    self.other_output.append(raw)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def messages(self, msg: str) -> list[LogLine]:
        with self._changed:
            return [line for line in self.lines if line.get("msg") == msg]

    def wait_for(self, predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Waits until ``predicate()`` holds (re-checked on every new log line)."""
        with self._changed:
            ok = self._changed.wait_for(lambda: predicate() or not self._reader.is_alive(), timeout=timeout)
        if not (ok and predicate()):
            raise AssertionError(f"timed out waiting for {what}; output:\n{self.output()}")

    def wait_listening(self, count: int = 1) -> list[int]:
        """Waits for ``count`` "listening" lines; the PIDs of the serving processes."""
        self.wait_for(
            lambda: len(self.messages("dicom server listening")) >= count,
            timeout=START_TIMEOUT,
            what=f"{count} listening server process(es)",
        )
        return [line["pid"] for line in self.messages("dicom server listening")]

    def terminate_and_wait(self, timeout: float) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        with self._changed:
            return "".join(self.other_output) + "\n".join(json.dumps(line) for line in self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)


def _test_database_url() -> str:
    """``DATABASE_URL`` re-pointed at the database pytest-django created for this session."""
    from django.db import connection

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + str(connection.settings_dict["NAME"])))


def manage_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``manage.py`` subprocess against this session's test database."""
    return {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "pacs_project.settings",
        "DJANGO_SECRET_KEY": "dicom-net-tests-" + "x" * 40,
        "PACS_LOG_LEVEL": "INFO",
        **(extra or {}),
    }


class StartServer(Protocol):
    """The ``dicom_server`` fixture: ``run_dicom_server [*flags]``, ``PACS_*`` overrides in ``env``."""

    def __call__(
        self, *flags: str, env: dict[str, str] | None = None, port: int | None = None
    ) -> DicomServerProcess: ...


@pytest.fixture
def dicom_server(transactional_db: None) -> Iterator[StartServer]:
    """Starts ``run_dicom_server [*flags]`` on a free port with ``PACS_*`` overrides in ``env``."""
    started: list[DicomServerProcess] = []

    def start(*flags: str, env: dict[str, str] | None = None, port: int | None = None) -> DicomServerProcess:
        port = port or free_port()
        # Every test peer is 127.0.0.1: the per-peer cap is left to the tests about it, so
        # that tests opening several associations at once meet only the global limit.
        environment = manage_env(
            {"PACS_DICOM_SHUTDOWN_GRACE": "5", "PACS_DICOM_MAX_ASSOCIATIONS_PER_PEER": "1000", **(env or {})}
        )
        argv = [sys.executable, "manage.py", "run_dicom_server", "--port", str(port), *flags]
        server = DicomServerProcess(argv, environment, port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def echoscu_argv(
    port: int, *, calling: str = "ECHOSCU", called: str = "PACS", extra: tuple[str, ...] = ()
) -> list[str]:
    return [
        "echoscu", "-aet", calling, "-aec", called, "-to", "20", "-ta", "20", "-td", "20", *extra,
        "127.0.0.1", str(port),
    ]  # fmt: skip


class Echo(Protocol):
    """The ``echoscu`` fixture: DCMTK's echoscu run to its end."""

    def __call__(
        self, port: int, *, calling: str = ..., called: str = ..., extra: tuple[str, ...] = ...
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def echoscu() -> Echo:
    """Runs DCMTK's echoscu (``echoscu(port, calling=, called=, extra=)``) and returns its result."""
    if not Path("/usr/bin/echoscu").exists():
        pytest.skip("DCMTK echoscu is not installed (scripts/test.sh installs it)")

    def run(
        port: int, *, calling: str = "ECHOSCU", called: str = "PACS", extra: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            echoscu_argv(port, calling=calling, called=called, extra=extra),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def echoscu_command() -> Callable[[int], list[str]]:
    """The echoscu argv, for tests that start several at once."""
    return echoscu_argv


class ArchiveServer:
    """``run_dicom_server`` storing into ``root`` (the test process reads the same root)."""

    def __init__(self, start: StartServer, root: Path) -> None:
        self._start = start
        self.root = root
        self.server: DicomServerProcess | None = None

    def start(self, *flags: str, env: dict[str, str] | None = None, workers: int = 1) -> DicomServerProcess:
        """Starts the server (again, on the same port if it ran before) and waits until it listens."""
        port = self.server.port if self.server is not None else None
        environment = {
            "PACS_STORAGE_ROOT": str(self.root),
            "PACS_DICOM_MAX_ASSOCIATIONS": "20",
            **(env or {}),
        }
        if workers > 1:
            flags = (*flags, "--workers", str(workers))
        self.server = self._start(*flags, env=environment, port=port)
        self.server.wait_listening(count=workers)
        return self.server

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port


@pytest.fixture
def archive_server(dicom_server: StartServer, settings: Settings, tmp_path: Path) -> ArchiveServer:
    """The product's DIMSE server over an empty archive of its own (``.start()`` it)."""
    root = tmp_path / "archive"
    root.mkdir()
    settings.PACS_STORAGE_ROOT = root
    return ArchiveServer(dicom_server, root)


def stored_files(root: Path) -> list[Path]:
    """Every stored file below an archive root (staging excluded)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and ".staging" not in p.parts)


def staging_files(root: Path, settle_timeout: float = 15.0) -> list[Path]:
    """Files left in the archive's staging folder once the server settled its stores.

    A store answered on the index fast path keeps its staging file, locked, until the
    server's ``wal_settle`` thread sees PostgreSQL's WAL flushed (a few hundred ms, at most
    10 s). While some file is still locked this waits (bounded); files nobody holds are
    returned at once, so a leaked file fails the test without delay. The files the server
    keeps ready for its next stores (empty, no journal, locked) are not left over.
    """
    staging = root / ".staging"
    deadline = time.monotonic() + settle_timeout
    while True:
        files = staging.iterdir() if staging.exists() else iter(())
        left = sorted(p for p in files if p.is_file() and not ready_in_reserve(p))
        if not any(_held(p) for p in left) or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _held(path: Path) -> bool:
    try:
        return locked_by_someone(path)
    except FileNotFoundError:  # ended while we looked
        return True


def wait_until_a_server_connection_waits_for_ours(pending: Future[Any], timeout: float) -> None:
    """Until some server connection waits for a lock our connection holds (bounded by
    ``timeout``); fails if ``pending`` (the transfer that should be held) ends instead."""
    ours = connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        for _ in range(int(timeout / 0.05)):
            # Statistics views are snapshotted per transaction, and we are inside one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [ours]
            )
            row = cursor.fetchone()
            if row is not None and row[0]:
                return
            try:
                pending.result(timeout=0.05)
            except FutureTimeout:
                continue
            raise AssertionError(f"the transfer was not held by the lock: {pending.result()}")
    raise AssertionError("no server connection waited for the lock")
