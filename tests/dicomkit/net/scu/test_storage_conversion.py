"""The Storage SCU sending compressed files to our Storage SCP that accepts only Explicit VR
Little Endian: decoded a frame at a time while sent (``scu.conversion``), and a frame that
does not decode fails its own instance only."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from dicomkit.codecs.pixels import pixel_array, set_pixel_data
from dicomkit.data import uids
from dicomkit.net.aio import DicomServer
from dicomkit.net.config import AEConfig, SupportedContext
from dicomkit.net.scu.instances import encode_for, scan_instance
from dicomkit.net.scu.storage import StoreResult, store_files
from dicomkit.net.services import ServiceHandlers
from dicomkit.net.services.storage import Duplicates, FileStorageHandler, StorageService
from dicomkit.part10.reader import read_dataset, read_file
from dicomkit.part10.writer import write_file
from tests.builders import make_ct
from tests.dicomkit.net.aio.servers import fast_timeouts, run

ELE = uids.ExplicitVRLittleEndian


def _store(out: Path, paths: list[Path]) -> list[StoreResult]:
    contexts = (SupportedContext(uids.CTImageStorage, (ELE,)),)

    async def scenario() -> list[StoreResult]:
        handler = FileStorageHandler(out, duplicates=Duplicates.KEEP_BOTH, fsync=False)
        ae = AEConfig("SCP", supported_contexts=contexts, max_associations=20, timeouts=fast_timeouts())
        server = DicomServer(ae, ServiceHandlers([StorageService(handler)]), host="127.0.0.1", port=0)
        await server.start()
        try:
            scu = AEConfig("SCU", timeouts=fast_timeouts())
            return await store_files("127.0.0.1", server.port, scu, "SCP", paths)
        finally:
            await server.shutdown(0)

    out.mkdir(exist_ok=True)
    return run(scenario(), timeout=120)


def _jpeg_ls(path: Path, seed: int, frames: int = 4) -> np.ndarray:
    pixels = np.random.default_rng(seed).integers(0, 4095, size=(frames, 128, 128), dtype=np.uint16)
    dataset = make_ct(PixelData=None)
    set_pixel_data(dataset, pixels, photometric_interpretation="MONOCHROME2")
    dataset.set("NumberOfFrames", str(frames))
    native = path.with_suffix(".native.dcm")
    write_file(native, dataset, transfer_syntax_uid=ELE)
    encoded = read_dataset(encode_for(scan_instance(native), uids.JPEGLSLossless), uids.JPEGLSLossless)
    write_file(path, encoded, transfer_syntax_uid=uids.JPEGLSLossless)
    native.unlink()
    return pixels


def _corrupt_last_frame(path: Path) -> None:
    """Overwrite the start of the last fragment's codestream (the last item before the
    Sequence Delimitation Item)."""
    data = bytearray(path.read_bytes())
    end = data.rfind(struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    position = data.rfind(b"\xfe\xff\x00\xe0", 0, end)
    data[position + 8 : position + 8 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def test_compressed_multiframe_files_are_decoded_while_sent_to_a_native_only_peer(tmp_path: Path) -> None:
    paths = [tmp_path / "a.dcm", tmp_path / "b.dcm"]
    expected = [_jpeg_ls(path, seed) for seed, path in enumerate(paths)]
    results = _store(tmp_path / "out", paths)
    assert [(r.status, r.transfer_syntax, r.converted) for r in results] == [(0, ELE, True)] * 2
    for result, pixels in zip(results, expected, strict=True):
        stored = read_file(tmp_path / "out" / f"{result.sop_instance_uid}.dcm")
        assert stored.transfer_syntax == ELE
        np.testing.assert_array_equal(pixel_array(stored.dataset), pixels)


def test_a_frame_that_does_not_decode_mid_stream_fails_its_instance_and_the_next_is_sent(
    tmp_path: Path,
) -> None:
    bad, good = tmp_path / "bad.dcm", tmp_path / "good.dcm"
    _jpeg_ls(bad, 1)
    _corrupt_last_frame(bad)
    pixels = _jpeg_ls(good, 2)
    first, second = _store(tmp_path / "out", [bad, good])
    # Half of the data set was sent: the association is aborted and the instance has no
    # status; the next one goes on a new association.
    assert first.status is None and first.interrupted
    assert first.error.startswith("association broke while sending it") and "(frame 3)" in first.error
    assert (second.status, second.converted) == (0, True)
    stored = read_file(tmp_path / "out" / f"{second.sop_instance_uid}.dcm")
    np.testing.assert_array_equal(pixel_array(stored.dataset), pixels)
