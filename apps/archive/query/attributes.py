"""The attribute map of the query engine: DICOM key -> index column, per level (PS3.4 C.6).

Each :class:`Attribute` names the entity it belongs to (patient, study, series, instance),
the column of that entity's model holding it, how its values are kept (:class:`ValueKind`)
and its role in the PS3.4 tables: unique (U) or required (R) key at its level (Tables
C.6-1..C.6-4 for the Patient Root model, C.6-5..C.6-7 for the Study Root model, where the
patient attributes are study-level keys), and whether QIDO-RS returns it by default
(PS3.18 Tables 10.6.3-3..-5).

Keys the index does not keep (Patient's Age, Other Patient IDs, ...) have no entry: the
engine returns them zero length (PS3.4 C.4.1.1.3.2 lets an SCP not support optional keys).

Invariants: every entity has exactly one unique key; a column path is relative to the
entity's model; DA/TM pairs name each other (combined date-time matching, C.2.2.2.5.1).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from dicomkit.data import tags
from dicomkit.data.dictionary import keyword_for_tag
from dicomkit.data.tag import Tag

__all__ = [
    "ATTRIBUTES",
    "Attribute",
    "ChildLookup",
    "InformationModel",
    "Level",
    "ValueKind",
    "attribute_at",
    "attributes_of",
    "entity_level",
    "model_levels",
    "path_to",
    "unique_key",
]


class Level(enum.Enum):
    """Query/Retrieve Level (0008,0052) values, and the entities of the index."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"

    @property
    def depth(self) -> int:
        return _DEPTH[self]


_DEPTH: Final = {Level.PATIENT: 0, Level.STUDY: 1, Level.SERIES: 2, Level.IMAGE: 3}


class InformationModel(enum.Enum):
    """The Q/R information models (PS3.4 C.6.1, C.6.2); Patient/Study Only is retired."""

    PATIENT_ROOT = "patient_root"
    STUDY_ROOT = "study_root"


def model_levels(model: InformationModel) -> tuple[Level, ...]:
    """The levels of ``model``, top down."""
    if model is InformationModel.PATIENT_ROOT:
        return (Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE)
    return (Level.STUDY, Level.SERIES, Level.IMAGE)


class ValueKind(enum.Enum):
    """How an attribute is kept in the index, which decides how it is matched."""

    TEXT = "text"  # CharField; single value, wild card, empty value matching
    PERSON_NAME = "person_name"  # CharField plus a search key column (person_names.py)
    UID = "uid"  # CharField; list of UID matching
    DATE = "date"  # DateField; range matching
    TIME = "time"  # TimeField; range matching
    INTEGER = "integer"  # IntegerField; single value matching
    MULTI_TEXT = "multi_text"  # backslash-joined values (Modalities in Study)
    MULTI_UID = "multi_uid"  # backslash-joined UIDs (SOP Classes in Study)
    SEQUENCE = "sequence"  # JSON list of items {keyword: value}; sequence matching


@dataclass(frozen=True, slots=True)
class ChildLookup:
    """A derived study attribute matched through the rows below the study (indexed there)."""

    model: str  # "series" or "instance"
    field: str  # column of that model


@dataclass(frozen=True, slots=True)
class Attribute:
    tag: Tag
    keyword: str
    vr: str
    entity: Level
    column: str
    kind: ValueKind
    unique: bool = False
    required: bool = False
    qido_default: bool = False
    search_column: str | None = None  # PN: the case- and accent-insensitive key
    pair: Tag | None = None  # DA <-> TM partner for combined date-time matching
    child: ChildLookup | None = None  # matched via the rows below (derived study values)
    items: tuple[Attribute, ...] = ()  # SQ: the item keys (column = JSON key)


def _a(
    tag: Tag,
    vr: str,
    entity: Level,
    column: str,
    kind: ValueKind,
    *,
    unique: bool = False,
    required: bool = False,
    qido_default: bool = False,
    search_column: str | None = None,
    pair: Tag | None = None,
    child: ChildLookup | None = None,
    items: tuple[Attribute, ...] = (),
) -> Attribute:
    return Attribute(
        tag,
        keyword_for_tag(tag),
        vr,
        entity,
        column,
        kind,
        unique,
        required,
        qido_default,
        search_column,
        pair,
        child,
        items,
    )


_P, _S, _E, _I = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE
_T = ValueKind

