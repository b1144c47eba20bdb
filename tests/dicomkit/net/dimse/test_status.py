"""DIMSE status categories (PS3.7 Annex C) and the named PS3.4 statuses."""

from __future__ import annotations

import pytest
from pynetdicom.status import code_to_category

from dicomkit.net.dimse import status
from dicomkit.net.dimse.status import DimseService, StatusCategory, is_final, status_category, status_name

S, W, F, C, P = (
    StatusCategory.SUCCESS,
    StatusCategory.WARNING,
    StatusCategory.FAILURE,
    StatusCategory.CANCEL,
    StatusCategory.PENDING,
)

# Transcribed from PS3.7 Annex C and the service classes of PS3.4 (B.2.3, C.4.1.1.4,
# C.4.2.1.5, C.4.3.1.4), not read back from status.py.
PS3_TABLE = [
    (0x0000, S),
    (0xFF00, P),
    (0xFF01, P),
    (0xFE00, C),
    (0x0001, W),
    (0x0107, W),
    (0x0116, W),
    (0xB000, W),
    (0xB006, W),
    (0xB007, W),
    (0x0105, F),
    (0x0106, F),
    (0x0110, F),
    (0x0111, F),
    (0x0112, F),
    (0x0113, F),
    (0x0114, F),
    (0x0115, F),
    (0x0117, F),
    (0x0118, F),
    (0x0119, F),
    (0x0120, F),
    (0x0121, F),
    (0x0122, F),
    (0x0123, F),
    (0x0124, F),
    (0x0210, F),
    (0x0211, F),
    (0x0212, F),
    (0x0213, F),
    (0xA700, F),
    (0xA701, F),
    (0xA702, F),
    (0xA7FF, F),
    (0xA801, F),
    (0xA900, F),
    (0xA9FF, F),
    (0xC000, F),
    (0xC001, F),
    (0xCFFF, F),
]


@pytest.mark.parametrize(
    ("code", "category"), PS3_TABLE, ids=lambda v: f"{v:04X}" if isinstance(v, int) else ""
)
def test_status_category_matches_ps3_7_annex_c(code: int, category: StatusCategory) -> None:
    assert status_category(code) is category


def test_every_status_pynetdicom_knows_has_the_same_category() -> None:
    checked = 0
    for code in range(0x10000):
        theirs = code_to_category(code)
        if theirs != "Unknown":
            assert status_category(code).value == theirs, f"0x{code:04X}"
            checked += 1
    assert checked > 8000  # the Axxx, Bxxx and Cxxx ranges are all known to it


def test_a_status_nobody_defined_is_a_failure() -> None:
    assert status_category(0x0999) is F
    assert status_category(0xFF02) is F


def test_named_constants_hold_the_standard_values() -> None:
    assert (status.SUCCESS, status.PENDING, status.PENDING_WARNING, status.CANCEL) == (
        0,
        0xFF00,
        0xFF01,
        0xFE00,
    )
    assert status.REFUSED_OUT_OF_RESOURCES == 0xA700
    assert status.REFUSED_MOVE_DESTINATION_UNKNOWN == 0xA801
    assert status.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS == status.DATA_SET_DOES_NOT_MATCH_SOP_CLASS == 0xA900
    assert status.CANNOT_UNDERSTAND == 0xC000 and status.UNABLE_TO_PROCESS == 0xC001
    assert status.SOP_CLASS_NOT_SUPPORTED == 0x0122
    assert status.DUPLICATE_SOP_INSTANCE == 0x0111
    assert status.PROCESSING_FAILURE == 0x0110
    assert status.INVALID_ARGUMENT_VALUE == 0x0115
    assert status.NO_SUCH_SOP_CLASS == 0x0118
    assert status.COERCION_OF_DATA_ELEMENTS == status.SUB_OPERATIONS_COMPLETE_WITH_FAILURES == 0xB000
    assert status.ELEMENTS_DISCARDED == 0xB006
    assert status.DATA_SET_DOES_NOT_MATCH_SOP_CLASS_WARNING == 0xB007
    assert status.NOT_AUTHORIZED == 0x0124


def test_only_pending_statuses_are_not_final() -> None:
    assert not is_final(0xFF00) and not is_final(0xFF01)
    assert all(is_final(code) for code in (0x0000, 0xFE00, 0xB000, 0xA700, 0x0110))


def test_status_names_read_well() -> None:
    assert status_name(0x0122) == "0x0122 Refused: SOP Class not supported"
    assert status_name(0xA702) == "0xA702 Refused / error (service specific)"
    assert status_name(0x0999) == "0x0999 Failure"


