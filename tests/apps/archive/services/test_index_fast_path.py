"""The one-round-trip index path (PostgreSQL's ``archive_index_instance``, migration 0003).

Each test ingests outside any transaction (as the DIMSE server does), so the fast path is
tried; ``CaptureQueriesContext`` shows whether it stored the instance or declined. What
the index holds afterwards is compared with the general ORM path, which a surrounding
``transaction.atomic`` selects.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from psycopg.conninfo import make_conninfo

from apps.archive.conf import DuplicatePolicy
from apps.archive.errors import IngestError, Refusal
from apps.archive.models import Instance, Patient, PatientConflict, Series, StorageLocation, Study
from apps.archive.services.ingest import IngestOutcome, IngestResult, instance_ingest
from apps.archive.signals import instance_stored
from apps.archive.storage import LocalFileBackend, StagingFile
from dicomkit.data.dataset import Dataset
from dicomkit.data.value_codec import ElementValue
from tests.apps.archive.conftest import ArchivePolicy, staging_files, stored_files
from tests.builders import write_ct

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL function"),
]


def _ingest(path: Path) -> tuple[IngestResult, bool]:
    """Ingest; also whether the fast path stored it (its call was the transaction's only statement)."""
    with CaptureQueriesContext(connection) as queries:
        result = instance_ingest(source=path, source_ae="MODALITY")
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    return result, len(statements) == 1 and "archive_index_instance(" in statements[0]


def _series_files(tmp_path: Path, count: int, **attributes: ElementValue) -> list[Path]:
    paths = []
    series = attributes.get("SeriesInstanceUID")
    for index in range(count):
        path = tmp_path / f"{series if isinstance(series, str) else 's'}-{index}.dcm"
        write_ct(path, SOPInstanceUID=f"1.2.826.0.1.9.{index}.{len(str(attributes))}", **attributes)
        paths.append(path)
    return paths


def _snapshot() -> dict[str, object]:
    """What the index holds, without ids and times."""
    return {
        "patients": list(
            Patient.objects.values_list(
                "patient_id",
                "patient_name",
                "number_of_patient_related_studies",
                "number_of_patient_related_series",
                "number_of_patient_related_instances",
                "size_bytes",
                "has_identity_conflict",
            )
        ),
        "studies": list(
            Study.objects.values_list(
                "study_instance_uid",
                "study_description",
                "modalities_in_study",
                "sop_classes_in_study",
                "number_of_study_related_series",
                "number_of_study_related_instances",
                "size_bytes",
            )
        ),
        "series": sorted(
            Series.objects.values_list(
                "series_instance_uid",
                "modality",
                "series_number",
                "series_description",
                "body_part_examined",
                "series_date",
                "series_time",
                "performed_procedure_step_start_date",
                "performed_procedure_step_start_time",
                "institution_name",
                "station_name",
                "request_attributes",
                "number_of_series_related_instances",
                "size_bytes",
            )
        ),
        "instances": sorted(
            Instance.objects.values_list(
                "sop_instance_uid",
                "sop_class_uid",
                "series__series_instance_uid",
                "instance_number",
                "rows",
                "columns",
                "bits_allocated",
                "location__key",
                "location__size_bytes",
                "location__checksum",
                "location__transfer_syntax_uid",
                "location__source_ae",
            )
        ),
    }


def _clear() -> None:
    Patient.objects.all().delete()


def test_instances_joining_a_known_series_take_one_round_trip(storage_root: Path, tmp_path: Path) -> None:
    paths = _series_files(tmp_path, 4, StudyInstanceUID="1.9.1", SeriesInstanceUID="1.9.1.1")

    outcomes = [_ingest(path) for path in paths]

    # The first instance creates patient, study and series: the general path.
    assert [fast for _, fast in outcomes] == [False, True, True, True]
    assert {result.outcome for result, _ in outcomes} == {IngestOutcome.STORED}
    for result, _ in outcomes:
        location = StorageLocation.objects.get(instance_id=result.instance_id)
        assert location.key == result.key == (f"1.9.1/1.9.1.1/{result.sop_instance_uid}.dcm")
        assert (storage_root / location.key).read_bytes()[128:132] == b"DICM"
    assert len(stored_files(storage_root)) == 4
    assert staging_files(storage_root) == []


def test_the_index_call_is_prepared_once_it_repeats(storage_root: Path, tmp_path: Path) -> None:
    paths = _series_files(tmp_path, 8, StudyInstanceUID="1.9.8", SeriesInstanceUID="1.9.8.1")

    # Not through _ingest: while queries are captured, statements go unprepared.
    results = [instance_ingest(source=path, source_ae="MODALITY") for path in paths]

    assert {result.outcome for result in results} == {IngestOutcome.STORED}
    # psycopg prepares a statement on its connection after it ran prepare_threshold times
    # (Django's backend would never prepare, were the threshold not named in OPTIONS).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%archive_index_instance(%"],
        )
        (prepared,) = cursor.fetchone()
    assert prepared == 1
    # ... and a prepared call stores as the unprepared one did.
    assert Instance.objects.filter(series__series_instance_uid="1.9.8.1").count() == 8
    assert len(stored_files(storage_root)) == 8