ATTRIBUTES: Final[tuple[Attribute, ...]] = (
    # Patient (Table C.6-1; study level in the Study Root model, Table C.6-5)
    _a(
        tags.PatientName,
        "PN",
        _P,
        "patient_name",
        _T.PERSON_NAME,
        required=True,
        qido_default=True,
        search_column="patient_name_search",
    ),
    _a(tags.PatientID, "LO", _P, "patient_id", _T.TEXT, unique=True, required=True, qido_default=True),
    _a(tags.IssuerOfPatientID, "LO", _P, "issuer_of_patient_id", _T.TEXT),
    _a(tags.PatientBirthDate, "DA", _P, "patient_birth_date", _T.DATE, qido_default=True),
    _a(tags.PatientSex, "CS", _P, "patient_sex", _T.TEXT, qido_default=True),
    _a(tags.NumberOfPatientRelatedStudies, "IS", _P, "number_of_patient_related_studies", _T.INTEGER),
    _a(tags.NumberOfPatientRelatedSeries, "IS", _P, "number_of_patient_related_series", _T.INTEGER),
    _a(tags.NumberOfPatientRelatedInstances, "IS", _P, "number_of_patient_related_instances", _T.INTEGER),
    # Study (Table C.6-2 / C.6-5)
    _a(
        tags.StudyDate,
        "DA",
        _S,
        "study_date",
        _T.DATE,
        required=True,
        qido_default=True,
        pair=tags.StudyTime,
    ),
    _a(
        tags.StudyTime,
        "TM",
        _S,
        "study_time",
        _T.TIME,
        required=True,
        qido_default=True,
        pair=tags.StudyDate,
    ),
    _a(tags.AccessionNumber, "SH", _S, "accession_number", _T.TEXT, required=True, qido_default=True),
    _a(tags.StudyID, "SH", _S, "study_id", _T.TEXT, required=True, qido_default=True),
    _a(
        tags.StudyInstanceUID,
        "UI",
        _S,
        "study_instance_uid",
        _T.UID,
        unique=True,
        required=True,
        qido_default=True,
    ),
    _a(
        tags.ReferringPhysicianName,
        "PN",
        _S,
        "referring_physician_name",
        _T.PERSON_NAME,
        qido_default=True,
        search_column="referring_physician_name_search",
    ),
    _a(tags.StudyDescription, "LO", _S, "study_description", _T.TEXT),
    _a(
        tags.ModalitiesInStudy,
        "CS",
        _S,
        "modalities_in_study",
        _T.MULTI_TEXT,
        qido_default=True,
        child=ChildLookup("series", "modality"),
    ),
    _a(
        tags.SOPClassesInStudy,
        "UI",
        _S,
        "sop_classes_in_study",
        _T.MULTI_UID,
        child=ChildLookup("instance", "sop_class_uid"),
    ),
    _a(
        tags.NumberOfStudyRelatedSeries,
        "IS",
        _S,
        "number_of_study_related_series",
        _T.INTEGER,
        qido_default=True,
    ),
    _a(
        tags.NumberOfStudyRelatedInstances,
        "IS",
        _S,
        "number_of_study_related_instances",
        _T.INTEGER,
        qido_default=True,
    ),
    # Series (Table C.6-3 / C.6-6)
    _a(tags.Modality, "CS", _E, "modality", _T.TEXT, required=True, qido_default=True),
    _a(tags.SeriesNumber, "IS", _E, "series_number", _T.INTEGER, required=True, qido_default=True),
    _a(
        tags.SeriesInstanceUID,
        "UI",
        _E,
        "series_instance_uid",
        _T.UID,
        unique=True,
        required=True,
        qido_default=True,
    ),
    _a(
        tags.NumberOfSeriesRelatedInstances,
        "IS",
        _E,
        "number_of_series_related_instances",
        _T.INTEGER,
        qido_default=True,
    ),
    _a(tags.SeriesDescription, "LO", _E, "series_description", _T.TEXT, qido_default=True),
    _a(tags.BodyPartExamined, "CS", _E, "body_part_examined", _T.TEXT),
    _a(tags.SeriesDate, "DA", _E, "series_date", _T.DATE, pair=tags.SeriesTime),
    _a(tags.SeriesTime, "TM", _E, "series_time", _T.TIME, pair=tags.SeriesDate),
    _a(
        tags.PerformedProcedureStepStartDate,
        "DA",
        _E,
        "performed_procedure_step_start_date",
        _T.DATE,
        qido_default=True,
        pair=tags.PerformedProcedureStepStartTime,
    ),
    _a(
        tags.PerformedProcedureStepStartTime,
        "TM",
        _E,
        "performed_procedure_step_start_time",
        _T.TIME,
        qido_default=True,
        pair=tags.PerformedProcedureStepStartDate,
    ),
    _a(tags.InstitutionName, "LO", _E, "institution_name", _T.TEXT),
    _a(tags.StationName, "SH", _E, "station_name", _T.TEXT),
    _a(
        tags.RequestAttributesSequence,
        "SQ",
        _E,
        "request_attributes",
        _T.SEQUENCE,
        qido_default=True,
        items=(
            _a(tags.RequestedProcedureID, "SH", _E, "RequestedProcedureID", _T.TEXT),
            _a(tags.ScheduledProcedureStepID, "SH", _E, "ScheduledProcedureStepID", _T.TEXT),
        ),
    ),
    # Composite object instance (Table C.6-4 / C.6-7)
    _a(tags.InstanceNumber, "IS", _I, "instance_number", _T.INTEGER, required=True, qido_default=True),
    _a(
        tags.SOPInstanceUID,
        "UI",
        _I,
        "sop_instance_uid",
        _T.UID,
        unique=True,
        required=True,
        qido_default=True,
    ),
    _a(tags.SOPClassUID, "UI", _I, "sop_class_uid", _T.UID, qido_default=True),
    _a(tags.ContentDate, "DA", _I, "content_date", _T.DATE, pair=tags.ContentTime),
    _a(tags.ContentTime, "TM", _I, "content_time", _T.TIME, pair=tags.ContentDate),
    _a(tags.Rows, "US", _I, "rows", _T.INTEGER, qido_default=True),
    _a(tags.Columns, "US", _I, "columns", _T.INTEGER, qido_default=True),
    _a(tags.BitsAllocated, "US", _I, "bits_allocated", _T.INTEGER, qido_default=True),
    _a(tags.NumberOfFrames, "IS", _I, "number_of_frames", _T.INTEGER, qido_default=True),
    _a(tags.AvailableTransferSyntaxUID, "UI", _I, "location__transfer_syntax_uid", _T.UID),
)

