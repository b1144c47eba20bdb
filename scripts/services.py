"""Throwaway PostgreSQL and Redis servers on loopback, for tests and local development.

Used two ways, with one implementation:

* ``scripts/test.sh`` runs ``python scripts/services.py start DIR``, which starts both servers
  under ``DIR``, prints ``export DATABASE_URL=... REDIS_URL=...`` lines for ``eval`` and returns;
  its ``trap`` runs ``python scripts/services.py stop DIR`` on exit, also on failure.
* ``tests/conftest.py`` imports this file and calls :func:`start` / :func:`stop` itself when a
  plain ``pytest`` run finds no ``DATABASE_URL``.

Invariants:

* Servers listen on 127.0.0.1 only, on free ports picked at start, with data under ``DIR``.
* Durability is switched off (``fsync=off``, no Redis persistence): the data is disposable.
* PostgreSQL refuses to run as root, so as root its data directory is owned by, and its
  programs run as, the ``postgres`` system user (created by Debian's ``postgresql`` package).
* ``DIR/services.json`` records what was started, so that ``stop`` needs only ``DIR``.

Standard library only: it runs before the virtualenv holds anything else.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "services.json"
PG_USER = "pacs"
PG_DATABASE = "pacs"
# PostgreSQL settings for a disposable test cluster: no durability, few resources.
PG_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c shared_buffers=64MB"
)
READY_TIMEOUT_S = 30.0


class ServiceError(RuntimeError):
    """A server could not be found, started or stopped."""


@dataclass(frozen=True)
class Services:
    """What :func:`start` started, as recorded in ``DIR/services.json``."""

    root: str
    database_url: str
    redis_url: str
    pg_bindir: str
    pg_datadir: str
    pg_run_as: str | None
    redis_pidfile: str

    def env(self) -> dict[str, str]:
        """The environment variables that point the project at these servers."""
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the server binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_pg_bindir() -> Path:
    """The directory of ``initdb``/``pg_ctl``: Debian keeps them off PATH, per major version."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    if candidates:
        return candidates[0].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    raise ServiceError("PostgreSQL server programs not found: apt-get install postgresql")


def _run_as_user() -> str | None:
    """The user PostgreSQL must run as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceError("running as root, but there is no 'postgres' user to run PostgreSQL") from None
    return "postgres"


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    return argv if user is None else ["runuser", "-u", user, "--", *argv]


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"{what} failed ({result.returncode}): {result.stdout}{result.stderr}")


def _start_postgres(root: Path) -> tuple[str, Path, Path, str | None]:
    bindir = find_pg_bindir()
    user = _run_as_user()
    pg_root = root / "postgres"
    pg_root.mkdir()
    datadir = pg_root / "data"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(pg_root, entry.pw_uid, entry.pw_gid)
    _run(
        _as_user(
            user,
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                PG_USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        ),
        "initdb",
    )
    last_error: ServiceError | None = None
    for _attempt in range(3):  # the picked port may be taken between probe and bind
        port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {pg_root} {PG_OPTIONS}"
        argv = [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(pg_root / "server.log")]
        try:
            _run(_as_user(user, [*argv, "-o", options, "-w", "-t", "60", "start"]), "pg_ctl start")
        except ServiceError as exc:
            last_error = exc
            continue
        _run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, PG_DATABASE],
            "createdb",
        )
        return f"postgres://{PG_USER}@127.0.0.1:{port}/{PG_DATABASE}", bindir, datadir, user
    log = pg_root / "server.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise ServiceError(f"PostgreSQL did not start: {last_error}\n{tail}")


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis(root: Path) -> tuple[str, Path]:
    server = shutil.which("redis-server")
    if server is None:
        raise ServiceError("redis-server not found: apt-get install redis-server")
    redis_root = root / "redis"
    redis_root.mkdir()
    pidfile = redis_root / "redis.pid"
    for _attempt in range(3):
        port = free_port()
        argv = [
            server,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(redis_root),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "yes",
            "--pidfile", str(pidfile),
            "--logfile", str(redis_root / "redis.log"),
        ]  # fmt: skip
        _run(argv, "redis-server")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if _redis_ping(port):
                return f"redis://127.0.0.1:{port}/0", pidfile
            if pidfile.exists() and not _pid_alive(_read_pid(pidfile)):
                break  # it exited: most likely the port was taken; try another
            time.sleep(0.05)
        _stop_redis(pidfile)
    raise ServiceError(f"Redis did not start; see {redis_root / 'redis.log'}")


def _read_pid(pidfile: Path) -> int:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return 0


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs; an exited process its parent has not reaped yet (a zombie) does not."""
    if pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    # The state letter follows the parenthesised command name, which may itself hold spaces.
    return stat.rpartition(")")[2].split()[0] != "Z"


def _stop_redis(pidfile: Path) -> None:
    pid = _read_pid(pidfile)
    if not _pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def start(root: Path) -> Services:
    """Start PostgreSQL and Redis with their data under ``root`` (an existing, empty directory)."""
    root = root.resolve()
    # Traversable by the postgres user when we are root; the data directories stay private.
    root.chmod(0o755)
    database_url, bindir, datadir, user = _start_postgres(root)
    try:
        redis_url, pidfile = _start_redis(root)
    except BaseException:
        _stop_postgres(bindir, datadir, user)
        raise
    services = Services(
        root=str(root),
        database_url=database_url,
        redis_url=redis_url,
        pg_bindir=str(bindir),
        pg_datadir=str(datadir),
        pg_run_as=user,
        redis_pidfile=str(pidfile),
    )
    (root / STATE_FILE).write_text(json.dumps(asdict(services), indent=2))
    return services


def _stop_postgres(bindir: Path, datadir: Path, user: str | None) -> None:
    if not (datadir / "postmaster.pid").exists():
        return
    argv = [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
    subprocess.run(_as_user(user, argv), capture_output=True, check=False)


def stop(root: Path) -> None:
    """Stop whatever :func:`start` started under ``root``; safe to call twice or after a failed start."""
    state = root / STATE_FILE
    if state.exists():
        services = Services(**json.loads(state.read_text()))
        _stop_postgres(Path(services.pg_bindir), Path(services.pg_datadir), services.pg_run_as)
        _stop_redis(Path(services.redis_pidfile))
        return
    # A start that failed half-way wrote no state file: stop by the known layout.
    with contextlib.suppress(ServiceError):
        _stop_postgres(find_pg_bindir(), root / "postgres" / "data", _run_as_user())
    _stop_redis(root / "redis" / "redis.pid")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    start_cmd = sub.add_parser("start", help="start both servers; print shell export lines")
    start_cmd.add_argument("root", type=Path, help="an existing empty directory to hold their data")
    stop_cmd = sub.add_parser("stop", help="stop the servers started under ROOT")
    stop_cmd.add_argument("root", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            services = start(args.root)
            for name, value in services.env().items():
                print(f"export {name}={shlex.quote(value)}")
        else:
            stop(args.root)
    except ServiceError as exc:
        print(f"services: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
