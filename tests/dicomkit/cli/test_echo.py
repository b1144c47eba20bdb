"""``echo`` (and the error reporting every network subcommand shares) against our own SCP
on loopback: connection, rejection and TLS-file failures are one line naming the peer or
the file, never a traceback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from dicomkit.cli.main import main
from tests.dicomkit.net.aio.servers import run, serving


def _echo(*argv: str) -> int:
    async def scenario() -> int:
        async with serving() as server:  # AE title SCP, Verification only
            return await asyncio.to_thread(main, ["echo", "127.0.0.1", str(server.port), *argv])

    return run(scenario())


def test_echo_succeeds_against_our_scp(capsys: pytest.CaptureFixture[str]) -> None:
    assert _echo("--aec", "SCP", "--repeat", "2") == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert all(line.startswith("C-ECHO SCP@127.0.0.1:") and "0x0000 Success" in line for line in out)


def test_a_rejection_names_the_peer_and_the_reason_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert _echo("--aec", "WRONG") == 1
    err = capsys.readouterr().err
    assert err.startswith("python -m dicomkit echo: error: WRONG@127.0.0.1:")
    assert err.endswith(
        ": association rejected permanently by the service-user: called AE title not recognized"
        " (result=1 source=1 reason=7)\n"
    )


def test_a_refused_connection_names_the_peer(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["echo", "127.0.0.1", str(port), "--aec", "PACS", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"python -m dicomkit echo: error: PACS@127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_a_missing_tls_file_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    assert main(["echo", "127.0.0.1", "104", "--tls-ca", str(missing)]) == 1
    assert (
        capsys.readouterr().err
        == f"python -m dicomkit echo: error: {str(missing)!r}: No such file or directory\n"
    )


@pytest.mark.parametrize(
    "option, says",
    [("--tls-ca", "not usable as TLS CA certificates"), ("--tls-cert", "not usable as TLS certificate")],
)
def test_a_tls_file_that_is_not_pem_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, says: str
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    assert main(["echo", "127.0.0.1", "104", option, str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"python -m dicomkit echo: error: {str(junk)!r}: {says}")
    assert "internal error" not in err


def test_tls_no_verify_alone_still_connects_with_tls(capsys: pytest.CaptureFixture[str]) -> None:
    # Our SCP here speaks plain DICOM, so a TLS handshake fails; plain TCP would have succeeded.
    assert _echo("--aec", "SCP", "--tls-no-verify", "--timeout", "5") == 1
    err = capsys.readouterr().err
    assert err.startswith("python -m dicomkit echo: error: SCP@127.0.0.1:")
    assert "C-ECHO" not in capsys.readouterr().out
