"""``manage.py run_dicom_server``: the product's DIMSE server (thin: flags in, service out).

Configured from ``settings.PACS_DICOM`` (docs/configuration.md); the flags override it.
System checks (``dicom_net.E001``..) run first, as for every command; then ingests a crash
interrupted between storing a file and committing its rows are settled (``staging_reconcile``).
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.archive.services import staging_reconcile
from apps.dicom_net.errors import DicomNetError
from apps.dicom_net.services.server import dicom_server_serve
from apps.dicom_net.services.server_config import server_config_from_settings


class Command(BaseCommand):
    help = (
        "Serve DIMSE (Verification, Storage into the archive, Query/Retrieve) on "
        "PACS_DICOM_HOST:PACS_DICOM_PORT as PACS_DICOM_AE_TITLE until SIGTERM/SIGINT, "
        "which shuts down gracefully."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", help="listening address (default: PACS_DICOM_HOST)")
        parser.add_argument("--port", type=int, help="listening port (default: PACS_DICOM_PORT, 11112)")
        parser.add_argument("--aet", help="our AE title (default: PACS_DICOM_AE_TITLE, PACS)")
        parser.add_argument(
            "--workers", type=int, help="server processes sharing the port (default: PACS_DICOM_WORKERS, 1)"
        )
        parser.add_argument("--tls-cert", type=Path, help="PEM certificate: serve TLS (with --tls-key)")
        parser.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
        parser.add_argument(
            "--tls-ca", type=Path, help="PEM CA bundle: require client certificates it signed"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = server_config_from_settings(
                ae_title=options["aet"],
                host=options["host"],
                port=options["port"],
                workers=options["workers"],
                tls_cert=options["tls_cert"],
                tls_key=options["tls_key"],
                tls_ca=options["tls_ca"],
            )
            staging_reconcile()
            status = dicom_server_serve(config=config)
        except DicomNetError as exc:
            raise CommandError(str(exc)) from exc
        if status:
            raise SystemExit(status)
