"""The ``python -m dicomkit`` entry point: subcommand discovery and error reporting.

A subcommand is any module of ``dicomkit.cli`` that defines::

    def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None
    def run(args: argparse.Namespace) -> int

so adding one (``echo``, ``store``, ``find`` ...) is a one-module change. ``add_parser``
registers the subcommand's arguments and must keep imports light; ``run`` does the
work and returns the exit status.

Errors are reported here, in one place, as one line on stderr and a non-zero exit:
dicomkit errors (with the offset and tag they carry, after any context a subcommand
added as an exception note, such as the file name; for the network subcommands, the
peer ``AEC@host:port`` of a network error) and OS errors exit 1, usage
errors exit 2 (argparse's own, and a :class:`UsageError` a subcommand raises for
arguments argparse cannot check together), an interrupt 130. Anything else is a bug in
dicomkit: it is reported as an internal error, with the traceback only when
``--traceback`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import secrets
import stat
import sys
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, TextIO, cast

from dicomkit import __version__
from dicomkit.errors import DicomError, NetError

if TYPE_CHECKING:
    from dicomkit.part10.options import DicomFile, ReadOptions

__all__ = [
    "Subcommand",
    "UsageError",
    "build_parser",
    "main",
    "read_input",
    "report",
    "status_stream",
    "subcommands",
    "write_output",
]

PROG = "python -m dicomkit"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

# argparse gives the type of ``add_subparsers()`` no public name.
Subparsers = argparse._SubParsersAction


class UsageError(Exception):
    """Arguments that parse one by one but not together (``--tls-key`` without ``--tls-cert``).

    Reported as argparse reports its own usage errors: the subcommand's usage, the
    message, exit status 2.
    """


class Subcommand(Protocol):
    """What a ``dicomkit.cli`` module provides to be a subcommand."""

    def add_parser(self, subparsers: Subparsers[argparse.ArgumentParser]) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def subcommands() -> dict[str, Subcommand]:
    """Every module of ``dicomkit.cli`` that provides ``add_parser`` and ``run``.

    Keyed by module name (``"dump"``, ``"echo"`` ...), in name order.
    """
    package = importlib.import_module("dicomkit.cli")
    found: dict[str, Subcommand] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        if info.name == __name__.rsplit(".", 1)[-1]:
            continue
        module: ModuleType = importlib.import_module(f"dicomkit.cli.{info.name}")
        if callable(getattr(module, "add_parser", None)) and callable(getattr(module, "run", None)):
            found[info.name] = cast(Subcommand, module)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="DICOM tools built on dicomkit.")
    parser.add_argument("--version", action="version", version=f"dicomkit {__version__}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the Python traceback of an internal error"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in subcommands().values():
        before = set(subparsers.choices)
        command.add_parser(subparsers)
        for name in set(subparsers.choices) - before:
            subparser = subparsers.choices[name]
            subparser.set_defaults(run=command.run, command_parser=subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the subcommand, return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = cast(Callable[[argparse.Namespace], int], args.run)
    where = f"{PROG} {args.command}"
    peer = _peer(args)
    try:
        return run(args)
    except UsageError as exc:
        command_parser = cast(argparse.ArgumentParser, args.command_parser)
        command_parser.error(str(exc))  # exits 2
    except DicomError as exc:
        # Context added on the way up (e.g. the file being read) comes first.
        context = list(getattr(exc, "__notes__", ()))
        if peer is not None and isinstance(exc, NetError):
            context.insert(0, peer)
        return report(where, ": ".join([*context, str(exc)]))
    except BrokenPipeError:
        # The reader of our output went away (``dump FILE | head``): stop quietly.
        _silence_stdout()
        return EXIT_FAILURE
    except OSError as exc:
        # Without a file name it came from the connection: say to whom.
        context = [peer] if peer is not None and exc.filename is None else []
        return report(where, ": ".join([*context, describe_os_error(exc)]))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        hint = "" if args.traceback else " (run with --traceback for details)"
        return report(where, f"internal error: {type(exc).__name__}: {exc}{hint}")


def read_input(path: str, options: ReadOptions) -> DicomFile:
    """``read_file(path)``; a dicomkit error raised on the way carries the path as a note."""
    from dicomkit.part10.reader import read_file

    try:
        return read_file(path, options)
    except DicomError as exc:
        exc.add_note(path)
        raise


def write_output(path: str, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` whole or not at all.

    A regular file (new, or replaced, possibly the input itself) is written beside its
    final place under a temporary name and renamed over it, so a failed write (disk full,
    file size limit) leaves no partial output and no damaged input. Anything else (a
    device or pipe such as ``/dev/stdout``, or our standard output redirected to a file)
    is written in place. An ``OSError`` raised names ``path``.
    """
    try:
        # Followed as open() follows it: realpath() cannot resolve /dev/stdout to a pipe.
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and (not stat.S_ISREG(existing.st_mode) or _is_stdout(existing)):
        with open(path, "wb") as fp:
            fp.write(data)
        return
    target = os.path.realpath(path)  # through a symlink: replace its target, keep the link
    directory, name = os.path.split(target)
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
    try:
        # 0o666 less the umask, as open() would create OUT; a replaced file keeps its mode.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with open(fd, "wb") as fp:
                fp.write(data)
            if existing is not None:
                os.chmod(temporary, stat.S_IMODE(existing.st_mode))
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        if exc.filename is None or exc.filename == temporary:
            exc.filename = path
        raise


def status_stream(path: str) -> TextIO:
    """Where to print the one-line status of a subcommand that writes ``path``.

    Standard output, unless ``path`` is standard output itself (``/dev/stdout``): then
    standard error, so the output holds only the bytes written.
    """
    try:
        written_to_stdout = _is_stdout(os.stat(path))
    except OSError:
        written_to_stdout = False
    return sys.stderr if written_to_stdout else sys.stdout


def report(where: str, message: str) -> int:
    """Print ``message`` as one line on stderr; return the failure status."""
    text = " ".join(message.split())  # one line, whatever the message holds
    print(f"{where}: error: {text}", file=sys.stderr)
    return EXIT_FAILURE


def describe_os_error(exc: OSError) -> str:
    """``'x.dcm': No such file or directory`` rather than the errno tuple."""
    reason = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"{os.fsdecode(exc.filename)!r}: {reason}"
    return reason


def _peer(args: argparse.Namespace) -> str | None:
    """``AEC@host:port`` for the network subcommands, else None."""
    host = getattr(args, "host", None)
    if host is None:
        return None
    return f"{getattr(args, 'aec', '')}@{host}:{getattr(args, 'port', '')}"


def _is_stdout(status: os.stat_result) -> bool:
    """Whether ``status`` is that of the file our standard output is open on."""
    try:
        return os.path.samestat(status, os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # closed or replaced (no real fd)
        return False


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
