"""The index half of ingest: duplicate policy, atomic store of the file, rows in one transaction.

Called by ``services.ingest`` once a staged file is complete, parsed and validated.

The common case first (:func:`_index_fast`, PostgreSQL and the ``uids`` key layout): one
call of the ``archive_index_instance`` function (migration 0003, today's form in 0008)
does steps 1-5 when none of their rules has anything to do (a known study, the same
patient, nothing to fill in, no duplicate; a new series of the study it creates). An I/O
thread stores the file under its key (step 4) while the call runs, and the transaction
commits only once the file is durable, so the two waits overlap and the order of what
becomes durable stays the same: file, then rows. With ``PACS_INDEX_ASYNC_COMMIT`` that
commit does not wait for PostgreSQL's WAL flush; the store's journal rolls forward and
outlives it until the flush (``services.wal_settle``).
When the function declines, its transaction is rolled back and the general path runs, with
the file already stored. The general path is one database transaction, in this order:

1. lock the instance row of the same SOP Instance UID, if any, and apply
   ``PACS_DUPLICATE_POLICY`` (keep_first: answer with the stored copy; reject: refuse with
   0111H; replace: remove the stored row, its file goes after commit);
2. find or create patient, study and series, locking patient then study (the order every
   writer uses);
3. insert the instance (a concurrent store of the same SOP Instance UID blocks here on the
   unique index and retries from 1 after the other commits);
4. ``store`` the staged file under its key (fsync, key journalled beside the staging file,
   atomic no-clobber link, fsync of the directory) and insert its location;
5. update the derived attributes of series, study and patient (``services.derived``).

If anything fails after 4, the stored file is removed again before the error propagates.
The caller discards the staging file (ending its journal entry) only after this returns,
that is after the commit or the removal, so a crash between 4 and the commit leaves a
journalled staging file that ``staging_reconcile`` settles against the index: the stored
file goes unless its location row committed. There is never a row without its file.
``instance_stored`` is sent after commit.

Call :func:`instance_index` outside any transaction: it is the transaction, and the
journal assumes that leaving it means committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import json
import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.archive.conf import (
    ArchiveSettings,
    DuplicatePolicy,
    KeyLayout,
    PatientConflictPolicy,
    index_async_commit,
)
from apps.archive.errors import IngestError, KeyExistsError, Refusal, StorageError
from apps.archive.models import Instance, Patient, PatientConflict, Series, StorageLocation, Study
from apps.archive.person_names import person_name_search_key
from apps.archive.services.derived import (
    derived_add_instance,
    patient_refresh_derived,
    study_refresh_derived,
)
from apps.archive.services.header import InstanceHeader
from apps.archive.services.patient import ConflictContext, patient_flag_conflict, patient_get_or_create
from apps.archive.services.study import files_delete_on_commit
from apps.archive.services.wal_settle import discard_after_wal_flush
from apps.archive.signals import instance_stored
from apps.archive.storage import StagingFile, StorageBackend, alternate_key, instance_key
from pacs_project.db_connections import replace_dropped_connection, server_binding_cursor

__all__ = [
    "IngestOutcome",
    "IngestResult",
    "StoredFile",
    "fast_path_rolls_forward",
    "instance_index",
    "instance_reindex",
]

logger = logging.getLogger(__name__)

_MAX_ATTEMPTS = 3
_MAX_KEY_ATTEMPTS = 5
_Row = TypeVar("_Row")


class IngestOutcome(enum.Enum):
    STORED = "stored"
    REPLACED = "replaced"  # PACS_DUPLICATE_POLICY=replace and a copy was stored before
    DUPLICATE = "duplicate"  # PACS_DUPLICATE_POLICY=keep_first: the stored copy stays


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of one instance; ``status`` is the C-STORE status to answer with."""

    outcome: IngestOutcome
    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str
    instance_id: int
    backend: str
    key: str
    size_bytes: int
    checksum: str
    transfer_syntax_uid: str
    status: int = 0x0000


@dataclass(frozen=True, slots=True)
class StoredFile:
    """Facts of the staged file, computed while it was written."""

    size_bytes: int
    checksum: str
    transfer_syntax_uid: str


class _StoredKey:
    """The key the staged file got, once it got one (to undo the store on failure)."""

    __slots__ = ("key",)

    def __init__(self) -> None:
        self.key: str | None = None


