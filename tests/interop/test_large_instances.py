"""``python -m dicomkit store`` of a 200 MiB multi-frame instance to DCMTK ``storescp``.

Breast tomosynthesis and enhanced multi-frame CT objects run to 1-2 GB, so the SCU must
stream them: its peak RSS may not grow with the object. Each test runs the CLI twice, on a
one-frame instance of the same kind and on the large one, and compares the two peaks
(``wait4``), so the interpreter's own footprint cancels out.

- Sent in its own transfer syntax, the data set is streamed from the file as it is and
  arrives byte for byte.
- To a storescp that accepts Implicit VR Little Endian only, the instance is converted
  while it is sent (``scu.conversion``: the header re-encoded, Pixel Data copied from the
  file in chunks), so the peak does not grow with the object either.
- A JPEG-LS Lossless instance (200 MiB once decoded) sent to a storescp that accepts
  uncompressed syntaxes only is decoded a frame at a time while it is sent; what arrives
  is the native Pixel Data the frames decode to.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_file
from dicomkit.part10.transfer_syntax import EXPLICIT_VR_LITTLE_ENDIAN
from tests.interop.conftest import REPO_ROOT
from tests.interop.large_instances import (
    FRAMES,
    PIXEL_BYTES,
    assert_bounded,
    data_set_digest,
    pixel_data_digest,
    remove_large_files,
    run_measured,
    write_compressed_multiframe,
    write_multiframe,
)
from tests.interop.peers import dcmtk_env, free_port, started


@pytest.fixture(autouse=True)
def _remove_large_files(tmp_path: Path) -> Iterator[None]:
    """Torn down last: the large files go once the server or peer that used them stopped."""
    yield
    remove_large_files(tmp_path)


def _store(port: int, path: Path, log: Path) -> int:
    """Peak RSS (KiB) of ``python -m dicomkit store`` sending ``path``; it must succeed."""
    argv = [sys.executable, "-m", "dicomkit", "store", "--aec", "STORESCP", "--no-progress"]
    status, peak = run_measured([*argv, "127.0.0.1", str(port), str(path)], log=log, cwd=REPO_ROOT)
    assert status == 0, log.read_text()
    assert "stored 1 of 1" in log.read_text(), log.read_text()
    return peak


def _store_growth(
    tmp_path: Path, *storescp_options: str, compressed: bool = False
) -> tuple[int, Path, Path, str]:
    """Peak RSS growth (KiB) from a one-frame to the large instance; the large file sent,
    the one storescp wrote, and (``compressed``: JPEG-LS Lossless) the SHA-256 of the
    native Pixel Data its frames decode to."""
    binary = shutil.which("storescp")
    if binary is None:
        pytest.skip("DCMTK storescp is not installed (scripts/test.sh installs it)")
    small = tmp_path / "small.dcm"
    large = tmp_path / "large.dcm"
    native_digest = ""
    if compressed:  # the baseline loads the codecs too, so their footprint cancels out
        write_compressed_multiframe(small, frames=1, rows=64, columns=64)
        native_digest = write_compressed_multiframe(large, frames=FRAMES, seed=1)
    else:
        write_multiframe(small, frames=1, rows=64, columns=64)
        write_multiframe(large, frames=FRAMES, seed=1)
    out = tmp_path / "storescp"
    out.mkdir()
    port = free_port()
    argv = [binary, "-aet", "STORESCP", "+B", *storescp_options, "-od", str(out), str(port)]
    with started(argv, port, cwd=tmp_path, env=dcmtk_env()):
        baseline = _store(port, small, tmp_path / "small.log")
        for received in out.iterdir():
            received.unlink()
        peak = _store(port, large, tmp_path / "large.log")
    (received,) = out.iterdir()
    return peak - baseline, large, received, native_digest


def test_store_cli_streams_a_200_mib_instance_in_its_own_syntax(tmp_path: Path) -> None:
    growth, sent, received, _ = _store_growth(tmp_path)
    assert data_set_digest(received) == data_set_digest(sent)
    assert_bounded("python -m dicomkit store", growth, PIXEL_BYTES)


def test_store_cli_converting_a_200_mib_instance_to_implicit_vr_keeps_rss_bounded(tmp_path: Path) -> None:
    growth, sent, received, _ = _store_growth(tmp_path, "+xi")
    assert pixel_data_digest(received, PIXEL_BYTES) == pixel_data_digest(sent, PIXEL_BYTES)
    assert_bounded("python -m dicomkit store, converted", growth, PIXEL_BYTES)


def test_store_cli_decoding_a_200_mib_jpeg_ls_instance_for_a_native_only_peer_keeps_rss_bounded(
    tmp_path: Path,
) -> None:
    # storescp accepts uncompressed syntaxes only, Explicit VR Little Endian preferred: the
    # JPEG-LS frames are decoded one at a time while they are sent.
    growth, _, received, native_digest = _store_growth(tmp_path, "+xe", compressed=True)
    assert (
        read_file(received, ReadOptions(stop_before=0x00020011)).transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN
    )
    assert pixel_data_digest(received, PIXEL_BYTES) == native_digest
    assert_bounded("python -m dicomkit store, decoded", growth, PIXEL_BYTES)
