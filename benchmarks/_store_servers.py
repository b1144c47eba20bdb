"""The three Storage SCPs of ``store_throughput``, each started fresh for one timed run.

* ``ours``: ``manage.py run_dicom_server`` (the product's DIMSE server, archive storage
  with its PostgreSQL index), on a database copied from a migrated template and a storage
  root of its own, so that each run starts empty.
* ``Orthanc``: the Debian package with its own configuration (DICOM and HTTP on free
  loopback ports, no authentication, storage and its default SQLite index in the run's
  directory); everything else is Orthanc's default.
* ``storescp``: DCMTK's ``storescp --fork -od DIR +xa``, which writes files and indexes
  nothing, in a child process per association (without ``--fork`` it serves one
  association at a time, and the four-association runs would measure a queue).

Every process gets ``TCP_NODELAY=1`` in its environment (DCMTK, Orthanc included, reads
it; asyncio sets it anyway). A server's CPU time and peak memory are read from /proc for
its whole process tree: a forked worker's time counts, a reaped one's through its
parent's ``cutime``/``cstime``. Ports, readiness, stopping and Orthanc's configuration
come from ``tests/interop/peers.py``, which the interop tests start their peers with.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pacs_project.settings.components.db import socket_database_url
from tests.interop import peers
from tests.interop.peers import free_port

__all__ = [
    "READY_TIMEOUT_S",
    "REPO_ROOT",
    "STOP_GRACE_S",
    "Database",
    "Running",
    "cpu_seconds",
    "database",
    "orthanc",
    "ours",
    "process_tree",
    "remove",
    "status_kib",
    "storescp",
    "system_seconds",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 30.0


# ----------------------------------------------------------------- /proc accounting


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name (which may hold spaces): state is [0].
    return text.rpartition(")")[2].split()


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant of it (found by parent pid in /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each process, with that of its reaped children."""
    return _clock_ticks(pids, slice(11, 15))  # utime stime cutime cstime


def system_seconds(pids: list[int]) -> dict[int, float]:
    """The kernel's share of :func:`cpu_seconds`: system time, with reaped children's."""
    return _clock_ticks(pids, slice(12, 16, 2))  # stime cstime


def _clock_ticks(pids: list[int], fields_taken: slice) -> dict[int, float]:
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            times[pid] = sum(int(value) for value in fields[fields_taken]) / tick
    return times


def status_kib(pid: int, name: str) -> int:
    """A ``/proc/PID/status`` figure in KiB; 0 when the process has gone (storescp's children
    exit as their association ends)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


# ------------------------------------------------------------------------- servers


@dataclass
class Running:
    """One started SCP: where it listens, its processes, and how many instances it holds."""

    name: str
    ae_title: str
    port: int
    process: subprocess.Popen[bytes]
    count: Callable[[], int]
    # Processes whose CPU time is reported beside the server's (PostgreSQL for ours).
    helper_pids: Callable[[], list[int]] = list

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)


@contextlib.contextmanager
def storescp(workdir: Path) -> Iterator[Running]:
    folder = workdir / "storescp"
    folder.mkdir()
    port = free_port()
    args = ["storescp", "--fork", "-aet", "STORESCP", "+xa", "-od", str(folder), str(port)]
    with peers.started(args, port, cwd=workdir, timeout=READY_TIMEOUT_S, grace=STOP_GRACE_S) as process:
        yield Running("DCMTK storescp", "STORESCP", port, process, lambda: sum(1 for _ in folder.iterdir()))


@contextlib.contextmanager
def orthanc(workdir: Path) -> Iterator[Running]:
    """Orthanc with only the settings every caller of ``peers.orthanc`` shares: the
    benchmark compares against Orthanc's default behaviour."""
    with peers.orthanc(workdir, name="store-throughput") as running:
        yield Running("Orthanc", running.ae_title, running.dicom_port, running.process, running.count)


