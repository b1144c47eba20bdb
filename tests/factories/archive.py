"""factory_boy factories for the archive index (rows only; use tests/builders.py for files)."""

from __future__ import annotations

import datetime

import factory
from factory.django import DjangoModelFactory

from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.person_names import person_name_search_key
from dicomkit.data import uids
from dicomkit.data.uid import generate_uid


class PatientFactory(DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    patient_id = factory.Sequence(lambda n: f"PID{n:05d}")
    patient_name = factory.Sequence(lambda n: f"Doe^John{n}")
    patient_name_search = factory.LazyAttribute(lambda o: person_name_search_key(o.patient_name))
    patient_birth_date = datetime.date(1970, 1, 1)
    patient_sex = "M"


class StudyFactory(DjangoModelFactory[Study]):
    class Meta:
        model = Study

    study_instance_uid = factory.LazyFunction(generate_uid)
    patient = factory.SubFactory(PatientFactory)
    study_date = datetime.date(2024, 1, 2)
    accession_number = factory.Sequence(lambda n: f"ACC{n:05d}")


class SeriesFactory(DjangoModelFactory[Series]):
    class Meta:
        model = Series

    series_instance_uid = factory.LazyFunction(generate_uid)
    study = factory.SubFactory(StudyFactory)
    modality = "CT"
    series_number = factory.Sequence(lambda n: n + 1)


class InstanceFactory(DjangoModelFactory[Instance]):
    class Meta:
        model = Instance

    sop_instance_uid = factory.LazyFunction(generate_uid)
    sop_class_uid = uids.CTImageStorage
    series = factory.SubFactory(SeriesFactory)
    instance_number = factory.Sequence(lambda n: n + 1)


class StorageLocationFactory(DjangoModelFactory[StorageLocation]):
    class Meta:
        model = StorageLocation

    instance = factory.SubFactory(InstanceFactory)
    backend = "local"
    key = factory.LazyAttribute(
        lambda o: (
            f"{o.instance.series.study.study_instance_uid}/{o.instance.series.series_instance_uid}/"
            f"{o.instance.sop_instance_uid}.dcm"
        )
    )
    size_bytes = 0
    checksum_sha256 = "0" * 64
    transfer_syntax_uid = uids.ExplicitVRLittleEndian
    received_at = factory.LazyFunction(lambda: datetime.datetime.now(datetime.UTC))
