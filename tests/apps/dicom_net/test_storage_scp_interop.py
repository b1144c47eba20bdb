"""The product's Storage SCP (``run_dicom_server`` over the archive) with DCMTK and pynetdicom.

storescu and pynetdicom each send pydicom's whole test corpus plus a generated study with
three series to the real server process (test PostgreSQL, an archive root of its own).
Every instance is answered; those the archive can index are stored, and ``dcmdump`` of
each stored file (found through its archive location) equals that of a file sent with its
SOP Instance UID. The oracle for "can be indexed" is pydicom's reading: a Study, Series,
SOP Class and SOP Instance UID that are present and PS3.5 §9.1 conformant. The corpus has
a few files without Study/Series Instance UID; those get A900H and leave nothing behind.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from apps.archive.models import Instance as InstanceRow
from apps.archive.models import Study
from apps.archive.selectors import instance_location_get
from apps.archive.storage import LocalFileBackend
from dicomkit.net.scu.instances import Instance
from dicomkit.part10.transfer_syntax import transfer_syntax
from tests.apps.dicom_net.conftest import ArchiveServer, staging_files
from tests.interop.dcmdump import data_set_dump, dcmtk_finds_the_sop_uids
from tests.interop.peers import dcmtk_env
from tests.interop.storage_senders import (
    corpus_instances,
    pydicom_data_set,
    pynetdicom_send,
    storescu_argv,
    storescu_groups,
    storescu_responses,
    write_study,
)

_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def _conformant(uid: str) -> bool:
    return 0 < len(uid) <= 64 and _UID.fullmatch(uid) is not None


def _indexable(instance: Instance) -> bool:
    """pydicom's view: the four UIDs the index needs are there and conformant."""
    import pydicom

    dataset = pydicom.dcmread(instance.path, force=True, stop_before_pixels=True)
    needed = [str(dataset.get(keyword, "") or "") for keyword in ("StudyInstanceUID", "SeriesInstanceUID")]
    return all(_conformant(uid) for uid in (*needed, instance.sop_class_uid, instance.sop_instance_uid))


@pytest.fixture(scope="module")
def sendable(tmp_path_factory: pytest.TempPathFactory) -> tuple[Instance, ...]:
    corpus = corpus_instances()
    assert len(corpus) > 150  # the corpus is really there
    return corpus + write_study(tmp_path_factory.mktemp("study"))


def _stored_path(archive: ArchiveServer, sop_instance_uid: str) -> Path:
    location = instance_location_get(sop_instance_uid=sop_instance_uid)
    assert location is not None, sop_instance_uid
    return LocalFileBackend(archive.root).path_for(location.key)


def _assert_archived(archive: ArchiveServer, sent: list[Instance], calling: str) -> None:
    """Rows for exactly the indexable UIDs sent; each stored file is one of the files sent."""
    by_uid: dict[str, list[Instance]] = defaultdict(list)
    for instance in sent:
        if _indexable(instance):
            by_uid[instance.sop_instance_uid].append(instance)
    assert set(InstanceRow.objects.values_list("sop_instance_uid", flat=True)) == by_uid.keys()
    for uid, instances in by_uid.items():
        stored = _stored_path(archive, uid)
        location = instance_location_get(sop_instance_uid=uid)
        assert location is not None and location.source_ae == calling
        if all(dcmtk_finds_the_sop_uids(instance.path) for instance in instances):
            assert data_set_dump(stored) in {data_set_dump(i.path) for i in instances}, instances[0].path
        else:
            # A data set written all in UN: pynetdicom sends the VRs pydicom infers, so
            # dcmdump shows them differently; compare the values as pydicom reads them.
            assert pydicom_data_set(stored) in [pydicom_data_set(i.path) for i in instances]
        syntaxes = {i.transfer_syntax for i in instances}
        if all(transfer_syntax(ts).encapsulated for ts in syntaxes):  # stored as received
            assert location.transfer_syntax_uid in syntaxes
    assert staging_files(archive.root) == []


def _assert_the_study_is_indexed(study: tuple[Instance, ...]) -> None:
    import pydicom

    study_uid = pydicom.dcmread(study[0].path).StudyInstanceUID
    row = Study.objects.get(study_instance_uid=study_uid)
    assert (row.number_of_study_related_series, row.number_of_study_related_instances) == (3, len(study))


def test_storescu_sends_the_corpus_and_a_study_and_every_indexable_instance_is_archived(
    archive_server: ArchiveServer, sendable: tuple[Instance, ...]
) -> None:
    server = archive_server.start()
    responses: dict[Path, str] = {}
    for proposal, instances in storescu_groups(sendable).items():
        result = subprocess.run(
            storescu_argv(server.port, [i.path for i in instances], called="PACS", proposal=proposal),
            capture_output=True, text=True, env=dcmtk_env(), timeout=600, check=False,
        )  # fmt: skip
        responses.update(storescu_responses(result.stdout + result.stderr))

    sent = [instance for instance in sendable if dcmtk_finds_the_sop_uids(instance.path)]
    expected = {i.path: "Success" if _indexable(i) else "Error: DataSetDoesNotMatchSOPClass" for i in sent}
    assert responses == expected
    assert list(expected.values()).count("Success") > 150
    _assert_archived(archive_server, sent, "STORESCU")
    _assert_the_study_is_indexed(sendable[-12:])


def test_pynetdicom_sends_the_corpus_and_a_study_and_every_indexable_instance_is_archived(
    archive_server: ArchiveServer, sendable: tuple[Instance, ...]
) -> None:
    server = archive_server.start()
    statuses = pynetdicom_send(server.port, sendable, called="PACS")
    assert statuses == {i.path: 0x0000 if _indexable(i) else 0xA900 for i in sendable}
    _assert_archived(archive_server, list(sendable), "PYNETDICOM")
    _assert_the_study_is_indexed(sendable[-12:])
