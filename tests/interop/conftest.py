"""Interop peers on loopback: DCMTK (storescp, echoscu), pynetdicom, and our own server
as a separate process. DCMTK gets ``TCP_NODELAY=1`` in its environment (Debian's build
needs it, or every small response waits ~40 ms for a delayed ACK)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from tests.dicomkit.net.aio.certs import Certificates, make_certificates

if TYPE_CHECKING:
    from pynetdicom.transport import ThreadedAssociationServer

REPO_ROOT = Path(__file__).resolve().parents[2]
VERIFICATION = "1.2.840.10008.1.1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.interop)


def dcmtk_env() -> dict[str, str]:
    return {**os.environ, "TCP_NODELAY": "1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """Until ``port`` accepts; between attempts wait on the process itself (it may die)."""
    attempts = int(timeout / 0.02)
    for _ in range(attempts):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        try:
            process.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"{process.args!r} exited with {process.returncode} before listening")
    raise RuntimeError(f"nothing listens on port {port}")


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("interop-certs"))


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} (DCMTK) is not installed")
    return path


class StartStorescp(Protocol):
    """The ``storescp`` fixture: DCMTK's storescp started; its port."""

    def __call__(self, *, max_pdu: int | None = ..., certs: Certificates | None = ...) -> int: ...


class StartPynetdicomScp(Protocol):
    """The ``pynetdicom_scp`` fixture: a pynetdicom Verification SCP started; its port."""

    def __call__(self, *, max_pdu: int = ...) -> int: ...


@dataclass
class ServerProcess:
    port: int
    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def alive(self) -> bool:
        return self.process.poll() is None


class StartDicomkitServer(Protocol):
    """The ``dicomkit_server`` fixture: our server process started."""

    def __call__(
        self,
        *,
        max_pdu: int = ...,
        artim: float = ...,
        certs: Certificates | None = ...,
        client_ca: bool = ...,
    ) -> ServerProcess: ...


@pytest.fixture
def dicomkit_server() -> Iterator[StartDicomkitServer]:
    """Start our server process: ``dicomkit_server(max_pdu=..., tls=certs, artim=...)``."""
    started: list[subprocess.Popen[str]] = []

    def start(
        *,
        max_pdu: int = 16384,
        artim: float = 30.0,
        certs: Certificates | None = None,
        client_ca: bool = False,
    ) -> ServerProcess:
        args = [sys.executable, "-m", "tests.interop.dicomkit_server", "--max-pdu", str(max_pdu)]
        args += ["--artim", str(artim)]
        if certs is not None:
            args += ["--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key)]
            if client_ca:
                args += ["--tls-ca", str(certs.ca)]
        process = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()  # event-based: the server says when it listens
        if not line.startswith("LISTENING "):
            stop(process)
            raise RuntimeError(f"our server did not start: {line!r}")
        return ServerProcess(int(line.split()[1]), process)

    yield start
    for process in started:
        stop(process)


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[StartStorescp]:
    """Start DCMTK's storescp: ``storescp(max_pdu=..., certs=...)``; returns the port."""
    binary = _require("storescp")
    started: list[subprocess.Popen[bytes]] = []

    def start(*, max_pdu: int | None = None, certs: Certificates | None = None) -> int:
        port = free_port()
        args = [binary, "-aet", "STORESCP", "-od", str(tmp_path)]
        if max_pdu is not None:
            args += ["-pdu", str(max_pdu)]
        if certs is not None:
            args += ["+tls", str(certs.server_key), str(certs.server_cert), "+cf", str(certs.ca), "-ic"]
        args.append(str(port))
        process = subprocess.Popen(
            args, env=dcmtk_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path
        )
        started.append(process)
        wait_for_port(port, process)
        return port

    yield start
    for process in started:
        stop(process)


@pytest.fixture
def pynetdicom_scp() -> Iterator[StartPynetdicomScp]:
    """A pynetdicom Verification SCP in this process: ``pynetdicom_scp(max_pdu=...)``."""
    from pynetdicom import AE

    servers: list[ThreadedAssociationServer] = []

    def start(*, max_pdu: int = 16384) -> int:
        ae = AE(ae_title="PYNETDICOM")
        ae.add_supported_context(VERIFICATION)
        ae.maximum_pdu_size = max_pdu
        server = ae.start_server(("127.0.0.1", 0), block=False)
        assert server is not None  # block=False returns the running server
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()


def run_echoscu(port: int, *extra: str, aec: str = "DICOMKIT") -> subprocess.CompletedProcess[str]:
    binary = _require("echoscu")
    return subprocess.run(
        [binary, "-aet", "ECHOSCU", "-aec", aec, *extra, "127.0.0.1", str(port)],
        check=False,
        env=dcmtk_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
