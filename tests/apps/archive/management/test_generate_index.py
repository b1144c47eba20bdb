"""``manage.py generate_index``: synthetic rows with consistent counts, found by the query engine."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from apps.archive.models import Instance, Patient, Series, StorageLocation, Study
from apps.archive.query import InformationModel, query_execute, query_from_identifier
from dicomkit.data.dataset import Dataset

pytestmark = pytest.mark.django_db


def test_generate_index_inserts_consistent_rows() -> None:
    out = io.StringIO()
    call_command(
        "generate_index", "--studies", "25", "--instances-per-study", "4", "--batch-size", "10", stdout=out
    )
    assert "added 13 patients, 25 studies, 75 series, 100 instances" in out.getvalue()
    assert (Patient.objects.count(), Study.objects.count(), Series.objects.count()) == (13, 25, 75)
    assert Instance.objects.count() == StorageLocation.objects.count() == 100
    for study in Study.objects.all():
        assert study.number_of_study_related_instances == Instance.objects.filter(series__study=study).count()
    for patient in Patient.objects.all():
        assert patient.number_of_patient_related_studies == patient.studies.count()


def test_two_runs_add_up_and_are_queryable() -> None:
    call_command("generate_index", "--studies", "3", stdout=io.StringIO())
    call_command("generate_index", "--studies", "3", stdout=io.StringIO())
    identifier = Dataset()
    identifier.set("QueryRetrieveLevel", "STUDY", "CS")
    identifier.set("StudyInstanceUID", "", "UI")
    identifier.set("NumberOfStudyRelatedInstances", "", "IS")
    query = query_from_identifier(identifier=identifier, model=InformationModel.STUDY_ROOT)
    responses = list(query_execute(query=query))
    assert len(responses) == 6
    assert {r.get_int("NumberOfStudyRelatedInstances") for r in responses} == {10}


def test_a_seeded_index_grown_in_steps_equals_one_run() -> None:
    call_command(
        "generate_index", "--studies", "5", "--seed", "11", "--batch-size", "2", stdout=io.StringIO()
    )
    call_command("generate_index", "--studies", "4", "--seed", "11", "--start", "5", stdout=io.StringIO())
    grown = sorted(
        Study.objects.values_list("study_instance_uid", "patient__patient_name", "accession_number")
    )
    patients = dict(Patient.objects.values_list("patient_id", "number_of_patient_related_studies"))
    Patient.objects.all().delete()
    call_command("generate_index", "--studies", "9", "--seed", "11", stdout=io.StringIO())
    once = sorted(
        Study.objects.values_list("study_instance_uid", "patient__patient_name", "accession_number")
    )
    assert grown == once
    assert patients == dict(Patient.objects.values_list("patient_id", "number_of_patient_related_studies"))
    assert sorted(patients.values()) == [1, 2, 2, 2, 2]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--studies", "0"], "positive"),
        (["--studies", "2", "--batch-size", "0"], "positive"),
        (["--studies", "2", "--seed", "7"], "already in the index"),  # the same seeded run twice
    ],
)
def test_what_cannot_be_generated_is_a_command_error_not_a_traceback(args: list[str], message: str) -> None:
    call_command("generate_index", "--studies", "2", "--seed", "7", stdout=io.StringIO())
    with pytest.raises(CommandError, match=message):
        call_command("generate_index", *args, stdout=io.StringIO())


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, as an interactive stderr does."""

    def isatty(self) -> bool:
        return True


def test_progress_is_not_written_to_a_stdout_or_stderr_that_is_no_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_index", "--studies", "4", "--batch-size", "2", stdout=out, stderr=err)
    assert out.getvalue().startswith("added 2 patients, 4 studies")
    assert "\r" not in out.getvalue()
    assert err.getvalue() == ""


def test_progress_is_drawn_on_stderr_when_it_is_a_terminal() -> None:
    out, err = io.StringIO(), _Terminal()
    call_command("generate_index", "--studies", "4", "--batch-size", "2", stdout=out, stderr=err)
    assert "4/4" in err.getvalue()
    assert "\r" not in out.getvalue()
    quiet = _Terminal()
    call_command("generate_index", "--studies", "1", "--no-progress", stdout=io.StringIO(), stderr=quiet)
    assert quiet.getvalue() == ""
