"""``manage.py generate_index``: fill the index with synthetic rows for query benchmarks.

``python manage.py generate_index --studies 100000 --instances-per-study 10`` inserts
50,000 patients, 100,000 studies, 300,000 series and 1,000,000 instances with their
locations (backend ``synthetic``, no files) in batches; see ``apps.archive.query.synthetic``.
A progress bar is drawn on stderr when it is a terminal (as ``import_dicom`` does); stdout
holds only the summary.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from tqdm import tqdm

from apps.archive.query.synthetic import index_generate


class Command(BaseCommand):
    help = "Insert synthetic patients/studies/series/instances into the index (benchmarks; no files)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--studies", type=int, required=True, help="number of studies to add")
        parser.add_argument("--instances-per-study", type=int, default=10)
        parser.add_argument("--series-per-study", type=int, default=3)
        parser.add_argument("--batch-size", type=int, default=1000, help="studies per transaction")
        parser.add_argument("--seed", type=int, default=None, help="repeatable data (UIDs too)")
        parser.add_argument(
            "--start", type=int, default=0, help="first study number (grow a seeded index: --start 10000)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        total = options["studies"]
        # disable=None: tqdm draws only when stderr is a terminal, so no "\r" lands in a log.
        bar = tqdm(total=total, unit="study", disable=options["no_progress"] or None, file=self.stderr)

        def progress(done: int) -> None:
            bar.update(done - bar.n)

        try:
            with bar:
                result = index_generate(
                    studies=total,
                    instances_per_study=options["instances_per_study"],
                    series_per_study=options["series_per_study"],
                    batch_size=options["batch_size"],
                    seed=options["seed"],
                    start=options["start"],
                    progress=progress,
                )
        except ValueError as exc:
            raise CommandError(f"{exc} (--studies, --*-per-study, --batch-size; --start >= 0)") from exc
        except IntegrityError as exc:
            # Earlier batches stay committed; the same seed and start make the same UIDs.
            raise CommandError(
                f"studies of seed {options['seed']} from {options['start']} are already in the index "
                "(grow it with --start, or leave out --seed)"
                if options["seed"] is not None
                else f"a generated UID is already in the index: {exc}"
            ) from exc
        self.stdout.write(
            f"added {result.patients} patients, {result.studies} studies, {result.series} series, "
            f"{result.instances} instances in {time.monotonic() - started:.1f} s"
        )