def instance_index(
    *,
    header: InstanceHeader,
    staged: StagingFile,
    stored: StoredFile,
    backend: StorageBackend,
    config: ArchiveSettings,
    source_ae: str,
    actor: object = None,
) -> IngestResult:
    """Apply the duplicate policy, store the staged file and write the index rows.

    Raises:
        IngestError: refused (duplicate under ``reject``, UID conflicts) or failed.
    """
    fast = _index_fast(header, staged, stored, backend, config, source_ae, actor)
    if isinstance(fast, IngestResult):
        return fast
    if fast is None:
        _sync_outside_transaction(staged)
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        holder = _StoredKey()
        holder.key = fast
        try:
            return _index_once(header, staged, stored, backend, config, source_ae, actor, holder)
        except (IntegrityError, OperationalError) as exc:
            # A concurrent store of the same instance (unique index) or a deadlock between
            # two replacements: retry while nothing was stored by this attempt (the fast
            # path's copy stays for the retry).
            if holder.key is not None and holder.key != fast:
                _unstore(backend, holder.key)
                raise IngestError(Refusal.PROCESSING_FAILURE, "Index update failed") from exc
            if attempt == _MAX_ATTEMPTS:
                if holder.key is not None:
                    _unstore(backend, holder.key)
                raise IngestError(Refusal.PROCESSING_FAILURE, "Index update failed repeatedly") from exc
        except DatabaseError as exc:
            if holder.key is not None:
                _unstore(backend, holder.key)
            raise IngestError(Refusal.PROCESSING_FAILURE, "Index update failed") from exc
        except BaseException:
            if holder.key is not None:
                _unstore(backend, holder.key)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def instance_reindex(
    *,
    header: InstanceHeader,
    stored: StoredFile,
    backend: StorageBackend,
    config: ArchiveSettings,
    key: str,
    source_ae: str,
) -> IngestResult:
    """Write the rows of an instance whose file is stored under ``key`` already (recovery
    of a store whose commit was lost, ``services.ingest.instance_restore``).

    The general path with the key given: the duplicate policy applies as on ingest (a copy
    it does not keep is removed), but a failure leaves the file where it is.

    Raises:
        IngestError: refused (a duplicate under ``reject``, UID conflicts).
        DatabaseError: the index could not be written (try again later).
    """
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        holder = _StoredKey()
        holder.key = key
        try:
            return _index_once(header, None, stored, backend, config, source_ae, None, holder)
        except (IntegrityError, OperationalError):
            if attempt == _MAX_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _sync_outside_transaction(staged: StagingFile) -> None:
    """The data's ``fsync``, before the transaction holds row locks (``store`` then only
    syncs the key journal); not for a file most likely re-sent, which goes unstored."""
    if not staged.syncs_ahead:
        return
    try:
        staged.sync()
    except OSError as exc:
        raise IngestError.storage_write_failed(exc) from exc


