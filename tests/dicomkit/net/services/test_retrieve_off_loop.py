"""The C-MOVE SCP converting a sub-operation's instance keeps the server's event loop
free: a compressed frame is decoded in the server's thread pool (``run_blocking``), so
the other associations it serves (here the move SCU and the destination, all on one
loop) are never kept waiting for a decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dicomkit.codecs.pixels import pixel_array
from dicomkit.data import tags, uids
from dicomkit.data.dataset import Dataset
from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig, SupportedContext
from dicomkit.net.scu.move import move
from dicomkit.net.scu.retrieve import RetrieveResult
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.move import Destination, MoveService
from dicomkit.net.services.query_retrieve import query_retrieve_contexts
from dicomkit.net.services.storage import Duplicates, FileStorageHandler, StorageService
from dicomkit.part10.reader import read_file
from tests.dicomkit.net.aio.servers import fast_timeouts, run
from tests.dicomkit.net.loop_watch import frame_decode_seconds, watching_the_loop, write_slow_to_decode
from tests.dicomkit.net.services.qr_handlers import FolderIndex

ELE = uids.ExplicitVRLittleEndian
FRAMES = 4


def _move_watched(archive: Path, out: Path, study_uid: str) -> tuple[RetrieveResult, float]:
    """C-MOVE the study to a destination that accepts only Explicit VR Little Endian; the
    result and the longest the loop went without serving a 5 ms sleeper meanwhile."""
    index = FolderIndex(archive)
    only_explicit = (SupportedContext(uids.CTImageStorage, (ELE,)),)

    async def scenario() -> tuple[RetrieveResult, float]:
        handler = FileStorageHandler(out, duplicates=Duplicates.REPLACE, fsync=False)
        dest_ae = AEConfig("DEST", supported_contexts=only_explicit)
        dest = DicomServer(dest_ae, ServiceHandlers([StorageService(handler)]), host="127.0.0.1", port=0)
        qr_ae = AEConfig("QRSCP", supported_contexts=query_retrieve_contexts(find=False, get=False))
        service = MoveService(index, timeouts=fast_timeouts())
        scp = DicomServer(qr_ae, ServiceHandlers([service]), host="127.0.0.1", port=0)
        await dest.start()
        await scp.start()
        try:
            index.nodes["DEST"] = Destination("127.0.0.1", dest.port, "DEST")
            identifier = Dataset()
            identifier.set(tags.QueryRetrieveLevel, "STUDY", "CS")
            identifier.set(tags.StudyInstanceUID, study_uid, "UI")
            async with watching_the_loop() as watch:
                result = await move(
                    "127.0.0.1",
                    scp.port,
                    AEConfig("MOVESCU"),
                    "QRSCP",
                    identifier,
                    "DEST",
                    timeouts=fast_timeouts(),
                )
            return result, watch.longest
        finally:
            await scp.shutdown(0)
            await dest.shutdown(0)

    out.mkdir(exist_ok=True)
    return run(scenario(), timeout=120)


def test_a_moved_instance_converted_for_the_destination_never_stalls_the_server_loop(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    path = archive / "j2k.dcm"
    pixels = write_slow_to_decode(path, frames=FRAMES)
    frame_seconds = frame_decode_seconds(path, FRAMES)
    study_uid = read_file(path).dataset.get_str(tags.StudyInstanceUID)
    assert study_uid is not None
    result, longest = _move_watched(archive, tmp_path / "out", study_uid)
    assert (result.status, result.completed, result.failed) == (0, 1, 0)
    (stored,) = (tmp_path / "out").glob("*.dcm")
    received = read_file(stored)
    assert received.transfer_syntax == ELE
    np.testing.assert_array_equal(pixel_array(received.dataset), pixels)
    # On the loop, every frame's decode is one stall at least as long as the decode.
    assert longest < 0.5 * frame_seconds, (
        f"the loop stalled {longest * 1000:.0f} ms; one frame decodes in {frame_seconds * 1000:.0f} ms"
    )
