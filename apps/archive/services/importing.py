"""Import of files and folders through the ingest service (``manage.py import_dicom``).

Every file below the given paths goes through :func:`instance_ingest`, exactly like an
instance received over the network, on ``workers`` threads. Importing is idempotent: the
duplicate policy applies, so importing the same files again stores nothing twice (under
``keep_first`` they are counted as duplicates). Files that are not DICOM, truncated or
refused are counted as rejected with their reason; nothing stops the run.
"""

from __future__ import annotations

import os
import queue
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections

from apps.archive.errors import IngestError
from apps.archive.services.indexing import IngestOutcome
from apps.archive.services.ingest import instance_ingest

__all__ = ["FileOutcome", "ImportSummary", "files_import", "files_under"]


@dataclass(frozen=True, slots=True)
class FileOutcome:
    path: Path
    outcome: str  # an IngestOutcome value, or "rejected"
    reason: str = ""  # the refusal (Refusal value) when rejected
    comment: str = ""


@dataclass(slots=True)
class ImportSummary:
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[FileOutcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, result: FileOutcome) -> None:
        self.counts[result.outcome] += 1
        if result.outcome == REJECTED:
            self.rejected.append(result)


REJECTED = "rejected"


def files_under(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Every regular file named or below a named folder (sorted per folder, symlinks not followed)."""
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            yield path
            continue
        for folder, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                candidate = Path(folder) / name
                if candidate.is_file() and not candidate.is_symlink():
                    yield candidate


def file_import(path: Path, *, source_ae: str | None = None, actor: object = None) -> FileOutcome:
    """Ingest one file; a refusal becomes a rejected outcome with its reason."""
    try:
        result = instance_ingest(source=path, source_ae=source_ae, actor=actor)
    except IngestError as exc:
        return FileOutcome(path, REJECTED, exc.reason.value, exc.comment)
    except Exception as exc:
        return FileOutcome(path, REJECTED, "error", f"{type(exc).__name__}: {exc}")
    return FileOutcome(path, result.outcome.value)


def files_import(
    *,
    paths: Iterable[str | os.PathLike[str]],
    workers: int = 4,
    source_ae: str | None = None,
    actor: object = None,
    on_result: Callable[[FileOutcome], None] | None = None,
) -> ImportSummary:
    """Import every file under ``paths``; ``on_result`` is called (in this thread) per file."""
    summary = ImportSummary()
    for outcome in IngestOutcome:
        summary.counts[outcome.value] += 0
    summary.counts[REJECTED] += 0

    def record(result: FileOutcome) -> None:
        summary.add(result)
        if on_result is not None:
            on_result(result)

    if workers <= 1:
        for path in files_under(paths):
            record(file_import(path, source_ae=source_ae, actor=actor))
        return summary

    todo: queue.Queue[Path | None] = queue.Queue(maxsize=workers * 4)
    done: queue.Queue[FileOutcome | None] = queue.Queue()

    def work() -> None:
        try:
            while (path := todo.get()) is not None:
                done.put(file_import(path, source_ae=source_ae, actor=actor))
        finally:
            connections.close_all()  # this thread's connections
            done.put(None)

    def feed() -> None:
        try:
            for path in files_under(paths):
                todo.put(path)
        finally:
            for _ in range(workers):
                todo.put(None)

    with ThreadPoolExecutor(max_workers=workers + 1, thread_name_prefix="import") as pool:
        pool.submit(feed)
        futures = [pool.submit(work) for _ in range(workers)]
        running = workers
        while running:
            item = done.get()
            if item is None:
                running -= 1
            else:
                record(item)
        for future in futures:
            future.result()  # re-raise what a worker could not handle
    return summary
