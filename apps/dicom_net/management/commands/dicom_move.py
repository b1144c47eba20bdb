"""``manage.py dicom_move --from NAME|AET@HOST:PORT [--to AET] -k KEY=VALUE ...``: C-MOVE with a progress bar.

The peer sends what the keys select to ``--to`` (default: our own AE title, so the
instances arrive in this archive through ``run_dicom_server``; the peer must know us).
Exit status 1 unless every sub-operation completed.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from apps.dicom_net.management.commands._scu import (
    add_peer_arguments,
    query,
    resolve,
    retrieval_report,
    retrieve_with_bar,
)
from apps.dicom_net.models import DimseOperation
from apps.dicom_net.services.scu import scu_move
from dicomkit.cli.move import add_progress_argument


class Command(BaseCommand):
    help = "Have a Query/Retrieve SCP send instances to an AE (C-MOVE), with a progress bar."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_peer_arguments(parser)
        parser.add_argument("--to", dest="destination", help="Move Destination AE title (default: ours)")
        add_progress_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        peer = resolve(options, DimseOperation.MOVE)
        identifier, _, model = query(options)
        result = retrieve_with_bar(
            peer,
            options,
            self.stderr,
            lambda progress: scu_move(
                peer=peer,
                identifier=identifier,
                destination_ae_title=options["destination"],
                model=model,
                progress=progress,
                calling_ae_title=options["aet"],
                timeout=options["timeout"],
            ),
        )
        retrieval_report(
            self.stdout, f"C-MOVE from {peer.ae_title} to {options['destination'] or 'us'}", result
        )
