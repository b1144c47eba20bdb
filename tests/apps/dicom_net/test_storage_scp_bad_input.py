"""Bad C-STOREs against the product's server: the right failure status, nothing left behind,
and the association goes on.

Requests are sent with dicomkit's requestor at the DIMSE level, where a test must send what
a correct SCU would not: truncated data sets, UIDs that differ from the command or would
leave the storage root, SOP classes on a context negotiated for another. On one association
every bad request is followed by a good one, which must be stored; at the end the archive
holds exactly the good instances, no staging file and nothing outside its root. That holds
for an Affected SOP Instance UID no UID can be (a path, a '/'): the command decoder keeps it
as text and the Storage service answers A900H.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from apps.archive.models import Instance as InstanceRow
from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import is_valid_uid
from dicomkit.net.aio import Association, open_association
from dicomkit.net.config import AEConfig, RequestedContext
from dicomkit.net.dimse.commands import CStoreRQ, CStoreRSP, encode_command
from dicomkit.net.dimse.fragment import fragment_message
from tests.apps.dicom_net.conftest import ArchiveServer, staging_files, stored_files
from tests.builders import encode_ct, make_ct

CT = uids.CTImageStorage
MR = uids.MRImageStorage
ELE = uids.ExplicitVRLittleEndian
ILE = uids.ImplicitVRLittleEndian
CONTEXTS = [RequestedContext(CT, (ELE,)), RequestedContext(MR, (ELE,))]


@dataclass(frozen=True)
class BadStore:
    """One bad C-STORE: what is sent, and the answer it must get."""

    name: str
    build: Callable[[], tuple[str, str, str, bytes]]  # context, command SOP class, instance, data set
    status: int
    offending: tuple[int, ...] | None = None


def _uid(dataset: Dataset) -> str:
    uid = dataset.get_str("SOPInstanceUID")
    assert uid is not None
    return uid


def _truncated() -> tuple[str, str, str, bytes]:
    dataset = make_ct(PixelData=bytes(4096))
    return CT, CT, _uid(dataset), encode_ct(dataset)[:-1000]


def _instance_mismatch() -> tuple[str, str, str, bytes]:
    return CT, CT, "1.2.3.4.5", encode_ct(make_ct())


def _affected_uid_escaping_the_root() -> tuple[str, str, str, bytes]:
    # ".." passes the command decoder (only digits and dots), so the service class sees it.
    return CT, CT, "..", encode_ct(make_ct(SOPInstanceUID=".."))


def _affected_uid_with_a_slash() -> tuple[str, str, str, bytes]:
    return CT, CT, "1.2.3/4", encode_ct(make_ct(SOPInstanceUID="1.2.3/4"))


def _affected_uid_a_path_out_of_the_root() -> tuple[str, str, str, bytes]:
    return CT, CT, "../../escaped", encode_ct(make_ct(SOPInstanceUID="../../escaped"))


def _study_uid_escaping_the_root() -> tuple[str, str, str, bytes]:
    dataset = make_ct(StudyInstanceUID="../../escaped", SeriesInstanceUID="..")
    return CT, CT, _uid(dataset), encode_ct(dataset)


def _sop_class_not_negotiated() -> tuple[str, str, str, bytes]:
    dataset = make_ct(SOPClassUID=MR)
    return CT, MR, _uid(dataset), encode_ct(dataset)  # an MR instance on the CT context


def _sop_class_mismatch() -> tuple[str, str, str, bytes]:
    dataset = make_ct(SOPClassUID=MR)
    return CT, CT, _uid(dataset), encode_ct(dataset)


def _implicit_on_an_explicit_context() -> tuple[str, str, str, bytes]:
    dataset = make_ct()
    return CT, CT, _uid(dataset), encode_ct(dataset, ILE)


BAD_STORES = (
    BadStore("truncated", _truncated, 0xC000),
    BadStore("SOP Instance UID mismatch", _instance_mismatch, 0xA900, (0x00080018,)),
    BadStore("Affected SOP Instance UID ..", _affected_uid_escaping_the_root, 0xA900),
    BadStore("Affected SOP Instance UID with /", _affected_uid_with_a_slash, 0xA900),
    BadStore("Affected SOP Instance UID ../../escaped", _affected_uid_a_path_out_of_the_root, 0xA900),
    BadStore("Study Instance UID escaping", _study_uid_escaping_the_root, 0xA900, (0x0020000D,)),
    BadStore("SOP class not negotiated", _sop_class_not_negotiated, 0x0122),
    BadStore("SOP Class UID mismatch", _sop_class_mismatch, 0xA900, (0x00080016,)),
    BadStore("implicit VR on an explicit context", _implicit_on_an_explicit_context, 0xC000),
)


def _command_bytes(message_id: int, sop_class: str, sop_instance: str) -> bytes:
    """The C-STORE-RQ command set; our encoder refuses an invalid UID, so one is encoded
    as a conformant UID of the same length, then replaced in the encoded bytes."""
    if is_valid_uid(sop_instance):
        return encode_command(CStoreRQ(message_id, sop_class, sop_instance))
    placeholder = "9" * len(sop_instance)
    encoded = encode_command(CStoreRQ(message_id, sop_class, placeholder))
    assert encoded.count(placeholder.encode()) == 1
    return encoded.replace(placeholder.encode(), sop_instance.encode())


async def _store(
    association: Association, context: str, sop_class: str, sop_instance: str, data: bytes
) -> CStoreRSP:
    context_id = association.context_for(context).context_id
    message_id = association.next_message_id()
    command = _command_bytes(message_id, sop_class, sop_instance)
    await association.protocol.send_message(context_id, command, data)
    response = (await association.receive(timeout=60)).command
    assert isinstance(response, CStoreRSP)
    assert response.message_id_being_responded_to == message_id
    return response


async def _bad_and_good(port: int) -> tuple[list[tuple[str, CStoreRSP]], list[CStoreRSP], list[str]]:
    association = await open_association("127.0.0.1", port, AEConfig("BADSCU"), "PACS", CONTEXTS)
    bad: list[tuple[str, CStoreRSP]] = []
    good: list[CStoreRSP] = []
    good_uids: list[str] = []
    try:
        for case in BAD_STORES:
            bad.append((case.name, await _store(association, *case.build())))
            dataset = make_ct()
            good_uids.append(_uid(dataset))
            good.append(await _store(association, CT, CT, good_uids[-1], encode_ct(dataset)))
    finally:
        await association.release()
    return bad, good, good_uids


def test_bad_c_stores_get_their_status_leave_nothing_and_the_association_goes_on(
    archive_server: ArchiveServer, tmp_path: Path
) -> None:
    server = archive_server.start()
    bad, good, good_uids = asyncio.run(asyncio.wait_for(_bad_and_good(server.port), 120))

    expected = {case.name: (case.status, case.offending) for case in BAD_STORES}
    answered = {name: (rsp.status, rsp.offending_element) for name, rsp in bad}
    assert answered == expected
    assert all(rsp.error_comment for _, rsp in bad)  # the sender is told why
    assert [rsp.status for rsp in good] == [0x0000] * len(BAD_STORES)

    assert sorted(InstanceRow.objects.values_list("sop_instance_uid", flat=True)) == sorted(good_uids)
    assert len(stored_files(archive_server.root)) == len(good_uids)
    assert staging_files(archive_server.root) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["archive"]  # nothing escaped the root
    assert not any("escaped" in str(path) for path in tmp_path.rglob("*"))


async def _abort_mid_data_set(port: int) -> None:
    association = await open_association("127.0.0.1", port, AEConfig("ABORTER"), "PACS", CONTEXTS)
    dataset = make_ct(PixelData=bytes(200_000))
    context_id = association.context_for(CT).context_id
    command = CStoreRQ(association.next_message_id(), CT, _uid(dataset))
    pdus = list(fragment_message(context_id, encode_command(command), encode_ct(dataset), 16384))
    await association.protocol.send_pdus(pdus[: len(pdus) // 2])  # half of the data set
    association.abort()


def test_an_association_aborted_mid_data_set_leaves_no_staging_file_and_no_row(
    archive_server: ArchiveServer,
) -> None:
    server = archive_server.start()
    asyncio.run(asyncio.wait_for(_abort_mid_data_set(server.port), 60))
    server.wait_for(
        lambda: bool(server.messages("association ended")), timeout=30, what="the aborted association"
    )
    assert staging_files(archive_server.root) == []
    assert not InstanceRow.objects.exists()
    assert stored_files(archive_server.root) == []
