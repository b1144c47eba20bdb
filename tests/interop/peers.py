"""Peer processes on loopback, started and stopped one way for the interop tests, the
product's network tests (``tests/apps/dicom_net``) and the benchmarks.

* :func:`free_port`, :func:`dcmtk_env`: a free loopback port; the environment peers run
  with. ``TCP_NODELAY=1``: Debian's DCMTK (Orthanc included) reads it, and without it
  every small response waits ~40 ms for a delayed ACK.
* :func:`wait_for_port`, :func:`announced_port`, :func:`stop`: readiness (a socket
  listening on the port, or the child's ``LISTENING <port>`` line) and termination.
* :func:`started`: a peer process from start (listening) to stop, as a context manager.
* :func:`orthanc`: Orthanc (the Debian package) with the configuration all callers share,
  plus each caller's own keys; everything else stays Orthanc's default.
* :func:`pynetdicom_verification_scp`: a pynetdicom Verification SCP in this process.

Readiness is read from ``/proc/net/tcp`` rather than probed by connecting, so a peer sees
no connections but those under test, and a benchmark counts no CPU time spent on a probe.

This module needs the standard library only (pynetdicom is imported where it is used),
because the benchmarks import it outside pytest.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, AnyStr

if TYPE_CHECKING:
    from pynetdicom.transport import ThreadedAssociationServer

LOOPBACK = "127.0.0.1"
VERIFICATION = "1.2.840.10008.1.1"
# Orthanc opening a large index (the query benchmark's 100k studies) takes a while, and
# must be given time to close it: the query benchmark caches that index for later runs.
ORTHANC_READY_S = 90.0
ORTHANC_STOP_S = 30.0


def free_port() -> int:
    """A TCP port that is free on loopback now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def dcmtk_env() -> dict[str, str]:
    """This process's environment with ``TCP_NODELAY=1``, for DCMTK and Orthanc."""
    return {**os.environ, "TCP_NODELAY": "1"}


def _listening(port: int) -> bool:
    """Whether a socket listens on ``port``, IPv4 or IPv6 (state 0A in /proc/net/tcp*)."""
    suffix = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(suffix) and fields[3] == "0A":
                    return True
    return False


def wait_for_port(port: int, process: subprocess.Popen[AnyStr], timeout: float = 15.0) -> None:
    """Until a socket listens on ``port``; between looks, wait on ``process`` (it may die)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening(port):
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.02)
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before listening")
    raise RuntimeError(f"{process.args!r}: not listening on {port} after {timeout:.0f} s")


def announced_port(process: subprocess.Popen[AnyStr]) -> int:
    """The port a child names on its first line of output, ``LISTENING <port>`` (our server
    in ``tests/interop/dicomkit_server.py``, the benchmark's pynetdicom SCP)."""
    assert process.stdout is not None  # started with stdout=PIPE
    line = process.stdout.readline()
    text = line if isinstance(line, str) else line.decode()
    if not text.startswith("LISTENING "):
        raise RuntimeError(f"{process.args!r} did not start: {text!r}")
    return int(text.split()[1])


def stop(process: subprocess.Popen[AnyStr], grace: float = 10.0) -> None:
    """SIGTERM; SIGKILL if the process has not exited ``grace`` seconds later."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def started(
    args: Sequence[str],
    *ports: int,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stderr: int | None = subprocess.DEVNULL,
    timeout: float = 15.0,
    grace: float = 10.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """``args`` running from when it listens on every one of ``ports`` to the block's end.

    Output is discarded (``stderr=None`` keeps the error stream); ``env`` defaults to
    :func:`dcmtk_env`; ``timeout`` bounds the wait for each port, ``grace`` the stop.
    """
    process = subprocess.Popen(
        args, cwd=cwd, env=dcmtk_env() if env is None else env, stdout=subprocess.DEVNULL, stderr=stderr
    )
    try:
        for port in ports:
            wait_for_port(port, process, timeout)
        yield process
    finally:
        stop(process, grace)


@contextlib.contextmanager
def storescp_writing(binary: str, workdir: Path, ae_title: str) -> Iterator[tuple[int, Path]]:
    """DCMTK's storescp as ``ae_title`` on a free loopback port, writing what it receives
    into ``workdir/storescp``; yields the port and that folder."""
    out = workdir / "storescp"
    out.mkdir()
    port = free_port()
    with started([binary, "-aet", ae_title, "--output-directory", str(out), str(port)], port, cwd=workdir):
        yield port, out


# ---------------------------------------------------------------------------- Orthanc


@dataclass(frozen=True)
class Orthanc:
    """A started Orthanc: its DICOM and HTTP (REST) ports and its process."""

    dicom_port: int
    http_port: int
    process: subprocess.Popen[bytes]
    ae_title: str = "ORTHANC"

    def rest(self, path: str) -> object:
        """The JSON Orthanc's REST API answers to ``GET path``."""
        with urllib.request.urlopen(f"http://{LOOPBACK}:{self.http_port}{path}", timeout=60) as response:
            return json.load(response)

    def count(self) -> int:
        """How many instances Orthanc holds."""
        statistics = self.rest("/statistics")
        if not isinstance(statistics, dict):
            raise RuntimeError(f"Orthanc /statistics answered {statistics!r}")
        return int(statistics["CountInstances"])


@contextlib.contextmanager
def orthanc(
    workdir: Path,
    *,
    name: str,
    storage: Path | None = None,
    index: Path | None = None,
    modalities: Mapping[str, tuple[str, int]] | None = None,
    settings: Mapping[str, object] | None = None,
) -> Iterator[Orthanc]:
    """Orthanc run in ``workdir``, its configuration written there as ``<name>.json``.

    What every caller shares: AE title ORTHANC, DICOM and HTTP on free loopback ports, no
    remote access, no authentication, any called AE title, no plugins; storage and SQLite
    index in ``storage`` and ``index`` (default ``workdir/orthanc-storage`` and
    ``workdir/orthanc-index``). ``modalities`` (AE title -> host, port) becomes
    ``DicomModalities`` when given, even empty; ``settings`` adds or overrides further
    keys. Every key not named here keeps Orthanc's default.
    """
    dicom_port, http_port = free_port(), free_port()
    config: dict[str, object] = {
        "Name": name,
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "StorageDirectory": str(workdir / "orthanc-storage" if storage is None else storage),
        "IndexDirectory": str(workdir / "orthanc-index" if index is None else index),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": False,
        "Plugins": [],
    }
    if modalities is not None:
        config["DicomModalities"] = {ae.lower(): [ae, host, port] for ae, (host, port) in modalities.items()}
    config.update(settings or {})
    config_path = workdir / f"{name}.json"
    config_path.write_text(json.dumps(config))
    command = ["Orthanc", str(config_path)]
    ports = (dicom_port, http_port)
    with started(command, *ports, cwd=workdir, timeout=ORTHANC_READY_S, grace=ORTHANC_STOP_S) as process:
        yield Orthanc(dicom_port, http_port, process)


# ------------------------------------------------------------------------- pynetdicom


def pynetdicom_verification_scp(*, max_pdu: int) -> ThreadedAssociationServer:
    """A pynetdicom Verification SCP (AE title PYNETDICOM) on a free loopback port, served
    by threads of this process until ``.shutdown()``."""
    from pynetdicom import AE

    ae = AE(ae_title="PYNETDICOM")
    ae.add_supported_context(VERIFICATION)
    ae.maximum_pdu_size = max_pdu
    server = ae.start_server((LOOPBACK, 0), block=False)
    assert server is not None  # block=False returns the running server
    return server
