"""Matching types of PS3.4 C.2.2.2 per level, over the generated archive.

Every expected set is computed from the generated records in plain Python (oracle.py);
the engine's responses must name exactly those entities.
"""

from __future__ import annotations

import datetime

import pytest
from pytest_django import Settings

from apps.archive.query import InformationModel
from dicomkit.data.dataset import Dataset
from tests.apps.archive.query.conftest import find, values
from tests.apps.archive.query.generated import Archive
from tests.apps.archive.query.oracle import in_range, pn_matches, wildcard

pytestmark = pytest.mark.django_db

PATIENT_ROOT = InformationModel.PATIENT_ROOT


def uids(responses: list[Dataset], keyword: str) -> set[str]:
    found = values(responses, keyword)
    assert len(found) == len(responses), "an entity was returned twice"
    return found


# ------------------------------------------------------------------ universal / single


def test_universal_matching_returns_every_study(archive: Archive) -> None:
    responses = find("STUDY", StudyInstanceUID="", PatientName="", StudyDate="")
    assert uids(responses, "StudyInstanceUID") == {s.uid for s in archive.studies}


def test_universal_matching_returns_every_patient(archive: Archive) -> None:
    responses = find("PATIENT", model=PATIENT_ROOT, PatientID="")
    assert uids(responses, "PatientID") == {p.patient_id for p in archive.patients}


def test_single_value_matching_on_patient_id_at_patient_level(archive: Archive) -> None:
    responses = find("PATIENT", model=PATIENT_ROOT, PatientID="PID0003", PatientName="")
    assert [r.get_str("PatientName") for r in responses] == [archive.patients[3].name]


def test_single_value_matching_on_accession_number_at_study_level(archive: Archive) -> None:
    target = next(s for s in archive.studies if s.accession)
    responses = find("STUDY", AccessionNumber=target.accession, StudyInstanceUID="")
    assert uids(responses, "StudyInstanceUID") == {target.uid}


def test_single_value_matching_is_case_sensitive_for_text(archive: Archive) -> None:
    expected = {s.uid for s in archive.studies if s.description == "head ct"}
    assert uids(find("STUDY", StudyDescription="head ct"), "StudyInstanceUID") == expected
    assert expected.isdisjoint(uids(find("STUDY", StudyDescription="HEAD CT"), "StudyInstanceUID"))


def test_single_value_matching_on_modality_at_series_level(archive: Archive) -> None:
    study = archive.studies[4]
    responses = find("SERIES", StudyInstanceUID=study.uid, Modality="CT", SeriesInstanceUID="")
    assert uids(responses, "SeriesInstanceUID") == {s.uid for s in study.series if s.modality == "CT"}


def test_several_values_match_any_of_them(archive: Archive) -> None:
    responses = find("SERIES", relational=True, Modality=["CR", "SR"], SeriesInstanceUID="")
    expected = {s.uid for s in archive.series if s.modality in ("CR", "SR")}
    assert uids(responses, "SeriesInstanceUID") == expected


def test_single_value_matching_on_instance_number_at_image_level(archive: Archive) -> None:
    series = next(s for s in archive.series if len(s.instances) >= 3)
    responses = find(
        "IMAGE",
        StudyInstanceUID=series.study.uid,
        SeriesInstanceUID=series.uid,
        InstanceNumber="2",
        SOPInstanceUID="",
    )
    assert uids(responses, "SOPInstanceUID") == {series.instances[1].uid}


def test_modalities_in_study_matches_studies_with_a_series_of_any_given_modality(archive: Archive) -> None:
    responses = find("STUDY", ModalitiesInStudy=["CR", "SR"], StudyInstanceUID="")
    expected = {s.uid for s in archive.studies if {x.modality for x in s.series} & {"CR", "SR"}}
    assert uids(responses, "StudyInstanceUID") == expected


# ---------------------------------------------------------------------- list of UID


def test_list_of_uid_matching_at_study_level(archive: Archive) -> None:
    wanted = [archive.studies[i].uid for i in (0, 5, 9)]
    responses = find("STUDY", StudyInstanceUID=[*wanted, "1.2.3.4.5.6.7.8.9"])
    assert uids(responses, "StudyInstanceUID") == set(wanted)


def test_list_of_uid_matching_at_series_level(archive: Archive) -> None:
    study = next(s for s in archive.studies if len(s.series) >= 2)
    wanted = [s.uid for s in study.series[:2]]
    responses = find("SERIES", StudyInstanceUID=study.uid, SeriesInstanceUID=wanted)
    assert uids(responses, "SeriesInstanceUID") == set(wanted)


