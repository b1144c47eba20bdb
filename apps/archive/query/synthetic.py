"""A synthetic index for query benchmarks (``manage.py generate_index``): rows only, no files.

Inserts patients, studies, series, instances and their storage locations directly into the
index in batches (``bulk_create``), with realistic spreads for the selective keys: about
two studies per patient, generated family names (prefix queries select a small share),
study dates over ten years, unique Patient IDs and Accession Numbers. UIDs carry a run
token, so several runs add up instead of colliding. On PostgreSQL the tables are ANALYZEd
at the end so the planner sees the new sizes. Locations point at backend ``synthetic``:
nothing can be retrieved from them (``verify_storage`` reports them as missing files).
"""

from __future__ import annotations

import datetime
import random
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.person_names import person_name_search_key
from dicomkit.data import uids

__all__ = ["GeneratedIndex", "index_generate"]

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


def index_generate(
    *,
    studies: int,
    instances_per_study: int = 10,
    series_per_study: int = 3,
    batch_size: int = 1000,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> GeneratedIndex:
    """Insert ``studies`` studies with ``instances_per_study`` instances each.

    ``progress`` is called with the number of studies written after each batch.
    """
    if studies < 1 or instances_per_study < 1 or series_per_study < 1 or batch_size < 1:
        raise ValueError("counts must be positive")
    series_per_study = min(series_per_study, instances_per_study)
    rng = random.Random(seed)
    run = secrets.token_hex(4) if seed is None else f"{seed:08x}"
    run_number = int(run, 16)
    totals = [0, 0, 0, 0]
    done = 0
    while done < studies:
        count = min(batch_size, studies - done)
        with transaction.atomic():
            written = _batch(rng, run, run_number, done, count, instances_per_study, series_per_study)
        totals = [a + b for a, b in zip(totals, written, strict=True)]
        done += count
        if progress is not None:
            progress(done)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Patient, Study, Series, Instance, StorageLocation):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return GeneratedIndex(*totals)


def _name(rng: random.Random) -> str:
    family = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
    return f"{family}^{rng.choice(_GIVEN)}"


def _batch(
    rng: random.Random,
    run: str,
    run_number: int,
    first: int,
    count: int,
    per_study: int,
    series_per_study: int,
) -> tuple[int, int, int, int]:
    now = timezone.now()
    root = f"2.25.{run_number}"
    patients: list[Patient] = []
    for index in range(first, first + count, 2):
        name = _name(rng)
        patients.append(
            Patient(
                patient_id=f"SYN{run}-{index // 2:08d}",
                patient_name=name,
                patient_name_search=person_name_search_key(name),
                patient_birth_date=datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randint(0, 32000)),
                patient_sex=rng.choice("MF"),
            )
        )
    Patient.objects.bulk_create(patients)
    studies: list[Study] = []
    for index in range(first, first + count):
        patient = patients[(index - first) // 2]
        modality, sop_class = rng.choice(_MODALITIES)
        studies.append(
            Study(
                study_instance_uid=f"{root}.1.{index}",
                patient=patient,
                study_date=_FIRST_DAY + datetime.timedelta(days=rng.randrange(_DAYS)),
                study_time=datetime.time(rng.randint(6, 21), rng.randrange(60), rng.randrange(60)),
                accession_number=f"A{run[:4]}{index:09d}"[:16],
                study_id=str(index % 100000),
                study_description=rng.choice(_DESCRIPTIONS),
                modalities_in_study=modality,
                sop_classes_in_study=sop_class,
                number_of_study_related_series=series_per_study,
                number_of_study_related_instances=per_study,
            )
        )
    Study.objects.bulk_create(studies)
    series_rows: list[Series] = []
    for index, study in enumerate(studies, start=first):
        modality = study.modalities_in_study
        for number in range(1, series_per_study + 1):
            series_rows.append(
                Series(
                    series_instance_uid=f"{root}.2.{index}.{number}",
                    study=study,
                    modality=modality,
                    series_number=number,
                    series_description=study.study_description,
                    number_of_series_related_instances=_share(per_study, series_per_study, number),
                )
            )
    Series.objects.bulk_create(series_rows)
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
                checksum_sha256="",
                transfer_syntax_uid=uids.ExplicitVRLittleEndian,
                received_at=now,
            )
            for instance in instances
        ),
        batch_size=5000,
    )
    per_patient = Counter(study.patient_id for study in studies)
    for patient in patients:
        patient.number_of_patient_related_studies = per_patient[patient.pk]
        patient.number_of_patient_related_series = per_patient[patient.pk] * series_per_study
        patient.number_of_patient_related_instances = per_patient[patient.pk] * per_study
    Patient.objects.bulk_update(
        patients,
        [
            "number_of_patient_related_studies",
            "number_of_patient_related_series",
            "number_of_patient_related_instances",
        ],
    )
    return len(patients), len(studies), len(series_rows), len(instances)


def _share(total: int, parts: int, number: int) -> int:
    """Instances of series ``number`` (1-based) when ``total`` are spread over ``parts``."""
    return total // parts + (1 if number <= total % parts else 0)