def _index_fast(
    header: InstanceHeader,
    staged: StagingFile,
    stored: StoredFile,
    backend: StorageBackend,
    config: ArchiveSettings,
    source_ae: str,
    actor: object,
) -> IngestResult | str | None:
    """The common case in one round trip (PostgreSQL's ``archive_index_instance``).

    Applies where the key does not depend on the index (the ``uids`` layout) and the
    instance joins a study already held, in a series held or new (see migrations 0003 and
    0008 for the exact conditions).
    The file is stored beside the call, under its journal, and the call's transaction
    commits after that: a crash before the commit leaves a journalled staging file that
    ``staging_reconcile`` rolls back, as on the general path. A store that had to take
    another key (the planned one was taken) rolls the call back too.

    Returns the result, or the key the file was stored under when the function declined
    (the general path then indexes it there), or None when it does not apply.
    """
    if not _fast_path_applies(config):
        return None
    if connection.in_atomic_block:
        return None  # a failing statement would break the caller's transaction
    rolls_forward = index_async_commit()
    received_at = timezone.now()
    key = instance_key(
        layout=config.key_layout,
        study_instance_uid=header.study_instance_uid,
        series_instance_uid=header.series_instance_uid,
        sop_instance_uid=header.sop_instance_uid,
    )
    patient, instance = header.patient, header.instance
    params: list[Any] = [
        header.sop_instance_uid,
        header.sop_class_uid,
        header.series_instance_uid,
        header.study_instance_uid,
        patient.patient_id,
        patient.issuer_of_patient_id,
        patient.patient_name,
        patient.patient_birth_date,
        patient.patient_sex,
        [name for name, value in _study_fields(header).items() if value not in ("", None)],
        [name for name, value in header.series.items() if value not in ("", None)],
        instance.get("instance_number"),
        instance.get("content_date"),
        instance.get("content_time"),
        instance.get("rows"),
        instance.get("columns"),
        instance.get("bits_allocated"),
        instance.get("number_of_frames"),
        backend.name,
        key,
        stored.size_bytes,
        stored.checksum,
        stored.transfer_syntax_uid,
        received_at,
        source_ae[:16],
        _series_row(header.series),
    ]
    holder = _StoredKey()
    storing = staged.after_sync(_store_planned, backend, staged, key, holder, rolls_forward)
    committed = False  # from then on the file is the row's: nothing may unstore it
    try:
        with transaction.atomic():
            with server_binding_cursor() as cursor:
                cursor.execute(_INDEX_INSTANCE_ASYNC_SQL if rolls_forward else _INDEX_INSTANCE_SQL, params)
                row = cursor.fetchone()
            ids = row[-1] if row else None
            # Commit only once the file is durable under the key the row names.
            storing.result()
            if ids is not None and len(ids) == 1:
                raise _AlreadyStored(ids[0])
            if not ids or holder.key != key:
                raise _Declined
            instance_id, patient_pk = ids
            _signal_on_commit(header, instance_id, patient_pk, source_ae, False, actor)
        committed = True
        if rolls_forward:  # committed, but maybe not flushed yet: the journal stays until it is
            _end_journal_after_flush(staged)
        return _stored_result(IngestOutcome.STORED, header, instance_id, backend, key, stored)
    except _AlreadyStored as already:
        return _apply_duplicate_policy(already.instance_id, backend, config, holder)
    except _Declined:
        return holder.key  # declined, or the key was taken: the general path indexes it
    except DatabaseError:
        # A concurrent insert of the same UID, a deadlock: the general path sorts it out.
        replace_dropped_connection()  # if the server dropped it, the general path reconnects
        storing.result()  # the store's own failure (IngestError) wins, with the file gone
        return holder.key
    except BaseException:
        if not committed:
            _wait_and_unstore(storing, backend, holder)
        raise


def _end_journal_after_flush(staged: StagingFile) -> None:
    """Hand the staging journal to ``wal_settle``; if that fails (no descriptor left), the
    caller's discard ends it now, and only a database crash in the next moments could
    lose the rows (which would then be reported as a file without rows)."""
    try:
        discard_after_wal_flush(staged.discard_later())
    except OSError:
        logger.warning("could not keep a staging journal until the WAL flush", exc_info=True)


class _Declined(Exception):
    """The one-round-trip call declined: roll back and take the general path."""


class _AlreadyStored(Exception):
    """The call found the SOP Instance UID stored (and changed nothing)."""

    def __init__(self, instance_id: int) -> None:
        super().__init__(instance_id)
        self.instance_id = instance_id


def _apply_duplicate_policy(
    instance_id: int, backend: StorageBackend, config: ArchiveSettings, holder: _StoredKey
) -> IngestResult | str | None:
    """A re-sent instance, found by the fast path's call: keep_first answers with the stored
    copy and reject refuses, both without keeping a second file (under the ``uids`` layout the
    planned key is the stored copy's, so usually nothing was stored); replace, or a copy
    deleted meanwhile, goes to the general path."""
    if config.duplicate_policy is DuplicatePolicy.REPLACE:
        return holder.key
    result = _duplicate_result(instance_id)
    if result is None:
        return holder.key  # deleted since the call: store it as new
    if holder.key is not None:
        _unstore(backend, holder.key)
        holder.key = None
    if config.duplicate_policy is DuplicatePolicy.REJECT:
        raise IngestError(Refusal.DUPLICATE, "SOP Instance is already stored")
    return result


def _wait_and_unstore(storing: Future[None], backend: StorageBackend, holder: _StoredKey) -> None:
    """After a failure beside it, wait for the background store and undo it."""
    with contextlib.suppress(BaseException):
        storing.result()
    if holder.key is not None:
        _unstore(backend, holder.key)


_INDEX_INSTANCE_ARGUMENTS = ", ".join(["%s"] * 25) + ", %s::jsonb"
_INDEX_INSTANCE_SQL = "SELECT archive_index_instance(" + _INDEX_INSTANCE_ARGUMENTS + ")"
# The same call in a transaction whose commit does not wait for the WAL flush
# (``PACS_INDEX_ASYNC_COMMIT``; ``set_config(..., true)`` lasts until the transaction ends).
_INDEX_INSTANCE_ASYNC_SQL = (
    "SELECT set_config('synchronous_commit', 'off', true), archive_index_instance("
    + _INDEX_INSTANCE_ARGUMENTS
    + ")"
)


