"""DIMSE status categories (PS3.7 Annex C) and the named PS3.4 statuses."""

from __future__ import annotations

import pytest
from pynetdicom.status import code_to_category

from dicomkit.net.dimse import status
from dicomkit.net.dimse.status import StatusCategory, is_final, status_category, status_name

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
