"""The query arguments shared by ``find``, ``move`` and ``get`` (``dicomkit.cli.find``)."""

from __future__ import annotations

import pytest

from dicomkit.cli.find import identifier, model
from dicomkit.cli.main import build_parser
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
