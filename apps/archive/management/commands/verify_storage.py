"""``manage.py verify_storage``: report where the index and the stored files disagree.

Lists index rows whose file is missing, files no row knows, and files whose SHA-256 (or,
with ``--no-checksums``, size) differs from the row's. Exits with status 1 when anything
was found. Before checking, ingests a crash interrupted between storing their file and
committing its rows are settled (``staging_reconcile``: the index decides whether the file
stays); apart from that, nothing is changed.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.archive.services.integrity import staging_reconcile, storage_verify


class Command(BaseCommand):
    help = "Check that every index row has its file (with its checksum) and every file its row."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-checksums", action="store_true", help="check presence and size only")
        parser.add_argument(
            "--grace-seconds",
            type=float,
            default=60.0,
            help="ignore unknown files younger than this (ingests in flight); default 60",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        recovery = staging_reconcile()
        if recovery.completed or recovery.rolled_back or recovery.restored:
            self.stdout.write(
                f"settled interrupted ingests: {len(recovery.completed)} completed, "
                f"{len(recovery.rolled_back)} rolled back, {len(recovery.restored)} indexed again"
            )
        report = storage_verify(checksums=not options["no_checksums"], grace_seconds=options["grace_seconds"])
        for problem in report.missing_files:
            self.stdout.write(
                f"missing file: {problem.backend}:{problem.key} (SOP Instance {problem.sop_instance_uid})"
            )
        for key in report.unknown_files:
            self.stdout.write(f"file without index row: {key}")
        for problem in report.checksum_mismatches:
            self.stdout.write(f"checksum mismatch: {problem.backend}:{problem.key}: {problem.detail}")
        self.stdout.write(
            f"checked {report.checked_rows} index rows and {report.checked_files} files: "
            f"{len(report.missing_files)} missing, {len(report.unknown_files)} unknown, "
            f"{len(report.checksum_mismatches)} mismatched"
        )
        if not report.ok:
            raise CommandError("storage and index disagree", returncode=1)