def test_list_of_uid_matching_at_image_level_relational(archive: Archive) -> None:
    wanted = [archive.instances[i].uid for i in (1, 50, 200)]
    responses = find("IMAGE", relational=True, SOPInstanceUID=wanted)
    assert uids(responses, "SOPInstanceUID") == set(wanted)


def test_sop_classes_in_study_list(archive: Archive) -> None:
    from dicomkit.data import uids as registry

    wanted = [registry.BasicTextSRStorage, registry.MRImageStorage]
    responses = find("STUDY", SOPClassesInStudy=wanted, StudyInstanceUID="")
    expected = {s.uid for s in archive.studies if {i.sop_class for i in s.instances} & set(wanted)}
    assert uids(responses, "StudyInstanceUID") == expected


# ----------------------------------------------------------------------- wild cards


@pytest.mark.parametrize(
    "pattern",
    [
        "doe*",
        "DOE^J*",
        "Do?^J*",
        "*^JIM",
        "mul*",
        "MÜLLER*",
        "muller^jorg",
        "*rud*",
        "Smith*",
        "Smith^*",
        "?",
    ],
)
def test_person_name_wild_cards_ignore_case_and_accents(archive: Archive, pattern: str) -> None:
    responses = find("STUDY", PatientName=pattern, StudyInstanceUID="")
    expected = {s.uid for s in archive.studies if pn_matches(s.patient.name, pattern)}
    assert uids(responses, "StudyInstanceUID") == expected
    assert expected or pattern == "?"


@pytest.mark.parametrize("pattern", ["Doe*", "doe*", "Müller^Jörg", "muller*"])
def test_person_name_matching_can_be_case_sensitive(
    archive: Archive, settings: Settings, pattern: str
) -> None:
    settings.PACS_QUERY_PN_CASE_INSENSITIVE = False
    responses = find("STUDY", PatientName=pattern, StudyInstanceUID="")
    expected = {s.uid for s in archive.studies if pn_matches(s.patient.name, pattern, case_insensitive=False)}
    assert uids(responses, "StudyInstanceUID") == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "Yamada^Tarou=山田^太郎=やまだ^たろう",  # exact, all groups
        "山田*",  # non-ASCII: any component group
        "*=山田^太郎",  # the ideographic group
        "=*=やまだ*",  # the phonetic group
        "やまだ^たろう",  # the alphabetic group of chrJapMulti, the phonetic one of others
        "Hong^Gildong=洪^吉洞=홍^길동",
        "홍*",
        "김희중",
        "김?중",
        "*=王^小*",
        "ﾔﾏﾀﾞ*",
        "yamada*",
    ],
)
def test_multi_byte_person_names(archive: Archive, pattern: str) -> None:
    responses = find("PATIENT", model=PATIENT_ROOT, PatientName=pattern, PatientID="")
    expected = {p.patient_id for p in archive.patients if pn_matches(p.name, pattern)}
    assert expected
    assert uids(responses, "PatientID") == expected


@pytest.mark.parametrize("pattern", ["O_Brien*", "100%*", "CHEST 2_*"])
def test_like_metacharacters_are_literal(archive: Archive, pattern: str) -> None:
    if pattern.startswith("CHEST"):
        responses = find("STUDY", StudyDescription=pattern, StudyInstanceUID="")
        expected = {s.uid for s in archive.studies if wildcard(pattern, s.description)}
    else:
        responses = find("STUDY", PatientName=pattern, StudyInstanceUID="")
        expected = {s.uid for s in archive.studies if pn_matches(s.patient.name, pattern)}
    assert expected
    assert uids(responses, "StudyInstanceUID") == expected


def test_wild_card_on_text_is_case_sensitive(archive: Archive) -> None:
    responses = find("SERIES", relational=True, SeriesDescription="*HEAD*", SeriesInstanceUID="")
    expected = {s.uid for s in archive.series if wildcard("*HEAD*", s.description)}
    assert uids(responses, "SeriesInstanceUID") == expected


def test_referring_physician_wild_card(archive: Archive) -> None:
    responses = find("STUDY", ReferringPhysicianName="house*", StudyInstanceUID="")
    expected = {s.uid for s in archive.studies if pn_matches(s.referring, "house*")}
    assert len(expected) > 1
    assert uids(responses, "StudyInstanceUID") == expected


