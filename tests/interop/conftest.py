"""Interop peers on loopback: DCMTK (storescp, echoscu), pynetdicom, and our own server
as a separate process. DCMTK gets ``TCP_NODELAY=1`` in its environment (Debian's build
needs it, or every small response waits ~40 ms for a delayed ACK)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from tests.dicomkit.net.aio.certs import Certificates, make_certificates
from tests.interop.peers import (
    announced_port,
    dcmtk_env,
    free_port,
    pynetdicom_verification_scp,
    started,
    stop,
)

if TYPE_CHECKING:
    from pynetdicom.transport import ThreadedAssociationServer


REPO_ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.interop)


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
    processes: list[subprocess.Popen[str]] = []

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
        processes.append(process)
        # Event-based: the server says when it listens (stopped at teardown if it does not).
        return ServerProcess(announced_port(process), process)

    yield start
    for process in processes:
        stop(process)


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[StartStorescp]:
    """Start DCMTK's storescp: ``storescp(max_pdu=..., certs=...)``; returns the port."""
    binary = _require("storescp")

    with contextlib.ExitStack() as running:

        def start(*, max_pdu: int | None = None, certs: Certificates | None = None) -> int:
            port = free_port()
            args = [binary, "-aet", "STORESCP", "-od", str(tmp_path)]
            if max_pdu is not None:
                args += ["-pdu", str(max_pdu)]
            if certs is not None:
                args += ["+tls", str(certs.server_key), str(certs.server_cert), "+cf", str(certs.ca), "-ic"]
            args.append(str(port))
            running.enter_context(started(args, port, cwd=tmp_path))
            return port

        yield start


@pytest.fixture
def pynetdicom_scp() -> Iterator[StartPynetdicomScp]:
    """A pynetdicom Verification SCP in this process: ``pynetdicom_scp(max_pdu=...)``."""
    servers: list[ThreadedAssociationServer] = []

    def start(*, max_pdu: int = 16384) -> int:
        server = pynetdicom_verification_scp(max_pdu=max_pdu)
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
