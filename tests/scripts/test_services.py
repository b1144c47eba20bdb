"""scripts/services.py starts real PostgreSQL and Redis on loopback and stops them completely."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import psycopg
import pytest
import redis


@pytest.fixture
def services_root() -> Iterator[Path]:
    # /tmp rather than tmp_path: as root, the postgres user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="pacs-services-test-", dir="/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((parts.hostname or "", parts.port or 0)) == 0


def test_start_prints_exports_of_working_loopback_servers_and_stop_ends_them(
    services_module: ModuleType, services_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert services_module.main(["start", str(services_root)]) == 0
    try:
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in capsys.readouterr().out.splitlines()
        )
        assert sorted(exports) == ["DATABASE_URL", "REDIS_URL"]
        assert {urlsplit(url).hostname for url in exports.values()} == {"127.0.0.1"}
        with psycopg.connect(exports["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("pacs",)
        client = redis.Redis.from_url(exports["REDIS_URL"])
        assert client.ping() is True
        client.close()
        recorded = json.loads((services_root / services_module.STATE_FILE).read_text())
        assert recorded["database_url"] == exports["DATABASE_URL"]
    finally:
        assert services_module.main(["stop", str(services_root)]) == 0
    assert not _port_open(exports["DATABASE_URL"])
    assert not _port_open(exports["REDIS_URL"])
    services_module.stop(services_root)  # a second stop is harmless


def test_stop_without_a_start_is_harmless(services_module: ModuleType, tmp_path: Path) -> None:
    services_module.stop(tmp_path)
