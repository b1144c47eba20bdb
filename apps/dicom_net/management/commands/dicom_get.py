"""``manage.py dicom_get --from NAME|AET@HOST:PORT -k KEY=VALUE ... [--out DIR]``: C-GET with a progress bar.

The instances come back on the same association and are stored into the archive
(ingest pipeline, as a C-STORE to ``run_dicom_server`` would be) or, with ``--out``,
written to a folder as ``<SOP Instance UID>.dcm``. Exit status 1 unless every
sub-operation completed.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
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
from apps.dicom_net.services.scu import scu_get
from dicomkit.cli.move import add_progress_argument


class Command(BaseCommand):
    help = "Retrieve instances from a Query/Retrieve SCP with C-GET into the archive or a folder."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_peer_arguments(parser)
        parser.add_argument("--out", type=Path, help="write the instances here instead of the archive")
        add_progress_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        peer = resolve(options, DimseOperation.GET)
        identifier, _, model = query(options)
        result = retrieve_with_bar(
            peer,
            options,
            self.stderr,
            lambda progress: scu_get(
                peer=peer,
                identifier=identifier,
                folder=options["out"],
                model=model,
                progress=progress,
                calling_ae_title=options["aet"],
                timeout=options["timeout"],
            ),
        )
        where = str(options["out"]) if options["out"] else "the archive"
        retrieval_report(
            self.stdout, f"C-GET from {peer.ae_title} into {where} ({result.received} received)", result
        )
