"""Arguments shared by the network subcommands (``echo``, ``store``, ``find`` ...).

The argument types are ``argparse`` ``type=`` callables: each returns the parsed value
or raises ``argparse.ArgumentTypeError`` with a one-line reason, which argparse reports
as a usage error (exit status 2). AE titles follow PS3.5 §6.2 (AE VR) as ``AEConfig``
checks them; PDU lengths PS3.8 §D.1 (we ask for at least 4096 and refuse 0, "no
maximum").

:func:`add_peer_arguments` (``--aet``/``--aec``) and :func:`add_connection_arguments`
(``--timeout``, ``--max-pdu``, the TLS group of PS3.15 B.1) add the options every
requestor subcommand has; :func:`network` turns them into our AE, timeouts and TLS
context. ``--tls-key`` needs ``--tls-cert`` (a key is only ever loaded with its
certificate); ``--tls-cert`` alone may name a PEM file holding the key too.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from dicomkit.cli.main import UsageError

if TYPE_CHECKING:
    import ssl

    from dicomkit.net.config import AEConfig, Timeouts

__all__ = [
    "add_connection_arguments",
    "add_network_arguments",
    "add_peer_arguments",
    "ae_title",
    "network",
    "pdu_length",
    "port_number",
    "positive",
]

_N = TypeVar("_N", int, float)

MIN_PDU_LENGTH = 4096
MAX_PDU_LENGTH = 0xFFFFFFFF
MAX_PORT = 65535


def positive(kind: Callable[[str], _N]) -> Callable[[str], _N]:
    """A ``type=`` that parses with ``kind`` (int or float) and accepts only values above 0."""

    def parse(text: str) -> _N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value

    return parse


def port_number(text: str) -> int:
    """A TCP port to connect to: 1..65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_PORT}: {text!r}")
    return value


def pdu_length(text: str) -> int:
    """A Maximum Length to announce: 4096..4294967295."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not MIN_PDU_LENGTH <= value <= MAX_PDU_LENGTH:
        raise argparse.ArgumentTypeError(f"must be between {MIN_PDU_LENGTH} and {MAX_PDU_LENGTH}")
    return value


def ae_title(text: str) -> str:
    """An AE title as our AE or a called peer may have it (1-16 characters, no backslash)."""
    from dicomkit.net.config import AEConfig  # the CLI starts without loading the net stack

    try:
        AEConfig(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_peer_arguments(parser: argparse.ArgumentParser) -> None:
    """``--aet`` (our calling AE title) and ``--aec`` (the peer's called AE title)."""
    parser.add_argument(
        "--aet", type=ae_title, default="DICOMKIT", help="our (calling) AE title (default DICOMKIT)"
    )
    parser.add_argument(
        "--aec", type=ae_title, default="ANY-SCP", help="the peer's (called) AE title (default ANY-SCP)"
    )


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--timeout``, ``--max-pdu`` and the TLS group (PS3.15 B.1)."""
    parser.add_argument("--timeout", type=positive(float), default=30.0, help="seconds per step (default 30)")
    parser.add_argument(
        "--max-pdu", type=pdu_length, default=16384, help="maximum PDU length we receive (default 16384)"
    )
    tls = parser.add_argument_group("TLS (PS3.15 B.1)")
    tls.add_argument(
        "--tls", action="store_true", help="connect with TLS 1.2 or later (implied by the options below)"
    )
    tls.add_argument("--tls-ca", metavar="FILE", help="CA certificates to verify the peer with")
    tls.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="our certificate (client authentication); may hold its private key too",
    )
    tls.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert, if kept apart")
    tls.add_argument(
        "--tls-no-verify", action="store_true", help="accept any peer certificate (testing only)"
    )


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """The peer arguments, then the connection arguments."""
    add_peer_arguments(parser)
    add_connection_arguments(parser)


def network(args: argparse.Namespace) -> tuple[AEConfig, Timeouts, ssl.SSLContext | None]:
    """Our AE, the timeouts (``--timeout`` for every step) and the TLS context, if any.

    Raises:
        UsageError: ``--tls-key`` without ``--tls-cert``.
    """
    from dicomkit.net.config import AEConfig, Timeouts

    if args.tls_key is not None and args.tls_cert is None:
        # load_cert_chain() reads a key only with its certificate: the key alone would be
        # dropped and we would connect without the client authentication asked for.
        raise UsageError("--tls-key needs its certificate: give --tls-cert too")

    ae = AEConfig(args.aet, max_pdu_length=args.max_pdu)
    timeout: float = args.timeout
    timeouts = Timeouts(artim=timeout, acse=timeout, dimse=timeout, network=None, connect=timeout)
    ssl_context = None
    # Any TLS option asks for TLS: --tls-no-verify alone must not fall back to plain TCP.
    if args.tls or args.tls_ca or args.tls_cert or args.tls_key or args.tls_no_verify:
        ssl_context = _tls_context(args)
    return ae, timeouts, ssl_context


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext:
    """The client context; a file that cannot be used is reported by its name."""
    import ssl

    from dicomkit.net.aio.tls import client_ssl_context

    for path in (args.tls_ca, args.tls_cert, args.tls_key):
        if path is not None:
            with open(path, "rb"):  # missing or unreadable: an OSError naming it
                pass
    verify = not args.tls_no_verify
    try:
        client_ssl_context(ca_file=args.tls_ca, verify_server=verify)
    except ssl.SSLError as exc:
        raise OSError(exc.errno, f"not usable as TLS CA certificates: {exc}", args.tls_ca) from exc
    try:
        return client_ssl_context(
            ca_file=args.tls_ca, certfile=args.tls_cert, keyfile=args.tls_key, verify_server=verify
        )
    except ssl.SSLError as exc:
        raise OSError(exc.errno, f"not usable as TLS certificate and key: {exc}", args.tls_cert) from exc
