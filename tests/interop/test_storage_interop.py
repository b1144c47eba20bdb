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
import json
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

import pytest

from dicomkit.data import uids
from dicomkit.data.uid import generate_uid
from dicomkit.errors import DicomError
from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig
from dicomkit.net.scu.instances import Instance, scan_instance
from dicomkit.net.scu.storage import StoreResult, store_files
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.storage import Duplicates, FileStorageHandler, StorageService, storage_contexts
from dicomkit.part10.reader import read_file
from tests.builders import make_ct
from tests.corpus import corpus_files
from tests.interop.conftest import REPO_ROOT, dcmtk_env, free_port, stop, wait_for_port

# storescu's option proposing each compressed syntax (with the uncompressed ones after it).
STORESCU_PROPOSAL = {
    uids.JPEGBaseline8Bit: "-xy",
    uids.JPEGExtended12Bit: "-xx",
    uids.JPEGLosslessSV1: "-xs",
    uids.JPEGLSLossless: "-xt",
    uids.JPEGLSNearLossless: "-xu",
    uids.JPEG2000Lossless: "-xv",
    uids.JPEG2000: "-xw",
    uids.RLELossless: "-xr",
    uids.DeflatedExplicitVRLittleEndian: "-xd",
}


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


@cache
def _corpus() -> tuple[Instance, ...]:
    """The corpus files our SCU sends: read whole by our reader, with SOP Class/Instance UIDs."""
    found = []
    for path in corpus_files():
        try:
            instance = scan_instance(path)
            read_file(path)
        except (DicomError, OSError):
            continue
        found.append(instance)
    return tuple(found)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Instance, ...]:
    """One patient, one study, three series of four CT images: Explicit LE, Implicit LE, RLE."""
    from dicomkit.codecs.transcode import transcode
    from dicomkit.part10.writer import write_file

    folder = tmp_path_factory.mktemp("study")
    study_uid = generate_uid()
    instances = []
    for series, syntax in enumerate(
        (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian, uids.RLELossless)
    ):
        series_uid = generate_uid()
        for number in range(4):
            dataset = make_ct(
                StudyInstanceUID=study_uid,
                SeriesInstanceUID=series_uid,
                SeriesNumber=str(series + 1),
                InstanceNumber=str(number + 1),
                PixelData=bytes((series * 16 + number + i) % 256 for i in range(32)),
            )
            if syntax == uids.RLELossless:
                dataset = transcode(dataset, uids.ExplicitVRLittleEndian, syntax)
            path = folder / f"s{series}" / f"{number}.dcm"
            path.parent.mkdir(exist_ok=True)
            write_file(path, dataset, transfer_syntax_uid=syntax)
            instances.append(scan_instance(path))
    return tuple(instances)


@pytest.fixture(scope="module")
def sendable(study: tuple[Instance, ...]) -> tuple[Instance, ...]:
    corpus = _corpus()
    assert len(corpus) > 150  # the corpus is really there
    return corpus + study


# ------------------------------------------------------------------ comparisons


def _data_set_dump(path: Path) -> str:
    """``dcmdump`` of the data set: every element's tag, VR and value, File Meta left out.

    What a sender may re-encode without changing the data set is left out too: group
    lengths (gggg,0000), which DCMTK recomputes; Data Set Trailing Padding (FFFC,FFFC),
    which it drops; and how sequences and items are delimited (undefined or explicit
    lengths, the delimitation items, the length column).
    """
    result = subprocess.run(["dcmdump", "-q", str(path)], capture_output=True, check=True, env=dcmtk_env())
    text = result.stdout.decode("latin-1")  # values in any character set, compared as bytes
    lines = []
    for line in text[text.index("# Dicom-Data-Set") :].splitlines()[1:]:
        if line.startswith("# Used TransferSyntax") or not line.strip():
            continue
        element = line.strip()
        if element[5:10] == ",0000" or element.startswith(("(fffc,fffc)", "(fffe,e00d)", "(fffe,e0dd)")):
            continue
        value, _, comment = line.rpartition(" # ")
        vm_and_name = comment.split(",", 1)[-1]
        value = value.rstrip().replace("undefined length", "length").replace("explicit length", "length")
        lines.append(f"{value} #{vm_and_name}")
    return "\n".join(lines)


def _dumps_by_uid(paths: list[Path]) -> dict[str, Counter[str]]:
    by_uid: dict[str, Counter[str]] = defaultdict(Counter)
    for path in paths:
        uid = read_file(path).dataset.get_str(0x00080018)
        assert uid is not None
        by_uid[uid][_data_set_dump(path)] += 1
    return dict(by_uid)


