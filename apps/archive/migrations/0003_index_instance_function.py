"""On PostgreSQL, ``archive_index_instance``: the common case of ingest in one round trip.

Most instances join a series the archive already holds, of the same patient, and bring
nothing the index lacks. For them ``services.indexing`` calls this function once (in
autocommit: the call is its own transaction) instead of a dozen ORM statements. It locks
the patient and then the study (the order every writer uses), and inserts the instance and
its storage location and counts them in series, study and patient, but only when all of
these hold; otherwise it changes nothing and returns NULL, and the caller runs the general
ORM path, which keeps every rule (duplicate policy, patient identity and conflicts, filling
blanks, derived lists):

- the series exists, in the study of the instance;
- the patient of that study has the instance's Patient ID and Issuer (or the instance has
  no Patient ID), and no incoming name, birth date or sex differs from the stored one;
- every study and series attribute the instance has (``p_study_keys``/``p_series_keys``:
  the names of the non-empty ones) is already filled in the stored row;
- the study's Modalities in Study and SOP Classes in Study already list the series'
  modality and the instance's SOP class;
- no instance with that SOP Instance UID is stored (a concurrent insert of the same UID
  fails on the unique index, and the caller falls back too).

Returns ``ARRAY[instance id, patient id]``. Other databases have no such function; the
ORM path serves them.
"""

from django.db import migrations

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
    p_checksum_sha256 text,
    p_transfer_syntax_uid text,
    p_received_at timestamptz,
    p_source_ae text
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    v_series archive_series;
    v_study archive_study;
    v_patient archive_patient;
    v_patient_pk bigint;
    v_instance_pk bigint;
BEGIN
    SELECT se.* INTO v_series
      FROM archive_series se JOIN archive_study st ON st.id = se.study_id
     WHERE se.series_instance_uid = p_series_instance_uid
       AND st.study_instance_uid = p_study_instance_uid;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT patient_id INTO v_patient_pk FROM archive_study WHERE id = v_series.study_id;
    -- Lock order of every writer: patient, then study.
    SELECT * INTO v_patient FROM archive_patient WHERE id = v_patient_pk FOR UPDATE;
    SELECT * INTO v_study FROM archive_study WHERE id = v_series.study_id FOR UPDATE;
    IF v_patient.id IS NULL OR v_study.id IS NULL OR v_study.patient_id <> v_patient.id THEN
        RETURN NULL;
    END IF;
    -- Re-read the series under the study lock (replacements and deletes hold it).
    SELECT * INTO v_series FROM archive_series WHERE id = v_series.id AND study_id = v_study.id;
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
    IF EXISTS (SELECT 1 FROM unnest(p_study_keys) AS k
                WHERE coalesce(to_jsonb(v_study) ->> k, '') = '')
       OR EXISTS (SELECT 1 FROM unnest(p_series_keys) AS k
                   WHERE coalesce(to_jsonb(v_series) ->> k, '') = '') THEN
        RETURN NULL;
    END IF;
    IF (v_series.modality <> ''
        AND NOT v_series.modality = ANY (string_to_array(v_study.modalities_in_study, E'\\')))
       OR NOT p_sop_class_uid = ANY (string_to_array(v_study.sop_classes_in_study, E'\\')) THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM archive_instance WHERE sop_instance_uid = p_sop_instance_uid) THEN
        RETURN NULL;
    END IF;

    INSERT INTO archive_instance (
        sop_instance_uid, sop_class_uid, series_id, instance_number, content_date,
        content_time, "rows", "columns", bits_allocated, number_of_frames, created_at)
    VALUES (
        p_sop_instance_uid, p_sop_class_uid, v_series.id, p_instance_number, p_content_date,
        p_content_time, p_rows, p_columns, p_bits_allocated, p_number_of_frames, p_received_at)
    RETURNING id INTO v_instance_pk;
    INSERT INTO archive_storagelocation (
        instance_id, backend, key, size_bytes, checksum_sha256, transfer_syntax_uid,
        received_at, source_ae)
    VALUES (
        v_instance_pk, p_backend, p_key, p_size_bytes, p_checksum_sha256, p_transfer_syntax_uid,
        p_received_at, p_source_ae);
    UPDATE archive_series
       SET number_of_series_related_instances = number_of_series_related_instances + 1,
           size_bytes = size_bytes + p_size_bytes
     WHERE id = v_series.id;
    UPDATE archive_study
       SET number_of_study_related_instances = number_of_study_related_instances + 1,
           size_bytes = size_bytes + p_size_bytes
     WHERE id = v_study.id;
    UPDATE archive_patient
       SET number_of_patient_related_instances = number_of_patient_related_instances + 1,
           size_bytes = size_bytes + p_size_bytes
     WHERE id = v_patient.id;
    RETURN ARRAY[v_instance_pk, v_patient.id];
END;
$$;
"""

_DROP = (
    "DROP FUNCTION IF EXISTS archive_index_instance("
    "text, text, text, text, text, text, text, date, text, text[], text[], integer, date, time, "
    "integer, integer, integer, integer, text, text, bigint, text, text, timestamptz, text)"
)


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_CREATE)


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_DROP)


class Migration(migrations.Migration):
    dependencies = [("archive", "0002_query_engine")]

    operations = [migrations.RunPython(_create, _drop)]
