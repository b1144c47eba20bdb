"""Crash safety and parallel ingest of the product's Storage SCP (``run_dicom_server``).

- ``kill -9`` of the server in the middle of a 500-instance transfer, then a restart: every
  instance that got a success response is indexed, its file is there, readable and has its
  checksum; no staging file is left; ``verify_storage`` finds nothing; sending everything
  again completes the archive.
- Concurrent associations ingest in parallel: while one is held inside its commit (the test
  holds its patient's row lock), another association's instance is stored and answered.
- ``--workers 2``: both processes serve associations and store what they receive.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import xxhash
from django.core.management import call_command
from django.db import transaction

from apps.archive.models import Instance as InstanceRow
from apps.archive.models import Patient
from apps.archive.selectors import instance_location_get
from apps.archive.storage import LocalFileBackend
from dicomkit.data.uid import generate_uid
from dicomkit.net.config import AEConfig
from dicomkit.net.scu.storage import StoreResult, store_files
from dicomkit.part10.reader import read_file
from tests.apps.dicom_net.conftest import (
    ArchiveServer,
    staging_files,
    wait_until_a_server_connection_waits_for_ours,
)
from tests.builders import write_ct

TRANSFER = 500
KILL_AFTER = 150
TIMEOUT = 300.0


def _write_instances(folder: Path, count: int, *, patient_id: str = "CRASH1", series: int = 5) -> list[Path]:
    study = generate_uid()
    series_uids = [generate_uid() for _ in range(series)]
    paths = []
    for number in range(count):
        path = folder / f"{number:04d}.dcm"
        write_ct(
            path,
            PatientID=patient_id,
            StudyInstanceUID=study,
            SeriesInstanceUID=series_uids[number % series],
            SeriesNumber=str(number % series + 1),
            InstanceNumber=str(number + 1),
        )
        paths.append(path)
    return paths


def _send(
    port: int,
    paths: list[Path],
    *,
    calling: str = "SENDER",
    on_result: Callable[[StoreResult], None] | None = None,
) -> list[StoreResult]:
    coroutine = store_files("127.0.0.1", port, AEConfig(calling), "PACS", paths, progress=on_result)
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


def _file_of(root: Path, sop_instance_uid: str) -> tuple[Path, str]:
    location = instance_location_get(sop_instance_uid=sop_instance_uid)
    assert location is not None, f"{sop_instance_uid} was answered Success but is not indexed"
    return LocalFileBackend(root).path_for(location.key), location.checksum


def test_kill_9_mid_transfer_loses_no_acknowledged_instance_and_leaves_no_trace(
    archive_server: ArchiveServer, tmp_path: Path
) -> None:
    paths = _write_instances(tmp_path / "send", TRANSFER)
    server = archive_server.start()
    acknowledged: list[str] = []
    enough = threading.Event()

    def on_result(result: StoreResult) -> None:
        if result.status == 0x0000 and result.sop_instance_uid is not None:
            acknowledged.append(result.sop_instance_uid)
            if len(acknowledged) >= KILL_AFTER:
                enough.set()

    with ThreadPoolExecutor(max_workers=1) as pool:
        transfer = pool.submit(_send, server.port, paths, on_result=on_result)
        assert enough.wait(TIMEOUT), transfer.exception(timeout=0) if transfer.done() else "no progress"
        os.kill(server.process.pid, signal.SIGKILL)
        results = transfer.result(timeout=TIMEOUT)
    assert server.process.wait(timeout=30) == -signal.SIGKILL
    assert KILL_AFTER <= len(acknowledged) < TRANSFER  # the transfer really was cut short
    assert [r.sop_instance_uid for r in results if r.ok] == acknowledged

    archive_server.start()  # a fresh process on the same port and archive
    assert staging_files(archive_server.root) == []
    for uid in acknowledged:
        path, checksum = _file_of(archive_server.root, uid)
        assert read_file(path).dataset.get_str(0x00080018) == uid  # readable, whole
        assert f"xxh3-128:{xxhash.xxh3_128(path.read_bytes()).hexdigest()}" == checksum
    assert InstanceRow.objects.count() in (len(acknowledged), len(acknowledged) + 1)  # + the one in flight
    call_command("verify_storage", "--grace-seconds", "0")  # raises CommandError on any finding

    again = _send(archive_server.port, paths)
    assert all(result.status == 0x0000 for result in again)
    assert InstanceRow.objects.count() == TRANSFER
    call_command("verify_storage", "--grace-seconds", "0")


# ------------------------------------------------------------------------- parallelism


@pytest.mark.parametrize("workers", [1, 2])
def test_an_association_held_in_its_commit_does_not_hold_up_another(
    archive_server: ArchiveServer, tmp_path: Path, workers: int
) -> None:
    server = archive_server.start(workers=workers)
    (held_first,) = _write_instances(tmp_path / "held-first", 1, patient_id="HELD")
    assert [r.status for r in _send(server.port, [held_first])] == [0x0000]  # the patient exists
    (held,) = _write_instances(tmp_path / "held", 1, patient_id="HELD")
    (free,) = _write_instances(tmp_path / "free", 1, patient_id="FREE")

    with ThreadPoolExecutor(max_workers=1) as pool, transaction.atomic():
        Patient.objects.select_for_update().get(patient_id="HELD")
        blocked = pool.submit(_send, server.port, [held], calling="HELD")
        try:
            wait_until_a_server_connection_waits_for_ours(blocked, TIMEOUT)
        except AssertionError:
            print(server.output())
            raise
        assert [r.status for r in _send(server.port, [free], calling="FREE")] == [0x0000]
        assert not blocked.done()
    assert [r.status for r in blocked.result(timeout=TIMEOUT)] == [0x0000]
    assert InstanceRow.objects.count() == 3


def test_two_workers_both_store_what_their_associations_bring(
    archive_server: ArchiveServer, tmp_path: Path
) -> None:
    server = archive_server.start(workers=2)
    pids = {line["pid"] for line in server.messages("dicom server listening")}
    assert len(pids) == 2
    sent = 0
    for batch in range(10):  # short associations may all find one worker idle: a few batches
        folders = [tmp_path / f"b{batch}-{n}" for n in range(4)]
        groups = [_write_instances(folder, 3, patient_id=f"P{batch}-{n}") for n, folder in enumerate(folders)]
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            outcomes = list(pool.map(lambda paths: _send(server.port, paths), groups))
        assert all(r.status == 0x0000 for results in outcomes for r in results)
        sent += sum(len(paths) for paths in groups)
        associations = 4 * (batch + 1)
        server.wait_for(
            lambda: len(server.messages("association ended")) >= associations,  # noqa: B023
            timeout=60,
            what=f"{associations} ended associations",
        )
        serving = {line["pid"] for line in server.messages("association ended") if line["messages"]}
        if serving == pids:
            break
    assert serving == pids
    assert InstanceRow.objects.count() == sent
    if len(os.sched_getaffinity(0)) >= 2:  # pinned apart: the threads they started too
        for pid in pids:
            threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
            assert len(threads) > 2  # the loop, handler and I/O threads
            assert len({frozenset(os.sched_getaffinity(tid)) for tid in threads}) == 1
            assert len(os.sched_getaffinity(pid)) == 1
