"""LocalFileBackend: durable no-clobber store, staging files and their crash-time cleanup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from apps.archive.errors import KeyExistsError
from apps.archive.storage import STAGING_DIR, LocalFileBackend

REPO_ROOT = Path(__file__).resolve().parents[4]


def _staged(backend: LocalFileBackend, data: bytes):
    staged = backend.create_staging_file()
    staged.write(data)
    return staged


def test_store_moves_the_staged_file_to_its_key(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _staged(backend, b"payload")
    backend.store(staged, "1.2/1.2.3/1.2.3.4.dcm")
    assert (tmp_path / "1.2/1.2.3/1.2.3.4.dcm").read_bytes() == b"payload"
    assert not staged.path.exists() and staged.closed
    assert list(backend.iter_keys()) == ["1.2/1.2.3/1.2.3.4.dcm"]
    assert backend.size("1.2/1.2.3/1.2.3.4.dcm") == 7


def test_store_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    backend.store(_staged(backend, b"first"), "1.2/1.2.3.dcm")
    second = _staged(backend, b"second")
    with pytest.raises(KeyExistsError):
        backend.store(second, "1.2/1.2.3.dcm")
    assert (tmp_path / "1.2/1.2.3.dcm").read_bytes() == b"first"
    assert second.path.exists()  # the caller decides what to do with it
    second.discard()


def test_delete_removes_the_file_and_emptied_folders(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    backend.store(_staged(backend, b"x"), "1.2/1.2.3/1.2.3.4.dcm")
    assert backend.delete("1.2/1.2.3/1.2.3.4.dcm") is True
    assert backend.delete("1.2/1.2.3/1.2.3.4.dcm") is False
    assert [p.name for p in tmp_path.iterdir()] == [STAGING_DIR]


def test_cleanup_keeps_staging_files_a_live_writer_holds(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    live = _staged(backend, b"in flight")
    assert backend.remove_stale_staging() == []
    assert live.path.exists()
    live.discard()


def test_cleanup_removes_staging_files_of_a_writer_that_crashed(tmp_path: Path) -> None:
    # A real crash: a process writes a staging file and dies without cleaning up.
    script = (
        "import os, sys; from pathlib import Path\n"
        "from apps.archive.storage.backend import LocalFileBackend\n"
        "staged = LocalFileBackend(Path(sys.argv[1])).create_staging_file()\n"
        "staged.write(b'half an instance'); staged.file.flush()\n"
        "os._exit(9)\n"
    )
    crashed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO_ROOT, check=False)
    assert crashed.returncode == 9
    leftovers = list((tmp_path / STAGING_DIR).iterdir())
    assert len(leftovers) == 1

    backend = LocalFileBackend(tmp_path)
    live = _staged(backend, b"someone else's ingest in flight")
    removed = backend.remove_stale_staging()
    assert removed == [leftovers[0].name]
    assert [p for p in (tmp_path / STAGING_DIR).iterdir()] == [live.path]
    live.discard()


def test_cleanup_spares_files_younger_than_the_minimum_age(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    staged = _staged(backend, b"x")
    staged.close()  # lock released, as after a crash
    assert backend.remove_stale_staging(min_age_seconds=3600) == []
    assert backend.remove_stale_staging() == [staged.path.name]
