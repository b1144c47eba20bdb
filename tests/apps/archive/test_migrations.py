"""Data migrations of the archive, run both ways on a database holding rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.archive.models import StorageLocation
from apps.archive.storage.checksums import ChecksumAlgorithm, parse_checksum
from tests.factories.archive import StorageLocationFactory

pytestmark = pytest.mark.django_db(transaction=True)

_BEFORE_0006 = ("archive", "0005_index_instance_reports_duplicates")
_SHA256 = "9f" * 32


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def _raw_checksums(column: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, {column} FROM archive_storagelocation")
        return dict(cursor.fetchall())


def _function_arguments() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT proargnames FROM pg_proc WHERE proname = 'archive_index_instance'")
        (names,) = cursor.fetchone() or ([],)
    return list(names)


@pytest.fixture
def latest() -> Iterator[tuple[str, str]]:
    """The newest archive migration; the schema is brought back to it whatever the test did."""
    (leaf,) = MigrationExecutor(connection).loader.graph.leaf_nodes("archive")
    yield leaf
    _migrate(leaf)


def test_0006_keeps_the_stored_sha256_digests_and_the_function_follows_the_column(
    latest: tuple[str, str],
) -> None:
    labelled = StorageLocationFactory.create(checksum=f"sha256:{_SHA256}")
    other = StorageLocationFactory.create(checksum="xxh3-128:" + "ab" * 16)
    blank = StorageLocationFactory.create(checksum="")

    _migrate(_BEFORE_0006)  # back: what the older code reads, bare SHA-256 digests
    assert _raw_checksums("checksum_sha256") == {labelled.key: _SHA256, other.key: "", blank.key: ""}
    assert "p_checksum_sha256" in _function_arguments()

    _migrate(latest)  # forward: no row is rewritten; a bare digest still reads as SHA-256
    assert _raw_checksums("checksum") == {labelled.key: _SHA256, other.key: "", blank.key: ""}
    assert "p_checksum" in _function_arguments() and "p_checksum_sha256" not in _function_arguments()
    stored = StorageLocation.objects.get(key=labelled.key).checksum
    assert parse_checksum(stored) == (ChecksumAlgorithm.SHA256, _SHA256)
