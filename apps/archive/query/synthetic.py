"""A synthetic index for query benchmarks (``manage.py generate_index``): rows only, no files.

Inserts patients, studies, series, instances and their storage locations directly into the
index in batches (``bulk_create``), with realistic spreads for the selective keys: about
two studies per patient, generated family names (prefix queries select a small share),
study dates over ten years, unique Patient IDs and Accession Numbers. UIDs carry a run
token, so several runs add up instead of colliding. On PostgreSQL the tables are ANALYZEd
at the end so the planner sees the new sizes. Locations point at backend ``synthetic``:
nothing can be retrieved from them (``verify_storage`` reports them as missing files).

Study ``i`` of seed ``s`` is a pure function of ``(s, i)`` (:func:`synthetic_study`):
studies ``2k`` and ``2k+1`` share patient ``k``. So ``start`` grows an index in steps
(10,000 studies, then 40,000 more ...) into exactly the rows one run would have written,
and a benchmark can build the same studies as DICOM files for a peer archive.
"""

from __future__ import annotations

import datetime
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.person_names import person_name_search_key
from dicomkit.data import uids

__all__ = ["GeneratedIndex", "SyntheticStudy", "index_generate", "synthetic_studies", "synthetic_study"]

_SYLLABLES = (
    "ab", "an", "ber", "bo", "ca", "da", "del", "do", "el", "er", "fa", "ga", "han", "ik", "jo", "ka",
    "ker", "la", "li", "ma", "mi", "mo", "na", "ne", "o", "pe", "ra", "ri", "ro", "sa", "sch", "se",
    "son", "ta", "ti", "to", "u", "va", "vi", "we", "ya", "ze",
)  # fmt: skip
_GIVEN = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jan", "Kim", "Lea")
_MODALITIES = (
    ("CT", uids.CTImageStorage),
    ("MR", uids.MRImageStorage),
    ("CR", uids.ComputedRadiographyImageStorage),
)
_DESCRIPTIONS = ("CT HEAD", "CT CHEST", "MR KNEE", "MR BRAIN", "XR CHEST", "CT ABDOMEN")
_FIRST_DAY = datetime.date(2015, 1, 1)
_DAYS = 3650


@dataclass(frozen=True, slots=True)
class GeneratedIndex:
    patients: int
    studies: int
    series: int
    instances: int


@dataclass(frozen=True, slots=True)
class SyntheticStudy:
    """The patient and study attributes of study ``index`` of a seed."""

    index: int
    uid_root: str
    patient_id: str
    patient_name: str
    patient_birth_date: datetime.date
    patient_sex: str
    study_instance_uid: str
    study_date: datetime.date
    study_time: datetime.time
    accession_number: str
    study_id: str
    study_description: str
    modality: str
    sop_class_uid: str


def synthetic_study(*, seed: int, index: int) -> SyntheticStudy:
    """Study ``index`` of ``seed``: the same values on every call, machine and run."""
    run = f"{seed:08x}"
    root = f"2.25.{int(run, 16)}"
    # String seeds are hashed with SHA-512 by random.Random: stable across processes.
    patient_rng = random.Random(f"{seed}/patient/{index // 2}")
    study_rng = random.Random(f"{seed}/study/{index}")
    family = "".join(patient_rng.choice(_SYLLABLES) for _ in range(patient_rng.randint(2, 4))).capitalize()
    name = f"{family}^{patient_rng.choice(_GIVEN)}"
    birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=patient_rng.randint(0, 32000))
    modality, sop_class = study_rng.choice(_MODALITIES)
    return SyntheticStudy(
        index=index,
        uid_root=root,
        patient_id=f"SYN{run}-{index // 2:08d}",
        patient_name=name,
        patient_birth_date=birth,
        patient_sex=patient_rng.choice("MF"),
        study_instance_uid=f"{root}.1.{index}",
        study_date=_FIRST_DAY + datetime.timedelta(days=study_rng.randrange(_DAYS)),
        study_time=datetime.time(study_rng.randint(6, 21), study_rng.randrange(60), study_rng.randrange(60)),
        accession_number=f"A{run[:4]}{index:09d}"[:16],
        study_id=str(index % 100000),
        study_description=study_rng.choice(_DESCRIPTIONS),
        modality=modality,
        sop_class_uid=sop_class,
    )


def synthetic_studies(*, seed: int, start: int, count: int) -> Iterator[SyntheticStudy]:
    """Studies ``start`` .. ``start + count - 1`` of ``seed``."""
    for index in range(start, start + count):
        yield synthetic_study(seed=seed, index=index)


