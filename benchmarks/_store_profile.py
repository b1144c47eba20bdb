"""Where our server's time goes under the ``store_throughput`` load: a py-spy profile.

``python -m benchmarks._store_profile [--associations 1|4]`` starts PostgreSQL, Redis and
``run_dicom_server`` as the benchmark does (``--workers 1`` for one association, 2 for
four), sends the 1,000 images while ``py-spy record --subprocesses`` samples every thread
of the server's processes (wall-clock samples of non-idle threads, waits in psycopg and
fsync included), and writes the collapsed stacks and a summary (self and inclusive share
per function) to ``benchmarks/results/store_throughput.profile-<N>[.summary].txt``.
py-spy comes from PyPI (``.venv/bin/pip install py-spy``); it needs ptrace rights.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks import _store_servers as servers
from benchmarks.store_throughput import IMAGES, OUR_SETTINGS, OURS, images, send


@contextlib.contextmanager
def _profiled(running: servers.Running, output: Path, rate: int, gil: bool) -> Iterator[None]:
    """py-spy samples every thread of the server's processes (or, with ``gil``, only the
    one holding the GIL: where Python code spends CPU) while the block runs."""
    spy = Path(sys.executable).with_name("py-spy")
    args = [str(spy), "record", "--pid", str(running.process.pid), "--subprocesses", "--nonblocking"]
    args += ["--format", "raw", "--rate", str(rate), "--output", str(output)]
    if gil:
        args.append("--gil")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # py-spy attaches to the processes before the load starts
    try:
        yield
    finally:
        process.send_signal(2)  # SIGINT: py-spy writes its samples and exits
        _, err = process.communicate(timeout=120)
        if not output.exists():
            raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')}")


def summarize(collapsed: Path, top: int = 45) -> str:
    """Self and inclusive sample shares per function, from py-spy's collapsed stacks."""
    self_counts: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if not frame.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] = self_counts.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    lines = [f"{total} samples", "", "self:"]
    for frame, count in sorted(self_counts.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {100 * count / total:5.1f}%  {frame}")
    lines += ["", "inclusive:"]
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1])[: top * 2]:
        lines.append(f"  {100 * count / total:5.1f}%  {frame}")
    return "\n".join(lines)


def profile(associations: int, rate: int = 250, *, gil: bool = False) -> None:
    """Our server under the benchmark's load, sampled by py-spy; writes and prints a summary."""
    studies, warmup = images()
    results = Path(__file__).resolve().parent / "results"
    output = results / f"store_throughput.profile-{associations}{'-gil' if gil else ''}.txt"
    base = Path(tempfile.mkdtemp(prefix="store-throughput-profile-"))
    try:
        with (
            servers.database(base) as db,
            servers.ours(
                base, db, workers=1 if associations == 1 else 2, settings=OUR_SETTINGS[OURS]
            ) as running,
        ):
            send(running, [[folder] for folder in sorted(warmup.iterdir())])
            groups = [studies] if associations == 1 else [[folder] for folder in studies]
            with _profiled(running, output, rate, gil):
                seconds = send(running, groups)
            print(f"{IMAGES / seconds:.0f} images/s under py-spy ({running.count()} stored)")
    finally:
        servers.remove(base)
    summary = summarize(output)
    output.with_suffix(".summary.txt").write_text(summary + "\n")
    print(summary)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks._store_profile", description=__doc__)
    parser.add_argument("--associations", type=int, choices=(1, 4), default=1)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL")
    args = parser.parse_args()
    profile(args.associations, args.rate, gil=args.gil)