# Transcribed from PS3.4 B.2.3, C.4.1.1.4, C.4.2.1.5 and C.4.3.1.4 (in our words), not
# read back from status.py: (service, code, name).
SERVICE_NAMES = [
    ("C-STORE", 0xA700, "Refused: out of resources"),
    ("C-STORE", 0xA7FF, "Refused: out of resources"),
    ("C-STORE", 0xA900, "Error: data set does not match SOP Class"),
    ("C-STORE", 0xA9FF, "Error: data set does not match SOP Class"),
    ("C-STORE", 0xC000, "Error: cannot understand"),
    ("C-STORE", 0xCFFF, "Error: cannot understand"),
    ("C-STORE", 0xB000, "Warning: coercion of data elements"),
    ("C-STORE", 0xB006, "Warning: elements discarded"),
    ("C-STORE", 0xB007, "Warning: data set does not match SOP Class"),
    ("C-FIND", 0xA700, "Refused: out of resources"),
    ("C-FIND", 0xA900, "Failed: identifier does not match SOP Class"),
    ("C-FIND", 0xC000, "Failed: unable to process"),
    ("C-FIND", 0xCFFF, "Failed: unable to process"),
    ("C-FIND", 0xFE00, "Cancel: matching stopped by a cancel request"),
    ("C-FIND", 0xFF00, "Pending: matches are continuing"),
    ("C-FIND", 0xFF01, "Pending: matches are continuing, some optional keys not supported"),
    ("C-MOVE", 0xA701, "Refused: out of resources, cannot count the matches"),
    ("C-MOVE", 0xA702, "Refused: out of resources, cannot perform the sub-operations"),
    ("C-MOVE", 0xA801, "Refused: Move Destination unknown"),
    ("C-MOVE", 0xA900, "Failed: identifier does not match SOP Class"),
    ("C-MOVE", 0xC000, "Failed: unable to process"),
    ("C-MOVE", 0xCFFF, "Failed: unable to process"),
    ("C-MOVE", 0xB000, "Warning: sub-operations complete, one or more failed"),
    ("C-MOVE", 0xFE00, "Cancel: sub-operations stopped by a cancel request"),
    ("C-MOVE", 0xFF00, "Pending: sub-operations are continuing"),
    ("C-GET", 0xA701, "Refused: out of resources, cannot count the matches"),
    ("C-GET", 0xA702, "Refused: out of resources, cannot perform the sub-operations"),
    ("C-GET", 0xA900, "Failed: identifier does not match SOP Class"),
    ("C-GET", 0xC000, "Failed: unable to process"),
    ("C-GET", 0xCFFF, "Failed: unable to process"),
    ("C-GET", 0xB000, "Warning: sub-operations complete, one or more failed or warned"),
    ("C-GET", 0xFE00, "Cancel: sub-operations stopped by a cancel request"),
    ("C-GET", 0xFF00, "Pending: sub-operations are continuing"),
]


@pytest.mark.parametrize(
    ("service", "code", "name"), SERVICE_NAMES, ids=lambda v: f"{v:04X}" if isinstance(v, int) else v
)
def test_a_service_names_its_own_statuses_as_ps3_4_does(service: DimseService, code: int, name: str) -> None:
    assert status_name(code, service=service) == f"0x{code:04X} {name}"


@pytest.mark.parametrize(
    ("service", "code", "expected"),
    [
        # Codes the service does not define keep their general (PS3.7) meaning or range class.
        ("C-STORE", 0xA801, "0xA801 Refused / error (service specific)"),
        ("C-GET", 0xA801, "0xA801 Refused / error (service specific)"),
        ("C-FIND", 0xA701, "0xA701 Refused / error (service specific)"),
        ("C-STORE", 0xB001, "0xB001 Warning (service specific)"),
        ("C-MOVE", 0x0122, "0x0122 Refused: SOP Class not supported"),
        ("C-STORE", 0x0124, "0x0124 Refused: not authorized"),
        ("C-STORE", 0xFF01, "0xFF01 Pending: warning"),
        ("C-FIND", 0x0000, "0x0000 Success"),
        ("C-MOVE", 0x0999, "0x0999 Failure"),
    ],
)
def test_a_code_the_service_does_not_define_falls_back_to_the_general_name(
    service: DimseService, code: int, expected: str
) -> None:
    assert status_name(code, service=service) == expected


def test_without_a_service_a_service_specific_code_is_named_by_its_range() -> None:
    assert status_name(0xA801) == "0xA801 Refused / error (service specific)"
    assert status_name(0xC123) == "0xC123 Error: cannot understand / unable to process"
