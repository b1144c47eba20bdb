"""``echo HOST PORT``: verify a DICOM peer with C-ECHO (PS3.4 Annex A, PS3.7 §9.1.5).

::

    $ python -m dicomkit echo pacs.example 104 --aet ME --aec PACS
    C-ECHO PACS@pacs.example:104: 0x0000 Success (0.4 ms)

Associates (over TLS with ``--tls``, PS3.15 B.1), sends ``--repeat`` C-ECHOs, releases.
Exit status 0 when every response is Success, 1 otherwise; association and network
errors are reported by ``dicomkit.cli.main`` in one line.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from dicomkit.cli.options import add_connection_arguments, add_peer_arguments, network, port_number, positive

if TYPE_CHECKING:
    from dicomkit.cli.main import Subparsers

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "echo",
        help="verify a DICOM peer with C-ECHO",
        description="Open an association, send C-ECHO requests, release it.",
    )
    parser.add_argument("host", metavar="HOST")
    parser.add_argument("port", metavar="PORT", type=port_number)
    add_peer_arguments(parser)
    parser.add_argument("--repeat", type=positive(int), default=1, help="C-ECHOs to send (default 1)")
    add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dicomkit.net.aio.client import echo_sync
    from dicomkit.net.dimse.status import status_name

    ae, timeouts, ssl_context = network(args)
    start = time.perf_counter()
    statuses = echo_sync(
        args.host, args.port, ae, args.aec, ssl_context=ssl_context, timeouts=timeouts, repeat=args.repeat
    )
    elapsed = (time.perf_counter() - start) * 1000 / len(statuses)
    where = f"{args.aec}@{args.host}:{args.port}"
    for status in statuses:
        print(f"C-ECHO {where}: {status_name(status)} ({elapsed:.1f} ms)")
    return 0 if all(status == 0 for status in statuses) else 1