def _request_attributes() -> list[Dataset]:
    item = Dataset()
    item.set("RequestedProcedureID", "RP-7", None)
    item.set("ScheduledProcedureStepID", "SPS-7", None)
    return [item]


def test_fast_and_general_path_leave_the_same_index(storage_root: Path, tmp_path: Path) -> None:
    paths = _series_files(tmp_path, 3, StudyInstanceUID="1.9.2", SeriesInstanceUID="1.9.2.1")
    # A new series of the same modality, with every series column the index keeps: created
    # by the call. One of another modality: the general path (Modalities in Study grows).
    paths += _series_files(
        tmp_path,
        2,
        StudyInstanceUID="1.9.2",
        SeriesInstanceUID="1.9.2.3",
        SeriesNumber="3",
        SeriesDescription="Coronal ünïcode",
        BodyPartExamined="CHEST",
        SeriesDate="20240103",
        SeriesTime="101530.250000",
        PerformedProcedureStepStartDate="20240102",
        PerformedProcedureStepStartTime="1014",
        InstitutionName="St. Elsewhere",
        StationName="CT01",
        RequestAttributesSequence=_request_attributes(),
    )
    paths += _series_files(tmp_path, 2, StudyInstanceUID="1.9.2", SeriesInstanceUID="1.9.2.2", Modality="MR")

    fast_flags = [_ingest(path)[1] for path in paths]
    fast = _snapshot()
    _clear()
    for path in stored_files(storage_root):
        path.unlink()
    with transaction.atomic():
        for path in paths:
            instance_ingest(source=path, source_ae="MODALITY")
    general = _snapshot()

    assert fast_flags == [False, True, True, True, True, False, True]
    assert fast == general
    study = Study.objects.get()
    assert study.modalities_in_study == "CT\\MR"
    assert (study.number_of_study_related_series, study.number_of_study_related_instances) == (3, 7)
    series = Series.objects.get(series_instance_uid="1.9.2.3")
    assert series.series_date == datetime.date(2024, 1, 3)
    assert series.series_time == datetime.time(10, 15, 30, 250000)
    requested = {"RequestedProcedureID": "RP-7", "ScheduledProcedureStepID": "SPS-7"}
    assert series.request_attributes == [requested]
    assert Patient.objects.get().number_of_patient_related_series == 3


def test_a_new_series_in_a_study_of_another_patient_goes_the_general_way(
    storage_root: Path, tmp_path: Path
) -> None:
    (first,) = _series_files(tmp_path, 1, StudyInstanceUID="1.9.11", SeriesInstanceUID="1.9.11.1")
    (other,) = _series_files(
        tmp_path, 1, StudyInstanceUID="1.9.11", SeriesInstanceUID="1.9.11.2", PatientID="SOMEONE-ELSE"
    )
    _ingest(first)

    result, fast = _ingest(other)

    # The call declined (and rolled back its counts); the general path keeps the study's
    # patient and flags the conflict, as for any instance of that study.
    assert not fast
    assert result.outcome is IngestOutcome.STORED
    study = Study.objects.get()
    assert (study.number_of_study_related_series, study.number_of_study_related_instances) == (2, 2)
    assert Series.objects.filter(study=study).count() == 2
    assert len(stored_files(storage_root)) == 2
    assert staging_files(storage_root) == []