def index_generate(
    *,
    studies: int,
    instances_per_study: int = 10,
    series_per_study: int = 3,
    batch_size: int = 1000,
    seed: int | None = None,
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> GeneratedIndex:
    """Insert studies ``start`` .. ``start + studies - 1`` of ``seed``, ``instances_per_study`` each.

    Without ``seed`` a random one is drawn (new UIDs). ``progress`` is called with the
    number of studies written after each batch.
    """
    if studies < 1 or instances_per_study < 1 or series_per_study < 1 or batch_size < 1 or start < 0:
        raise ValueError("counts must be positive")
    series_per_study = min(series_per_study, instances_per_study)
    if seed is None:
        seed = secrets.randbits(32)
    totals = [0, 0, 0, 0]
    done = 0
    while done < studies:
        count = min(batch_size, studies - done)
        rows = list(synthetic_studies(seed=seed, start=start + done, count=count))
        with transaction.atomic():
            written = _batch(rows, instances_per_study, series_per_study)
        totals = [a + b for a, b in zip(totals, written, strict=True)]
        done += count
        if progress is not None:
            progress(done)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Patient, Study, Series, Instance, StorageLocation):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return GeneratedIndex(*totals)


def _patients(rows: list[SyntheticStudy]) -> tuple[dict[str, Patient], int]:
    """The batch's patients by Patient ID: created, or (a pair split by a batch) found."""
    wanted = {row.patient_id: row for row in reversed(rows)}
    found = {p.patient_id: p for p in Patient.objects.filter(patient_id__in=list(wanted))}
    created = [
        Patient(
            patient_id=row.patient_id,
            patient_name=row.patient_name,
            patient_name_search=person_name_search_key(row.patient_name),
            patient_birth_date=row.patient_birth_date,
            patient_sex=row.patient_sex,
        )
        for patient_id, row in wanted.items()
        if patient_id not in found
    ]
    Patient.objects.bulk_create(created)
    return {**found, **{p.patient_id: p for p in created}}, len(created)


def _batch(rows: list[SyntheticStudy], per_study: int, series_per_study: int) -> tuple[int, int, int, int]:
    now = timezone.now()
    patients, new_patients = _patients(rows)
    studies: list[Study] = []
    for row in rows:
        studies.append(
            Study(
                study_instance_uid=row.study_instance_uid,
                patient=patients[row.patient_id],
                study_date=row.study_date,
                study_time=row.study_time,
                accession_number=row.accession_number,
                study_id=row.study_id,
                study_description=row.study_description,
                modalities_in_study=row.modality,
                sop_classes_in_study=row.sop_class_uid,
                number_of_study_related_series=series_per_study,
                number_of_study_related_instances=per_study,
            )
        )
    Study.objects.bulk_create(studies)
    series_rows: list[Series] = []
    for row, study in zip(rows, studies, strict=True):
        for number in range(1, series_per_study + 1):
            series_rows.append(
                Series(
                    series_instance_uid=f"{row.uid_root}.2.{row.index}.{number}",
                    study=study,
                    modality=row.modality,
                    series_number=number,
                    series_description=row.study_description,
                    number_of_series_related_instances=_share(per_study, series_per_study, number),
                )
            )
    Series.objects.bulk_create(series_rows)
    root = rows[0].uid_root
    instances: list[Instance] = []
    for series in series_rows:
        sop_class = series.study.sop_classes_in_study
        for number in range(1, series.number_of_series_related_instances + 1):
            instances.append(
                Instance(
                    sop_instance_uid=f"{root}.3{series.series_instance_uid[len(root) + 2 :]}.{number}",
                    sop_class_uid=sop_class,
                    series=series,
                    instance_number=number,
                    rows=512,
                    columns=512,
                    bits_allocated=16,
                )
            )
    Instance.objects.bulk_create(instances, batch_size=5000)
    StorageLocation.objects.bulk_create(
        (
            StorageLocation(
                instance=instance,
                backend="synthetic",
                key=instance.sop_instance_uid,
                size_bytes=0,
                checksum="",
                transfer_syntax_uid=uids.ExplicitVRLittleEndian,
                received_at=now,
            )
            for instance in instances
        ),
        batch_size=5000,
    )
    per_patient = Counter(study.patient_id for study in studies)
    for patient in patients.values():
        added = per_patient[patient.pk]
        patient.number_of_patient_related_studies += added
        patient.number_of_patient_related_series += added * series_per_study
        patient.number_of_patient_related_instances += added * per_study
    Patient.objects.bulk_update(
        list(patients.values()),
        [
            "number_of_patient_related_studies",
            "number_of_patient_related_series",
            "number_of_patient_related_instances",
        ],
    )
    return new_patients, len(studies), len(series_rows), len(instances)


def _share(total: int, parts: int, number: int) -> int:
    """Instances of series ``number`` (1-based) when ``total`` are spread over ``parts``."""
    return total // parts + (1 if number <= total % parts else 0)