def test_a_lone_asterisk_is_universal(archive: Archive) -> None:
    responses = find("STUDY", PatientName="*", StudyInstanceUID="")
    assert len(responses) == len(archive.studies)


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("20240101-20240105", datetime.date(2024, 1, 1), datetime.date(2024, 1, 5)),
        ("20240103", datetime.date(2024, 1, 3), datetime.date(2024, 1, 3)),
        ("20240108-", datetime.date(2024, 1, 8), None),
        ("-20231230", None, datetime.date(2023, 12, 30)),
    ],
)
def test_study_date_ranges(
    archive: Archive, text: str, low: datetime.date | None, high: datetime.date | None
) -> None:
    responses = find("STUDY", StudyDate=text, StudyInstanceUID="")
    expected = {s.uid for s in archive.studies if in_range(s.date, low, high)}
    assert expected
    assert uids(responses, "StudyInstanceUID") == expected


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("0800-1200", datetime.time(8), datetime.time(12, 0, 59, 999999)),
        ("1800-", datetime.time(18), None),
        ("-0630", None, datetime.time(6, 30, 59, 999999)),
        ("10", datetime.time(10), datetime.time(10, 59, 59, 999999)),
    ],
)
def test_study_time_ranges(
    archive: Archive, text: str, low: datetime.time | None, high: datetime.time | None
) -> None:
    responses = find("STUDY", StudyTime=text, StudyInstanceUID="")
    expected = {s.uid for s in archive.studies if in_range(s.time, low, high)}
    assert expected
    assert uids(responses, "StudyInstanceUID") == expected


def test_birth_date_range_at_patient_level(archive: Archive) -> None:
    responses = find("PATIENT", model=PATIENT_ROOT, PatientBirthDate="19500101-19601231", PatientID="")
    low, high = datetime.date(1950, 1, 1), datetime.date(1960, 12, 31)
    expected = {p.patient_id for p in archive.patients if in_range(p.birth_date, low, high)}
    assert uids(responses, "PatientID") == expected


def test_date_and_time_are_independent_without_combined_matching(archive: Archive) -> None:
    responses = find("STUDY", StudyDate="20240101-20240103", StudyTime="1000-1400", StudyInstanceUID="")
    expected = {
        s.uid
        for s in archive.studies
        if in_range(s.date, datetime.date(2024, 1, 1), datetime.date(2024, 1, 3))
        and in_range(s.time, datetime.time(10), datetime.time(14, 0, 59, 999999))
    }
    assert uids(responses, "StudyInstanceUID") == expected


def test_combined_date_time_matching_spans_the_days(archive: Archive) -> None:
    responses = find(
        "STUDY", combined=True, StudyDate="20240101-20240103", StudyTime="1000-1400", StudyInstanceUID=""
    )
    low, high = datetime.datetime(2024, 1, 1, 10), datetime.datetime(2024, 1, 3, 14, 0, 59, 999999)

    def matches(date: datetime.date | None, time: datetime.time | None) -> bool:
        if date is None:
            return False
        if time is None:  # documented: a study without a time counts as the whole day
            return low.date() <= date <= high.date()
        return low <= datetime.datetime.combine(date, time) <= high

    expected = {s.uid for s in archive.studies if matches(s.date, s.time)}
    independent = {
        s.uid
        for s in archive.studies
        if in_range(s.date, low.date(), high.date()) and in_range(s.time, datetime.time(10), high.time())
    }
    assert expected != independent  # the data tells the two apart
    assert uids(responses, "StudyInstanceUID") == expected


def test_combined_matching_with_an_open_range(archive: Archive) -> None:
    responses = find("STUDY", combined=True, StudyDate="20240108-", StudyTime="1200-", StudyInstanceUID="")
    low = datetime.datetime(2024, 1, 8, 12)
    expected = {
        s.uid
        for s in archive.studies
        if s.date is not None
        and (s.date > low.date() or (s.date == low.date() and (s.time is None or s.time >= low.time())))
    }
    assert uids(responses, "StudyInstanceUID") == expected


# ------------------------------------------------------------------- empty / sequence


def test_empty_value_matching_on_text(archive: Archive) -> None:
    responses = find("STUDY", StudyDescription='""', StudyInstanceUID="")
    expected = {s.uid for s in archive.studies if s.description == ""}
    assert expected
    assert uids(responses, "StudyInstanceUID") == expected