def _series_row(series: dict[str, object]) -> str:
    """The series columns of the header as JSON, for the function to create a new series
    with (dates and times in ISO 8601, which PostgreSQL reads back as the ORM wrote them)."""
    return json.dumps(series, default=_iso, separators=(",", ":"))


def _iso(value: object) -> str:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a series column value")


def _fast_path_applies(config: ArchiveSettings) -> bool:
    return connection.vendor == "postgresql" and config.key_layout is KeyLayout.UIDS


def fast_path_rolls_forward(config: ArchiveSettings) -> bool:
    """Whether the fast path may store under a roll-forward journal (its commit does not
    wait for the WAL flush): journal the key that way ahead, and its ``fsync`` covers it."""
    return _fast_path_applies(config) and index_async_commit()


def _unstore(backend: StorageBackend, key: str) -> None:
    try:
        backend.delete(key)
    except (OSError, StorageError):
        logger.error("could not remove a file stored by a failed ingest", extra={"key": key})


def _index_once(
    header: InstanceHeader,
    staged: StagingFile | None,
    stored: StoredFile,
    backend: StorageBackend,
    config: ArchiveSettings,
    source_ae: str,
    actor: object,
    holder: _StoredKey,
) -> IngestResult:
    received_at = timezone.now()
    context = ConflictContext(header.study_instance_uid, header.sop_instance_uid, source_ae)
    with transaction.atomic():
        existing = _unique(
            Instance.objects.select_for_update().filter(sop_instance_uid=header.sop_instance_uid)
        )
        replaced: tuple[Series, list[tuple[str, str]]] | None = None
        mine: IngestResult | None = None  # the stored copy, once read
        if existing is not None and holder.key is not None:
            mine = _duplicate_result(existing.pk)
            if mine is not None and (mine.backend, mine.key) == (backend.name, holder.key):
                # The fast path's commit went through, but its answer was lost with the
                # connection: the row names the file just stored, which must stay.
                _signal_on_commit(header, existing.pk, _patient_of(existing), source_ae, False, actor)
                return dataclasses.replace(mine, outcome=IngestOutcome.STORED)
        if existing is not None:
            if config.duplicate_policy is DuplicatePolicy.REJECT:
                raise IngestError(Refusal.DUPLICATE, "SOP Instance is already stored")
            if config.duplicate_policy is DuplicatePolicy.KEEP_FIRST:
                if holder.key is not None:  # stored ahead by the fast path: not needed
                    _unstore(backend, holder.key)
                    holder.key = None
                result = mine or _duplicate_result(existing.pk)
                assert result is not None  # the row is locked
                return result
            replaced = _remove_for_replacement(existing)
        study, study_created = _patient_and_study(header, context, config.patient_conflict_policy)
        series, series_created = _series_get_or_create(header, study)
        instance = Instance.objects.create(
            series=series,
            sop_instance_uid=header.sop_instance_uid,
            sop_class_uid=header.sop_class_uid,
            **header.instance,
        )
        key = instance_key(
            layout=config.key_layout,
            study_instance_uid=header.study_instance_uid,
            series_instance_uid=header.series_instance_uid,
            sop_instance_uid=header.sop_instance_uid,
            study_date=study.study_date,
            received=received_at.date(),
        )
        if holder.key is None:
            assert staged is not None  # only a restore (key given) has no staging file
            # Journalled as the header read ahead did (no second fsync for a changed entry).
            _store(backend, staged, key, holder, fast_path_rolls_forward(config))
        assert holder.key is not None
        StorageLocation.objects.create(
            instance=instance,
            backend=backend.name,
            key=holder.key,
            size_bytes=stored.size_bytes,
            checksum=stored.checksum,
            transfer_syntax_uid=stored.transfer_syntax_uid,
            received_at=received_at,
            source_ae=source_ae[:16],
        )
        if replaced is None:
            derived_add_instance(
                study=study,
                series=series,
                size_bytes=stored.size_bytes,
                sop_class_uid=header.sop_class_uid,
                new_series=series_created,
                new_study=study_created,
            )
        else:
            old_series, old_locations = replaced
            study_refresh_derived(study_id=study.pk, series_ids=[series.pk])
            _prune(old_series, keep_study_id=study.pk)
            patient_refresh_derived(patient_id=study.patient_id)
            files_delete_on_commit(old_locations)
        _signal_on_commit(header, instance.pk, study.patient_id, source_ae, replaced is not None, actor)
    outcome = IngestOutcome.REPLACED if replaced is not None else IngestOutcome.STORED
    return _stored_result(outcome, header, instance.pk, backend, holder.key, stored)


