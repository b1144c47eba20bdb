"""Our DICOM server as a process of its own, for interop and bad-input tests.

``python -m tests.interop.dicomkit_server [options]`` prints ``LISTENING <port>`` once it
accepts connections and serves Verification until SIGTERM/SIGINT (then shuts down with
a one-second grace period).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from dicomkit.net.aio import DicomServer, server_ssl_context
from dicomkit.net.config import AEConfig, SupportedContext, Timeouts
from dicomkit.net.services import ServiceHandlers, VerificationService

VERIFICATION = "1.2.840.10008.1.1"
TRANSFER_SYNTAXES = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--aet", default="DICOMKIT")
    parser.add_argument("--max-pdu", type=int, default=16384)
    parser.add_argument("--artim", type=float, default=30.0)
    parser.add_argument("--max-associations", type=int, default=50)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-ca")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    ae = AEConfig(
        args.aet,
        supported_contexts=(SupportedContext(VERIFICATION, TRANSFER_SYNTAXES),),
        max_pdu_length=args.max_pdu,
        max_associations=args.max_associations,
        timeouts=Timeouts(artim=args.artim),
    )
    ssl_context = None
    if args.tls_cert:
        ssl_context = server_ssl_context(
            args.tls_cert, args.tls_key, ca_file=args.tls_ca, require_client_cert=args.tls_ca is not None
        )
    server = DicomServer(
        ae,
        ServiceHandlers([VerificationService()]),
        host="127.0.0.1",
        port=args.port,
        ssl_context=ssl_context,
    )
    await server.start()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(server.shutdown(grace=1)))
    print(f"LISTENING {server.port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
