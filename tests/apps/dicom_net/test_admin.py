"""The association log in the admin: listed, filtered, searched, and read-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from apps.dicom_net.models import AssociationLog, AssociationOutcome
from apps.dicom_net.services.association_log import AssociationLogEntry, association_log_record

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/dicom_net/associationlog/"


@pytest.fixture
def rows() -> list[AssociationLog]:
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return [
        association_log_record(
            entry=AssociationLogEntry(
                started_at=started + timedelta(minutes=index),
                duration=timedelta(seconds=1),
                calling_ae_title=calling,
                called_ae_title=called,
                peer_host=host,
                peer_port=5000 + index,
                outcome=outcome,
                bytes_received=1000,
                bytes_sent=500,
            )
        )
        for index, (calling, called, host, outcome) in enumerate(
            [
                ("CT_SCANNER", "PACS", "10.0.0.5", AssociationOutcome.RELEASED),
                ("STRANGER", "PACS", "10.9.9.9", AssociationOutcome.REJECTED),
                ("VIEWER", "OTHER_AE", "10.0.0.7", AssociationOutcome.ABORTED_BY_PEER),
            ]
        )
    ]


def test_changelist_lists_rows_with_their_columns(admin_client: Client, rows: list[AssociationLog]) -> None:
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    body = response.content.decode()
    for text in ("CT_SCANNER", "STRANGER", "VIEWER", "10.0.0.5", "rejected", "OTHER_AE"):
        assert text in body


def test_changelist_filters_by_outcome_and_searches_titles(
    admin_client: Client, rows: list[AssociationLog]
) -> None:
    filtered = admin_client.get(CHANGELIST, {"outcome": "rejected"}).content.decode()
    assert "STRANGER" in filtered
    assert "CT_SCANNER" not in filtered
    searched = admin_client.get(CHANGELIST, {"q": "10.0.0.7"}).content.decode()
    assert "VIEWER" in searched
    assert "CT_SCANNER" not in searched


def test_rows_are_read_only(admin_client: Client, rows: list[AssociationLog]) -> None:
    assert admin_client.get(CHANGELIST + "add/").status_code == 403
    detail = admin_client.get(f"{CHANGELIST}{rows[0].pk}/change/")
    assert detail.status_code == 200  # viewable
    assert b'name="_save"' not in detail.content
    assert admin_client.post(f"{CHANGELIST}{rows[0].pk}/delete/", {"post": "yes"}).status_code == 403
    assert AssociationLog.objects.count() == 3
