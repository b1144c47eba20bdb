"""A process that ingests one file and dies (``os._exit``) at a chosen point of the commit.

Run by ``test_crash_recovery.py`` against the session's test database::

    python tests/apps/archive/services/crash_ingest.py before-commit|after-commit FILE
    python tests/apps/archive/services/crash_ingest.py fast-before-call|fast-before-commit|... FIRST FILE

- ``before-commit``: dies when the transaction sends the INSERT of the location row, after
  the file got its key (a Django ``execute_wrapper``, Django's public hook on SQL).
- ``after-commit``: dies in an ``instance_stored`` receiver (signals are sent on commit), so
  the rows are committed but the staging file and its journal are still there.
- ``fast-*``: ``FIRST`` is ingested normally, then ``FILE`` joins its series on the one-round-trip
  path and dies when the index call is sent, after it ran (the transaction still open), or on
  commit. The file is stored beside the call; the first two wait until it has its name.

Nothing of the archive is patched: the crash points are Django's and our signal's hooks.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
CRASH_STATUS = 9

Execute = Callable[[str, object, bool, dict[str, object]], object]
"""What Django hands an execute wrapper to run the statement: ``(sql, params, many, context)``."""
ExecuteWrapper = Callable[[Execute, str, object, bool, dict[str, object]], object]


def main(mode: str, source: str, *more: str) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.db import connection

    from apps.archive.conf import storage_root
    from apps.archive.services import instance_ingest
    from apps.archive.signals import instance_stored

    def die_on_location_insert(
        execute: Execute, sql: str, params: object, many: bool, context: dict[str, object]
    ) -> object:
        if sql.startswith('INSERT INTO "archive_storagelocation"'):
            os._exit(CRASH_STATUS)
        return execute(sql, params, many, context)

    def die(**kwargs: object) -> None:
        os._exit(CRASH_STATUS)

    def die_around_fast_call(after: bool) -> ExecuteWrapper:
        def wrapper(
            execute: Execute, sql: str, params: object, many: bool, context: dict[str, object]
        ) -> object:
            if "archive_index_instance(" not in sql:
                return execute(sql, params, many, context)
            if after:
                execute(sql, params, many, context)
            # The file is stored beside the call: die once it has its name (both files).
            wait_for_stored_files(2)
            os._exit(CRASH_STATUS)

        return wrapper

    def wait_for_stored_files(count: int) -> None:
        root = storage_root()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = [p for p in root.rglob("*.dcm") if p.is_file() and ".staging" not in p.parts]
            if len(found) >= count:
                return
            time.sleep(0.005)
        raise SystemExit("the file was not stored beside the index call")

    if mode == "before-commit":
        with connection.execute_wrapper(die_on_location_insert):
            instance_ingest(source=source)
    elif mode == "after-commit":
        instance_stored.connect(die, dispatch_uid="crash_ingest")
        instance_ingest(source=source)
    elif mode in ("fast-before-call", "fast-before-commit"):
        instance_ingest(source=source)
        with connection.execute_wrapper(die_around_fast_call(mode == "fast-before-commit")):
            instance_ingest(source=more[0])
    elif mode == "fast-after-commit":
        instance_ingest(source=source)
        instance_stored.connect(die, dispatch_uid="crash_ingest")
        instance_ingest(source=more[0])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    raise SystemExit("the ingest finished without crashing")


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
