"""The attributes the index keeps, taken from a parsed data set (PS3.4 C.6 keys, PS3.18 10.6).

Values are the decoded Unicode text (any Specific Character Set); what cannot be decoded
or parsed (a malformed date, an undecodable name) is indexed as empty rather than refusing
the instance: the file is stored as received and the index is a view of it. Only the
UIDs the archive cannot work without are checked here, by ``services.ingest``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.tag import Tag
from dicomkit.errors import DicomError

__all__ = ["InstanceHeader", "PatientDemographics", "header_from_dataset", "uid_value"]


@dataclass(frozen=True, slots=True)
class PatientDemographics:
    patient_id: str = ""
    issuer_of_patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: datetime.date | None = None
    patient_sex: str = ""


@dataclass(frozen=True, slots=True)
class InstanceHeader:
    """What the index needs from one instance; ``study``/``series``/``instance`` are model fields."""

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    patient: PatientDemographics
    study: dict[str, object]
    series: dict[str, object]
    instance: dict[str, object]


def uid_value(dataset: Dataset, tag: Tag) -> str | None:
    """A UI value without padding; None when absent, '' when empty or undecodable."""
    if tag not in dataset:
        return None
    try:
        value = dataset.get_str(tag, "")
    except (DicomError, ValueError, TypeError):
        return ""
    return value.strip("\x00 ")


def _text(dataset: Dataset, tag: Tag, max_length: int) -> str:
    try:
        value = dataset.get_str(tag)
    except (DicomError, ValueError, TypeError):
        return ""
    return (value or "").strip("\x00 ")[:max_length]


def _date(dataset: Dataset, tag: Tag) -> datetime.date | None:
    try:
        return dataset.get_date(tag)
    except (DicomError, ValueError, TypeError):
        return None


def _time(dataset: Dataset, tag: Tag) -> datetime.time | None:
    try:
        return dataset.get_time(tag)
    except (DicomError, ValueError, TypeError):
        return None


def _int(dataset: Dataset, tag: Tag, *, minimum: int | None = None) -> int | None:
    try:
        value = dataset.get_int(tag)
    except (DicomError, ValueError, TypeError, OverflowError):
        return None
    if value is None or not -(2**31) <= value < 2**31 or (minimum is not None and value < minimum):
        return None
    return value


def _charset_terms(dataset: Dataset) -> str:
    """Specific Character Set (0008,0005) as stored, values joined by a backslash."""
    try:
        return "\\".join(value.strip("\x00 ") for value in dataset.get_strs(tags.SpecificCharacterSet))[:256]
    except (DicomError, ValueError, TypeError):
        return ""


# Request Attributes Sequence items keep these keys (PS3.4 Table C.6-6, series level).
_REQUEST_ATTRIBUTE_KEYS = (
    ("RequestedProcedureID", tags.RequestedProcedureID),
    ("ScheduledProcedureStepID", tags.ScheduledProcedureStepID),
)


def _request_attributes(dataset: Dataset) -> list[dict[str, str]]:
    try:
        items = dataset.get_sequence(tags.RequestAttributesSequence)
    except (DicomError, ValueError, TypeError):
        return []
    return [{keyword: _text(item, tag, 16) for keyword, tag in _REQUEST_ATTRIBUTE_KEYS} for item in items]


def header_from_dataset(dataset: Dataset) -> InstanceHeader:
    """The index attributes of ``dataset`` (the UIDs as found: '' when absent or empty)."""
    patient = PatientDemographics(
        patient_id=_text(dataset, tags.PatientID, 64),
        issuer_of_patient_id=_text(dataset, tags.IssuerOfPatientID, 64),
        patient_name=_text(dataset, tags.PatientName, 400),
        patient_birth_date=_date(dataset, tags.PatientBirthDate),
        patient_sex=_text(dataset, tags.PatientSex, 16),
    )
    study: dict[str, object] = {
        "study_date": _date(dataset, tags.StudyDate),
        "study_time": _time(dataset, tags.StudyTime),
        "accession_number": _text(dataset, tags.AccessionNumber, 16),
        "study_id": _text(dataset, tags.StudyID, 16),
        "study_description": _text(dataset, tags.StudyDescription, 64),
        "referring_physician_name": _text(dataset, tags.ReferringPhysicianName, 400),
        "specific_character_set": _charset_terms(dataset),
    }
    series: dict[str, object] = {
        "modality": _text(dataset, tags.Modality, 16),
        "series_number": _int(dataset, tags.SeriesNumber),
        "series_description": _text(dataset, tags.SeriesDescription, 64),
        "body_part_examined": _text(dataset, tags.BodyPartExamined, 16),
        "series_date": _date(dataset, tags.SeriesDate),
        "series_time": _time(dataset, tags.SeriesTime),
        "performed_procedure_step_start_date": _date(dataset, tags.PerformedProcedureStepStartDate),
        "performed_procedure_step_start_time": _time(dataset, tags.PerformedProcedureStepStartTime),
        "institution_name": _text(dataset, tags.InstitutionName, 64),
        "station_name": _text(dataset, tags.StationName, 16),
        "request_attributes": _request_attributes(dataset),
    }
    instance: dict[str, object] = {
        "instance_number": _int(dataset, tags.InstanceNumber),
        "content_date": _date(dataset, tags.ContentDate),
        "content_time": _time(dataset, tags.ContentTime),
        "rows": _int(dataset, tags.Rows, minimum=0),
        "columns": _int(dataset, tags.Columns, minimum=0),
        "bits_allocated": _int(dataset, tags.BitsAllocated, minimum=0),
        "number_of_frames": _int(dataset, tags.NumberOfFrames, minimum=0),
    }
    return InstanceHeader(
        sop_class_uid=uid_value(dataset, tags.SOPClassUID) or "",
        sop_instance_uid=uid_value(dataset, tags.SOPInstanceUID) or "",
        study_instance_uid=uid_value(dataset, tags.StudyInstanceUID) or "",
        series_instance_uid=uid_value(dataset, tags.SeriesInstanceUID) or "",
        patient=patient,
        study=study,
        series=series,
        instance=instance,
    )