def _stored_result(
    outcome: IngestOutcome,
    header: InstanceHeader,
    instance_id: int,
    backend: StorageBackend,
    key: str,
    stored: StoredFile,
) -> IngestResult:
    return IngestResult(
        outcome=outcome,
        sop_instance_uid=header.sop_instance_uid,
        sop_class_uid=header.sop_class_uid,
        study_instance_uid=header.study_instance_uid,
        series_instance_uid=header.series_instance_uid,
        instance_id=instance_id,
        backend=backend.name,
        key=key,
        size_bytes=stored.size_bytes,
        checksum=stored.checksum,
        transfer_syntax_uid=stored.transfer_syntax_uid,
    )


def _duplicate_result(instance_id: int) -> IngestResult | None:
    """The stored copy, in one query; None if it is gone."""
    row = (
        Instance.objects.filter(pk=instance_id)
        .values_list(
            "sop_instance_uid",
            "sop_class_uid",
            "series__study__study_instance_uid",
            "series__series_instance_uid",
            "location__backend",
            "location__key",
            "location__size_bytes",
            "location__checksum",
            "location__transfer_syntax_uid",
        )
        .first()
    )
    if row is None:
        return None
    sop_instance_uid, sop_class_uid, study_uid, series_uid, backend, key, size, checksum, ts_uid = row
    return IngestResult(
        outcome=IngestOutcome.DUPLICATE,
        sop_instance_uid=sop_instance_uid,
        sop_class_uid=sop_class_uid,
        study_instance_uid=study_uid,
        series_instance_uid=series_uid,
        instance_id=instance_id,
        backend=backend or "",
        key=key or "",
        size_bytes=size or 0,
        checksum=checksum or "",
        transfer_syntax_uid=ts_uid or "",
    )


def _patient_of(instance: Instance) -> int:
    """The id of the patient ``instance`` belongs to (through its series' study)."""
    return int(Study.objects.filter(series__pk=instance.series_id).values_list("patient_id", flat=True).get())


def _unique(rows: QuerySet[Any, _Row]) -> _Row | None:
    """The row of a lookup by a unique key, or None (unlike ``.first()``: no ORDER BY)."""
    return next(iter(rows[:1]), None)


def _lock_patient_and_study(patient_id: int, study_id: int) -> None:
    list(Patient.objects.select_for_update().filter(pk=patient_id).values_list("pk", flat=True))
    list(Study.objects.select_for_update().filter(pk=study_id).values_list("pk", flat=True))


def _remove_for_replacement(existing: Instance) -> tuple[Series, list[tuple[str, str]]]:
    """Delete the stored copy's rows (its file goes after commit); returns its series and file."""
    old_series = Series.objects.select_related("study").get(pk=existing.series_id)
    _lock_patient_and_study(old_series.study.patient_id, old_series.study_id)
    locations = list(StorageLocation.objects.filter(instance=existing).values_list("backend", "key"))
    existing.delete()
    return old_series, locations


def _prune(old_series: Series, *, keep_study_id: int) -> None:
    """After a replacement moved an instance: drop emptied series/study, refresh the rest."""
    old_study = old_series.study
    if not Instance.objects.filter(series_id=old_series.pk).exists():
        Series.objects.filter(pk=old_series.pk).delete()
    if old_study.pk == keep_study_id:
        study_refresh_derived(study_id=old_study.pk, series_ids=[old_series.pk])
        return
    if Series.objects.filter(study_id=old_study.pk).exists():
        study_refresh_derived(study_id=old_study.pk, series_ids=[old_series.pk])
    else:
        Study.objects.filter(pk=old_study.pk).delete()
    patient_refresh_derived(patient_id=old_study.patient_id)


def _study_fields(header: InstanceHeader) -> dict[str, object]:
    fields = dict(header.study)
    fields["referring_physician_name_search"] = person_name_search_key(
        str(fields.get("referring_physician_name") or "")
    )
    return fields


def _fill_blanks(row: Study | Series, fields: dict[str, object]) -> None:
    """Later instances complete what the first one left empty; they never overwrite."""
    changed = [
        name for name, value in fields.items() if value not in ("", None) and getattr(row, name) in ("", None)
    ]
    for name in changed:
        setattr(row, name, fields[name])
    if changed:
        row.save(update_fields=[*changed, "updated_at"])