def test_a_series_uid_held_by_another_study_is_still_refused(storage_root: Path, tmp_path: Path) -> None:
    first, second, clash = (tmp_path / f"{name}.dcm" for name in ("first", "second", "clash"))
    write_ct(first, SOPInstanceUID="1.9.12.1.1", StudyInstanceUID="1.9.12", SeriesInstanceUID="1.9.12.1")
    write_ct(second, SOPInstanceUID="1.9.13.1.1", StudyInstanceUID="1.9.13", SeriesInstanceUID="1.9.13.1")
    write_ct(clash, SOPInstanceUID="1.9.13.1.2", StudyInstanceUID="1.9.13", SeriesInstanceUID="1.9.12.1")
    _ingest(first)
    _ingest(second)

    with pytest.raises(IngestError) as refused:
        _ingest(clash)

    assert refused.value.reason is Refusal.UID_CONFLICT
    counts = dict(Study.objects.values_list("study_instance_uid", "number_of_study_related_series"))
    assert counts == {"1.9.12": 1, "1.9.13": 1}
    assert Series.objects.count() == 2
    assert len(stored_files(storage_root)) == 2
    assert staging_files(storage_root) == []


@pytest.mark.parametrize(
    ("change", "effect"),
    [
        ({"PatientName": "OTHER^NAME"}, "conflict"),
        ({"PatientBirthDate": "19010101"}, "conflict"),
        ({"StudyDescription": "now known"}, "study filled"),
        ({"SeriesDescription": "now known"}, "series filled"),
        ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7"}, "sop class added"),
    ],
)
def test_the_function_declines_what_only_the_general_path_handles(
    storage_root: Path, tmp_path: Path, change: dict[str, str], effect: str
) -> None:
    base = {"StudyInstanceUID": "1.9.3", "SeriesInstanceUID": "1.9.3.1", "PatientID": "P-FAST"}
    first = tmp_path / "first.dcm"
    write_ct(first, SOPInstanceUID="1.9.3.1.1", StudyDescription="", SeriesDescription="", **base)
    second = tmp_path / "second.dcm"
    write_ct(second, SOPInstanceUID="1.9.3.1.2", **{"StudyDescription": "", "SeriesDescription": ""}, **base)
    third = tmp_path / "third.dcm"
    attributes = {"StudyDescription": "", "SeriesDescription": "", **base, **change}
    write_ct(third, SOPInstanceUID="1.9.3.1.3", **attributes)

    assert [_ingest(path)[1] for path in (first, second)] == [False, True]
    result, fast = _ingest(third)

    assert not fast
    assert result.outcome is IngestOutcome.STORED
    study = Study.objects.get()
    assert study.number_of_study_related_instances == 3
    if effect == "conflict":
        assert Patient.objects.get().has_identity_conflict
        assert PatientConflict.objects.count() == 1
    elif effect == "study filled":
        assert study.study_description == "now known"
    elif effect == "series filled":
        assert Series.objects.get().series_description == "now known"
    else:
        assert study.sop_classes == sorted(["1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.7"])
    assert len(stored_files(storage_root)) == 3
    assert staging_files(storage_root) == []


@pytest.mark.parametrize("policy", list(DuplicatePolicy))
def test_duplicates_after_the_fast_path_follow_the_policy(
    storage_root: Path, tmp_path: Path, archive_policy: ArchivePolicy, policy: DuplicatePolicy
) -> None:
    archive_policy(duplicate_policy=policy)
    paths = _series_files(tmp_path, 2, StudyInstanceUID="1.9.4", SeriesInstanceUID="1.9.4.1")
    for path in paths:
        _ingest(path)

    if policy is DuplicatePolicy.REJECT:
        with pytest.raises(IngestError):
            _ingest(paths[1])
    else:
        result, fast = _ingest(paths[1])
        assert not fast
        expected = IngestOutcome.DUPLICATE if policy is DuplicatePolicy.KEEP_FIRST else IngestOutcome.REPLACED
        assert result.outcome is expected

    # One file per instance, whatever the policy: the copy stored ahead never stays behind.
    assert Instance.objects.count() == 2
    assert len(stored_files(storage_root)) == 2
    assert staging_files(storage_root) == []
    assert Study.objects.get().number_of_study_related_instances == 2


