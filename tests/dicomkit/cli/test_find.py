"""The query arguments shared by ``find``, ``move`` and ``get`` (``dicomkit.cli.find``)."""

from __future__ import annotations

import unicodedata

import pytest

from dicomkit.cli.find import identifier, model, table_lines
from dicomkit.cli.main import build_parser
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.net.services.query_retrieve import InformationModel


def _model_for(*argv: str) -> InformationModel:
    args = build_parser().parse_args(argv)
    query, _ = identifier(args)
    return model(args, query)


@pytest.mark.parametrize("command", [["find"], ["get"], ["move", "DEST"]])
@pytest.mark.parametrize(
    "keys, expected",
    [
        ([], InformationModel.STUDY_ROOT),
        (["--level", "SERIES"], InformationModel.STUDY_ROOT),
        (["--patient-root"], InformationModel.PATIENT_ROOT),
        # Study Root has no PATIENT level (PS3.4 C.6.2): the SCP would refuse it with A900.
        (["--level", "PATIENT"], InformationModel.PATIENT_ROOT),
        (["-k", "QueryRetrieveLevel=PATIENT"], InformationModel.PATIENT_ROOT),
    ],
)
def test_patient_level_queries_use_the_patient_root_model(
    command: list[str], keys: list[str], expected: InformationModel
) -> None:
    name, *destination = command
    assert _model_for(name, "127.0.0.1", "104", *destination, *keys) is expected


def test_the_table_lines_up_names_with_wide_characters() -> None:
    rows = [("Yamada^Tarou=山田^太郎", "H31"), ("Buc^Jérôme", "FREN"), ("김희중", "KOR")]
    matches = []
    for name, patient_id in rows:
        match = Dataset()
        match.set(tags.PatientName, name, "PN")
        match.set(tags.PatientID, patient_id, "LO")
        matches.append(match)
    lines = table_lines([tags.PatientName, tags.PatientID], matches)
    # Every PatientID starts in the same terminal column (wide characters count two).
    starts = {
        _display_width(line[: line.index(value)])
        for line, value in zip(lines, ["PatientID", "H31", "FREN", "KOR"], strict=True)
    }
    assert starts == {len("Yamada^Tarou=") + 2 * len("山田") + len("^") + 2 * len("太郎") + 2}


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
