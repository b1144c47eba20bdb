"""The query arguments shared by ``find``, ``move`` and ``get`` (``dicomkit.cli.find``)."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable

import pytest

from dicomkit.cli.find import DEFAULT_KEYS, add_default_keys, identifier, model, table_lines
from dicomkit.cli.main import build_parser, main
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.dictionary import keyword_for_tag
from dicomkit.net.services.query_retrieve import InformationModel
from tests.dicomkit.net.aio.servers import run
from tests.dicomkit.net.services.qr_handlers import FolderIndex, FolderStudies, write_studies
from tests.dicomkit.net.services.test_find import find_scp

_LEVEL_AND_CHARSET = {tags.QueryRetrieveLevel, tags.SpecificCharacterSet}


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


# ---------------------------------------------------------------- default keys

STUDY_KEYS = [
    "PatientName", "PatientID", "StudyDate", "StudyInstanceUID",
    "AccessionNumber", "ModalitiesInStudy", "StudyDescription",
]  # fmt: skip
SERIES_KEYS = [
    "SeriesNumber", "Modality", "SeriesInstanceUID", "NumberOfSeriesRelatedInstances", "SeriesDescription"
]  # fmt: skip

Find = Callable[..., tuple[int, list[str]]]


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> FolderStudies:
    folder = tmp_path_factory.mktemp("cli-find")
    return folder, write_studies(folder)


@pytest.fixture
def find(studies: FolderStudies, capsys: pytest.CaptureFixture[str]) -> Find:
    """``find(*argv)``: ``python -m dicomkit find`` (in this process) against our SCP over
    ``studies``; the exit status and the lines printed."""

    def run_find(*argv: str) -> tuple[int, list[str]]:
        async def scenario() -> int:
            async with find_scp(FolderIndex(studies[0])) as server:
                args = ["find", "127.0.0.1", str(server.port), "--aec", "QRSCP", *argv]
                return await asyncio.to_thread(main, args)

        status = run(scenario())
        return status, capsys.readouterr().out.splitlines()

    return run_find


def test_find_without_keys_prints_the_studies_with_the_default_study_keys(
    studies: FolderStudies, find: Find
) -> None:
    _, files = studies
    status, lines = find()
    assert status == 0
    assert lines[0].split() == STUDY_KEYS
    rows = sorted(line.split() for line in lines[1:-1])
    doe_uid, smith_uid = files  # write_studies writes DOE^JOHN first
    assert [row[:4] for row in rows] == [
        ["DOE^JOHN", "PAT1", "20240102", doe_uid],
        ["SMITH^ANNA", "PAT2", "20231115", smith_uid],
    ]
    assert lines[-1] == "2 matches"


def test_find_with_only_matching_keys_adds_the_default_keys_of_the_level(
    studies: FolderStudies, find: Find
) -> None:
    _, files = studies
    doe_uid = next(iter(files))
    status, lines = find("--level", "SERIES", "-k", f"StudyInstanceUID={doe_uid}")
    assert status == 0
    assert lines[0].split() == [*SERIES_KEYS, "StudyInstanceUID"]
    # SeriesNumber, then Modality; the empty columns (not in the files) are blank.
    assert sorted(line.split()[:2] for line in lines[1:-1]) == [["1", "CT"], ["2", "CT"]]
    assert all(line.endswith(doe_uid) for line in lines[1:-1])
    assert lines[-1] == "2 matches"


def test_find_with_a_key_to_return_prints_only_the_keys_given(find: Find) -> None:
    status, lines = find("-k", "PatientName=DOE*", "-k", "StudyDate")
    assert status == 0
    assert lines == ["PatientName  StudyDate", "DOE^JOHN     20240102", "1 match"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], STUDY_KEYS),
        (["--level", "PATIENT"], ["PatientName", "PatientID", "PatientBirthDate", "PatientSex"]),
        (
            ["-k", "QueryRetrieveLevel=SERIES", "-k", "StudyInstanceUID=1.2.3"],
            [*SERIES_KEYS, "StudyInstanceUID"],
        ),
        (["--level", "IMAGE"], ["InstanceNumber", "SOPInstanceUID", "SOPClassUID"]),
        # A hierarchical Patient Root SCP takes no patient key but the unique one, given with a value.
        (
            ["--patient-root", "-k", "PatientID=PAT1"],
            ["StudyDate", "StudyInstanceUID", "AccessionNumber", "ModalitiesInStudy", "StudyDescription",
             "PatientID"],
        ),
        (["-k", "PatientName=DOE*", "-k", "StudyDate="], ["PatientName", "StudyDate"]),
        (["-k", "ReferencedStudySequence"], ["ReferencedStudySequence"]),
    ],
)  # fmt: skip
def test_the_default_keys_are_sent_as_return_keys_and_head_the_columns(
    argv: list[str], expected: list[str]
) -> None:
    args = build_parser().parse_args(["find", "127.0.0.1", "104", *argv])
    query, order = identifier(args)
    columns = add_default_keys(query, order, model(args, query))
    assert [keyword_for_tag(tag) for tag in columns] == expected
    assert {keyword_for_tag(tag) for tag in query if tag not in _LEVEL_AND_CHARSET} == set(expected)


def test_find_help_lists_the_default_keys_of_every_level(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["find", "--help"])
    help_text = capsys.readouterr().out
    for level, keys in DEFAULT_KEYS.items():
        line = help_text[help_text.index(f"  {level} ") :]
        assert " ".join(line.split())[len(level) + 1 :].startswith(", ".join(keys))
