"""``store`` against our own SCP on loopback: a rejected association is reported on every
file's line with its reason in words and its PS3.8 codes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dicomkit.cli.main import main
from tests.builders import write_ct
from tests.dicomkit.net.aio.servers import run, serving


def test_a_rejected_called_ae_title_is_named_on_each_file_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ct.dcm"
    write_ct(path)

    async def scenario() -> int:
        async with serving() as server:  # AE title SCP
            argv = ["store", "127.0.0.1", str(server.port), "--aec", "WRONG", str(path)]
            return await asyncio.to_thread(main, argv)

    assert run(scenario()) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"failed {path}: ")
    assert out[0].endswith(
        ": association rejected permanently by the service-user: called AE title not recognized"
        " (result=1 source=1 reason=7)"
    )
    assert out[1].startswith("stored 0 of 1 files")
