"""Re-sent instances: storescu sends the same 1,000 CT images twice, ours against Orthanc.

Modalities re-send whole studies after a timeout, and routers and prefetches send what an
archive already holds. Each run starts a server (ours: ``run_dicom_server`` on a fresh
PostgreSQL database, as in ``store_throughput``; Orthanc with its defaults), sends the
images once (timed: "first"), then again (timed: "re-sent", every instance a duplicate).
Ours keeps the stored copy (``PACS_DUPLICATE_POLICY=keep_first``, the default) and answers
0000H; so does Orthanc (``OverwriteInstances`` false, its default). One association, then
four (ours with ``--workers 2``). The images and the servers are ``store_throughput``'s.

Run: ``python -m benchmarks store_resend --repeat 3``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from benchmarks import Comparison, Report, Timing
from benchmarks import _store_servers as servers
from benchmarks.store_throughput import IMAGES, OUR_SETTINGS, OURS, WARMUP_PER_SENDER, images, send

Starter = Callable[[Path], AbstractContextManager[servers.Running]]


def _pair(start: Starter, groups: list[list[Path]], warmup: Path, workdir: Path) -> tuple[float, float]:
    """Seconds of the first send and of the second (all duplicates) to one fresh server."""
    with start(workdir) as running:
        send(running, [[folder] for folder in sorted(warmup.iterdir())])
        first = send(running, groups)
        again = send(running, groups)
        held = running.count()
    if held != IMAGES + 4 * WARMUP_PER_SENDER:
        raise RuntimeError(f"{running.name} holds {held} instances after the re-send")
    return first, again


def main(repeat: int) -> Report:
    studies, warmup = images()
    total_bytes = sum(path.stat().st_size for folder in studies for path in folder.iterdir())
    base = Path(tempfile.mkdtemp(prefix="store-resend-"))
    times: dict[tuple[str, int, str], list[float]] = {}
    try:
        with servers.database(base) as db:

            def ours(workers: int) -> Starter:
                return lambda workdir: servers.ours(workdir, db, workers=workers, settings=OUR_SETTINGS[OURS])

            for round_index in range(repeat):
                for associations in (1, 4):
                    groups = [studies] if associations == 1 else [[folder] for folder in studies]
                    starters: list[tuple[str, Starter]] = [
                        ("ours", ours(1 if associations == 1 else 2)),
                        ("Orthanc", servers.orthanc),
                    ]
                    if round_index % 2:
                        starters.reverse()
                    for name, start in starters:
                        workdir = Path(tempfile.mkdtemp(prefix="run-", dir=base))
                        first, again = _pair(start, groups, warmup, workdir)
                        times.setdefault((name, associations, "first"), []).append(first)
                        times.setdefault((name, associations, "re-sent"), []).append(again)
                        print(
                            f"{name} x{associations}: first {IMAGES / first:.0f}/s, "
                            f"re-sent {IMAGES / again:.0f}/s",
                            file=sys.stderr,
                            flush=True,
                        )
                        servers.remove(workdir)
                        os.sync()
    finally:
        servers.remove(base)
    report = Report(
        title="Re-sent instances: storescu sends 1,000 CT images of 512 KiB twice",
        peer="Orthanc 1.10 (default SQLite index, OverwriteInstances false), same run",
        goal="none named; a re-sent instance should cost no more than a new one",
        parameters={"images": IMAGES, "bytes": total_bytes, "rounds": repeat},
    )
    for associations in (1, 4):
        for send_kind in ("first", "re-sent"):
            ours_t = Timing(tuple(times[("ours", associations, send_kind)]))
            peer_t = Timing(tuple(times[("Orthanc", associations, send_kind)]))
            operation = f"{IMAGES} C-STOREs, {associations} assoc., {send_kind}"
            report.rows.append(Comparison("Orthanc", operation, total_bytes, ours_t, peer_t))
        for name in ("ours", "Orthanc"):
            first = Timing(tuple(times[(name, associations, "first")])).median
            again = Timing(tuple(times[(name, associations, "re-sent")])).median
            report.notes.append(
                f"{name}, {associations} association(s): {IMAGES / first:.0f} images/s first, "
                f"{IMAGES / again:.0f} re-sent ({first / again:.2f}x the first send's rate)"
            )
    return report
