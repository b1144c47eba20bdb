"""``manage.py import_dicom PATH...``: import files and folders through the ingest service.

Prints a summary (stored, replaced, duplicates, rejected) and one line per rejected file
with its reason. Exits with status 1 when any file was rejected (not DICOM, truncated,
refused by validation), 0 otherwise; re-running over the same files is safe. A path that
does not exist (a typo, a dangling link) stops the command before anything is
imported, rather than passing as an empty import.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.archive.services.importing import REJECTED, FileOutcome, files_import, files_under
from apps.archive.services.integrity import staging_reconcile
from dicomkit.cli.options import ae_title


class Command(BaseCommand):
    help = "Import DICOM files and folders into the archive (idempotent, in parallel)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", help="files or folders (searched recursively)")
        parser.add_argument("--workers", type=int, default=4, help="parallel ingests (default 4)")
        parser.add_argument(
            "--source-ae",
            type=ae_title,  # checked, not cut to the column's 16 characters
            help="recorded as the instances' source AE title (1-16 characters, no backslash)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        paths: list[str] = options["paths"]
        workers: int = options["workers"]
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        missing = [path for path in paths if not os.path.exists(path)]
        if missing:
            raise CommandError(f"no such file or folder: {', '.join(missing)}", returncode=1)
        staging_reconcile()  # settle ingests a crash interrupted before storing more
        total = sum(1 for _ in files_under(paths))
        with tqdm(total=total, unit="file", disable=options["no_progress"] or None, file=self.stderr) as bar:

            def advance(result: FileOutcome) -> None:
                bar.update(1)

            summary = files_import(
                paths=paths, workers=workers, source_ae=options["source_ae"] or None, on_result=advance
            )
        width = max(len(name) for name in summary.counts)
        self.stdout.write("Import summary")
        for name, count in summary.counts.items():
            self.stdout.write(f"  {name.ljust(width)}  {count:>8}")
        self.stdout.write(f"  {'total'.ljust(width)}  {summary.total:>8}")
        for item in summary.rejected:
            self.stdout.write(f"rejected {item.path}: {item.reason}: {item.comment}")
        if summary.counts[REJECTED]:
            raise CommandError(
                f"{summary.counts[REJECTED]} of {summary.total} files were rejected", returncode=1
            )
