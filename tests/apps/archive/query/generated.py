"""A generated archive with known contents: source records, and their rows in the index.

The records are the source of truth the tests compute expected answers from (in plain
Python, :mod:`tests.apps.archive.query.oracle`); :func:`archive_insert` writes the same data
into the index directly, as ingest would have (search keys, derived counts, character set).
Names include mixed case, Latin accents, LIKE metacharacters and the Japanese, Korean and
Chinese names of pydicom's character set test files, with their Specific Character Set.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

import pydicom
from pydicom.data import get_charset_files

from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.person_names import person_name_search_key
from dicomkit.data import uids

# (file, name as pydicom reads it, Specific Character Set as stored)
CHARSET_FILES = ("chrH31", "chrH32", "chrX1", "chrX2", "chrI2", "chrKoreanMulti", "chrJapMulti")


def pydicom_names() -> list[tuple[str, str]]:
    """(name, Specific Character Set) of pydicom's multi-byte test files, read by pydicom."""
    out = []
    for stem in CHARSET_FILES:
        dataset = pydicom.dcmread(get_charset_files(f"{stem}.dcm")[0])
        charset = dataset.SpecificCharacterSet
        terms = list(charset) if isinstance(charset, pydicom.multival.MultiValue) else [charset]
        out.append((str(dataset.PatientName), "\\".join(terms)))
    return out


LATIN_NAMES = (
    ("Doe^John", ""),
    ("DOE^Jane", ""),
    ("doe^jim", ""),
    ("Doeman^Max", ""),
    ("Müller^Jörg", "ISO_IR 100"),
    ("Mueller^Hans", ""),
    ("Buc^Jérôme", "ISO_IR 100"),
    ("Äneas^Rüdiger", "ISO_IR 100"),
    ("O_Brien^Pat", ""),
    ("OXBrien^Pat", ""),
    ("100%^Sure", ""),
    ("Smith^Anna", ""),
    ("Smithson^Bob", ""),
    ("", ""),
)
DESCRIPTIONS = ("CT HEAD", "MR KNEE", "head ct", "CHEST 2_VIEWS", "CHEST 2XVIEWS", "")
MODALITIES = ("CT", "MR", "CR", "SR")
SOP_CLASSES = {
    "CT": uids.CTImageStorage,
    "MR": uids.MRImageStorage,
    "CR": uids.ComputedRadiographyImageStorage,
    "SR": uids.BasicTextSRStorage,
}
REFERRING = ("Hippocrates^Doc", "House^Gregory", "house^greg", "")
BASE_DATE = datetime.date(2023, 12, 28)


@dataclass
class PatientRec:
    patient_id: str
    name: str
    charset: str
    birth_date: datetime.date | None
    sex: str
    studies: list[StudyRec] = field(default_factory=list)


@dataclass
class StudyRec:
    uid: str
    patient: PatientRec
    date: datetime.date | None
    time: datetime.time | None
    accession: str
    study_id: str
    description: str
    referring: str
    series: list[SeriesRec] = field(default_factory=list)

    @property
    def instances(self) -> list[InstanceRec]:
        return [i for s in self.series for i in s.instances]


@dataclass
class SeriesRec:
    uid: str
    study: StudyRec
    modality: str
    number: int | None
    description: str
    request_items: list[dict[str, str]]
    instances: list[InstanceRec] = field(default_factory=list)


@dataclass
class InstanceRec:
    uid: str
    series: SeriesRec
    sop_class: str
    number: int | None
    rows: int | None


@dataclass
class Archive:
    patients: list[PatientRec]

    @property
    def studies(self) -> list[StudyRec]:
        return [s for p in self.patients for s in p.studies]

    @property
    def series(self) -> list[SeriesRec]:
        return [s for st in self.studies for s in st.series]

    @property
    def instances(self) -> list[InstanceRec]:
        return [i for s in self.series for i in s.instances]


def archive_generate(seed: int = 5) -> Archive:
    """Records of about 40 patients, 80 studies, 160 series and 400 instances."""
    rng = random.Random(seed)
    names = list(LATIN_NAMES) + pydicom_names()
    patients: list[PatientRec] = []
    counter = iter(range(1, 1_000_000))
    for index, (name, charset) in enumerate(names * 2):
        birth = None if index % 7 == 0 else datetime.date(1940 + index, 1 + index % 12, 1 + index % 28)
        patient = PatientRec(f"PID{index:04d}", name, charset, birth, "MF"[index % 2])
        patients.append(patient)
        for _ in range(rng.randint(1, 3)):
            patient.studies.append(_study(rng, patient, next(counter)))
    return Archive(patients)


