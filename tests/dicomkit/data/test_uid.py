"""UIDs: PS3.5 §9.1 validation, generation (2.25 and under a root), and the PS3.6 Annex A
registry checked against the standard and against pydicom's transcription."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomkit.data import uids
from dicomkit.data.uid import (
    MAX_ROOT_LENGTH,
    NON_PATIENT_STORAGE_KEYWORDS,
    UIDInfo,
    generate_uid,
    is_valid_uid,
    storage_sop_classes,
    transfer_syntaxes,
    uid_for_keyword,
    uid_info,
    uid_name,
    validate_uid,
)
from dicomkit.errors import DicomError, DictionaryError, InvalidUIDError
from tests.scripts_loader import load_script

REPO = Path(__file__).resolve().parents[3]


def _spec_valid(text: str) -> bool:
    """PS3.5 §9.1 read literally: <= 64 chars, ASCII-digit components, no leading zeros."""
    if not 0 < len(text) <= 64:
        return False
    for component in text.split("."):
        if not component or any(ch not in "0123456789" for ch in component):
            return False
        if len(component) > 1 and component[0] == "0":
            return False
    return True


# ------------------------------------------------------------------------- validation

VALID = [
    "0",
    "1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.5.1.4.1.1.2",
    "2.25.329800735698586629295641978511506172918",
    "1.0.2.0",
    "1." + "2" * 62,  # exactly 64 characters
]

INVALID = [
    ("", "empty"),
    ("1..2", "component 2 is empty"),
    (".1", "component 1 is empty"),
    ("1.2.", "component 3 is empty"),
    ("01.2", "leading zero"),
    ("1.02", "leading zero"),
    ("1.2a", "'a' at position 3"),
    ("1.2 ", "position 3"),
    (" 1.2", "position 0"),
    ("1.2\x00", "position 3"),  # UI padding is the caller's to strip
    ("1.2\n", "position 3"),
    ("1-2", "'-'"),
    ("1.\uff12", "position 2"),  # fullwidth digit two: not an ASCII digit
    ("1.\u00b2", "position 2"),  # superscript two
    ("1." + "2" * 63, "65 characters"),
]


@pytest.mark.parametrize("uid", VALID)
def test_valid_uids_are_accepted_and_returned(uid: str) -> None:
    assert is_valid_uid(uid)
    assert validate_uid(uid) is uid


@pytest.mark.parametrize(("uid", "problem"), INVALID)
def test_invalid_uids_are_rejected_naming_the_problem(uid: str, problem: str) -> None:
    assert not is_valid_uid(uid)
    with pytest.raises(InvalidUIDError, match=problem) as raised:
        validate_uid(uid)
    assert isinstance(raised.value, DicomError) and isinstance(raised.value, ValueError)


def test_a_non_string_is_not_a_uid() -> None:
    # the wrong argument types are the point: callers without a type checker pass them
    assert not is_valid_uid(b"1.2")  # type: ignore[arg-type]
    with pytest.raises(InvalidUIDError, match="str"):
        validate_uid(12)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789.a ", max_size=70))
def test_validation_agrees_with_the_rules_of_ps3_5(text: str) -> None:
    assert is_valid_uid(text) == _spec_valid(text)
    if _spec_valid(text):
        assert validate_uid(text) == text
    else:
        with pytest.raises(InvalidUIDError):
            validate_uid(text)


# ------------------------------------------------------------------------- generation


def test_default_uid_is_2_25_and_a_uuid_integer() -> None:
    uid = generate_uid()
    assert uid.startswith("2.25.")
    assert is_valid_uid(uid) and len(uid) <= 64
    value = int(uid[len("2.25.") :])
    assert uuid.UUID(int=value).version == 4


def test_generated_uids_are_unique() -> None:
    assert len({generate_uid() for _ in range(2000)}) == 2000
    assert len({generate_uid("1.2.826.0.1.3680043.8.498") for _ in range(2000)}) == 2000


_component = st.one_of(st.just("0"), st.integers(min_value=1, max_value=10**12).map(str))
_roots = (
    st.lists(_component, min_size=1, max_size=12).map(".".join).filter(lambda r: len(r) <= MAX_ROOT_LENGTH)
)


@given(root=_roots, trailing_dot=st.booleans())
def test_uids_under_a_root_are_valid_unique_and_keep_the_root(root: str, trailing_dot: bool) -> None:
    first = generate_uid(root + "." if trailing_dot else root)
    second = generate_uid(root)
    for uid in (first, second):
        assert is_valid_uid(uid)
        assert len(uid) <= 64
        assert uid.startswith(root + ".")
        suffix = uid[len(root) + 1 :]
        assert "." not in suffix and len(suffix) >= 19
    assert first != second


def test_explicit_2_25_root_gives_the_uuid_form() -> None:
    uid = generate_uid("2.25")
    assert uuid.UUID(int=int(uid[5:])).version == 4


@pytest.mark.parametrize("root", ["", "1..2", "1.02", "1.2.x", ".", "1." + "2" * (MAX_ROOT_LENGTH - 1)])
def test_invalid_or_too_long_roots_are_rejected(root: str) -> None:
    with pytest.raises(InvalidUIDError, match="root"):
        generate_uid(root)


# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize(
    ("uid", "name", "uid_type", "keyword", "retired"),
    [
        ("1.2.840.10008.1.1", "Verification SOP Class", "SOP Class", "Verification", False),
        (
            "1.2.840.10008.1.2",
            "Implicit VR Little Endian",
            "Transfer Syntax",
            "ImplicitVRLittleEndian",
            False,
        ),
        ("1.2.840.10008.1.2.2", "Explicit VR Big Endian", "Transfer Syntax", "ExplicitVRBigEndian", True),
        ("1.2.840.10008.5.1.4.1.1.2", "CT Image Storage", "SOP Class", "CTImageStorage", False),
        (
            "1.2.840.10008.5.1.4.1.2.2.1",
            "Study Root Query/Retrieve Information Model - FIND",
            "SOP Class",
            "StudyRootQueryRetrieveInformationModelFind",
            False,
        ),
        (
            "1.2.840.10008.3.1.1.1",
            "DICOM Application Context Name",
            "Application Context Name",
            "DICOMApplicationContext",
            False,
        ),
        (
            "1.2.840.10008.1.20.1.1",
            "Storage Commitment Push Model SOP Instance",
            "Well-known SOP Instance",
            "StorageCommitmentPushModelInstance",
            False,
        ),
    ],
)
def test_registry_rows_from_the_standard(
    uid: str, name: str, uid_type: str, keyword: str, retired: bool
) -> None:
    assert uid_info(uid) == UIDInfo(uid, name, uid_type, keyword, retired)
    assert uid_name(uid) == name
    assert uid_for_keyword(keyword) == uid


def test_unknown_uids_and_keywords() -> None:
    assert uid_info("1.2.3.4") is None
    assert uid_name("1.2.3.4") == ""
    with pytest.raises(DictionaryError, match="NoSuchStorage"):
        uid_for_keyword("NoSuchStorage")


def test_every_constant_maps_back_to_its_keyword() -> None:
    constants = {
        name: value
        for name, value in vars(uids).items()
        if not name.startswith("_") and isinstance(value, str)
    }
    assert len(constants) > 400
    for keyword, uid in constants.items():
        assert uid_for_keyword(keyword) == uid
        info = uid_info(uid)
        assert info is not None and info.keyword == keyword
    assert uids.ExplicitVRLittleEndian == "1.2.840.10008.1.2.1"
    assert uids.StudyRootQueryRetrieveInformationModelMove == "1.2.840.10008.5.1.4.1.2.2.2"


def _pydicom_uids() -> dict[str, tuple[str, str, str, str, str]]:
    """pydicom's table as its file states it (its pixel plugins add rows when imported)."""
    # the script is loaded from its file, so mypy cannot see what it returns
    table: dict[str, tuple[str, str, str, str, str]] = load_script("generate_uids").pristine_uid_dictionary()
    return table


