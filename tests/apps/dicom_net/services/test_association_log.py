"""Association log rows: the service writes them, the off-loop writer survives database errors."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from typing import TypedDict, Unpack

import pytest

from apps.dicom_net.models import AssociationLog, AssociationOutcome
from apps.dicom_net.services.association_log import (
    AssociationLogEntry,
    AssociationLogWriter,
    association_log_entry,
    association_log_record,
)
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.aio.server import AssociationRecord, Outcome, Phase

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class EntryChanges(TypedDict, total=False):
    """The ``AssociationLogEntry`` fields these tests vary."""

    calling_ae_title: str
    detail: str
    peer_port: int | None


def _entry(**changes: Unpack[EntryChanges]) -> AssociationLogEntry:
    entry = AssociationLogEntry(
        started_at=STARTED,
        duration=timedelta(milliseconds=42),
        calling_ae_title="ECHOSCU",
        called_ae_title="PACS",
        peer_host="127.0.0.1",
        peer_port=40000,
        outcome=AssociationOutcome.RELEASED,
        contexts=({"id": 1, "abstract_syntax": "1.2.840.10008.1.1", "result": "acceptance"},),
        bytes_received=300,
        bytes_sent=200,
        server_pid=1234,
    )
    return dataclasses.replace(entry, **changes)


@pytest.mark.django_db
def test_record_stores_every_field() -> None:
    row = association_log_record(entry=_entry())
    stored = AssociationLog.objects.get(pk=row.pk)
    assert (stored.calling_ae_title, stored.called_ae_title) == ("ECHOSCU", "PACS")
    assert (stored.peer_host, stored.peer_port, stored.server_pid) == ("127.0.0.1", 40000, 1234)
    assert stored.started_at == STARTED
    assert stored.duration == timedelta(milliseconds=42)
    assert stored.outcome == AssociationOutcome.RELEASED
    assert stored.contexts == [{"id": 1, "abstract_syntax": "1.2.840.10008.1.1", "result": "acceptance"}]
    assert (stored.bytes_received, stored.bytes_sent, stored.bytes_total) == (300, 200, 500)


@pytest.mark.django_db
def test_record_cuts_overlong_peer_text_to_the_columns() -> None:
    row = association_log_record(entry=_entry(calling_ae_title="X" * 40, detail="d" * 1000))
    row.refresh_from_db()
    assert row.calling_ae_title == "X" * 16
    assert len(row.detail) == 255


async def _submit_and_drain(writer: AssociationLogWriter, *entries: AssociationLogEntry) -> set[str]:
    """Submits from the event loop and records which threads ran the loop."""
    loop_threads = {threading.current_thread().name}
    for entry in entries:
        writer.submit(entry)
    await writer.drain(timeout=30)
    return loop_threads


@pytest.mark.django_db(transaction=True)
def test_writer_stores_rows_from_its_own_thread() -> None:
    writer = AssociationLogWriter()
    try:
        asyncio.run(_submit_and_drain(writer, _entry(calling_ae_title="A"), _entry(calling_ae_title="B")))
    finally:
        writer.close()
    assert sorted(AssociationLog.objects.values_list("calling_ae_title", flat=True)) == ["A", "B"]
    assert writer.pending == 0


@pytest.mark.django_db(transaction=True)
def test_writer_logs_a_failed_write_and_keeps_going(caplog_apps: pytest.LogCaptureFixture) -> None:
    writer = AssociationLogWriter()
    try:
        # A negative port violates the column's CHECK constraint in PostgreSQL.
        asyncio.run(_submit_and_drain(writer, _entry(peer_port=-1), _entry(calling_ae_title="AFTER")))
    finally:
        writer.close()
    assert list(AssociationLog.objects.values_list("calling_ae_title", flat=True)) == ["AFTER"]
    failures = [
        record for record in caplog_apps.records if record.getMessage() == "association log write failed"
    ]
    assert len(failures) == 1
    assert vars(failures[0])["calling_ae_title"] == "ECHOSCU"  # a field given in the log call's extra


@pytest.mark.django_db(transaction=True)
def test_writer_drops_entries_beyond_its_backlog_bound(caplog_apps: pytest.LogCaptureFixture) -> None:
    writer = AssociationLogWriter(max_pending=1)
    try:
        asyncio.run(
            _submit_and_drain(writer, _entry(calling_ae_title="KEPT"), _entry(calling_ae_title="DROPPED"))
        )
    finally:
        writer.close()
    assert writer.dropped == 1
    assert list(AssociationLog.objects.values_list("calling_ae_title", flat=True)) == ["KEPT"]


class RecordChanges(TypedDict, total=False):
    """The ``AssociationRecord`` fields these tests vary."""

    phase: Phase
    outcome: Outcome | None
    bytes_in: int


def _record(**changes: Unpack[RecordChanges]) -> AssociationRecord:
    record = AssociationRecord(
        phase=Phase.ENDED,
        association_id=7,
        peer_host="10.1.2.3",
        peer_port=50123,
        tls=True,
        started_at=STARTED.timestamp(),
        calling_ae_title="CT1",
        called_ae_title="PACS",
        contexts=(NegotiatedContext(1, "1.2.840.10008.1.1", "1.2.840.10008.1.2"),),
        outcome=Outcome.RELEASED,
        detail="",
        messages=3,
        bytes_in=1000,
        bytes_out=400,
        duration=1.5,
    )
    return dataclasses.replace(record, **changes)


def test_entry_carries_the_record_of_an_ended_association() -> None:
    entry = association_log_entry(_record(), server_pid=99)
    assert entry == AssociationLogEntry(
        started_at=STARTED,
        duration=timedelta(seconds=1.5),
        calling_ae_title="CT1",
        called_ae_title="PACS",
        peer_host="10.1.2.3",
        peer_port=50123,
        outcome=AssociationOutcome.RELEASED,
        tls=True,
        contexts=({"id": 1, "abstract_syntax": "1.2.840.10008.1.1", "transfer_syntax": "1.2.840.10008.1.2"},),
        messages=3,
        bytes_received=1000,
        bytes_sent=400,
        server_pid=99,
    )


@pytest.mark.parametrize("outcome", list(Outcome), ids=lambda outcome: outcome.name)
def test_every_dicomkit_outcome_has_a_log_outcome(outcome: Outcome) -> None:
    entry = association_log_entry(_record(outcome=outcome, bytes_in=10), server_pid=1)
    assert entry is not None
    assert entry.outcome.value == outcome.value


@pytest.mark.parametrize("phase", [Phase.STARTED, Phase.NEGOTIATED])
def test_only_ended_associations_are_logged(phase: Phase) -> None:
    assert association_log_entry(_record(phase=phase, outcome=None), server_pid=1) is None


def test_a_connection_closed_without_a_byte_is_not_logged_but_one_with_garbage_is() -> None:
    assert association_log_entry(_record(outcome=Outcome.CLOSED, bytes_in=0), server_pid=1) is None
    assert association_log_entry(_record(outcome=Outcome.CLOSED, bytes_in=5), server_pid=1) is not None
