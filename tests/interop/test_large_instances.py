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
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.conftest import REPO_ROOT
from tests.interop.large_instances import (
    FRAMES,
    PIXEL_BYTES,
    assert_bounded,
    data_set_digest,
    pixel_data_digest,
    remove_large_files,
    run_measured,
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


def _store_growth(tmp_path: Path, *storescp_options: str) -> tuple[int, Path, Path]:
    """Peak RSS growth (KiB) from a one-frame to the large instance; the large file sent
    and the one storescp wrote."""
    binary = shutil.which("storescp")
    if binary is None:
        pytest.skip("DCMTK storescp is not installed (scripts/test.sh installs it)")
    small = tmp_path / "small.dcm"
    large = tmp_path / "large.dcm"
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
    return peak - baseline, large, received


def test_store_cli_streams_a_200_mib_instance_in_its_own_syntax(tmp_path: Path) -> None:
    growth, sent, received = _store_growth(tmp_path)
    assert data_set_digest(received) == data_set_digest(sent)
    assert_bounded("python -m dicomkit store", growth, PIXEL_BYTES)


def test_store_cli_converting_a_200_mib_instance_to_implicit_vr_keeps_rss_bounded(tmp_path: Path) -> None:
    growth, sent, received = _store_growth(tmp_path, "+xi")
    assert pixel_data_digest(received, PIXEL_BYTES) == pixel_data_digest(sent, PIXEL_BYTES)
    assert_bounded("python -m dicomkit store, converted", growth, PIXEL_BYTES)