def test_registry_agrees_with_pydicom() -> None:
    for uid, (name, uid_type, _info, retired, keyword) in _pydicom_uids().items():
        assert uid_info(uid) == UIDInfo(uid, name, uid_type, keyword, retired == "Retired"), uid


def test_transfer_syntaxes_are_all_of_them_and_only_them() -> None:
    syntaxes = transfer_syntaxes()
    assert all(info.type == "Transfer Syntax" for info in syntaxes)
    expected = {uid for uid, row in _pydicom_uids().items() if row[1] == "Transfer Syntax"}
    assert {info.uid for info in syntaxes} == expected
    keywords = {info.keyword for info in syntaxes}
    assert {
        "ImplicitVRLittleEndian",
        "DeflatedExplicitVRLittleEndian",
        "JPEGBaseline8Bit",
        "RLELossless",
    } <= keywords


# -------------------------------------------------------------------- storage classes

STORAGE = [
    "CTImageStorage",
    "EnhancedCTImageStorage",
    "MRImageStorage",
    "EnhancedMRImageStorage",
    "RTPlanStorage",
    "RTStructureSetStorage",
    "SecondaryCaptureImageStorage",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation",
    "UltrasoundMultiFrameImageStorage",
    "EncapsulatedPDFStorage",
    "BasicTextSRStorage",
    "TwelveLeadECGWaveformStorage",
    "SegmentationStorage",
    "VLWholeSlideMicroscopyImageStorage",
    "GrayscaleSoftcopyPresentationStateStorage",
]
NOT_STORAGE = [
    "Verification",
    "StudyRootQueryRetrieveInformationModelFind",
    "StudyRootQueryRetrieveInformationModelMove",
    "PatientRootQueryRetrieveInformationModelGet",
    "ModalityWorklistInformationModelFind",
    "StorageCommitmentPushModel",
    "StorageCommitmentPushModelInstance",
    "ModalityPerformedProcedureStep",
    "MediaStorageDirectoryStorage",
    "HangingProtocolInformationModelFind",
    "ImplicitVRLittleEndian",
    "Storage",
]


