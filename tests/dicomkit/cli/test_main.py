"""``python -m dicomkit``: subcommands found by module, bad input reported in one line with
a non-zero exit status and never a traceback."""

from __future__ import annotations

import resource
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from dicomkit.cli.main import build_parser, subcommands, write_output
from tests.corpus import DATA_ROOT

RunCli = Callable[..., subprocess.CompletedProcess[str]]

CT = DATA_ROOT / "test_files" / "CT_small.dcm"


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, what the one-line error must mention)."""
    text = tmp_path / "notes.txt"
    text.write_text("This is a text file, not a DICOM file.\nSecond line.\n")
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(CT.read_bytes()[:1000])
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    return {
        "missing": (tmp_path / "no-such-file.dcm", "No such file or directory"),
        "directory": (tmp_path, "Is a directory"),
        "text": (text, "offset"),
        "truncated": (truncated, "at offset 994"),
        "empty": (empty, "empty input"),
    }


@pytest.mark.parametrize("case", ["missing", "directory", "text", "truncated", "empty"])
@pytest.mark.parametrize("command", ["dump", "dump --json", "convert"])
def test_bad_input_gives_one_line_and_a_failure_status(
    run_cli: RunCli, tmp_path: Path, case: str, command: str
) -> None:
    path, mentioned = _bad_inputs(tmp_path)[case]
    if command == "convert":
        args: list[str | Path] = ["convert", path, tmp_path / "out.dcm", "-t", "explicit"]
    else:
        args = [*command.split(), path]
    result = run_cli(*args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"python -m dicomkit {command.split(maxsplit=1)[0]}: error: ")
    assert mentioned in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.dcm").exists()


def test_an_error_names_the_tag_and_offset_of_the_malformed_element(run_cli: RunCli, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(CT.read_bytes()[:1000])
    result = run_cli("dump", truncated)
    assert "element (0010,1002)" in result.stderr
    assert "offset 994 (0x3E2)" in result.stderr


def test_no_subcommand_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_subcommands(run_cli: RunCli) -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "dump" in result.stdout and "convert" in result.stdout


def test_every_cli_module_with_add_parser_and_run_is_a_subcommand() -> None:
    commands = subcommands()
    assert list(commands) == sorted(commands)
    assert {"dump", "convert"} <= set(commands)
    for name, command in commands.items():
        args = build_parser().parse_args(_minimal_args(name))
        assert args.command == name
        assert args.run is command.run


def _minimal_args(name: str) -> list[str]:
    return {
        "dump": ["dump", "x.dcm"],
        "convert": ["convert", "a", "b", "-t", "explicit"],
        "render": ["render", "a", "b"],
        "echo": ["echo", "localhost", "104"],
        "store": ["store", "localhost", "104", "a.dcm"],
        "find": ["find", "localhost", "104"],
        "move": ["move", "localhost", "104", "DEST"],
        "get": ["get", "localhost", "104"],
    }.get(name, [name])


def test_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("dicomkit ")


def _limit_file_size_to_4_kib() -> None:
    # Writing past the limit then fails with EFBIG (Python ignores SIGXFSZ), as a full disk would.
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.parametrize(
    "command, in_place",
    [("convert", False), ("convert", True), ("render", False)],
)
def test_a_failed_write_leaves_no_partial_output_and_keeps_the_input(
    cli_env: dict[str, str], tmp_path: Path, command: str, in_place: bool
) -> None:
    source = tmp_path / "in.dcm"
    original = CT.read_bytes()  # 39 KB, its PNG 12 KB: both over the limit
    source.write_bytes(original)
    output = source if in_place else tmp_path / "out"
    extra = ["-t", "implicit"] if command == "convert" else []
    result = subprocess.run(
        [sys.executable, "-m", "dicomkit", command, str(source), str(output), *extra],
        capture_output=True,
        text=True,
        # No bytecode written under the limit: a .pyc cut at 4 KiB (a short write, not an
        # error) would break every later interpreter sharing cli_env's bytecode cache.
        env={**cli_env, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=120,
        check=False,
        preexec_fn=_limit_file_size_to_4_kib,
    )
    assert result.returncode == 1
    assert result.stderr == f"python -m dicomkit {command}: error: {str(output)!r}: File too large\n"
    assert source.read_bytes() == original
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.dcm"]


def test_write_output_replaces_a_file_keeping_its_mode_and_writes_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target.dcm"
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "link.dcm"
    link.symlink_to(target.name)
    write_output(str(link), b"new")
    assert link.is_symlink()
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link.dcm", "target.dcm"]


# The subcommands that write a file OUT and then say so in one "wrote OUT: ..." line.
_WRITE_COMMANDS = {"convert": ["-t", "explicit"], "render": []}


def _write(cli_env: dict[str, str], command: str, output: Path | str, stdout: int | IO[bytes]) -> bytes:
    """Run ``command CT OUT``, standard output as given; return its standard error."""
    argv = [sys.executable, "-m", "dicomkit", command, str(CT), str(output), *_WRITE_COMMANDS[command]]
    result = subprocess.run(
        argv, stdout=stdout, stderr=subprocess.PIPE, env=cli_env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.mark.parametrize("command", sorted(_WRITE_COMMANDS))
def test_a_written_file_is_announced_on_stdout(cli_env: dict[str, str], tmp_path: Path, command: str) -> None:
    out = tmp_path / "out"
    with (tmp_path / "stdout").open("w+b") as stdout:
        assert _write(cli_env, command, out, stdout) == b""
        stdout.seek(0)
        assert stdout.read().startswith(f"wrote {out}: ".encode())


@pytest.mark.parametrize("command", sorted(_WRITE_COMMANDS))
def test_dev_stdout_into_a_pipe_gets_only_the_files_bytes(
    cli_env: dict[str, str], tmp_path: Path, command: str
) -> None:
    reference = tmp_path / "reference"
    _write(cli_env, command, reference, subprocess.DEVNULL)
    argv = [sys.executable, "-m", "dicomkit", command, str(CT), "/dev/stdout", *_WRITE_COMMANDS[command]]
    result = subprocess.run(argv, capture_output=True, env=cli_env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == reference.read_bytes()
    assert result.stderr.startswith(b"wrote /dev/stdout: ")


@pytest.mark.parametrize("command", sorted(_WRITE_COMMANDS))
def test_dev_stdout_redirected_to_a_file_gets_only_the_files_bytes(
    cli_env: dict[str, str], tmp_path: Path, command: str
) -> None:
    reference = tmp_path / "reference"
    _write(cli_env, command, reference, subprocess.DEVNULL)
    redirected = tmp_path / "redirected"
    with redirected.open("wb") as stdout:
        err = _write(cli_env, command, "/dev/stdout", stdout)
    assert redirected.read_bytes() == reference.read_bytes()
    assert err.startswith(b"wrote /dev/stdout: ")