def test_a_connection_dropped_by_the_server_is_replaced_without_failing_the_ingest(
    storage_root: Path, tmp_path: Path
) -> None:
    paths = _series_files(tmp_path, 3, StudyInstanceUID="1.9.5", SeriesInstanceUID="1.9.5.1")
    _ingest(paths[0])
    _ingest(paths[1])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with psycopg.connect(_conninfo()) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    result = instance_ingest(source=paths[2], source_ae="MODALITY")

    assert result.outcome is IngestOutcome.STORED
    assert Study.objects.get().number_of_study_related_instances == 3
    assert len(stored_files(storage_root)) == 3
    assert staging_files(storage_root) == []


def _conninfo() -> str:
    """Where Django's connection goes, for a second, independent one."""
    params = connection.get_connection_params()
    keys = ("host", "port", "user", "password", "dbname")
    return make_conninfo("", **{k: v for k, v in params.items() if k in keys})


def test_a_taken_key_sends_the_instance_to_the_general_path_under_another_key(
    storage_root: Path, tmp_path: Path
) -> None:
    paths = _series_files(tmp_path, 2, StudyInstanceUID="1.9.6", SeriesInstanceUID="1.9.6.1")
    _ingest(paths[0])
    planted = storage_root / "1.9.6" / "1.9.6.1" / "1.2.826.0.1.9.1.61.dcm"
    planted.write_bytes(b"left by a crash")

    result, fast = _ingest(paths[1])

    # The call ran beside the store, which found the key taken: rolled back, indexed again.
    assert not fast
    assert result.outcome is IngestOutcome.STORED
    assert result.key != "1.9.6/1.9.6.1/1.2.826.0.1.9.1.61.dcm"
    assert StorageLocation.objects.get(instance_id=result.instance_id).key == result.key
    assert (storage_root / result.key).read_bytes()[128:132] == b"DICM"
    assert planted.read_bytes() == b"left by a crash"
    assert Study.objects.get().number_of_study_related_instances == 2
    assert staging_files(storage_root) == []


def test_a_failed_store_beside_the_call_commits_nothing(storage_root: Path, tmp_path: Path) -> None:
    paths = _series_files(tmp_path, 2, StudyInstanceUID="1.9.7", SeriesInstanceUID="1.9.7.1")
    _ingest(paths[0])
    series_dir = storage_root / "1.9.7" / "1.9.7.1"
    series_dir.rename(tmp_path / "moved")
    series_dir.write_bytes(b"not a folder")  # the link into it fails (ENOTDIR)

    with pytest.raises(IngestError) as failure:
        _ingest(paths[1])

    assert failure.value.reason is Refusal.OUT_OF_RESOURCES
    assert Instance.objects.count() == 1
    assert Study.objects.get().number_of_study_related_instances == 1
    assert StorageLocation.objects.count() == 1
    assert staging_files(storage_root) == []


