"""``store HOST PORT PATH...``: send DICOM files to a Storage SCP with C-STORE (PS3.4 Annex B).

::

    $ python -m dicomkit store pacs.example 104 study/ --aet ME --aec PACS
    stored 212 of 214 files (3 converted) to PACS@pacs.example:104
    failed study/notes.txt: not sent: not a DICOM instance: ...

Folders are searched recursively (``--no-recursive`` to stay at the top). Presentation
contexts are proposed per SOP class and transfer syntax, with uncompressed fallbacks
(see ``dicomkit.net.scu.storage``). A progress bar is shown on stderr when it is a
terminal, or with ``--progress``. Every file that was not stored is listed; ``-v`` lists
the stored ones too. Exit status 0 when every file was stored (Success or Warning),
1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from dicomkit.cli.options import ae_title, pdu_length, positive

if TYPE_CHECKING:
    from dicomkit.cli.main import Subparsers
    from dicomkit.net.scu.storage import StoreResult

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "store",
        help="send DICOM files to a Storage SCP (C-STORE)",
        description="Send files and folders of DICOM instances to a peer with C-STORE.",
    )
    parser.add_argument("host", metavar="HOST")
    parser.add_argument("port", metavar="PORT", type=positive(int))
    parser.add_argument("paths", metavar="PATH", nargs="+", help="files or folders to send")
    parser.add_argument(
        "--aet", type=ae_title, default="DICOMKIT", help="our (calling) AE title (default DICOMKIT)"
    )
    parser.add_argument(
        "--aec", type=ae_title, default="ANY-SCP", help="the peer's (called) AE title (default ANY-SCP)"
    )
    parser.add_argument(
        "--recursive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="search folders recursively (default: yes)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list stored files too")
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
    from dicomkit.net.aio.tls import client_ssl_context
    from dicomkit.net.config import AEConfig, Timeouts
    from dicomkit.net.scu.instances import find_files
    from dicomkit.net.scu.storage import store_files_sync

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
    show_bar = sys.stderr.isatty() if args.progress is None else bool(args.progress)
    total = len(find_files(args.paths, recursive=args.recursive)) if show_bar else 0
    with _Progress(total, enabled=show_bar) as progress:
        results = store_files_sync(
            args.host,
            args.port,
            ae,
            args.aec,
            args.paths,
            ssl_context=ssl_context,
            timeouts=timeouts,
            recursive=args.recursive,
            progress=progress.update,
        )
    where = f"{args.aec}@{args.host}:{args.port}"
    for result in results:
        if args.verbose or not result.ok:
            print(f"{'stored' if result.ok else 'failed'} {result.path}: {result.describe()}")
    stored = sum(result.ok for result in results)
    converted = sum(result.ok and result.converted for result in results)
    print(f"stored {stored} of {len(results)} files ({converted} converted) to {where}")
    return 0 if results and stored == len(results) else 1


class _Progress:
    """A tqdm bar on stderr counting files, or nothing."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)
        self.failed = 0

    def update(self, result: StoreResult) -> None:
        if self._bar is None:
            return
        if not result.ok:
            self.failed += 1
            self._bar.set_postfix(failed=self.failed, refresh=False)
        self._bar.update(1)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.close()
