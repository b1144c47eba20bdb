"""Read selectors of the archive for other apps."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.archive.selectors import instances_of_series
from apps.archive.services import instance_ingest
from dicomkit.data.uid import generate_uid
from tests.builders import write_ct

pytestmark = pytest.mark.django_db


def _ingest(folder: Path, name: str, **attributes: str) -> str:
    path = folder / f"{name}.dcm"
    write_ct(path, **attributes)
    return instance_ingest(source=path).sop_instance_uid


def test_instances_of_series_are_that_series_in_instance_order(storage_root: Path, tmp_path: Path) -> None:
    study, series, other = generate_uid(), generate_uid(), generate_uid()
    third = _ingest(tmp_path, "c", StudyInstanceUID=study, SeriesInstanceUID=series, InstanceNumber="3")
    first = _ingest(tmp_path, "a", StudyInstanceUID=study, SeriesInstanceUID=series, InstanceNumber="1")
    _ingest(tmp_path, "x", StudyInstanceUID=study, SeriesInstanceUID=other, InstanceNumber="2")

    found = instances_of_series(series_instance_uid=series)

    assert [i.sop_instance_uid for i in found] == [first, third]
    assert all(i.location.key for i in found)


def test_instances_of_series_narrowed_to_another_study_are_none(storage_root: Path, tmp_path: Path) -> None:
    study, series = generate_uid(), generate_uid()
    uid = _ingest(tmp_path, "a", StudyInstanceUID=study, SeriesInstanceUID=series)
    found = instances_of_series(series_instance_uid=series, study_instance_uid=study)
    assert [i.sop_instance_uid for i in found] == [uid]
    assert not instances_of_series(series_instance_uid=series, study_instance_uid=generate_uid()).exists()
    assert not instances_of_series(series_instance_uid=generate_uid()).exists()
