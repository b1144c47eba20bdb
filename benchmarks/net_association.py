"""Association latency, C-ECHO rate and memory per association: our SCP vs DCMTK and pynetdicom.

Three servers run as separate processes on free loopback ports, each with
``TCP_NODELAY=1`` in its environment (DCMTK needs it, or each small response waits for
a delayed ACK): our :class:`~dicomkit.net.aio.DicomServer` serving Verification
(``tests/interop/dicomkit_server.py``), DCMTK's ``storescp``, and a pynetdicom AE
serving Verification (this module, ``python -m benchmarks.net_association
pynetdicom-scp``). All announce a maximum PDU length of 16 KiB.

One client drives all three, so the servers are compared with the same costs on the
client's side: dicomkit's asyncio requestor, in this process.

* ``association``: ``open_association`` (TCP connect, A-ASSOCIATE-RQ/AC) then
  ``release`` (A-RELEASE-RQ/RP, close), timed per association.
* ``C-ECHO``: C-ECHO-RQ/RSP round trips on one association per server; the rate is
  the number of echoes divided by their total time.
* The servers take turns (one association each, or 50 echoes each), so that load from
  elsewhere on the machine weighs on all of them alike. Each server's CPU time
  (/proc/<pid>/stat) over each phase is reported too: it depends less on that load.
* ``echoscu --repeat N``: DCMTK's own SCU, for the rate as the issue measured it: the
  time of ``--repeat N`` minus that of ``--repeat 1`` (process start, association)
  over N - 1 echoes.
* Memory: 200 associations opened to our server and held open (each after one C-ECHO);
  our server's VmRSS before and with them, and its VmHWM (peak) from /proc.

Goals (the issue): association latency within 2x of DCMTK's, C-ECHO rate at least 10x
pynetdicom's (3,000/s or more), under 1 MiB of server memory per idle association.

Run: ``python -m benchmarks net_association [--repeat N]``; N scales the number of
associations (50 N) and echoes (300 N) per server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import Comparison, Report, Timing
from dicomkit.net.aio import VERIFICATION_CONTEXT, Association, open_association
from dicomkit.net.config import AEConfig, Timeouts
from tests.interop.peers import (
    announced_port,
    dcmtk_env,
    free_port,
    pynetdicom_verification_scp,
    stop,
    wait_for_port,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_PDU = 16384
HELD_ASSOCIATIONS = 200
CLIENT = AEConfig("BENCH_SCU", timeouts=Timeouts(acse=30, dimse=30, network=None))


@dataclass
class Server:
    """One SCP process on loopback."""

    name: str
    called_ae_title: str
    port: int
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used (/proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status_kib(self, field_name: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
        raise RuntimeError(f"no {field_name} for {self.name}")


@dataclass
class Figures:
    """What was measured against one server."""

    association: Timing
    echo: Timing
    echo_rate: float
    echoscu_rate: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------ server processes


def _spawn_ours(spawn: Callable[[list[str]], subprocess.Popen[bytes]]) -> Server:
    args = [sys.executable, "-m", "tests.interop.dicomkit_server", "--max-pdu", str(MAX_PDU)]
    process = spawn([*args, "--max-associations", str(HELD_ASSOCIATIONS + 50)])
    return Server("dicomkit", "DICOMKIT", announced_port(process), process)


@contextlib.contextmanager
def _fresh_server() -> Iterator[Server]:
    """Our server in a process of its own, untouched by the other measurements."""
    process: subprocess.Popen[bytes] | None = None

    def spawn(args: list[str]) -> subprocess.Popen[bytes]:
        nonlocal process
        process = subprocess.Popen(args, cwd=REPO_ROOT, env=dcmtk_env(), stdout=subprocess.PIPE)
        return process

    try:
        yield _spawn_ours(spawn)
    finally:
        if process is not None:
            stop(process)


@contextlib.contextmanager
def _servers(workdir: Path) -> Iterator[list[Server]]:
    started: list[subprocess.Popen[bytes]] = []

    def spawn(args: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=dcmtk_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        started.append(process)
        return process

    try:
        servers = [_spawn_ours(spawn)]
        storescp = shutil.which("storescp")
        if storescp is not None:
            port = free_port()
            process = spawn(
                [storescp, "-aet", "STORESCP", "-pdu", str(MAX_PDU), "-od", str(workdir), str(port)]
            )
            wait_for_port(port, process)
            servers.append(Server("DCMTK storescp", "STORESCP", port, process))
        pynetdicom = spawn([sys.executable, "-m", "benchmarks.net_association", "pynetdicom-scp"])
        servers.append(Server("pynetdicom", "PYNETDICOM", announced_port(pynetdicom), pynetdicom))
        yield servers
    finally:
        for process in started:
            stop(process)


def serve_pynetdicom() -> None:
    """A pynetdicom Verification SCP (the peer), until terminated."""
    server = pynetdicom_verification_scp(max_pdu=MAX_PDU)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        signal.pause()  # SIGTERM ends the process
    server.shutdown()


# ----------------------------------------------------------------------- measuring


async def _open(server: Server) -> Association:
    return await open_association(
        "127.0.0.1", server.port, CLIENT, server.called_ae_title, [VERIFICATION_CONTEXT]
    )


async def _associations(servers: list[Server], count: int) -> dict[str, Timing]:
    """Open and release ``count`` associations per server, taking the servers in turn.

    Interleaving puts each server under the same load from whatever else the machine
    runs, so that the ratios stay fair when that load changes during the run.
    """
    samples: dict[str, list[float]] = {server.name: [] for server in servers}
    for index in range(count + 5):  # five untimed rounds, to warm both sides up
        for server in servers:
            start = time.perf_counter()
            association = await _open(server)
            await association.release()
            if index >= 5:
                samples[server.name].append(time.perf_counter() - start)
    return {name: Timing(tuple(values)) for name, values in samples.items()}


async def _echoes(servers: list[Server], count: int, burst: int = 50) -> dict[str, tuple[Timing, float]]:
    """``count`` C-ECHOs per server on one association each, in turns of ``burst``."""
    associations = [await _open(server) for server in servers]
    samples: dict[str, list[float]] = {server.name: [] for server in servers}
    try:
        for association in associations:
            for _ in range(burst):
                assert await association.echo() == 0
        for _ in range(count // burst):
            for server, association in zip(servers, associations, strict=True):
                for _ in range(burst):
                    start = time.perf_counter()
                    status = await association.echo()
                    samples[server.name].append(time.perf_counter() - start)
                    assert status == 0
    finally:
        for association in associations:
            await association.release()
    return {name: (Timing(tuple(values)), len(values) / sum(values)) for name, values in samples.items()}


def _echoscu_rate(server: Server, count: int) -> float | None:
    binary = shutil.which("echoscu")
    if binary is None:
        return None

    def run(repeat: int) -> float:
        args = [
            binary,
            "-aec",
            server.called_ae_title,
            "--repeat",
            str(repeat),
            "127.0.0.1",
            str(server.port),
        ]
        start = time.perf_counter()
        subprocess.run(args, env=dcmtk_env(), check=True, capture_output=True, timeout=300)
        return time.perf_counter() - start

    one = min(run(1) for _ in range(3))
    many = run(count + 1)
    return count / max(many - one, 1e-9)


async def _held(server: Server) -> dict[str, float]:
    """Our server's memory before and with HELD_ASSOCIATIONS idle associations.

    "Before" is taken after one association with one C-ECHO, so that what is loaded or
    allocated once per process (imports, caches) is not counted per association.
    """
    warm = await _open(server)
    await warm.echo()
    await warm.release()
    before = server.status_kib("VmRSS")
    held: list[Association] = []
    try:
        for _ in range(HELD_ASSOCIATIONS // 20):
            batch = await asyncio.gather(*(_open(server) for _ in range(20)))
            held.extend(batch)
        await asyncio.gather(*(association.echo() for association in held))
        with_them = server.status_kib("VmRSS")
        peak = server.status_kib("VmHWM")
    finally:
        await asyncio.gather(*(association.release() for association in held), return_exceptions=True)
    return {
        "rss_before_kib": before,
        "rss_with_kib": with_them,
        "peak_rss_kib": peak,
        "per_association_kib": (with_them - before) / HELD_ASSOCIATIONS,
        "rss_after_release_kib": server.status_kib("VmRSS"),
    }


async def _measure(servers: list[Server], associations: int, echoes: int) -> dict[str, Figures]:
    cpu = {server.name: server.cpu_seconds() for server in servers}
    latency = await _associations(servers, associations)
    association_cpu = {server.name: server.cpu_seconds() - cpu[server.name] for server in servers}
    cpu = {server.name: server.cpu_seconds() for server in servers}
    echo = await _echoes(servers, echoes)
    echo_cpu = {server.name: server.cpu_seconds() - cpu[server.name] for server in servers}
    return {
        server.name: Figures(
            latency[server.name],
            *echo[server.name],
            extra={
                "server_cpu_ms_per_association": association_cpu[server.name] / (associations + 5) * 1e3,
                "server_cpu_us_per_echo": echo_cpu[server.name] / (echoes + 50) * 1e6,
            },
        )
        for server in servers
    }


# -------------------------------------------------------------------------- report


class NetReport(Report):
    """A Report whose table shows latencies and rates instead of MB/s."""

    def table(self) -> list[str]:
        lines = [
            "| peer | operation | ours median ms | ours p95 ms | peer median ms | peer p95 ms "
            "| peer / ours |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows:
            ours, peer = row.ours, row.peer
            lines.append(
                f"| {row.case} | {row.operation} | {ours.median * 1e3:.3f} | {ours.p95 * 1e3:.3f} "
                f"| {peer.median * 1e3:.3f} | {peer.p95 * 1e3:.3f} | {row.ratio:.2f}x |"
            )
        return lines


def main(repeat: int) -> Report:
    associations, echoes = 50 * repeat, 300 * repeat
    with tempfile.TemporaryDirectory() as workdir, _servers(Path(workdir)) as servers:
        figures = asyncio.run(_measure(servers, associations, echoes))
        for server in servers:
            figures[server.name].echoscu_rate = _echoscu_rate(server, echoes)
    with _fresh_server() as fresh:
        memory = asyncio.run(_held(fresh))
    report = NetReport(
        title="DICOM association latency, C-ECHO rate and memory per association",
        peer="DCMTK storescp 3.6 and pynetdicom 3.0 as SCPs, all driven by dicomkit's asyncio client",
        goal=(
            "association latency within 2x of DCMTK's; C-ECHO rate at least 10x pynetdicom's "
            "(3,000/s or more); under 1 MiB of server memory per idle association"
        ),
        parameters={"associations": associations, "echoes": echoes, "max_pdu": MAX_PDU},
    )
    ours = figures["dicomkit"]
    for name, peer in figures.items():
        if name == "dicomkit":
            continue
        report.rows.append(
            Comparison(name, "association setup+release", 0, ours.association, peer.association)
        )
        report.rows.append(Comparison(name, "C-ECHO round trip", 0, ours.echo, peer.echo))
    for name, peer in figures.items():
        echoscu = f", echoscu --repeat: {peer.echoscu_rate:,.0f}/s" if peer.echoscu_rate else ""
        report.notes.append(
            f"{name}: association median {peer.association.median * 1e3:.3f} ms "
            f"(p95 {peer.association.p95 * 1e3:.3f} ms); C-ECHO {peer.echo_rate:,.0f}/s "
            f"on one association{echoscu}; server CPU "
            f"{peer.extra['server_cpu_ms_per_association']:.3f} ms per association, "
            f"{peer.extra['server_cpu_us_per_echo']:.0f} us per C-ECHO"
        )
    for name, peer in figures.items():
        if name != "dicomkit":
            report.notes.append(
                f"vs {name}: association latency "
                f"{ours.association.median / peer.association.median:.2f}x theirs; "
                f"C-ECHO rate {ours.echo_rate / peer.echo_rate:.2f}x theirs"
                + (
                    f" (echoscu-driven {ours.echoscu_rate / peer.echoscu_rate:.2f}x)"
                    if ours.echoscu_rate and peer.echoscu_rate
                    else ""
                )
            )
    report.notes.append(
        f"our server with {HELD_ASSOCIATIONS} idle associations open: "
        f"VmRSS {memory['rss_before_kib'] / 1024:.1f} MiB "
        f"before, {memory['rss_with_kib'] / 1024:.1f} MiB with them "
        f"({memory['per_association_kib']:.1f} KiB per association), peak (VmHWM) "
        f"{memory['peak_rss_kib'] / 1024:.1f} MiB, "
        f"{memory['rss_after_release_kib'] / 1024:.1f} MiB after release"
    )
    report.parameters["memory"] = memory
    report.parameters["echo_rates"] = {name: round(f.echo_rate) for name, f in figures.items()}
    report.parameters["echoscu_rates"] = {
        name: round(f.echoscu_rate) for name, f in figures.items() if f.echoscu_rate is not None
    }
    return report


if __name__ == "__main__":
    if sys.argv[1:] == ["pynetdicom-scp"]:
        serve_pynetdicom()
    else:
        sys.exit(
            "usage: python -m benchmarks.net_association pynetdicom-scp (the benchmark: python -m benchmarks)"
        )