def _assert_received_equal_sent(received: Path, sent: tuple[Instance, ...]) -> None:
    stored = sorted(received.glob("*.dcm"))
    assert len(stored) == len(sent)
    assert _dumps_by_uid(stored) == _dumps_by_uid([instance.path for instance in sent])


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


def _dcmtk_finds_the_sop_uids(path: Path) -> bool:
    """Whether storescu can send the file: it needs SOP Class/Instance UID as UI elements
    (a file written all in UN, such as ``rtdose_rle.dcm``, it refuses to send)."""
    result = subprocess.run(
        ["dcmdump", "-q", "-M", "+P", "0008,0016", "+P", "0008,0018", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=dcmtk_env(),
    )
    lines = result.stdout.splitlines()
    return any(line.startswith("(0008,0016) UI") for line in lines) and any(
        line.startswith("(0008,0018) UI") for line in lines
    )


def test_storescu_sends_the_corpus_and_a_study_and_our_scp_stores_every_instance(
    tmp_path: Path, sendable: tuple[Instance, ...]
) -> None:
    storescu = _require("storescu")
    groups: dict[str, list[Instance]] = defaultdict(list)
    sendable = tuple(instance for instance in sendable if _dcmtk_finds_the_sop_uids(instance.path))
    for instance in sendable:
        groups[STORESCU_PROPOSAL.get(instance.transfer_syntax, "-x=")].append(instance)

    async def scenario() -> list[tuple[int, str]]:
        outcomes = []
        async with _our_scp(tmp_path) as port:
            for proposal, instances in sorted(groups.items()):
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
                    env=dcmtk_env(),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                output, _ = await process.communicate()
                outcomes.append((process.returncode or 0, f"{proposal}: {output.decode(errors='replace')}"))
        return outcomes

    outcomes = asyncio.run(asyncio.wait_for(scenario(), 300))
    assert all(code == 0 for code, _ in outcomes), [text for code, text in outcomes if code]
    _assert_received_equal_sent(tmp_path, sendable)


def _pynetdicom_payload(instance: Instance) -> object:
    """A PS3.10 file goes by path (pynetdicom sends its data set as is); a raw data set,
    which pynetdicom only takes as a data set, is read by pydicom with its syntax set."""
    import pydicom
    from pydicom.dataset import FileMetaDataset

    with instance.path.open("rb") as fp:
        if fp.read(132)[128:] == b"DICM":
            return instance.path
    dataset = pydicom.dcmread(instance.path, force=True)
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = instance.transfer_syntax
    return dataset


def _pynetdicom_send(port: int, instances: tuple[Instance, ...]) -> dict[Path, int]:
    """Send every file with pynetdicom (as is, in its own syntax); the statuses by path.

    A response lost to pynetdicom's requestor race (see ``test_echo_interop``) is sent
    again on a fresh association; a wrong answer from us still fails.
    """
    from pynetdicom import AE

    ae = AE(ae_title="PYNETDICOM")
    ae.dimse_timeout = 5
    for pair in sorted({(i.sop_class_uid, i.transfer_syntax) for i in instances}):
        ae.add_requested_context(pair[0], [pair[1]])
    statuses: dict[Path, int] = {}
    for _ in range(3):
        pending = [instance for instance in instances if instance.path not in statuses]
        if not pending:
            break
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        assert assoc.is_established
        try:
            for instance in pending:
                status = assoc.send_c_store(_pynetdicom_payload(instance))
                if "Status" not in status:
                    break
                statuses[instance.path] = int(status.Status)
        finally:
            if assoc.is_established:
                assoc.release()
            else:
                assoc.abort()
    return statuses


def test_pynetdicom_sends_the_corpus_and_a_study_and_our_scp_stores_every_instance(
    tmp_path: Path, sendable: tuple[Instance, ...]
) -> None:
    async def scenario() -> dict[Path, int]:
        async with _our_scp(tmp_path) as port:
            return await asyncio.to_thread(_pynetdicom_send, port, sendable)

    statuses = asyncio.run(asyncio.wait_for(scenario(), 300))
    assert statuses == {instance.path: 0 for instance in sendable}
    stored = sorted(tmp_path.glob("*.dcm"))
    assert len(stored) >= len(sendable)  # a resent instance may be stored twice
    received = _dumps_by_uid(stored)
    assert received.keys() == {instance.sop_instance_uid for instance in sendable}
    for instance in sendable:
        if _dcmtk_finds_the_sop_uids(instance.path):
            assert _data_set_dump(instance.path) in received[instance.sop_instance_uid], instance.path
        else:
            # A data set written all in UN: pynetdicom sends the VRs pydicom infers, so
            # dcmdump shows them differently; compare the values as pydicom reads them.
            assert _pydicom_data_set(instance.path) in [
                _pydicom_data_set(path) for path in stored if instance.sop_instance_uid in path.name
            ], instance.path


def _pydicom_data_set(path: Path) -> object:
    import pydicom

    dataset = pydicom.dcmread(path, force=True)
    del dataset.file_meta
    return dataset


# -------------------------------------------------------------- our SCU -> peers


def _our_store(port: int, called: str, instances: tuple[Instance, ...]) -> list[StoreResult]:
    paths = [instance.path for instance in instances]
    return asyncio.run(
        asyncio.wait_for(store_files("127.0.0.1", port, AEConfig("DICOMKIT"), called, paths), 300)
    )


@pytest.fixture
def storescp_all(tmp_path: Path) -> Iterator[Callable[[], tuple[int, Path]]]:
    """DCMTK's storescp accepting every transfer syntax it knows (``+xa``)."""
    binary = _require("storescp")
    started: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[int, Path]:
        port = free_port()
        folder = tmp_path / "storescp"
        folder.mkdir()
        process = subprocess.Popen(
            [binary, "-aet", "STORESCP", "+xa", "-od", str(folder), "-uf", str(port)],
            env=dcmtk_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        wait_for_port(port, process)
        return port, folder

    yield start
    for process in started:
        stop(process)


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
    readable = [_dcmtk_finds_the_sop_uids(instance.path) for instance in sendable]
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
        assert _data_set_dump(written[uid]) == _data_set_dump(by_uid[uid].path), by_uid[uid].path


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
def orthanc(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """Orthanc with its own configuration: DICOM and HTTP on free loopback ports, no auth,
    storage in ``tmp_path``; yields (DICOM port, HTTP port)."""
    binary = _require("Orthanc")
    dicom_port, http_port = free_port(), free_port()
    config = {
        "Name": "dicomkit-interop",
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "StorageDirectory": str(tmp_path / "orthanc-storage"),
        "IndexDirectory": str(tmp_path / "orthanc-index"),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowStore": True,
        "UnknownSopClassAccepted": True,
        "AcceptedTransferSyntaxes": ["1.2.840.10008.1.*"],
        "Plugins": [],
        "HttpsVerifyPeers": False,
        "StableAge": 3600,
    }
    config_path = tmp_path / "orthanc.json"
    config_path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [binary, str(config_path)],
        env=dcmtk_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        wait_for_port(dicom_port, process, timeout=60)
        wait_for_port(http_port, process, timeout=60)
        yield dicom_port, http_port
    finally:
        stop(process)


def _orthanc_get(http_port: int, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}{path}", timeout=30) as response:
        return json.load(response)


def _orthanc_indexes(instance: Instance) -> bool:
    """Orthanc (DCMTK inside) refuses instances it cannot index: without Study/Series
    Instance UID, or whose SOP UIDs DCMTK cannot find (a data set written all in UN)."""
    dataset = read_file(instance.path).dataset
    identified = all(dataset.get_str(tag) for tag in (0x0020000D, 0x0020000E))
    return identified and _dcmtk_finds_the_sop_uids(instance.path)


def test_our_scu_sends_the_corpus_and_a_study_to_orthanc(
    orthanc: tuple[int, int], sendable: tuple[Instance, ...]
) -> None:
    dicom_port, http_port = orthanc
    results = _our_store(dicom_port, "ORTHANC", sendable)
    indexable = [_orthanc_indexes(instance) for instance in sendable]
    assert sum(indexable) > 140
    # Every instance reached Orthanc and got its answer; those it cannot index, a failure.
    assert [r.status == 0 for r in results] == indexable, [
        f"{r.path.name}: {r.describe()}" for r, ok in zip(results, indexable, strict=True) if r.ok != ok
    ]
    assert all(r.status is not None for r in results)
    instances = _orthanc_get(http_port, "/instances?expand")
    assert isinstance(instances, list)
    received = {entry["MainDicomTags"]["SOPInstanceUID"] for entry in instances}
    assert received == {i.sop_instance_uid for i, ok in zip(sendable, indexable, strict=True) if ok}