class _StoreCalls:
    """Counts ``LocalFileBackend.store`` calls (the real store still runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: list[str] = []
        real = LocalFileBackend.store

        def counted(
            backend: LocalFileBackend, staged: StagingFile, key: str, *, roll_forward: bool = False
        ) -> None:
            self.keys.append(key)
            real(backend, staged, key, roll_forward=roll_forward)

        monkeypatch.setattr(LocalFileBackend, "store", counted)


@pytest.mark.parametrize("policy", [DuplicatePolicy.KEEP_FIRST, DuplicatePolicy.REJECT])
def test_a_resent_instance_is_answered_from_the_call_without_storing_a_copy(
    storage_root: Path,
    tmp_path: Path,
    archive_policy: ArchivePolicy,
    policy: DuplicatePolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive_policy(duplicate_policy=policy)
    paths = _series_files(tmp_path, 2, StudyInstanceUID="1.9.8", SeriesInstanceUID="1.9.8.1")
    first = [_ingest(path)[0] for path in paths]
    stores = _StoreCalls(monkeypatch)

    with CaptureQueriesContext(connection) as queries:
        if policy is DuplicatePolicy.REJECT:
            with pytest.raises(IngestError) as refused:
                instance_ingest(source=paths[1], source_ae="MODALITY")
            assert refused.value.reason is Refusal.DUPLICATE
        else:
            result = instance_ingest(source=paths[1], source_ae="MODALITY")
            assert result.outcome is IngestOutcome.DUPLICATE
            assert (result.instance_id, result.key, result.checksum) == (
                first[1].instance_id,
                first[1].key,
                first[1].checksum,
            )
            assert (result.study_instance_uid, result.series_instance_uid) == ("1.9.8", "1.9.8.1")

    # The planned key is the stored copy's: no second copy was written and removed again,
    # and the general path's locked lookup did not run.
    assert stores.keys == []
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert "archive_index_instance(" in statements[0]
    assert not any("FOR UPDATE" in sql for sql in statements)
    assert len(stored_files(storage_root)) == 2
    assert staging_files(storage_root) == []


def test_a_duplicate_stored_under_another_key_keeps_one_file(
    storage_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _series_files(tmp_path, 2, StudyInstanceUID="1.9.9", SeriesInstanceUID="1.9.9.1")
    first = [_ingest(path)[0] for path in paths]
    # As after a replacement that found the key taken: the copy lives under another key.
    moved = first[1].key + ".1"
    (storage_root / first[1].key).rename(storage_root / moved)
    StorageLocation.objects.filter(instance_id=first[1].instance_id).update(key=moved)
    stores = _StoreCalls(monkeypatch)

    result = instance_ingest(source=paths[1], source_ae="MODALITY")

    # The planned key was free, so the fast path stored beside its call; the copy went again.
    assert stores.keys == [first[1].key]
    assert result.outcome is IngestOutcome.DUPLICATE
    assert result.key == moved
    assert stored_files(storage_root) == sorted([storage_root / first[0].key, storage_root / moved])
    assert staging_files(storage_root) == []
    assert Study.objects.get().number_of_study_related_instances == 2


@pytest.mark.parametrize("policy", list(DuplicatePolicy))
def test_a_commit_that_went_through_but_lost_its_answer_keeps_its_file(
    storage_root: Path,
    tmp_path: Path,
    archive_policy: ArchivePolicy,
    policy: DuplicatePolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive_policy(duplicate_policy=policy)
    paths = _series_files(tmp_path, 2, StudyInstanceUID="1.9.10", SeriesInstanceUID="1.9.10.1")
    _ingest(paths[0])
    received: list[int] = []

    def on_stored(instance_id: int, **kwargs: object) -> None:
        received.append(instance_id)

    wrapper_class = type(connections[DEFAULT_DB_ALIAS])
    real_commit = wrapper_class.commit
    lost: list[bool] = []

    def commit_then_lose_the_answer(self: BaseDatabaseWrapper) -> None:
        real_commit(self)
        if not lost:  # the fast path's commit: applied, then the connection "drops"
            lost.append(True)
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(wrapper_class, "commit", commit_then_lose_the_answer)
    instance_stored.connect(on_stored, dispatch_uid="lost-answer")
    try:
        result = instance_ingest(source=paths[1], source_ae="MODALITY")
    finally:
        instance_stored.disconnect(dispatch_uid="lost-answer")

    # The general path finds the committed row naming the file just stored: its own, kept
    # (not refused, replaced or removed as a duplicate of itself).
    assert lost == [True]
    assert result.outcome is IngestOutcome.STORED
    assert StorageLocation.objects.get(instance_id=result.instance_id).key == result.key
    assert (storage_root / result.key).read_bytes()[128:132] == b"DICM"
    assert received == [result.instance_id]
    assert Study.objects.get().number_of_study_related_instances == 2
    assert len(stored_files(storage_root)) == 2
    assert staging_files(storage_root) == []
