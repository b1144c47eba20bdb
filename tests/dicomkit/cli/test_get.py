"""``get``: a bad ``--out`` is reported before any association is opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomkit.cli.main import main


def test_an_out_that_is_a_file_is_reported_as_not_a_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    existing = tmp_path / "study.dcm"
    existing.write_bytes(b"not a folder")
    # Refused before connecting: port 9 (discard) is never dialled.
    assert main(["get", "127.0.0.1", "9", "--out", str(existing), "-k", "StudyInstanceUID=1.2.3"]) == 1
    assert capsys.readouterr().err == f"python -m dicomkit get: error: {str(existing)!r}: Not a directory\n"
    assert existing.read_bytes() == b"not a folder"
