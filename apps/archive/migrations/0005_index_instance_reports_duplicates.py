"""``archive_index_instance`` answers a stored SOP Instance UID first, with its id alone.

Until now the function declined (NULL) when the instance was already stored, so a re-sent
instance took the general ORM path: a locked lookup, two more queries, and a durable copy
of the file that was removed again. Modalities re-send whole studies after a timeout, and
routers and prefetches send what the archive already has, so a duplicate should cost less
than a new instance, not twice as much. The function now looks the UID up before anything
else and returns ``ARRAY[instance id]`` (one element) when it is stored; the caller applies
the duplicate policy with that. It is otherwise the function of migration 0004, whose text
this migration edits, so that the function's source stays in one place.
"""

import importlib

from django.db import migrations

_previous = importlib.import_module("apps.archive.migrations.0004_index_instance_row_json_once")

_BEGIN_OLD = "BEGIN\n    SELECT se.* INTO v_series\n"
_BEGIN_NEW = """BEGIN
    -- Already stored: its id alone; the caller applies the duplicate policy.
    SELECT id INTO v_instance_pk FROM archive_instance WHERE sop_instance_uid = p_sop_instance_uid;
    IF FOUND THEN
        RETURN ARRAY[v_instance_pk];
    END IF;
    SELECT se.* INTO v_series
"""
_EXISTS_OLD = """    IF EXISTS (SELECT 1 FROM archive_instance WHERE sop_instance_uid = p_sop_instance_uid) THEN
        RETURN NULL;
    END IF;
"""


def _edited(source: str) -> str:
    for old, new in ((_BEGIN_OLD, _BEGIN_NEW), (_EXISTS_OLD, "")):
        if source.count(old) != 1:
            raise RuntimeError("migration 0004's function is not the one this migration edits")
        source = source.replace(old, new)
    return source


def _forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_edited(_previous._edited(_previous._previous._CREATE)))


def _backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_previous._edited(_previous._previous._CREATE))


class Migration(migrations.Migration):
    dependencies = [("archive", "0004_index_instance_row_json_once")]

    operations = [migrations.RunPython(_forward, _backward)]
