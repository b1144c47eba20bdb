"""A full disk while a C-STORE data set arrives: refused with A700, the association goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.archive.errors import IngestError, Refusal
from apps.archive.services.ingest import IngestSink, _Expected
from apps.archive.storage import LocalFileBackend, StagingFile


def test_a_full_disk_refuses_the_data_set_with_out_of_resources(tmp_path: Path) -> None:
    # A staging file over /dev/full: every write that reaches the device fails with ENOSPC.
    staged = StagingFile(tmp_path / "full.part", open("/dev/full", "wb", buffering=0))  # noqa: SIM115 - the sink closes it
    sink = IngestSink(
        backend=LocalFileBackend(tmp_path),
        staged=staged,
        expected=_Expected("1.2.3", "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1", dataset_offset=0),
        source_ae="STORESCU",
        actor=None,
    )
    for _ in range(8):  # the rest of the data set is still taken (and dropped)
        sink.write(b"\0" * 100_000)
    sink.close()
    with pytest.raises(IngestError) as refused:
        sink.commit()
    assert refused.value.reason is Refusal.OUT_OF_RESOURCES and refused.value.status == 0xA700
    assert "No space left" in str(refused.value)
    assert staged.closed
