"""Is change B faster than A? A paired comparison of two configurations of our server.

``python -m benchmarks._store_pair [--rounds 6] [--associations 4] [--b-tree PATH]
[--b-settings '{"PACS_X": "1"}'] [--b-workers N]`` (and the same ``--a-…`` options).

The full ``store_throughput`` run takes eight minutes and its figures drift by a quarter
between phases of a shared machine, far more than most changes are worth. Here the two
configurations, A and B, receive the same 1,000 images (storescu, as in
``store_throughput``) in alternating order within each round, so that a drift weighs on
both alike; a round is won by the faster. A configuration is a checkout (``--b-tree``: a
git worktree of the change, for example), environment settings and a number of workers.

Prints each run, then B's images/s and CPU per image relative to A's (medians of the
per-round ratios) and how many rounds B won.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import _store_servers as servers
from benchmarks.store_throughput import (
    IMAGES,
    OUR_SETTINGS,
    OURS,
    Run,
    _describe,
    _ours_starter,
    images,
    timed_run,
)


@dataclass(frozen=True)
class Side:
    """One configuration of our server."""

    name: str
    root: Path
    workers: int
    settings: dict[str, str] = field(default_factory=dict)


def compare(a: Side, b: Side, rounds: int, associations: int) -> list[tuple[Run, Run]]:
    """``rounds`` pairs of timed runs (A's, B's), B first in every second round.

    Every run's files stay until the end, as in ``store_throughput``: without a journal,
    ext4 charges each new file a scan of the inodes freed in the last minutes.
    """
    studies, warmup = images()
    base = Path(tempfile.mkdtemp(prefix="store-pair-"))
    pairs: list[tuple[Run, Run]] = []
    try:
        with servers.database(base) as db:
            starters = {
                side.name: _ours_starter(db, side.workers, {**OUR_SETTINGS[OURS], **side.settings}, side.root)
                for side in (a, b)
            }
            for index in range(rounds):
                order = [a, b] if index % 2 == 0 else [b, a]
                runs: dict[str, Run] = {}
                for side in order:
                    run = timed_run(side.name, associations, starters[side.name], studies, warmup, base)
                    print(_describe(run), file=sys.stderr, flush=True)
                    if run.error is not None:
                        raise RuntimeError(_describe(run))
                    runs[side.name] = run
                pairs.append((runs[a.name], runs[b.name]))
    finally:
        servers.remove(base)
    return pairs


def summary(pairs: list[tuple[Run, Run]]) -> str:
    """B relative to A: medians of the per-round ratios, and the rounds B won."""
    speed = [a.seconds / b.seconds for a, b in pairs]
    cpu = [b.cpu_s / a.cpu_s for a, b in pairs if a.cpu_s]
    won = sum(1 for ratio in speed if ratio > 1.0)
    a_rate = statistics.median(IMAGES / a.seconds for a, _ in pairs)
    b_rate = statistics.median(IMAGES / b.seconds for _, b in pairs)
    a_cpu = statistics.median(a.cpu_s for a, _ in pairs) / IMAGES * 1e3
    b_cpu = statistics.median(b.cpu_s for _, b in pairs) / IMAGES * 1e3
    return (
        f"B/A images/s: {statistics.median(speed):.3f}x (B won {won} of {len(pairs)} rounds; "
        f"medians A {a_rate:.0f}/s, B {b_rate:.0f}/s)\n"
        f"B/A CPU per image: {statistics.median(cpu):.3f}x (A {a_cpu:.2f} ms, B {b_cpu:.2f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._store_pair", description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--associations", type=int, choices=(1, 4), default=4)
    for side in ("a", "b"):
        parser.add_argument(f"--{side}-tree", type=Path, default=servers.REPO_ROOT)
        parser.add_argument(f"--{side}-settings", type=json.loads, default={})
        parser.add_argument(f"--{side}-workers", type=int)
    args = parser.parse_args(argv)
    default_workers = 1 if args.associations == 1 else 2
    a = Side("A", args.a_tree.resolve(), args.a_workers or default_workers, args.a_settings)
    b = Side("B", args.b_tree.resolve(), args.b_workers or default_workers, args.b_settings)
    print(summary(compare(a, b, args.rounds, args.associations)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
