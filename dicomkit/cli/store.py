"""``store HOST PORT PATH...``: send DICOM files to a Storage SCP with C-STORE (PS3.4 Annex B).

::

    $ python -m dicomkit store pacs.example 104 study/ --aet ME --aec PACS
    stored 212 of 214 files (3 converted) to PACS@pacs.example:104
    failed study/notes.txt: not sent: not a DICOM instance: ...

Folders are searched recursively (``--no-recursive`` to stay at the top). Presentation
contexts are proposed per SOP class and transfer syntax, with uncompressed fallbacks
(see ``dicomkit.net.scu.storage``). A progress bar is shown on stderr when it is a
terminal, or with ``--progress``. Every file that was not stored is listed; ``-v`` lists
the stored ones too. A malformed file (an element longer than what the file holds) is
refused before sending; when the peer aborts, the file in flight is listed as
interrupted and the others go on a new association (up to a bound of breaks in a row).
Exit status 0 when every file was stored (Success or Warning), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from dicomkit.cli.options import add_connection_arguments, add_peer_arguments, network, port_number

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
    parser.add_argument("port", metavar="PORT", type=port_number)
    parser.add_argument("paths", metavar="PATH", nargs="+", help="files or folders to send")
    add_peer_arguments(parser)
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
    add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dicomkit.net.scu.instances import find_files
    from dicomkit.net.scu.storage import store_files_sync

    ae, timeouts, ssl_context = network(args)
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
    if not results:
        from dicomkit.cli.main import PROG, report

        folders = ", ".join(repr(path) for path in args.paths)
        return report(f"{PROG} store", f"no files found in {folders}; nothing was sent")
    where = f"{args.aec}@{args.host}:{args.port}"
    for result in results:
        if args.verbose or not result.ok:
            print(f"{'stored' if result.ok else 'failed'} {result.path}: {result.describe()}")
    stored = sum(result.ok for result in results)
    converted = sum(result.ok and result.converted for result in results)
    print(f"stored {stored} of {len(results)} files ({converted} converted) to {where}")
    return 0 if stored == len(results) else 1


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
