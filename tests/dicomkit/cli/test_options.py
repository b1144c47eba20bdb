"""Argument types of the network subcommands (``dicomkit.cli.options``)."""

from __future__ import annotations

import argparse

import pytest

from dicomkit.cli.options import ae_title, pdu_length, port_number, positive


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
