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

from dicomkit.cli.options import ae_title, pdu_length, positive

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
    parser.add_argument("port", metavar="PORT", type=positive(int))
    parser.add_argument(
        "--aet", type=ae_title, default="DICOMKIT", help="our (calling) AE title (default DICOMKIT)"
    )
    parser.add_argument(
        "--aec", type=ae_title, default="ANY-SCP", help="the peer's (called) AE title (default ANY-SCP)"
    )
    parser.add_argument("--repeat", type=positive(int), default=1, help="C-ECHOs to send (default 1)")
    parser.add_argument("--timeout", type=positive(float), default=30.0, help="seconds per step (default 30)")
    parser.add_argument(
        "--max-pdu", type=pdu_length, default=16384, help="maximum PDU length we receive (default 16384)"
    )
    tls = parser.add_argument_group("TLS (PS3.15 B.1)")
    tls.add_argument("--tls", action="store_true", help="connect with TLS 1.2 or later")
    tls.add_argument("--tls-ca", metavar="FILE", help="CA certificates to verify the peer with")
    tls.add_argument("--tls-cert", metavar="FILE", help="our certificate (client authentication)")
    tls.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert")
    tls.add_argument(
        "--tls-no-verify", action="store_true", help="accept any peer certificate (testing only)"
    )


def run(args: argparse.Namespace) -> int:
    from dicomkit.net.aio.client import echo_sync
    from dicomkit.net.aio.tls import client_ssl_context
    from dicomkit.net.config import AEConfig, Timeouts
    from dicomkit.net.dimse.status import status_name

    ae = AEConfig(args.aet, max_pdu_length=args.max_pdu)
    timeout: float = args.timeout
    timeouts = Timeouts(artim=timeout, acse=timeout, dimse=timeout, network=None, connect=timeout)
    ssl_context = None
    if args.tls or args.tls_ca or args.tls_cert:
        ssl_context = client_ssl_context(
            ca_file=args.tls_ca,
            certfile=args.tls_cert,
            keyfile=args.tls_key,
            verify_server=not args.tls_no_verify,
        )
    start = time.perf_counter()
    statuses = echo_sync(
        args.host, args.port, ae, args.aec, ssl_context=ssl_context, timeouts=timeouts, repeat=args.repeat
    )
    elapsed = (time.perf_counter() - start) * 1000 / len(statuses)
    where = f"{args.aec}@{args.host}:{args.port}"
    for status in statuses:
        print(f"C-ECHO {where}: {status_name(status)} ({elapsed:.1f} ms)")
    return 0 if all(status == 0 for status in statuses) else 1
