"""Concurrent ingests (as from several associations) keep the derived counts exact."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connections

from apps.archive.models import Instance, Patient, Series, Study
from apps.archive.services.ingest import IngestOutcome, IngestResult, instance_ingest
from tests.apps.archive.conftest import stored_files
from tests.builders import write_ct

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4


def _run_in_threads(paths: list[Path]) -> list[IngestResult]:
    """Ingest ``paths`` from THREADS threads that all start at once."""
    barrier = threading.Barrier(THREADS)

    def worker(index: int) -> list[IngestResult]:
        try:
            barrier.wait(timeout=30)
            return [instance_ingest(source=path) for path in paths[index::THREADS]]
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(THREADS) as pool:
        return [result for batch in pool.map(worker, range(THREADS)) for result in batch]


def test_threads_storing_into_one_study_lose_no_count(storage_root: Path, tmp_path: Path) -> None:
    paths = []
    for index in range(24):
        path = tmp_path / f"{index}.dcm"
        write_ct(
            path,
            StudyInstanceUID="1.4.1",
            SeriesInstanceUID=f"1.4.1.{index % 3}",
            Modality=("CT", "MR", "SR")[index % 3],
            PatientID="P-CONC",
        )
        paths.append(path)

    results = _run_in_threads(paths)

    assert {r.outcome for r in results} == {IngestOutcome.STORED}
    study = Study.objects.get()
    assert (study.number_of_study_related_series, study.number_of_study_related_instances) == (3, 24)
    assert study.modalities == ["CT", "MR", "SR"]
    assert sorted(Series.objects.values_list("number_of_series_related_instances", flat=True)) == [8, 8, 8]
    patient = Patient.objects.get()
    assert (patient.number_of_patient_related_studies, patient.number_of_patient_related_instances) == (1, 24)
    assert len(stored_files(storage_root)) == 24


def test_the_same_instance_sent_by_several_threads_is_stored_once(storage_root: Path, tmp_path: Path) -> None:
    original = tmp_path / "original.dcm"
    write_ct(original)
    copies = []
    for index in range(THREADS):
        copy = tmp_path / f"copy{index}.dcm"
        copy.write_bytes(original.read_bytes())
        copies.append(copy)

    results = _run_in_threads(copies)

    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["duplicate"] * (THREADS - 1) + ["stored"]
    assert Instance.objects.count() == 1
    assert len(stored_files(storage_root)) == 1
    assert Study.objects.get().number_of_study_related_instances == 1


def test_threads_starting_the_same_new_series_create_it_once(storage_root: Path, tmp_path: Path) -> None:
    known = tmp_path / "known.dcm"
    write_ct(known, StudyInstanceUID="1.4.2", SeriesInstanceUID="1.4.2.0", PatientID="P-NEW-SERIES")
    instance_ingest(source=known)
    paths = []
    for index in range(24):
        path = tmp_path / f"{index}.dcm"
        # Same modality: on PostgreSQL the index call itself creates each new series, and
        # every thread's first instance races the others' for it.
        series = f"1.4.2.{1 + index % 3}"
        write_ct(path, StudyInstanceUID="1.4.2", SeriesInstanceUID=series, PatientID="P-NEW-SERIES")
        paths.append(path)

    results = _run_in_threads(paths)

    assert {r.outcome for r in results} == {IngestOutcome.STORED}
    study = Study.objects.get()
    assert (study.number_of_study_related_series, study.number_of_study_related_instances) == (4, 25)
    assert sorted(Series.objects.values_list("number_of_series_related_instances", flat=True)) == [1, 8, 8, 8]
    patient = Patient.objects.get()
    assert (patient.number_of_patient_related_series, patient.number_of_patient_related_instances) == (4, 25)
    assert len(stored_files(storage_root)) == 25
