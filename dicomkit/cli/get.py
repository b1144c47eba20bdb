"""``get HOST PORT -k KEY=VALUE ... --out DIR``: retrieve instances with C-GET (PS3.4 C.4.3).

::

    $ python -m dicomkit get pacs.example 104 --aec PACS --out study/ \\
          -k StudyInstanceUID=1.2.826.0.1.3680043.8.498.1
    100%|██████████| 212/212 [00:03<00:00]
    C-GET into study: 0x0000 Success: 212 completed, 0 failed, 0 warning

The instances come on the same association (we act as Storage SCP for them, with
SCP/SCU role selection) and are written as ``<SOP Instance UID>.dcm`` into ``--out``
(default the current folder). Keys and options are those of ``find``; the progress bar
those of ``move``. Exit status 0 when every sub-operation completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import errno
import os
from typing import TYPE_CHECKING

from dicomkit.cli.find import add_query_arguments, identifier, model
from dicomkit.cli.move import RetrieveBar, add_progress_argument, report, show_progress
from dicomkit.cli.options import add_network_arguments, network, port_number

if TYPE_CHECKING:
    from dicomkit.cli.main import Subparsers

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "get",
        help="retrieve instances from a Query/Retrieve SCP (C-GET) into a folder",
        description="Send a C-GET request and store the instances that come back.",
    )
    parser.add_argument("host", metavar="HOST")
    parser.add_argument("port", metavar="PORT", type=port_number)
    add_query_arguments(parser)
    parser.add_argument(
        "-o",
        "--out",
        default=".",
        metavar="DIR",
        help="where to write the instances (default: the current folder)",
    )
    add_progress_argument(parser)
    add_network_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dicomkit.net.scu.get import get_sync

    query, _ = identifier(args)
    ae, timeouts, ssl_context = network(args)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        # makedirs would say "File exists", which reads as if the folder were fine.
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), args.out)
    os.makedirs(args.out, exist_ok=True)
    with RetrieveBar(enabled=show_progress(args)) as bar:
        result = get_sync(
            args.host,
            args.port,
            ae,
            args.aec,
            query,
            args.out,
            model=model(args, query),
            progress=bar.update,
            ssl_context=ssl_context,
            timeouts=timeouts,
        )
    return report(f"C-GET into {args.out}", result)