_BY_TAG: Final[Mapping[int, Attribute]] = MappingProxyType({a.tag: a for a in ATTRIBUTES})

# Relation from a model to the one above it (Django lookups).
_PARENT: Final = {Level.IMAGE: "series", Level.SERIES: "study", Level.STUDY: "patient"}


def entity_level(attribute: Attribute, model: InformationModel) -> Level:
    """The query level ``attribute`` is a key of in ``model`` (patient keys: study in Study Root)."""
    if attribute.entity is Level.PATIENT and model is InformationModel.STUDY_ROOT:
        return Level.STUDY
    return attribute.entity


def attribute_at(tag: int, *, model: InformationModel) -> tuple[Attribute, Level] | None:
    """The attribute of ``tag`` and its level in ``model``, or None if the index lacks it."""
    attribute = _BY_TAG.get(tag)
    if attribute is None:
        return None
    return attribute, entity_level(attribute, model)


def attributes_of(level: Level, *, model: InformationModel) -> Iterator[Attribute]:
    """The keys of ``level`` in ``model`` (Study Root: the patient keys are study keys)."""
    return (a for a in ATTRIBUTES if entity_level(a, model) is level)


def unique_key(level: Level) -> Attribute:
    """The unique key of a level (PS3.4 C.6.1.1.1): Patient ID, the study/series/SOP Instance UID."""
    return next(a for a in ATTRIBUTES if a.entity is level and a.unique)


def path_to(base: Level, entity: Level) -> str:
    """The Django lookup prefix from the model of ``base`` to the model of ``entity`` above it.

    ``path_to(IMAGE, STUDY) == "series__study__"``; ``path_to(STUDY, STUDY) == ""``.
    """
    if entity.depth > base.depth:
        raise ValueError(f"{entity.value} is below {base.value}")
    parts: list[str] = []
    level = base
    while level is not entity:
        parts.append(_PARENT[level])
        level = _LEVEL_ABOVE[level]
    return "".join(f"{part}__" for part in parts)


_LEVEL_ABOVE: Final = {Level.IMAGE: Level.SERIES, Level.SERIES: Level.STUDY, Level.STUDY: Level.PATIENT}
