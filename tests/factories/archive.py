"""factory_boy factories for the archive index (rows only; use tests/builders.py for files)."""

# factory_boy ships py.typed but leaves its declaration constructors (Sequence, SubFactory, ...)
# unannotated; calling them is the whole point of this module.
# mypy: untyped-calls-exclude=factory.declarations

from __future__ import annotations

import datetime

from factory.declarations import LazyAttribute, LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory

from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.person_names import person_name_search_key
from dicomkit.data import uids
from dicomkit.data.uid import generate_uid


class PatientFactory(DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    patient_id = Sequence(lambda n: f"PID{n:05d}")
    patient_name = Sequence(lambda n: f"Doe^John{n}")
    patient_name_search = LazyAttribute(lambda o: person_name_search_key(o.patient_name))
    patient_birth_date = datetime.date(1970, 1, 1)
    patient_sex = "M"


class StudyFactory(DjangoModelFactory[Study]):
    class Meta:
        model = Study

    study_instance_uid = LazyFunction(generate_uid)
    patient = SubFactory(PatientFactory)
    study_date = datetime.date(2024, 1, 2)
    accession_number = Sequence(lambda n: f"ACC{n:05d}")


class SeriesFactory(DjangoModelFactory[Series]):
    class Meta:
        model = Series

    series_instance_uid = LazyFunction(generate_uid)
    study = SubFactory(StudyFactory)
    modality = "CT"
    series_number = Sequence(lambda n: n + 1)


class InstanceFactory(DjangoModelFactory[Instance]):
    class Meta:
        model = Instance

    sop_instance_uid = LazyFunction(generate_uid)
    sop_class_uid = uids.CTImageStorage
    series = SubFactory(SeriesFactory)
    instance_number = Sequence(lambda n: n + 1)


class StorageLocationFactory(DjangoModelFactory[StorageLocation]):
    class Meta:
        model = StorageLocation

    instance = SubFactory(InstanceFactory)
    backend = "local"
    key = LazyAttribute(
        lambda o: (
            f"{o.instance.series.study.study_instance_uid}/{o.instance.series.series_instance_uid}/"
            f"{o.instance.sop_instance_uid}.dcm"
        )
    )
    size_bytes = 0
    checksum = "sha256:" + "0" * 64
    transfer_syntax_uid = uids.ExplicitVRLittleEndian
    received_at = LazyFunction(lambda: datetime.datetime.now(datetime.UTC))
