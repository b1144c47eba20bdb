"""``run_dicom_server --workers N``: N processes answer on one port; the parent supervises them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections import Counter
from collections.abc import Callable

import pytest

from apps.dicom_net.models import AssociationLog
from dicomkit.net.aio.client import VERIFICATION_CONTEXT, Association, open_association
from dicomkit.net.config import AEConfig
from tests.apps.dicom_net.conftest import DicomServerProcess, Echo, StartServer

EXIT_TIMEOUT = 30.0
BATCH = 6
MAX_BATCHES = 10


def _echo_batch(server: DicomServerProcess, echoscu_command: Callable[[int], list[str]], sent: int) -> int:
    """Runs BATCH echoscu at once; waits until the server has logged every association so far."""
    peers = [
        subprocess.Popen(echoscu_command(server.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(BATCH)
    ]
    assert [peer.wait(timeout=60) for peer in peers] == [0] * BATCH
    sent += BATCH
    server.wait_for(
        lambda: len(server.messages("association ended")) >= sent,
        timeout=30,
        what=f"{sent} ended associations",
    )
    return sent


def test_two_workers_share_the_port_and_both_answer(
    dicom_server: StartServer, echoscu_command: Callable[[int], list[str]]
) -> None:
    server = dicom_server("--workers", "2")
    pids = server.wait_listening(count=2)
    assert len(set(pids)) == 2
    assert server.process.pid not in pids

    # Echoes end at once, so one idle worker may take a whole batch: a few batches of
    # concurrent associations reach both workers.
    sent = 0
    answered: set[int] = set()
    for _ in range(MAX_BATCHES):
        sent = _echo_batch(server, echoscu_command, sent)
        answered = {line["pid"] for line in server.messages("association ended")}
        if answered == set(pids):
            break
    assert answered == set(pids)

    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0
    assert set(AssociationLog.objects.values_list("server_pid", flat=True)) == set(pids)
    assert AssociationLog.objects.count() == sent
    assert len(server.messages("dicom server stopped")) == 3  # two workers and the parent


def test_a_crashed_worker_is_replaced_and_the_exit_status_reports_it(
    dicom_server: StartServer, echoscu: Echo
) -> None:
    server = dicom_server("--workers", "2")
    first, second = server.wait_listening(count=2)

    os.kill(first, signal.SIGKILL)
    server.wait_for(
        lambda: len(server.messages("dicom server listening")) == 3, timeout=60, what="a replacement worker"
    )
    (crash,) = server.messages("dicom worker exited unexpectedly, restarting")
    assert crash["worker_pid"] == first
    assert crash["exitcode"] == -signal.SIGKILL
    replacement = server.messages("dicom server listening")[-1]["pid"]
    assert replacement not in (first, second)

    assert echoscu(server.port).returncode == 0
    assert server.terminate_and_wait(EXIT_TIMEOUT) == 1
    stopped = server.messages("dicom server stopped")
    assert {line["pid"] for line in stopped if "clean" not in line} == {second, replacement}


def test_a_taken_port_fails_the_start_at_once_with_status_1(dicom_server: StartServer) -> None:
    with socket.socket() as taken:  # listening already: the parent cannot bind it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = dicom_server("--workers", "2", port=taken.getsockname()[1])
        assert server.process.wait(timeout=120) == 1
        server.stop()
    assert "cannot listen on" in server.output()
    assert not server.messages("dicom worker started")


def test_long_associations_are_spread_evenly_over_the_workers(dicom_server: StartServer) -> None:
    server = dicom_server("--workers", "2")
    pids = server.wait_listening(count=2)

    async def hold_four() -> None:
        # Each opened after the one before is established, as modalities reconnect: the
        # least loaded worker takes the next (SO_REUSEPORT split four 2:2 in 3 of 8 cases).
        held = []
        for _ in range(4):
            held.append(await _open(server.port))
        for association in held:
            await association.release()

    asyncio.run(hold_four())
    server.wait_for(
        lambda: len(server.messages("association ended")) == 4, timeout=30, what="4 ended associations"
    )
    served = Counter(line["pid"] for line in server.messages("association ended"))
    assert served == {pids[0]: 2, pids[1]: 2}
    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0


async def _open(port: int) -> Association:
    return await open_association("127.0.0.1", port, AEConfig("HOLDER"), "PACS", [VERIFICATION_CONTEXT])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to pin two workers apart")
def test_two_workers_each_run_on_a_cpu_of_their_own(dicom_server: StartServer) -> None:
    allowed = os.sched_getaffinity(0)
    server = dicom_server("--workers", "2")
    pids = server.wait_listening(count=2)

    cpus = [os.sched_getaffinity(pid) for pid in pids]
    assert all(len(cpu) == 1 for cpu in cpus)
    assert set.union(*cpus) == set(sorted(allowed)[:2])  # apart, on the first allowed CPUs
    pinned = {line["pid"]: line["cpu"] for line in server.messages("dicom worker pinned")}
    assert pinned == {pid: next(iter(cpu)) for pid, cpu in zip(pids, cpus, strict=True)}
    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0


def test_pinning_can_be_turned_off(dicom_server: StartServer) -> None:
    server = dicom_server("--workers", "2", env={"PACS_DICOM_PIN_WORKERS": "0"})
    pids = server.wait_listening(count=2)
    assert [os.sched_getaffinity(pid) for pid in pids] == [os.sched_getaffinity(0)] * 2
    assert not server.messages("dicom worker pinned")
    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0


def _policies(pid: int) -> set[int]:
    """The scheduling policies of every thread of process ``pid``."""
    return {os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
def test_the_workers_and_their_threads_run_under_batch_scheduling(
    dicom_server: StartServer, echoscu_command: Callable[[int], list[str]]
) -> None:
    server = dicom_server("--workers", "2")
    pids = server.wait_listening(count=2)
    _echo_batch(server, echoscu_command, 0)  # the workers have started their threads
    assert [_policies(pid) for pid in pids] == [{os.SCHED_BATCH}] * 2
    assert [line["batch_scheduling"] for line in server.messages("dicom server starting")] == [True]
    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0


def test_batch_scheduling_can_be_turned_off(dicom_server: StartServer) -> None:
    server = dicom_server("--workers", "2", env={"PACS_DICOM_BATCH_SCHEDULING": "0"})
    pids = server.wait_listening(count=2)
    assert [_policies(pid) for pid in pids] == [{os.SCHED_OTHER}] * 2
    assert [line["batch_scheduling"] for line in server.messages("dicom server starting")] == [False]
    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0
