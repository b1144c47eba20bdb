"""``manage.py dicom_send --to NAME|AET@HOST:PORT``: send files, a stored study or series (C-STORE).

Thin: flags in, ``services.sending.dicom_send`` out, then a summary and one line per
instance that was not stored (its SOP Instance UID, file and status or reason). Exit status
1 when anything was not stored (or nothing could be sent), 0 otherwise.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.dicom_net.errors import RemoteNodeError, SendError
from apps.dicom_net.management.commands._scu import BarStream
from apps.dicom_net.services.sending import dicom_send


class Command(BaseCommand):
    help = (
        "Send DICOM files and folders, or a stored study or series, to another AE with C-STORE "
        "(contexts per SOP class and transfer syntax, uncompressed fallbacks)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="*", help="files or folders to send (searched recursively)")
        parser.add_argument(
            "--to",
            required=True,
            metavar="NAME|AET@HOST:PORT",
            help="the Storage SCP: a remote node's AE title (allowing C-STORE from us), or an address",
        )
        parser.add_argument("--study", metavar="UID", help="send this stored study")
        parser.add_argument("--series", metavar="UID", help="send this stored series (of --study, if given)")
        parser.add_argument("--aet", help="our calling AE title (default: PACS_DICOM_AE_TITLE)")
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="no progress bar (there is none anyway when stderr is not a terminal)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["paths"] or options["study"] or options["series"]):
            raise CommandError("give files or folders, --study or --series")
        # Like dicom_move/get: no bar redrawn into a log file.
        drawn = self.stderr.isatty() and not options["no_progress"]
        try:
            summary = dicom_send(
                destination=options["to"],
                files=options["paths"],
                study_uid=options["study"],
                series_uid=options["series"],
                calling_ae_title=options["aet"],
                progress=BarStream(self.stderr) if drawn else None,
            )
        except (RemoteNodeError, SendError) as exc:
            raise CommandError(str(exc), returncode=1) from exc
        failed = summary.failed
        if failed:
            self.stdout.write("not stored:")
            width = max(len(result.sop_instance_uid or "-") for result in failed)
            for result in failed:
                uid = (result.sop_instance_uid or "-").ljust(width)
                self.stdout.write(f"  {uid}  {result.path}  {result.describe()}")
        self.stdout.write(
            f"stored {summary.stored} of {summary.total} instances ({summary.converted} converted) "
            f"to {summary.destination}"
        )
        if not summary.ok:
            raise CommandError(f"{len(failed)} of {summary.total} instances were not stored", returncode=1)