def test_storage_sop_classes_hold_the_storage_classes() -> None:
    storage = storage_sop_classes()
    assert len(storage) == len(set(storage)) > 150
    for keyword in STORAGE:
        assert uid_for_keyword(keyword) in storage, keyword
    for keyword in NOT_STORAGE:
        assert uid_for_keyword(keyword) not in storage, keyword
    for uid in storage:
        info = uid_info(uid)
        assert info is not None and info.type == "SOP Class" and "Storage" in info.name
        assert "Find" not in info.keyword and "Move" not in info.keyword


def test_retired_storage_classes_can_be_left_out() -> None:
    retired_us = uid_for_keyword("UltrasoundImageStorageRetired")
    assert retired_us in storage_sop_classes()
    current = storage_sop_classes(include_retired=False)
    assert retired_us not in current
    assert uid_for_keyword("UltrasoundImageStorage") in current
    assert all(not info.retired for info in map(uid_info, current) if info is not None)


def test_non_patient_objects_are_opt_in() -> None:
    non_patient = {uid_for_keyword(keyword) for keyword in NON_PATIENT_STORAGE_KEYWORDS}
    assert len(non_patient) == 9
    assert not non_patient & set(storage_sop_classes())
    assert non_patient <= set(storage_sop_classes(include_non_patient=True))


# ----------------------------------------------------------------- generated and fresh


def test_committed_modules_are_what_the_generator_writes() -> None:
    generator = load_script("generate_uids")
    edition, source, facts = generator.load_facts()
    assert (REPO / "dicomkit/data/_uids.py").read_text() == generator.render_registry(edition, source, facts)
    assert (REPO / "dicomkit/data/uids.py").read_text() == generator.render_constants(edition, source, facts)
