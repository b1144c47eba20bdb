"""C-STORE interop on loopback, with pydicom's whole test corpus plus a generated study.

- DCMTK ``storescu`` and pynetdicom send to our Storage SCP (StorageService with
  FileStorageHandler): every instance is stored, and ``dcmdump`` of each stored file's
  data set equals that of the file sent.
- Our SCU (and the ``store`` CLI) sends to DCMTK ``storescp`` and to Orthanc (the Debian
  package, started here with its own configuration on free loopback ports): both receive
  every instance.

"Every instance" is each corpus file that our reader reads whole and that holds a SOP
Class and SOP Instance UID (what our SCU sends); several corpus files share one SOP
Instance UID, so received files are matched to sent ones per UID, as multisets.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig
from dicomkit.net.scu.instances import Instance
from dicomkit.net.scu.storage import StoreResult, store_files
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.storage import Duplicates, FileStorageHandler, StorageService, storage_contexts
from dicomkit.part10.reader import read_file
from tests.interop import peers
from tests.interop.conftest import REPO_ROOT
from tests.interop.dcmdump import data_set_dump, dcmtk_finds_the_sop_uids, dumps_by_uid
from tests.interop.storage_senders import (
    corpus_instances,
    pydicom_data_set,
    pynetdicom_send,
    require,
    storescu_groups,
    write_study,
)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Instance, ...]:
    """One patient, one study, three series of four CT images: Explicit LE, Implicit LE, RLE."""
    return write_study(tmp_path_factory.mktemp("study"))


@pytest.fixture(scope="module")
def sendable(study: tuple[Instance, ...]) -> tuple[Instance, ...]:
    corpus = corpus_instances()
    assert len(corpus) > 150  # the corpus is really there
    return corpus + study


# ------------------------------------------------------------------ comparisons


def _assert_received_equal_sent(received: Path, sent: tuple[Instance, ...]) -> None:
    stored = sorted(received.glob("*.dcm"))
    assert len(stored) == len(sent)
    assert dumps_by_uid(stored) == dumps_by_uid([instance.path for instance in sent])


# ------------------------------------------------------------- peers -> our SCP


@asynccontextmanager
async def _our_scp(folder: Path) -> AsyncIterator[int]:
    ae = AEConfig("DICOMKIT", supported_contexts=storage_contexts(), max_associations=20)
    handler = FileStorageHandler(folder, duplicates=Duplicates.KEEP_BOTH, fsync=False)
    server = DicomServer(ae, ServiceHandlers([StorageService(handler)]), host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server.port
    finally:
        await server.shutdown(0)


def test_storescu_sends_the_corpus_and_a_study_and_our_scp_stores_every_instance(
    tmp_path: Path, sendable: tuple[Instance, ...]
) -> None:
    storescu = require("storescu")
    groups = storescu_groups(sendable)
    sendable = tuple(instance for instance in sendable if dcmtk_finds_the_sop_uids(instance.path))

    async def scenario() -> list[tuple[int, str]]:
        outcomes = []
        async with _our_scp(tmp_path) as port:
            for proposal, instances in groups.items():
                process = await asyncio.create_subprocess_exec(
                    storescu,
                    "-aet",
                    "STORESCU",
                    "-aec",
                    "DICOMKIT",
                    "-R",  # only the SOP classes of these files
                    proposal,
                    "127.0.0.1",
                    str(port),
                    *(str(instance.path) for instance in instances),
                    env=peers.dcmtk_env(),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                output, _ = await process.communicate()
                outcomes.append((process.returncode or 0, f"{proposal}: {output.decode(errors='replace')}"))
        return outcomes

    outcomes = asyncio.run(asyncio.wait_for(scenario(), 300))
    assert all(code == 0 for code, _ in outcomes), [text for code, text in outcomes if code]
    _assert_received_equal_sent(tmp_path, sendable)


def test_pynetdicom_sends_the_corpus_and_a_study_and_our_scp_stores_every_instance(
    tmp_path: Path, sendable: tuple[Instance, ...]
) -> None:
    async def scenario() -> dict[Path, int]:
        async with _our_scp(tmp_path) as port:
            return await asyncio.to_thread(pynetdicom_send, port, sendable, called="DICOMKIT")

    statuses = asyncio.run(asyncio.wait_for(scenario(), 300))
    assert statuses == {instance.path: 0 for instance in sendable}
    stored = sorted(tmp_path.glob("*.dcm"))
    assert len(stored) >= len(sendable)  # a resent instance may be stored twice
    received = dumps_by_uid(stored)
    assert received.keys() == {instance.sop_instance_uid for instance in sendable}
    for instance in sendable:
        if dcmtk_finds_the_sop_uids(instance.path):
            assert data_set_dump(instance.path) in received[instance.sop_instance_uid], instance.path
        else:
            # A data set written all in UN: pynetdicom sends the VRs pydicom infers, so
            # dcmdump shows them differently; compare the values as pydicom reads them.
            assert pydicom_data_set(instance.path) in [
                pydicom_data_set(path) for path in stored if instance.sop_instance_uid in path.name
            ], instance.path


# -------------------------------------------------------------- our SCU -> peers


def _our_store(port: int, called: str, instances: tuple[Instance, ...]) -> list[StoreResult]:
    paths = [instance.path for instance in instances]
    return asyncio.run(
        asyncio.wait_for(store_files("127.0.0.1", port, AEConfig("DICOMKIT"), called, paths), 300)
    )


@pytest.fixture
def storescp_all(tmp_path: Path) -> Iterator[Callable[[], tuple[int, Path]]]:
    """DCMTK's storescp accepting every transfer syntax it knows (``+xa``)."""
    binary = require("storescp")

    with contextlib.ExitStack() as running:

        def start() -> tuple[int, Path]:
            port = peers.free_port()
            folder = tmp_path / "storescp"
            folder.mkdir()
            args = [binary, "-aet", "STORESCP", "+xa", "-od", str(folder), "-uf", str(port)]
            running.enter_context(peers.started(args, port))
            return port, folder

        yield start


