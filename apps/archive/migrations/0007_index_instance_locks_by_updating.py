"""``archive_index_instance`` locks patient, study and series by counting the instance in them.

The function (migrations 0003 to 0006) read each of the three rows ``FOR UPDATE`` (a row
lock is a tuple write and a WAL record of its own), checked them, inserted the instance,
and then updated the same three rows. Now the updates come first, in the lock order every
writer uses (patient, then study, then series): each takes its row lock and returns the
row for the checks, and three lookups and three locks are gone, a third of the function's
statements.

When a check fails the function still returns NULL, but the counts it raised are rolled
back by the caller, which opens the transaction for the call and ends it with ROLLBACK on
NULL (``services.indexing._index_fast``), as it did already for a store that had to take
another key. Its parameters and result are those of migration 0006.
"""

import importlib

from django.db import migrations

_previous = importlib.import_module("apps.archive.migrations.0006_storage_checksum_names_its_algorithm")

_CREATE = r"""
CREATE OR REPLACE FUNCTION archive_index_instance(
    p_sop_instance_uid text,
    p_sop_class_uid text,
    p_series_instance_uid text,
    p_study_instance_uid text,
    p_patient_id text,
    p_issuer_of_patient_id text,
    p_patient_name text,
    p_patient_birth_date date,
    p_patient_sex text,
    p_study_keys text[],
    p_series_keys text[],
    p_instance_number integer,
    p_content_date date,
    p_content_time time,
    p_rows integer,
    p_columns integer,
    p_bits_allocated integer,
    p_number_of_frames integer,
    p_backend text,
    p_key text,
    p_size_bytes bigint,
    p_checksum text,
    p_transfer_syntax_uid text,
    p_received_at timestamptz,
    p_source_ae text
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    v_series archive_series;
    v_study archive_study;
    v_patient archive_patient;
    v_series_pk bigint;
    v_study_pk bigint;
    v_patient_pk bigint;
    v_instance_pk bigint;
    v_study_json jsonb;
    v_series_json jsonb;
BEGIN
    -- Already stored: its id alone; the caller applies the duplicate policy.
    SELECT id INTO v_instance_pk FROM archive_instance WHERE sop_instance_uid = p_sop_instance_uid;
    IF FOUND THEN
        RETURN ARRAY[v_instance_pk];
    END IF;
    SELECT se.id, st.id, st.patient_id INTO v_series_pk, v_study_pk, v_patient_pk
      FROM archive_series se JOIN archive_study st ON st.id = se.study_id
     WHERE se.series_instance_uid = p_series_instance_uid
       AND st.study_instance_uid = p_study_instance_uid;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- Count the instance, locking patient, then study, then series (the order of every
    -- writer); each row is checked as updated, under its lock. NULL from here on: the
    -- caller rolls the counts back.
    UPDATE archive_patient
       SET number_of_patient_related_instances = number_of_patient_related_instances + 1,
           size_bytes = size_bytes + p_size_bytes
     WHERE id = v_patient_pk
    RETURNING * INTO v_patient;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE archive_study
       SET number_of_study_related_instances = number_of_study_related_instances + 1,
           size_bytes = size_bytes + p_size_bytes
     WHERE id = v_study_pk AND patient_id = v_patient_pk
    RETURNING * INTO v_study;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- Replacements and deletes hold the study's lock: the series is read under it.
    UPDATE archive_series
       SET number_of_series_related_instances = number_of_series_related_instances + 1,
           size_bytes = size_bytes + p_size_bytes
     WHERE id = v_series_pk AND study_id = v_study_pk
    RETURNING * INTO v_series;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_patient_id <> '' THEN
        IF v_patient.patient_id <> p_patient_id
           OR v_patient.issuer_of_patient_id <> p_issuer_of_patient_id
           OR (p_patient_name <> '' AND p_patient_name <> v_patient.patient_name)
           OR (p_patient_birth_date IS NOT NULL
               AND p_patient_birth_date IS DISTINCT FROM v_patient.patient_birth_date)
           OR (p_patient_sex <> '' AND p_patient_sex <> v_patient.patient_sex) THEN
            RETURN NULL;
        END IF;
    END IF;
    v_study_json := to_jsonb(v_study);
    v_series_json := to_jsonb(v_series);
    IF EXISTS (SELECT 1 FROM unnest(p_study_keys) AS k
                WHERE coalesce(v_study_json ->> k, '') = '')
       OR EXISTS (SELECT 1 FROM unnest(p_series_keys) AS k
                   WHERE coalesce(v_series_json ->> k, '') = '') THEN
        RETURN NULL;
    END IF;
    IF (v_series.modality <> ''
        AND NOT v_series.modality = ANY (string_to_array(v_study.modalities_in_study, E'\\')))
       OR NOT p_sop_class_uid = ANY (string_to_array(v_study.sop_classes_in_study, E'\\')) THEN
        RETURN NULL;
    END IF;

    INSERT INTO archive_instance (
        sop_instance_uid, sop_class_uid, series_id, instance_number, content_date,
        content_time, "rows", "columns", bits_allocated, number_of_frames, created_at)
    VALUES (
        p_sop_instance_uid, p_sop_class_uid, v_series_pk, p_instance_number, p_content_date,
        p_content_time, p_rows, p_columns, p_bits_allocated, p_number_of_frames, p_received_at)
    RETURNING id INTO v_instance_pk;
    INSERT INTO archive_storagelocation (
        instance_id, backend, key, size_bytes, checksum, transfer_syntax_uid,
        received_at, source_ae)
    VALUES (
        v_instance_pk, p_backend, p_key, p_size_bytes, p_checksum, p_transfer_syntax_uid,
        p_received_at, p_source_ae);
    RETURN ARRAY[v_instance_pk, v_patient_pk];
END;
$$;
"""


def _forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_CREATE)


def _backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_previous._source_after())


class Migration(migrations.Migration):
    dependencies = [("archive", "0006_storage_checksum_names_its_algorithm")]

    operations = [migrations.RunPython(_forward, _backward)]