def test_empty_value_matching_on_dates_and_names(archive: Archive) -> None:
    dates = find("STUDY", StudyDate='""', StudyInstanceUID="")
    assert uids(dates, "StudyInstanceUID") == {s.uid for s in archive.studies if s.date is None}
    names = find("STUDY", ReferringPhysicianName='""', StudyInstanceUID="")
    assert uids(names, "StudyInstanceUID") == {s.uid for s in archive.studies if s.referring == ""}


def _item(**keys: str) -> Dataset:
    item = Dataset()
    for keyword, value in keys.items():
        item.set(keyword, value)
    return item


def test_sequence_matching_finds_the_series_with_a_matching_item(archive: Archive) -> None:
    target = next(s for s in archive.series if s.request_items)
    procedure = target.request_items[0]["RequestedProcedureID"]
    responses = find(
        "SERIES",
        relational=True,
        SeriesInstanceUID="",
        RequestAttributesSequence=[_item(RequestedProcedureID=procedure, ScheduledProcedureStepID="")],
    )
    assert uids(responses, "SeriesInstanceUID") == {target.uid}
    items = responses[0].get_sequence("RequestAttributesSequence")
    assert [i.get_str("RequestedProcedureID") for i in items] == [
        x["RequestedProcedureID"] for x in target.request_items
    ]


def test_sequence_matching_needs_one_item_to_match_every_key(archive: Archive) -> None:
    target = next(s for s in archive.series if s.request_items)
    first, second = target.request_items
    both = [_item(RequestedProcedureID=second["RequestedProcedureID"], ScheduledProcedureStepID='""')]
    mixed = [
        _item(
            RequestedProcedureID=second["RequestedProcedureID"],
            ScheduledProcedureStepID=first["ScheduledProcedureStepID"],
        )
    ]
    assert uids(find("SERIES", relational=True, RequestAttributesSequence=both), "SeriesInstanceUID") == {
        target.uid
    }
    assert find("SERIES", relational=True, RequestAttributesSequence=mixed) == []


def test_sequence_wild_card_matching(archive: Archive) -> None:
    responses = find(
        "SERIES",
        relational=True,
        SeriesInstanceUID="",
        RequestAttributesSequence=[_item(ScheduledProcedureStepID="SPS*")],
    )
    expected = {
        s.uid
        for s in archive.series
        if any(wildcard("SPS*", i["ScheduledProcedureStepID"]) for i in s.request_items)
    }
    assert expected
    assert uids(responses, "SeriesInstanceUID") == expected


def test_sequence_with_only_universal_keys_matches_everything(archive: Archive) -> None:
    responses = find("SERIES", relational=True, RequestAttributesSequence=[_item(RequestedProcedureID="")])
    assert len(responses) == len(archive.series)


# ------------------------------------------------------------------------- relational


def test_relational_series_query_on_patient_and_study_keys(archive: Archive) -> None:
    responses = find(
        "SERIES",
        relational=True,
        PatientName="doe*",
        StudyDate="20240101-",
        Modality="CT",
        SeriesInstanceUID="",
    )
    expected = {
        s.uid
        for s in archive.series
        if pn_matches(s.study.patient.name, "doe*")
        and in_range(s.study.date, datetime.date(2024, 1, 1), None)
        and s.modality == "CT"
    }
    assert expected
    assert uids(responses, "SeriesInstanceUID") == expected


def test_relational_image_query_in_the_patient_root_model(archive: Archive) -> None:
    responses = find(
        "IMAGE", model=PATIENT_ROOT, relational=True, PatientID="PID0002", SOPInstanceUID="", Rows="512"
    )
    expected = {
        i.uid for i in archive.instances if i.series.study.patient.patient_id == "PID0002" and i.rows == 512
    }
    assert uids(responses, "SOPInstanceUID") == expected


def test_hierarchical_query_ignores_keys_of_levels_above(archive: Archive) -> None:
    study = next(s for s in archive.studies if len(s.series) > 1)
    responses = find("SERIES", StudyInstanceUID=study.uid, PatientName="nobody*", SeriesInstanceUID="")
    assert uids(responses, "SeriesInstanceUID") == {s.uid for s in study.series}
    assert values(responses, "PatientName") == {study.patient.name}


def test_hierarchical_patient_root_study_level_under_one_patient(archive: Archive) -> None:
    patient = archive.patients[5]
    responses = find("STUDY", model=PATIENT_ROOT, PatientID=patient.patient_id, StudyInstanceUID="")
    assert uids(responses, "StudyInstanceUID") == {s.uid for s in patient.studies}
