"""What the storage interop tests send, and how DCMTK ``storescu`` and pynetdicom send it.

Shared by ``tests/interop/test_storage_interop.py`` (dicomkit's Storage SCP) and the
product's Storage SCP tests in ``tests/apps/dicom_net``:

- :func:`corpus_instances`: every file of pydicom's corpus that our reader reads whole and
  that holds a SOP Class and SOP Instance UID (what our SCU sends); several corpus files
  share one SOP Instance UID, so compare received with sent per UID, as multisets;
- :func:`write_study`: a generated study (one patient, three series of four CT images in
  Explicit VR LE, Implicit VR LE and RLE Lossless);
- :func:`storescu_groups` / :data:`STORESCU_PROPOSAL`: one storescu run per proposal;
- :func:`pynetdicom_send`: every instance on pynetdicom associations, in its own syntax.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dicomkit.data import uids
from dicomkit.data.uid import generate_uid
from dicomkit.errors import DicomError
from dicomkit.net.scu.instances import Instance, scan_instance
from dicomkit.part10.reader import read_file
from tests.builders import make_ct
from tests.corpus import corpus_files
from tests.interop.dcmdump import dcmtk_finds_the_sop_uids

if TYPE_CHECKING:
    import pydicom

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


def require(tool: str) -> str:
    """The path of an interop tool; skips the test when it is not installed."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


@cache
def corpus_instances() -> tuple[Instance, ...]:
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


def write_study(folder: Path, *, images_per_series: int = 4) -> tuple[Instance, ...]:
    """One patient, one study, three series of CT images: Explicit LE, Implicit LE, RLE."""
    from dicomkit.codecs.transcode import transcode
    from dicomkit.part10.writer import write_file

    study_uid = generate_uid()
    instances = []
    for series, syntax in enumerate(
        (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian, uids.RLELossless)
    ):
        series_uid = generate_uid()
        for number in range(images_per_series):
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
            path.parent.mkdir(parents=True, exist_ok=True)
            write_file(path, dataset, transfer_syntax_uid=syntax)
            instances.append(scan_instance(path))
    return tuple(instances)


def storescu_groups(instances: Iterable[Instance]) -> dict[str, list[Instance]]:
    """What storescu can send, by the proposal option it needs (``-x=``: uncompressed)."""
    groups: dict[str, list[Instance]] = defaultdict(list)
    for instance in instances:
        if dcmtk_finds_the_sop_uids(instance.path):
            groups[STORESCU_PROPOSAL.get(instance.transfer_syntax, "-x=")].append(instance)
    return dict(sorted(groups.items()))


def _pynetdicom_payload(instance: Instance) -> Path | pydicom.Dataset:
    """A PS3.10 file goes by path (pynetdicom sends its data set as is); a raw data set,
    which pynetdicom only takes as a data set, is read by pydicom with its syntax set."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import UID

    with instance.path.open("rb") as fp:
        if fp.read(132)[128:] == b"DICM":
            return instance.path
    dataset = pydicom.dcmread(instance.path, force=True)
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = UID(instance.transfer_syntax)
    return dataset


def pynetdicom_send(port: int, instances: Iterable[Instance], *, called: str) -> dict[Path, int]:
    """Send every file with pynetdicom (as is, in its own syntax); the statuses by path.

    A response lost to pynetdicom's requestor race (see ``test_echo_interop``) is sent
    again on a fresh association; a wrong answer from the SCP still fails.
    """
    from pynetdicom import AE

    instances = tuple(instances)
    ae = AE(ae_title="PYNETDICOM")
    ae.dimse_timeout = 30
    for pair in sorted({(i.sop_class_uid, i.transfer_syntax) for i in instances}):
        ae.add_requested_context(pair[0], [pair[1]])
    statuses: dict[Path, int] = {}
    for _ in range(3):
        pending = [instance for instance in instances if instance.path not in statuses]
        if not pending:
            break
        assoc = ae.associate("127.0.0.1", port, ae_title=called)
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


def pydicom_data_set(path: Path) -> object:
    """pydicom's reading of a file's data set (File Meta dropped), for values-only checks."""
    import pydicom

    dataset = pydicom.dcmread(path, force=True)
    del dataset.file_meta
    return dataset


def storescu_argv(port: int, paths: Iterable[Path], *, called: str, proposal: str = "-x=") -> list[str]:
    """storescu, verbose (one "Sending file" and one "Received Store Response" line per file)."""
    return [
        require("storescu"), "-v", "-aet", "STORESCU", "-aec", called,
        "-R", "-nh",  # only the SOP classes of these files; go on after a failure
        proposal, "-to", "60", "-ta", "60", "-td", "60", "127.0.0.1", str(port), *(str(p) for p in paths),
    ]  # fmt: skip


def storescu_responses(output: str) -> dict[Path, str]:
    """What storescu's verbose output says each file got: "Success", "Error: ..." ...

    A file sent but not answered (the association broke) is missing from the result.
    """
    responses: dict[Path, str] = {}
    current: Path | None = None
    for line in output.splitlines():
        if line.startswith("I: Sending file: "):
            current = Path(line.removeprefix("I: Sending file: ").strip())
        elif line.startswith("I: Received Store Response (") and current is not None:
            responses[current] = line.removeprefix("I: Received Store Response (").rstrip().removesuffix(")")
            current = None
    return responses