@dataclass
class Database:
    """The throwaway PostgreSQL of this benchmark, with a migrated template database."""

    root: Path
    url: str  # of the template database
    redis_url: str

    def postmaster_pid(self) -> int:
        pidfile = self.root / "postgres" / "data" / "postmaster.pid"
        return int(pidfile.read_text().split()[0])

    def psql(self, sql: str, database: str = "postgres") -> str:
        url = self.url.rsplit("/", 1)[0] + "/" + database
        result = subprocess.run(
            ["psql", url, "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True, check=False
        )
        if result.returncode:
            raise RuntimeError(f"psql {sql!r}: {result.stderr}")
        return result.stdout.strip()

    @contextlib.contextmanager
    def fresh(self) -> Iterator[str]:
        """A new database copied from the template; its URL.

        Not dropped afterwards: it goes with the cluster at the end. A database is about
        450 files in the block group where the servers create theirs too, and on ext4
        without a journal each file created scans past the inodes freed in the last minute
        (``recently_deleted``): dropping it charged that scan to every file of the next
        server (Orthanc, in the order of the forward rounds).
        """
        name = f"bench_{secrets.token_hex(4)}"
        self.psql(f"CREATE DATABASE {name} TEMPLATE {self.url.rsplit('/', 1)[1]}")
        yield self.url.rsplit("/", 1)[0] + "/" + name

    def count(self, url: str) -> int:
        return int(self.psql("SELECT count(*) FROM archive_instance", url.rsplit("/", 1)[1]))

    def socket_url(self, url: str) -> str:
        """``url`` through the cluster's Unix socket instead of TCP."""
        folder = self.psql("SHOW unix_socket_directories").split(",")[0].strip()
        return socket_database_url(url, folder)


def _pacs_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PACS_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        TCP_NODELAY="1",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="store-throughput-benchmark-" + secrets.token_hex(16),
        DJANGO_SETTINGS_MODULE="pacs_project.settings",
        PACS_LOG_LEVEL="WARNING",
        DJANGO_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


# scripts/services.py starts PostgreSQL without durability (fine for tests); a production
# index commits durably, as Orthanc's SQLite index and the stored files do.
NOT_DURABLE = {"fsync=off": "fsync=on", "synchronous_commit=off": "synchronous_commit=on",
               "full_page_writes=off": "full_page_writes=on"}  # fmt: skip


def _restart_durable(root: Path) -> None:
    """Restart the cluster with its own command line, durability switched back on."""
    datadir = root / "postgres" / "data"
    argv = shlex.split((datadir / "postmaster.opts").read_text())
    options = [NOT_DURABLE.get(arg, arg) for arg in argv[3:]]  # after: postgres -D DIR
    owner = datadir.stat().st_uid
    pg_ctl = [str(Path(argv[0]).with_name("pg_ctl")), "-D", str(datadir), "-w", "-t", "60"]
    log = root / "postgres" / "server.log"
    command = [*pg_ctl, "-m", "fast", "-l", str(log), "-o", shlex.join(options), "restart"]
    if owner != os.geteuid():
        command = ["runuser", "-u", pwd.getpwuid(owner).pw_name, "--", *command]
    # No pipes: the restarted server would hold them open.
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


@contextlib.contextmanager
def database(workdir: Path, *, durable: bool = True) -> Iterator[Database]:
    """PostgreSQL and Redis from ``scripts/services.py`` under ``workdir``; the schema migrated.

    ``durable`` turns PostgreSQL's fsync, synchronous commit and full-page writes back on.
    """
    root = workdir / "services"
    root.mkdir()
    workdir.chmod(0o755)  # PostgreSQL runs as the postgres user when we are root
    services = [sys.executable, str(REPO_ROOT / "scripts" / "services.py")]
    try:
        started = subprocess.run([*services, "start", str(root)], capture_output=True, text=True, check=False)
        if started.returncode:
            raise RuntimeError(f"scripts/services.py start: {started.stderr}")
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if "=" in line
        )
        db = Database(root, exports["DATABASE_URL"].strip("'"), exports["REDIS_URL"].strip("'"))
        if durable:
            _restart_durable(root)
            if db.psql("SHOW fsync") != "on":
                raise RuntimeError("PostgreSQL did not restart with fsync on")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=REPO_ROOT,
            env=_pacs_env(DATABASE_URL=db.url, REDIS_URL=db.redis_url, PACS_STORAGE_ROOT=str(workdir)),
            check=True,
        )
        yield db
    finally:
        subprocess.run([*services, "stop", str(root)], capture_output=True, check=False)


@contextlib.contextmanager
def ours(
    workdir: Path,
    db: Database,
    *,
    workers: int,
    settings: dict[str, str] | None = None,
    root: Path = REPO_ROOT,
) -> Iterator[Running]:
    """``run_dicom_server`` with ``workers`` processes, on a fresh database and storage root;
    ``settings``: further environment variables (``PACS_*``) for it; ``root``: the checkout
    it runs from (another one, such as a git worktree, to compare two versions).

    The server reaches PostgreSQL through its Unix socket, as a single-host install would
    (docs/configuration.md): each C-STORE's round trips over TCP loopback cost the server
    8% more CPU per image, and 10% of the images/s on four associations, in paired runs
    here.
    """
    storage = workdir / "pacs-storage"
    storage.mkdir()
    port = free_port()
    with db.fresh() as url:
        env = _pacs_env(
            DATABASE_URL=db.socket_url(url), REDIS_URL=db.redis_url, PACS_STORAGE_ROOT=str(storage)
        )
        env.update(settings or {})
        command = ["manage.py", "run_dicom_server", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--aet", "PACS", "--workers", str(workers)]
        # The parent binds (so its listening is readiness); the warm-up finds every worker up.
        with peers.started(
            [sys.executable, *command],
            port,
            cwd=root,
            env=env,
            stderr=None,
            timeout=READY_TIMEOUT_S,
            grace=STOP_GRACE_S,
        ) as process:
            yield Running(
                "ours",
                "PACS",
                port,
                process,
                lambda: _indexed_and_stored(db, url, storage),
                lambda: process_tree(db.postmaster_pid()),
            )


def _indexed_and_stored(db: Database, url: str, storage: Path) -> int:
    """Instances in our index, once checked against the files stored (staging area aside)."""
    indexed = db.count(url)
    stored = sum(len(files) for folder, _, files in os.walk(storage) if ".staging" not in Path(folder).parts)
    if stored != indexed:
        raise RuntimeError(f"{indexed} instances indexed but {stored} files stored")
    return indexed


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