def _received_uids(folder: Path) -> set[str]:
    found = set()
    for path in folder.iterdir():
        uid = read_file(path).dataset.get_str(0x00080018)
        assert uid is not None
        found.add(uid)
    return found


def test_our_scu_sends_the_corpus_and_a_study_to_storescp(
    storescp_all: Callable[[], tuple[int, Path]], sendable: tuple[Instance, ...]
) -> None:
    port, folder = storescp_all()
    results = _our_store(port, "STORESCP", sendable)
    # storescp answers C000 to what DCMTK cannot parse (SOP UIDs written in UN).
    readable = [dcmtk_finds_the_sop_uids(instance.path) for instance in sendable]
    assert [r.status == 0 for r in results] == readable, [
        f"{r.path.name}: {r.describe()}" for r, ok in zip(results, readable, strict=True) if r.ok != ok
    ]
    assert all(r.status is not None for r in results)
    assert _received_uids(folder) == {instance.sop_instance_uid for instance in sendable}
    # Where a UID is sent once, the file storescp wrote holds what we sent.
    once = [uid for uid, n in Counter(i.sop_instance_uid for i in sendable).items() if n == 1]
    by_uid = {i.sop_instance_uid: i for i in sendable}
    written = {read_file(p).dataset.get_str(0x00080018): p for p in folder.iterdir()}
    for uid in once:
        assert data_set_dump(written[uid]) == data_set_dump(by_uid[uid].path), by_uid[uid].path


def test_store_cli_sends_a_study_folder_to_storescp(
    storescp_all: Callable[[], tuple[int, Path]], study: tuple[Instance, ...]
) -> None:
    port, folder = storescp_all()
    root = study[0].path.parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "dicomkit", "store", "127.0.0.1", str(port), str(root), "--aec", "STORESCP"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"stored 12 of 12 files (0 converted) to STORESCP@127.0.0.1:{port}" in result.stdout
    assert _received_uids(folder) == {instance.sop_instance_uid for instance in study}


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[peers.Orthanc]:
    """Orthanc storing in ``tmp_path`` whatever any AE sends: unknown SOP classes and every
    DICOM transfer syntax."""
    require("Orthanc")
    settings = {
        "DicomAlwaysAllowStore": True,
        "UnknownSopClassAccepted": True,
        "AcceptedTransferSyntaxes": ["1.2.840.10008.1.*"],
        "HttpsVerifyPeers": False,
        "StableAge": 3600,
    }
    with peers.orthanc(tmp_path, name="dicomkit-interop", settings=settings) as running:
        yield running


def _orthanc_indexes(instance: Instance) -> bool:
    """Orthanc (DCMTK inside) refuses instances it cannot index: without Study/Series
    Instance UID, or whose SOP UIDs DCMTK cannot find (a data set written all in UN)."""
    dataset = read_file(instance.path).dataset
    identified = all(dataset.get_str(tag) for tag in (0x0020000D, 0x0020000E))
    return identified and dcmtk_finds_the_sop_uids(instance.path)


def test_our_scu_sends_the_corpus_and_a_study_to_orthanc(
    orthanc: peers.Orthanc, sendable: tuple[Instance, ...]
) -> None:
    results = _our_store(orthanc.dicom_port, orthanc.ae_title, sendable)
    indexable = [_orthanc_indexes(instance) for instance in sendable]
    assert sum(indexable) > 140
    # Every instance reached Orthanc and got its answer; those it cannot index, a failure.
    assert [r.status == 0 for r in results] == indexable, [
        f"{r.path.name}: {r.describe()}" for r, ok in zip(results, indexable, strict=True) if r.ok != ok
    ]
    assert all(r.status is not None for r in results)
    instances = orthanc.rest("/instances?expand")
    assert isinstance(instances, list)
    received = {entry["MainDicomTags"]["SOPInstanceUID"] for entry in instances}
    assert received == {i.sop_instance_uid for i, ok in zip(sendable, indexable, strict=True) if ok}
