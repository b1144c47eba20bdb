"""``import_dicom`` on the embedded defaults (SQLite), in parallel, as the README's quick start runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dicomkit.data.uid import generate_uid
from tests.builders import write_ct

REPO_ROOT = Path(__file__).resolve().parents[4]


def _manage(*argv: str, var: Path) -> subprocess.CompletedProcess[str]:
    """``manage.py`` with no service URL in the environment: SQLite under ``var``."""
    env = {"PATH": os.environ["PATH"], "PACS_VAR_DIR": str(var), "DJANGO_DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_parallel_workers_store_every_file_into_sqlite(tmp_path: Path) -> None:
    """Four workers writing one study's rows at once wait for SQLite's lock, none fails."""
    source = tmp_path / "in"
    for series in range(3):
        study, series_uid = "1.2.826.0.1.3680043.8.498.77", generate_uid()
        for number in range(20):
            write_ct(
                source / f"{series}-{number}.dcm",
                StudyInstanceUID=study,
                SeriesInstanceUID=series_uid,
                PatientID="EMBEDDED1",
                InstanceNumber=number + 1,
            )
    var = tmp_path / "var"
    migrated = _manage("migrate", "--no-input", "-v", "0", var=var)
    assert migrated.returncode == 0, migrated.stderr

    imported = _manage("import_dicom", str(source), "--workers", "4", "--no-progress", var=var)

    assert imported.returncode == 0, imported.stdout + imported.stderr
    counts = dict(line.split() for line in imported.stdout.splitlines()[1:6])
    assert counts == {"stored": "60", "replaced": "0", "duplicate": "0", "rejected": "0", "total": "60"}
