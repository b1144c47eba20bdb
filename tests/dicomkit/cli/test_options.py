"""Argument types and TLS options of the network subcommands (``dicomkit.cli.options``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dicomkit.cli.options import ae_title, network, pdu_length, port_number, positive
from tests.dicomkit.net.aio.certs import make_certificates


@pytest.mark.parametrize("text", ["PACS", "A", "SIXTEEN_CHARS_AE", "MY AE"])
def test_valid_ae_titles_are_returned_as_given(text: str) -> None:
    assert ae_title(text) == text


@pytest.mark.parametrize("text", ["", "   ", "SEVENTEEN_CHARS_A", "BAD\\AE", "TAB\tAE"])
def test_invalid_ae_titles_are_usage_errors(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        ae_title(text)


@pytest.mark.parametrize("text, value", [("4096", 4096), ("16384", 16384), ("4294967295", 2**32 - 1)])
def test_pdu_lengths_in_range_are_accepted(text: str, value: int) -> None:
    assert pdu_length(text) == value


@pytest.mark.parametrize("text", ["0", "4095", "4294967296", "-1", "16k"])
def test_pdu_lengths_out_of_range_or_not_numbers_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        pdu_length(text)


def test_positive_keeps_the_kind_and_refuses_zero_negative_and_junk() -> None:
    assert positive(int)("3") == 3
    assert positive(float)("0.5") == 0.5
    for text in ("0", "-2", "x", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive(int)(text)


def test_the_echo_parser_reports_a_bad_ae_title_as_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from dicomkit.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["echo", "127.0.0.1", "104", "--aec", "BAD\\AE"])
    assert exit_info.value.code == 2
    assert "--aec" in capsys.readouterr().err


@pytest.mark.parametrize("text, value", [("1", 1), ("104", 104), ("65535", 65535)])
def test_ports_in_range_are_accepted(text: str, value: int) -> None:
    assert port_number(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "65536", "70000", "abc"])
def test_ports_out_of_range_or_not_numbers_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        port_number(text)


@pytest.mark.parametrize("command", ["echo", "store", "find", "move", "get"])
def test_a_port_above_65535_is_a_usage_error_not_an_internal_error(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from dicomkit.cli.main import main

    extra = {"store": ["file.dcm"], "move": ["DEST"]}.get(command, [])
    with pytest.raises(SystemExit) as exit_info:
        main([command, "127.0.0.1", "70000", *extra])
    assert exit_info.value.code == 2
    assert "argument PORT: must be between 1 and 65535" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["echo", "store", "find", "move", "get"])
def test_a_tls_key_without_its_certificate_is_a_usage_error(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from dicomkit.cli.main import main

    key = tmp_path / "client.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    extra = {"store": ["file.dcm"], "move": ["DEST"]}.get(command, [])
    with pytest.raises(SystemExit) as exit_info:
        main([command, "127.0.0.1", "104", *extra, "--tls-key", str(key), "--timeout", "1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: python -m dicomkit {command} ")
    assert err.endswith(
        f"python -m dicomkit {command}: error: --tls-key needs its certificate: give --tls-cert too\n"
    )


def _echo_arguments(*argv: str) -> argparse.Namespace:
    from dicomkit.cli.main import build_parser

    return build_parser().parse_args(["echo", "127.0.0.1", "104", *argv])


def test_a_tls_certificate_file_holding_its_key_is_enough(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    combined = tmp_path / "client.pem"
    combined.write_bytes(certs.client_cert.read_bytes() + certs.client_key.read_bytes())
    _, _, context = network(_echo_arguments("--tls-ca", str(certs.ca), "--tls-cert", str(combined)))
    assert context is not None


def test_a_tls_certificate_without_its_key_is_named(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    with pytest.raises(OSError, match="not usable as TLS certificate and key") as error:
        network(_echo_arguments("--tls-cert", str(certs.client_cert)))
    assert error.value.filename == str(certs.client_cert)