def _uid(kind: int, number: int) -> str:
    return f"1.2.826.0.1.3680043.10.543.{kind}.{number}"


def _study(rng: random.Random, patient: PatientRec, number: int) -> StudyRec:
    date = None if number % 11 == 0 else BASE_DATE + datetime.timedelta(days=rng.randint(0, 14))
    time = None if number % 13 == 0 else datetime.time(rng.randint(0, 23), rng.choice((0, 15, 30, 45)))
    study = StudyRec(
        uid=_uid(1, number),
        patient=patient,
        date=date,
        time=time,
        accession="" if number % 9 == 0 else f"ACC{number:05d}",
        study_id=f"S{number}",
        description=rng.choice(DESCRIPTIONS),
        referring=rng.choice(REFERRING),
    )
    for series_index in range(rng.randint(1, 3)):
        series_number = number * 10 + series_index
        modality = rng.choice(MODALITIES)
        items = (
            [
                {"RequestedProcedureID": f"RP{number}", "ScheduledProcedureStepID": f"SPS{series_number}"},
                {"RequestedProcedureID": f"RP{number}B", "ScheduledProcedureStepID": ""},
            ]
            if series_index == 0 and number % 3 == 0
            else []
        )
        series = SeriesRec(
            uid=_uid(2, series_number),
            study=study,
            modality=modality,
            number=None if series_index == 2 else series_index + 1,
            description=rng.choice(DESCRIPTIONS),
            request_items=items,
        )
        study.series.append(series)
        for instance_index in range(rng.randint(1, 4)):
            series.instances.append(
                InstanceRec(
                    uid=_uid(3, series_number * 10 + instance_index),
                    series=series,
                    sop_class=SOP_CLASSES[modality],
                    number=instance_index + 1,
                    rows=None if modality == "SR" else 512,
                )
            )
    return study


def archive_insert(archive: Archive) -> None:
    """Write the records into the index (committed by the caller's DB access)."""
    for patient in archive.patients:
        studies = patient.studies
        row = Patient.objects.create(
            patient_id=patient.patient_id,
            patient_name=patient.name,
            patient_name_search=person_name_search_key(patient.name),
            patient_birth_date=patient.birth_date,
            patient_sex=patient.sex,
            number_of_patient_related_studies=len(studies),
            number_of_patient_related_series=sum(len(s.series) for s in studies),
            number_of_patient_related_instances=sum(len(s.instances) for s in studies),
        )
        for study in studies:
            _insert_study(row, study)


def _insert_study(patient: Patient, study: StudyRec) -> None:
    study_row = Study.objects.create(
        study_instance_uid=study.uid,
        patient=patient,
        study_date=study.date,
        study_time=study.time,
        accession_number=study.accession,
        study_id=study.study_id,
        study_description=study.description,
        referring_physician_name=study.referring,
        referring_physician_name_search=person_name_search_key(study.referring),
        specific_character_set=study.patient.charset,
        modalities_in_study="\\".join(sorted({s.modality for s in study.series})),
        sop_classes_in_study="\\".join(sorted({i.sop_class for i in study.instances})),
        number_of_study_related_series=len(study.series),
        number_of_study_related_instances=len(study.instances),
    )
    for series in study.series:
        series_row = Series.objects.create(
            series_instance_uid=series.uid,
            study=study_row,
            modality=series.modality,
            series_number=series.number,
            series_description=series.description,
            request_attributes=series.request_items,
            number_of_series_related_instances=len(series.instances),
        )
        rows = Instance.objects.bulk_create(
            Instance(
                sop_instance_uid=i.uid,
                sop_class_uid=i.sop_class,
                series=series_row,
                instance_number=i.number,
                rows=i.rows,
            )
            for i in series.instances
        )
        StorageLocation.objects.bulk_create(
            StorageLocation(
                instance=row,
                backend="local",
                key=f"{row.sop_instance_uid}.dcm",
                size_bytes=1,
                checksum="sha256:" + "0" * 64,
                transfer_syntax_uid=uids.ExplicitVRLittleEndian,
                received_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
            )
            for row in rows
        )
