"""Data migrations of the archive, run both ways on a database holding rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.archive.models import StorageLocation
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


def test_0006_labels_the_stored_sha256_digests_and_the_function_follows_the_column(
    latest: tuple[str, str],
) -> None:
    old = StorageLocationFactory.create(checksum=f"sha256:{_SHA256}")
    new = StorageLocationFactory.create(checksum="xxh3-128:" + "ab" * 16)
    blank = StorageLocationFactory.create(checksum="")

    _migrate(_BEFORE_0006)
    assert _raw_checksums("checksum_sha256") == {old.key: _SHA256, new.key: "", blank.key: ""}
    assert "p_checksum_sha256" in _function_arguments()

    _migrate(latest)
    assert _raw_checksums("checksum") == {old.key: f"sha256:{_SHA256}", new.key: "", blank.key: ""}
    assert "p_checksum" in _function_arguments() and "p_checksum_sha256" not in _function_arguments()
    assert StorageLocation.objects.get(key=old.key).checksum == f"sha256:{_SHA256}"
