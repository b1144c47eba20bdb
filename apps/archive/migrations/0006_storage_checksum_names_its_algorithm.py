"""``StorageLocation.checksum`` names its algorithm: ``<algorithm>:<hex digest>``.

Ingest hashed every received byte with SHA-256, an eighth of a C-STORE's CPU; new files now
get the algorithm of ``PACS_STORAGE_CHECKSUM`` (XXH3-128 by default, see
``apps.archive.storage.checksums``). So that ``verify_storage`` checks every file with the
algorithm it was stored with, the column (formerly ``checksum_sha256``) carries the name.
The SHA-256 digests already stored stay as they are (``storage.checksums`` reads a bare
64-digit value as SHA-256): rewriting every row would make this migration take hours on a
large archive. On PostgreSQL, renaming and widening the column change the catalog only.

On PostgreSQL ``archive_index_instance`` (migrations 0003 to 0005) writes the renamed column;
its parameter is renamed with it, which needs the function dropped and created again.
"""

import importlib

from django.db import migrations, models

_previous = importlib.import_module("apps.archive.migrations.0005_index_instance_reports_duplicates")
_origin = importlib.import_module("apps.archive.migrations.0003_index_instance_function")

_OLD_NAME = "checksum_sha256"
_NEW_NAME = "checksum"


def _source_before() -> str:
    return _previous._edited(_previous._previous._edited(_origin._CREATE))


def _source_after() -> str:
    source = _source_before()
    if source.count(_OLD_NAME) != 3:  # the parameter, the column, the value
        raise RuntimeError("migration 0005's function is not the one this migration edits")
    return source.replace(_OLD_NAME, _NEW_NAME)


def _function_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_origin._DROP)
        schema_editor.execute(_source_after())


def _function_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_origin._DROP)
        schema_editor.execute(_source_before())


def _unlabel_sha256(apps, schema_editor):
    """Back to bare SHA-256 digests, what the code before this migration reads; other
    algorithms' values cannot go back, so they are emptied (``verify_storage`` of that
    version reports those rows as mismatches)."""
    StorageLocation = apps.get_model("archive", "StorageLocation")
    labelled = StorageLocation.objects.filter(checksum__contains=":").only("pk", "checksum")
    for location in labelled.iterator(chunk_size=2000):
        name, _, digest = location.checksum.partition(":")
        location.checksum = digest if name == "sha256" else ""
        location.save(update_fields=["checksum"])


class Migration(migrations.Migration):
    dependencies = [("archive", "0005_index_instance_reports_duplicates")]

    operations = [
        migrations.RenameField("storagelocation", _OLD_NAME, _NEW_NAME),
        migrations.AlterField(
            model_name="storagelocation",
            name=_NEW_NAME,
            field=models.CharField(help_text="<algorithm>:<hex digest> of the stored file", max_length=80),
        ),
        migrations.RunPython(migrations.RunPython.noop, _unlabel_sha256),
        migrations.RunPython(_function_forward, _function_backward),
    ]
