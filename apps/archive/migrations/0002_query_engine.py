"""Query engine (apps.archive.query): stored character set, request attributes, name indexes.

- ``Study.specific_character_set``: C-FIND responses are encoded in it.
- ``Series.request_attributes``: Request Attributes Sequence items, for sequence matching.
- On PostgreSQL, trigram (pg_trgm, a contrib extension) GIN indexes on the person-name
  search keys, so that wildcard and regular-expression matching that is not anchored at
  the start (``*MAIER``, the ideographic group of a name) can use an index. A prefix
  (``DOE*``) uses the ``varchar_pattern_ops`` B-tree indexes of 0001. When the database
  user may not create the extension the indexes are skipped (queries still work, slower)
  and a warning says so.
"""

import logging

from django.db import migrations, models

logger = logging.getLogger(__name__)

_TRIGRAM_INDEXES = (
    ("archive_patient_name_trgm", "archive_patient", "patient_name_search"),
    ("archive_study_referring_trgm", "archive_study", "referring_physician_name_search"),
)


def _create_trigram_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor, migrations_savepoint(connection):
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - any refusal (privileges, package missing) skips the indexes
        logger.warning("pg_trgm unavailable, name wildcard queries will not use trigram indexes: %s", exc)
        return
    with connection.cursor() as cursor:
        for name, table, column in _TRIGRAM_INDEXES:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")


def _drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _table, _column in _TRIGRAM_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


def migrations_savepoint(connection):
    from django.db import transaction

    return transaction.atomic(using=connection.alias, savepoint=True)


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="study",
            name="specific_character_set",
            field=models.CharField(blank=True, max_length=256, verbose_name="Specific Character Set"),
        ),
        migrations.AddField(
            model_name="series",
            name="request_attributes",
            field=models.JSONField(blank=True, default=list, verbose_name="Request Attributes Sequence"),
        ),
        migrations.RunPython(_create_trigram_indexes, _drop_trigram_indexes, elidable=False),
    ]
