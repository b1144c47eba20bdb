"""The servers of ``query_retrieve``: ours on a generated index, Orthanc on a cached one.

* ours: ``manage.py run_dicom_server --workers 1`` on the benchmark's PostgreSQL database
  (from ``_store_servers.database``: ``scripts/services.py``, migrated), which
  ``manage.py generate_index`` fills; storescp is registered as a move destination with
  ``manage.py remote_node``.
* Orthanc 1.10 (Debian) with its own configuration (``tests/interop/peers.py``, plus
  answering any AE): its default SQLite index and storage in a directory the caller names
  (so a loaded index can be cached and reused), DICOM and HTTP on free loopback ports,
  storescp as a ``DicomModalities`` entry.

Process start/stop, ports and readiness come from ``tests/interop/peers.py``, the
database and the environment of ours from ``_store_servers``.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmarks import _store_servers as servers
from tests.interop import peers

__all__ = ["manage", "orthanc", "ours", "register_destination"]


def _env(db: servers.Database, storage: Path, **extra: str) -> dict[str, str]:
    return servers._pacs_env(
        DATABASE_URL=db.url, REDIS_URL=db.redis_url, PACS_STORAGE_ROOT=str(storage), **extra
    )


def manage(db: servers.Database, storage: Path, *args: str) -> str:
    """``manage.py <args>`` against the benchmark database; its output (raises on failure)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=servers.REPO_ROOT,
        env=_env(db, storage),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)}: {result.stderr[-2000:]}")
    return result.stdout


def register_destination(db: servers.Database, storage: Path, destination: servers.Running) -> None:
    """``destination`` as a remote node of ours (a C-MOVE destination), through the service."""
    code = (
        "from apps.dicom_net.services.remote_nodes import remote_node_create; "
        f"remote_node_create(ae_title={destination.ae_title!r}, host='127.0.0.1', port={destination.port})"
    )
    manage(db, storage, "shell", "-c", code)


@contextlib.contextmanager
def ours(db: servers.Database, storage: Path, **extra_env: str) -> Iterator[servers.Running]:
    """``run_dicom_server`` (one worker) on the benchmark database; ``extra_env``: settings."""
    port = peers.free_port()
    command = ["manage.py", "run_dicom_server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--aet", "PACS", "--workers", "1"]
    with peers.started(
        [sys.executable, *command],
        port,
        cwd=servers.REPO_ROOT,
        env=_env(db, storage, **extra_env),
        stderr=None,
        timeout=servers.READY_TIMEOUT_S,
        grace=servers.STOP_GRACE_S,
    ) as process:
        yield servers.Running("ours", "PACS", port, process, lambda: db.count(db.url))


@contextlib.contextmanager
def orthanc(data: Path, *, modalities: dict[str, tuple[str, int]] | None = None) -> Iterator[servers.Running]:
    """Orthanc with its storage and SQLite index under ``data``; ``modalities``: AE -> (host, port)."""
    settings = {
        # Orthanc answers C-FIND/C-MOVE only to known modalities unless these are set.
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowMove": True,
        "StableAge": 3600,
    }
    with peers.orthanc(
        data.parent,
        name="query-retrieve",
        storage=data / "storage",
        index=data / "index",
        modalities=modalities or {},
        settings=settings,
    ) as running:
        yield servers.Running("Orthanc", running.ae_title, running.dicom_port, running.process, running.count)
