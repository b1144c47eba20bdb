"""A-ASSOCIATE-RJ and A-ABORT fields in words (PS3.8 Tables 9-21 and 9-26), and the text
of the ``AssociationRejected`` / ``AssociationAborted`` errors built from them."""

from __future__ import annotations

import pytest

from dicomkit.errors import AssociationAborted, AssociationRejected
from dicomkit.net.pdu.codes import describe_abort, describe_rejection

# Transcribed from PS3.8 Table 9-21, not read back from codes.py: (source, reason) -> words.
REJECT_REASONS = [
    (1, 1, "the service-user: no reason given"),
    (1, 2, "the service-user: application context name not supported"),
    (1, 3, "the service-user: calling AE title not recognized"),
    (1, 7, "the service-user: called AE title not recognized"),
    (2, 1, "the service-provider (ACSE): no reason given"),
    (2, 2, "the service-provider (ACSE): protocol version not supported"),
    (3, 1, "the service-provider (presentation): temporary congestion"),
    (3, 2, "the service-provider (presentation): local limit exceeded"),
]


@pytest.mark.parametrize(("source", "reason", "words"), REJECT_REASONS)
def test_every_rejection_reason_of_table_9_21_is_named(source: int, reason: int, words: str) -> None:
    codes = f"(result=1 source={source} reason={reason})"
    assert describe_rejection(1, source, reason) == f"rejected permanently by {words} {codes}"


def test_a_transient_rejection_says_so() -> None:
    assert describe_rejection(2, 3, 1) == (
        "rejected transiently by the service-provider (presentation): temporary congestion"
        " (result=2 source=3 reason=1)"
    )


@pytest.mark.parametrize(
    ("result", "source", "reason", "expected"),
    [
        # Reserved reasons of each source.
        (1, 1, 4, "rejected permanently by the service-user: reserved reason (result=1 source=1 reason=4)"),
        (1, 1, 10, "rejected permanently by the service-user: reserved reason (result=1 source=1 reason=10)"),
        (
            1,
            2,
            3,
            "rejected permanently by the service-provider (ACSE): reserved reason"
            " (result=1 source=2 reason=3)",
        ),
        (
            2,
            3,
            0,
            "rejected transiently by the service-provider (presentation): reserved reason"
            " (result=2 source=3 reason=0)",
        ),
        # A source or result PS3.8 does not define.
        (1, 0, 1, "rejected permanently by an unknown source: reason not known (result=1 source=0 reason=1)"),
        (
            0,
            1,
            7,
            "rejected by the service-user: called AE title not recognized (result=0 source=1 reason=7)",
        ),
    ],
)
def test_rejection_values_nobody_defined_keep_their_numbers(
    result: int, source: int, reason: int, expected: str
) -> None:
    assert describe_rejection(result, source, reason) == expected


# PS3.8 Table 9-26: the reason is significant only when the service-provider aborted.
ABORT_REASONS = [
    (0, "reason not specified"),
    (1, "unrecognized PDU"),
    (2, "unexpected PDU"),
    (3, "reserved reason"),
    (4, "unrecognized PDU parameter"),
    (5, "unexpected PDU parameter"),
    (6, "invalid PDU parameter value"),
    (7, "reserved reason"),
]


@pytest.mark.parametrize(("reason", "words"), ABORT_REASONS)
def test_every_provider_abort_reason_of_table_9_26_is_named(reason: int, words: str) -> None:
    assert describe_abort(2, reason) == f"aborted by the service-provider: {words} (source=2 reason={reason})"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (0, "aborted by the service-user (source=0 reason=0)"),
        (1, "aborted by a reserved source (source=1 reason=0)"),
        (3, "aborted by an unknown source (source=3 reason=0)"),
    ],
)
def test_a_user_or_reserved_abort_names_no_reason(source: int, expected: str) -> None:
    assert describe_abort(source, 0) == expected


def test_association_rejected_reads_in_words_and_keeps_its_fields() -> None:
    error = AssociationRejected(1, 1, 7)
    assert str(error) == (
        "association rejected permanently by the service-user: called AE title not recognized"
        " (result=1 source=1 reason=7)"
    )
    assert (error.result, error.source, error.reason) == (1, 1, 7)


def test_association_aborted_reads_in_words_and_keeps_its_fields() -> None:
    error = AssociationAborted(2, 2, "A-ABORT while waiting for C-STORE-RSP")
    assert str(error) == (
        "association aborted by the service-provider: unexpected PDU (source=2 reason=2)"
        ": A-ABORT while waiting for C-STORE-RSP"
    )
    assert (error.source, error.reason, error.detail) == (2, 2, "A-ABORT while waiting for C-STORE-RSP")
    assert str(AssociationAborted(0, 0)) == "association aborted by the service-user (source=0 reason=0)"


def test_a_lost_connection_claims_no_a_abort_codes() -> None:
    error = AssociationAborted(detail="connection closed while waiting for A-ASSOCIATE-AC")
    assert str(error) == "association aborted: connection closed while waiting for A-ASSOCIATE-AC"
    assert (error.source, error.reason) == (0, 0)
    assert str(AssociationAborted()) == "association aborted"
