"""The Storage SCU converting while it sends keeps its event loop free: the frames of a
compressed instance are decoded in a worker thread, so that another task on the loop
(an association's timers, a second association) is never kept waiting for a decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dicomkit.codecs.pixels import pixel_array
from dicomkit.data import uids
from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig, SupportedContext
from dicomkit.net.scu.storage import StoreResult, store_files
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.storage import Duplicates, FileStorageHandler, StorageService
from dicomkit.part10.reader import read_file
from tests.dicomkit.net.aio.servers import fast_timeouts, run
from tests.dicomkit.net.loop_watch import frame_decode_seconds, watching_the_loop, write_slow_to_decode

ELE = uids.ExplicitVRLittleEndian
FRAMES = 4


def _store_watched(out: Path, path: Path) -> tuple[StoreResult, float]:
    """Store ``path`` to an SCP that accepts only Explicit VR Little Endian; the result and
    the longest the loop went without serving a 5 ms sleeper meanwhile."""
    contexts = (SupportedContext(uids.CTImageStorage, (ELE,)),)

    async def scenario() -> tuple[StoreResult, float]:
        handler = FileStorageHandler(out, duplicates=Duplicates.KEEP_BOTH, fsync=False)
        ae = AEConfig("SCP", supported_contexts=contexts, timeouts=fast_timeouts())
        server = DicomServer(ae, ServiceHandlers([StorageService(handler)]), host="127.0.0.1", port=0)
        await server.start()
        try:
            scu = AEConfig("SCU", timeouts=fast_timeouts())
            async with watching_the_loop() as watch:
                (result,) = await store_files("127.0.0.1", server.port, scu, "SCP", [path])
            return result, watch.longest
        finally:
            await server.shutdown(0)

    out.mkdir(exist_ok=True)
    return run(scenario(), timeout=120)


def test_frames_decoded_while_sent_never_stall_the_event_loop_for_a_decode(tmp_path: Path) -> None:
    path = tmp_path / "j2k.dcm"
    pixels = write_slow_to_decode(path, frames=FRAMES)
    frame_seconds = frame_decode_seconds(path, FRAMES)
    result, longest = _store_watched(tmp_path / "out", path)
    assert (result.status, result.transfer_syntax, result.converted) == (0, ELE, True)
    stored = read_file(tmp_path / "out" / f"{result.sop_instance_uid}.dcm")
    np.testing.assert_array_equal(pixel_array(stored.dataset), pixels)
    # On the loop, every frame's decode is one stall at least as long as the decode.
    assert longest < 0.5 * frame_seconds, (
        f"the loop stalled {longest * 1000:.0f} ms; one frame decodes in {frame_seconds * 1000:.0f} ms"
    )
