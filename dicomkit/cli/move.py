"""``move HOST PORT DESTINATION -k KEY=VALUE ...``: have a Q/R SCP send instances with C-MOVE (PS3.4 C.4.2).

::

    $ python -m dicomkit move pacs.example 104 WORKSTATION --aec PACS \\
          -k StudyInstanceUID=1.2.826.0.1.3680043.8.498.1
    100%|██████████| 212/212 [00:04<00:00]
    C-MOVE to WORKSTATION: 0x0000 Success: 212 completed, 0 failed, 0 warning

The SCP sends to ``DESTINATION``, an AE title it knows (its own configuration maps it
to an address). Keys and options are those of ``find``; the level defaults to STUDY.
A progress bar follows the SCP's pending responses on stderr (when it is a terminal,
or with ``--progress``). Failed SOP Instance UIDs are listed. Exit status 0 when every
sub-operation completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from dicomkit.cli.find import add_query_arguments, identifier, model
from dicomkit.cli.options import add_network_arguments, ae_title, network, port_number

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from dicomkit.cli.main import Subparsers
    from dicomkit.net.scu.retrieve import RetrieveProgress, RetrieveResult

__all__ = ["RetrieveBar", "add_parser", "add_progress_argument", "report", "run", "show_progress"]


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "move",
        help="have a Query/Retrieve SCP send instances to an AE (C-MOVE)",
        description="Send a C-MOVE request: the SCP sends what the keys select to DESTINATION.",
    )
    parser.add_argument("host", metavar="HOST")
    parser.add_argument("port", metavar="PORT", type=port_number)
    parser.add_argument("destination", metavar="DESTINATION", type=ae_title, help="the Move Destination AE")
    add_query_arguments(parser)
    add_progress_argument(parser)
    add_network_arguments(parser)


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )


def run(args: argparse.Namespace) -> int:
    from dicomkit.net.scu.move import move_sync

    query, _ = identifier(args)
    ae, timeouts, ssl_context = network(args)
    with RetrieveBar(enabled=show_progress(args)) as bar:
        result = move_sync(
            args.host,
            args.port,
            ae,
            args.aec,
            query,
            args.destination,
            model=model(args, query),
            progress=bar.update,
            ssl_context=ssl_context,
            timeouts=timeouts,
        )
    return report(f"C-MOVE to {args.destination}", result)


def show_progress(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() if args.progress is None else bool(args.progress)


def report(what: str, result: RetrieveResult) -> int:
    """Print the outcome and the failed instances; the exit status."""
    print(f"{what}: {result.describe()}")
    for uid in result.failed_sop_instance_uids:
        print(f"failed {uid}")
    return 0 if result.ok else 1


class RetrieveBar:
    """A tqdm bar fed by pending responses, or nothing; on ``file`` (default: stderr)."""

    def __init__(self, *, enabled: bool, file: SupportsWrite[str] | None = None) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=None, unit="instance", file=sys.stderr if file is None else file, dynamic_ncols=True
            )

    def update(self, progress: RetrieveProgress) -> None:
        bar = self._bar
        if bar is None:
            return
        if progress.total is not None and bar.total != progress.total:
            bar.total = progress.total
        done = progress.completed + progress.failed + progress.warning
        if progress.failed:
            bar.set_postfix(failed=progress.failed, refresh=False)
        bar.update(done - bar.n)

    def __enter__(self) -> RetrieveBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.close()