def _patient_and_study(
    header: InstanceHeader, context: ConflictContext, policy: PatientConflictPolicy
) -> tuple[Study, bool]:
    """The study of the instance (and whether it is new), with it and its patient locked."""
    uid = header.study_instance_uid
    # Only an instance without Patient ID needs its study's patient before the lock.
    known = (
        None
        if header.patient.patient_id
        else _unique(Study.objects.filter(study_instance_uid=uid).values_list("patient_id", flat=True))
    )
    patient_created = False
    if known is not None:
        # No Patient ID: the instance joins its study's patient.
        patient = Patient.objects.select_for_update().get(pk=known)
    else:
        patient, patient_created = patient_get_or_create(
            demographics=header.patient, context=context, policy=policy
        )
    fields = _study_fields(header)
    study = _unique(Study.objects.select_for_update().filter(study_instance_uid=uid))
    created = False
    if study is None:
        try:
            with transaction.atomic():
                study = Study.objects.create(study_instance_uid=uid, patient=patient, **fields)
                created = True
        except IntegrityError:
            study = Study.objects.select_for_update().get(study_instance_uid=uid)
    if not created:
        _fill_blanks(study, fields)
    if study.patient_id != patient.pk:
        owner = Patient.objects.select_for_update().get(pk=study.patient_id)
        if patient_created:
            patient.delete()  # made for this study, which another patient already holds
        if header.patient.patient_id and policy is PatientConflictPolicy.FLAG:
            patient_flag_conflict(
                patient=owner,
                attribute=PatientConflict.Attribute.PATIENT_ID,
                stored_value=owner.patient_id,
                incoming_value=header.patient.patient_id,
                context=context,
            )
    return study, created


def _series_get_or_create(header: InstanceHeader, study: Study) -> tuple[Series, bool]:
    """The series and whether it is new (the study row is locked: no other writer creates it)."""
    series = _unique(Series.objects.filter(series_instance_uid=header.series_instance_uid))
    if series is None:
        created = Series.objects.create(
            series_instance_uid=header.series_instance_uid, study=study, **header.series
        )
        return created, True
    if series.study_id != study.pk:
        raise IngestError(Refusal.UID_CONFLICT, "Series Instance UID belongs to another study")
    _fill_blanks(series, dict(header.series))
    return series, False


def _store_planned(
    backend: StorageBackend, staged: StagingFile, key: str, holder: _StoredKey, rolls_forward: bool
) -> None:
    """The fast path's store, beside its call: under the planned key only. A taken key is
    mostly the stored copy of a re-sent instance, so nothing is stored and the call's answer
    decides (a duplicate needs no file; otherwise the general path takes another key)."""
    if backend.exists(key):
        return
    try:
        backend.store(staged, key, roll_forward=rolls_forward)
    except KeyExistsError:
        return
    except OSError as exc:
        raise IngestError.storage_write_failed(exc) from exc
    holder.key = key


def _store(
    backend: StorageBackend, staged: StagingFile, key: str, holder: _StoredKey, rolls_forward: bool
) -> None:
    candidate = key
    for _ in range(_MAX_KEY_ATTEMPTS):
        try:
            backend.store(staged, candidate, roll_forward=rolls_forward)
        except KeyExistsError:
            # The old file of a replaced instance, or one left by a crash: never overwrite.
            candidate = alternate_key(key)
            continue
        except OSError as exc:
            raise IngestError.storage_write_failed(exc) from exc
        holder.key = candidate
        return
    raise IngestError(Refusal.PROCESSING_FAILURE, "No free storage key")  # pragma: no cover


def _signal_on_commit(
    header: InstanceHeader, instance_id: int, patient_pk: int, source_ae: str, replaced: bool, actor: object
) -> None:
    def send() -> None:
        instance_stored.send(
            sender=Instance,
            instance_id=instance_id,
            sop_instance_uid=header.sop_instance_uid,
            sop_class_uid=header.sop_class_uid,
            series_instance_uid=header.series_instance_uid,
            study_instance_uid=header.study_instance_uid,
            patient_pk=patient_pk,
            source_ae=source_ae,
            replaced=replaced,
            actor=actor,
        )

    # Robust: the instance is committed; a receiver's failure is logged and must not undo it.
    transaction.on_commit(send, robust=True)
