"""``python -m benchmarks <name> [--repeat N]``: run benchmarks/<name>.py, save JSON + Markdown."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import Report

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def available() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def run(name: str, repeat: int) -> Report:
    module = importlib.import_module(f"benchmarks.{name}")
    report: Report = module.main(repeat=repeat)
    report.parameters.setdefault("repeat", repeat)
    report.parameters.setdefault("python", platform.python_version())
    report.parameters.setdefault("machine", platform.machine())
    report.parameters.setdefault("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(report.markdown())
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("name", nargs="?", help="benchmark module under benchmarks/")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per measurement (default 9)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        print("\n".join(available()))
        return 0
    if args.name not in available():
        parser.error(f"unknown benchmark {args.name!r}; choose from {', '.join(available())}")
    print(run(args.name, args.repeat).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
