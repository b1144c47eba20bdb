"""Benchmarks for the figures the issues name, each measuring us and a peer in the same run.

Run one with ``python -m benchmarks <name>`` (``python -m benchmarks --list`` shows
them). A benchmark is a module ``benchmarks/<name>.py`` whose ``main(repeat)``
returns a ``Report``; the runner prints it and writes ``benchmarks/results/<name>.json``
and ``<name>.md``. Helpers here time callables and build comparison rows.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

__all__ = ["Comparison", "Report", "Timing", "measure"]


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated calls."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(function: Callable[[], object], *, repeat: int, warmup: int = 1) -> Timing:
    """Call ``function`` ``warmup`` times untimed, then ``repeat`` times timed."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return Timing(tuple(samples))


@dataclass(frozen=True)
class Comparison:
    """One measured operation, us against the peer, on ``size`` bytes of payload."""

    case: str
    operation: str
    size: int
    ours: Timing
    peer: Timing

    @property
    def ratio(self) -> float:
        """How many times faster we are (peer median / our median)."""
        return self.peer.median / self.ours.median

    def throughput(self, timing: Timing) -> float:
        return self.size / timing.median / 1e6

    def as_dict(self) -> dict[str, object]:
        return {
            "case": self.case,
            "operation": self.operation,
            "bytes": self.size,
            "ours": {
                "median_s": self.ours.median,
                "p95_s": self.ours.p95,
                "mb_per_s": self.throughput(self.ours),
            },
            "peer": {
                "median_s": self.peer.median,
                "p95_s": self.peer.p95,
                "mb_per_s": self.throughput(self.peer),
            },
            "ratio": self.ratio,
        }


@dataclass
class Report:
    """What a benchmark's ``main`` returns."""

    title: str
    peer: str
    goal: str
    rows: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parameters: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["rows"] = [row.as_dict() for row in self.rows]
        return data

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", f"Peer: {self.peer}. Goal: {self.goal}.", "", *self.table()]
        if self.parameters:
            lines += ["", "Parameters: " + ", ".join(f"{k}={v}" for k, v in self.parameters.items())]
        lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"

    def table(self) -> list[str]:
        """The rows as a Markdown table: MB/s, median and p95 of both sides, and the ratio."""
        lines = [
            "| case | operation | ours MB/s | ours median ms | ours p95 ms "
            "| peer MB/s | peer median ms | peer p95 ms | ratio |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows:
            ours, peer = row.ours, row.peer
            lines.append(
                f"| {row.case} | {row.operation} | {row.throughput(ours):.1f} | {ours.median * 1e3:.2f} "
                f"| {ours.p95 * 1e3:.2f} | {row.throughput(peer):.1f} | {peer.median * 1e3:.2f} "
                f"| {peer.p95 * 1e3:.2f} | {row.ratio:.1f}x |"
            )
        return lines
