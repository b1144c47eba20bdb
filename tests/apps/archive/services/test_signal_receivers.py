"""A failing ``instance_stored`` receiver cannot undo a committed store.

The signal is sent once the rows are committed. A receiver that raises (another app's bug)
is logged; the instance keeps its rows and its file, on the general path (a new series)
and on the fast path (PostgreSQL's one-call index of an instance joining a known series).
Real commits: ingests run outside any transaction, as the DIMSE server's do.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from apps.archive.models import Instance
from apps.archive.services.ingest import IngestOutcome, instance_ingest
from apps.archive.signals import instance_stored
from tests.apps.archive.conftest import stored_files
from tests.builders import write_ct

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_receiver_that_raises_leaves_the_stored_instances_whole(
    storage_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger("django"), "propagate", True)  # LOGGING keeps it apart
    calls: list[str] = []

    def broken(sender: object, **kwargs: object) -> None:
        calls.append(str(kwargs["sop_instance_uid"]))
        raise RuntimeError("receiver bug")

    paths = []
    for index in range(2):  # the first opens the series; the second joins it (fast path)
        path = tmp_path / f"ct{index}.dcm"
        write_ct(
            path, StudyInstanceUID="1.7.1", SeriesInstanceUID="1.7.1.1", SOPInstanceUID=f"1.7.1.1.{index}"
        )
        paths.append(path)
    instance_stored.connect(broken, dispatch_uid="test-broken-receiver")
    try:
        with caplog.at_level(logging.ERROR):
            results = [instance_ingest(source=path, source_ae="CT1") for path in paths]
    finally:
        instance_stored.disconnect(dispatch_uid="test-broken-receiver")

    assert calls == ["1.7.1.1.0", "1.7.1.1.1"]  # each was sent, after its commit
    assert [r.outcome for r in results] == [IngestOutcome.STORED, IngestOutcome.STORED]
    assert sorted(Instance.objects.values_list("sop_instance_uid", flat=True)) == ["1.7.1.1.0", "1.7.1.1.1"]
    assert sorted(p.relative_to(storage_root).as_posix() for p in stored_files(storage_root)) == sorted(
        r.key for r in results
    )
    for result, path in zip(results, paths, strict=True):
        assert (storage_root / result.key).read_bytes() == path.read_bytes()
    logged = [r for r in caplog.records if r.exc_info is not None and "receiver bug" in str(r.exc_info[1])]
    assert len(logged) == 2
