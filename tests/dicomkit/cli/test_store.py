"""``store``: what is reported when there is nothing to send."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomkit.cli.main import main


def test_an_empty_folder_is_an_error_saying_nothing_was_found(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    # No file, so no association: port 9 (discard) is never dialled.
    assert main(["store", "127.0.0.1", "9", str(tmp_path / "empty")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"python -m dicomkit store: error: no files found in {str(tmp_path / 'empty')!r}; nothing was sent\n"
    )
