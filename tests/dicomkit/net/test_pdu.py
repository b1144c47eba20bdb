"""PDU encode/decode against hand-written PS3.8 fixtures, and strict-decoding errors."""

from __future__ import annotations

import pytest

from dicomkit.errors import EncodeError, PDUError
from dicomkit.net.pdu import (
    PDU,
    AbortReason,
    AssociateAC,
    AssociateRQ,
    ContextResult,
    PDataTF,
    PresentationContextAC,
    PresentationContextRQ,
    PresentationDataValue,
    ReleaseRQ,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserInformation,
    check_pdu_header,
    decode_pdu,
    read_pdu_header,
)
from tests.dicomkit.net.pdu_bytes import (
    ALL_PDUS,
    ASSOCIATE_AC_BYTES,
    ASSOCIATE_RQ,
    ASSOCIATE_RQ_BYTES,
    P_DATA_TF_BYTES,
    SOP_CLASS_COMMON_EXTENDED,
    SOP_CLASS_COMMON_EXTENDED_BYTES,
    SOP_CLASS_EXTENDED,
    SOP_CLASS_EXTENDED_BYTES,
    VERIFICATION,
    annotated,
)

IDS = [name for name, _, _ in ALL_PDUS]


@pytest.mark.parametrize(("name", "raw", "expected"), ALL_PDUS, ids=IDS)
def test_fixture_decodes_to_expected_pdu(name: str, raw: bytes, expected: object) -> None:
    assert decode_pdu(raw) == expected


@pytest.mark.parametrize(("name", "raw", "expected"), ALL_PDUS, ids=IDS)
def test_pdu_encodes_to_fixture_bytes(name: str, raw: bytes, expected: PDU) -> None:
    assert expected.encode() == raw


@pytest.mark.parametrize(
    ("item_cls", "raw", "expected"),
    [
        (SOPClassExtendedNegotiation, SOP_CLASS_EXTENDED_BYTES, SOP_CLASS_EXTENDED),
        (SOPClassCommonExtendedNegotiation, SOP_CLASS_COMMON_EXTENDED_BYTES, SOP_CLASS_COMMON_EXTENDED),
    ],
)
def test_extended_negotiation_items_round_trip(
    item_cls: type[SOPClassExtendedNegotiation] | type[SOPClassCommonExtendedNegotiation],
    raw: bytes,
    expected: SOPClassExtendedNegotiation | SOPClassCommonExtendedNegotiation,
) -> None:
    assert item_cls.decode(raw) == expected
    assert expected.encode() == raw


def test_pdv_data_is_a_view_into_the_received_bytes() -> None:
    pdu = decode_pdu(P_DATA_TF_BYTES)
    assert isinstance(pdu, PDataTF)
    first = pdu.values[0]
    assert isinstance(first.data, memoryview)
    assert first.data.obj is P_DATA_TF_BYTES
    assert first.is_command and first.is_last
    assert not pdu.values[1].is_command and not pdu.values[1].is_last


def test_pdata_length_counts_pdv_headers() -> None:
    pdu = PDataTF((PresentationDataValue(1, 3, b"x" * 10), PresentationDataValue(3, 0, b"")))
    assert pdu.length == 16 + 6
    assert read_pdu_header(pdu.encode()) == (4, pdu.length)


def _replace(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert raw.count(old) == 1
    return raw.replace(old, new)


def _with_item(raw: bytes, item: bytes) -> bytes:
    """Append an item to the variable field of an A-ASSOCIATE PDU, fixing PDU-length."""
    body = raw[6:] + item
    return raw[:2] + len(body).to_bytes(4, "big") + body


def test_unrecognized_item_types_are_skipped() -> None:
    raw = _with_item(ASSOCIATE_RQ_BYTES, annotated("7F 00 0003 010203  # unknown item type"))
    assert decode_pdu(raw) == ASSOCIATE_RQ


def _fix_length(raw: bytes) -> bytes:
    return raw[:2] + (len(raw) - 6).to_bytes(4, "big") + raw[6:]


def test_unrecognized_user_information_sub_item_is_skipped() -> None:
    raw = _replace(ASSOCIATE_RQ_BYTES, annotated("50 00 0050"), annotated("50 00 0055 5F 00 0001 AA"))
    assert decode_pdu(_fix_length(raw)) == ASSOCIATE_RQ


def test_reserved_fields_are_not_tested() -> None:
    raw = bytearray(ASSOCIATE_RQ_BYTES)
    raw[1] = 0xFF  # reserved after PDU-type
    raw[8:10] = b"\xff\xff"  # reserved after protocol version
    raw[42:74] = b"\xee" * 32  # 32 reserved bytes
    assert decode_pdu(bytes(raw)) == ASSOCIATE_RQ


def test_ac_reserved_ae_titles_are_not_tested() -> None:
    raw = bytearray(ASSOCIATE_AC_BYTES)
    raw[10:26] = b"\xff" * 16
    pdu = decode_pdu(bytes(raw))
    assert isinstance(pdu, AssociateAC)
    assert pdu.presentation_contexts[0].transfer_syntax == "1.2.840.10008.1.2"


def test_uid_with_trailing_nul_padding_is_accepted() -> None:
    raw = annotated(
        """
        20 00 002F 01 000000                      # presentation context, ID 1
        30 00 0012 '1.2.840.10008.1.1' 00         # abstract syntax padded with NUL
        40 00 0011 '1.2.840.10008.1.2'            # transfer syntax
        """
    )
    context = PresentationContextRQ.decode(raw)
    assert context.abstract_syntax == VERIFICATION


def test_all_space_called_ae_title_decodes_to_empty_string() -> None:
    raw = _replace(ASSOCIATE_RQ_BYTES, b"ANY-SCP         ", b" " * 16)
    pdu = decode_pdu(raw)
    assert isinstance(pdu, AssociateRQ)
    assert pdu.called_ae_title == ""


def _reason(raw: bytes) -> int:
    with pytest.raises(PDUError) as info:
        decode_pdu(raw)
    return info.value.abort_reason


def test_unknown_pdu_type_is_unrecognized_pdu() -> None:
    assert _reason(annotated("08 00 00000004 00000000")) == AbortReason.UNRECOGNIZED_PDU


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        annotated("05 00 0000"),  # shorter than the header
        annotated("05 00 00000005 0000000000"),  # release with length 5
        annotated("05 00 00000004 000000"),  # declared 4, only 3 follow
        annotated("03 00 00000004 00 03 01 01"),  # RJ result 3 undefined
        annotated("03 00 00000004 00 01 04 01"),  # RJ source 4 undefined
        annotated("07 00 00000004 00 00 03 00"),  # A-ABORT source 3 undefined
        annotated("04 00 00000000"),  # P-DATA-TF with no PDV
        annotated("04 00 00000005 00000001 01"),  # PDV item-length 1: no control header
        annotated("04 00 00000008 00000009 01 03 00 00"),  # PDV claims more than remains
        annotated("04 00 00000003 000000"),  # PDV header cut short
        annotated("04 00 00000006 00000002 02 03"),  # even presentation context ID
    ],
    ids=[
        "empty",
        "short-header",
        "release-length-5",
        "truncated",
        "rj-result",
        "rj-source",
        "abort-source",
        "pdata-empty",
        "pdv-too-short",
        "pdv-overrun",
        "pdv-header-cut",
        "pdv-even-context-id",
    ],
)
def test_malformed_fixed_pdus_are_invalid_parameter_values(raw: bytes) -> None:
    assert _reason(raw) == AbortReason.INVALID_PDU_PARAMETER_VALUE


def test_item_length_beyond_its_pdu_is_rejected_with_offset() -> None:
    # The presentation context item claims 0x0FFF bytes.
    raw = _replace(ASSOCIATE_RQ_BYTES, annotated("20 00 0045"), annotated("20 00 0FFF"))
    with pytest.raises(PDUError) as info:
        decode_pdu(raw)
    assert info.value.abort_reason == AbortReason.INVALID_PDU_PARAMETER_VALUE
    assert info.value.offset == 6 + 68 + 25


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (annotated("01 00 00 00 30"), annotated("02 00 00 00 30")),  # even context ID
        (b"1.2.840.10008.1.1\x40", b"1.2.840.10008.1.X\x40"),  # bad UID character
    ],
    ids=["even-context-id", "bad-uid"],
)
def test_invalid_values_in_associate_rq(old: bytes, new: bytes) -> None:
    assert _reason(_replace(ASSOCIATE_RQ_BYTES, old, new)) == AbortReason.INVALID_PDU_PARAMETER_VALUE


def test_missing_application_context_is_invalid() -> None:
    raw = _replace(ASSOCIATE_RQ_BYTES, annotated("10 00 0015"), annotated("7E 00 0015"))
    assert _reason(raw) == AbortReason.INVALID_PDU_PARAMETER_VALUE


def test_duplicate_presentation_context_ids_are_invalid() -> None:
    second = annotated("20 00 0019 01 000000 30 00 0005 '1.2.3' 40 00 0008 '1.2.3.45'")
    raw = ASSOCIATE_RQ_BYTES.replace(annotated("50 00 0050"), second + annotated("50 00 0050"))
    assert _reason(_fix_length(raw)) == AbortReason.INVALID_PDU_PARAMETER_VALUE
    with pytest.raises(EncodeError):
        AssociateRQ("A", "B", ASSOCIATE_RQ.presentation_contexts * 2).encode()


def test_ac_context_item_inside_rq_is_unexpected_parameter() -> None:
    raw = _with_item(ASSOCIATE_RQ_BYTES, annotated("21 00 0008 01 00 00 00 40 00 0000"))
    assert _reason(raw) == AbortReason.UNEXPECTED_PDU_PARAMETER


def test_user_identity_response_inside_rq_is_unexpected_parameter() -> None:
    ui = UserInformation(maximum_length=1).encode()[4:] + annotated("59 00 0002 0000")
    item = annotated("50 00") + len(ui).to_bytes(2, "big") + ui
    head = ASSOCIATE_RQ_BYTES[: ASSOCIATE_RQ_BYTES.index(annotated("50 00 0050"))]
    raw = head[:2] + (len(head) - 6 + len(item)).to_bytes(4, "big") + head[6:] + item
    assert _reason(raw) == AbortReason.UNEXPECTED_PDU_PARAMETER


def test_duplicate_maximum_length_is_invalid() -> None:
    raw = _replace(
        ASSOCIATE_RQ_BYTES,
        annotated("50 00 0050 51 00 0004 00004000"),
        annotated("50 00 0058 51 00 0004 00004000 51 00 0004 00004000"),
    )
    raw = _fix_length(raw)
    assert _reason(raw) == AbortReason.INVALID_PDU_PARAMETER_VALUE


def test_rejected_context_transfer_syntax_is_not_tested() -> None:
    raw = annotated("21 00 0009 03 00 04 00 40 00 0001 FF")
    assert PresentationContextAC.decode(raw) == PresentationContextAC(
        3, ContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED, ""
    )


def test_accepted_context_without_transfer_syntax_is_invalid() -> None:
    with pytest.raises(PDUError):
        PresentationContextAC.decode(annotated("21 00 0004 01 00 00 00"))


def test_accepted_transfer_syntax_lookup() -> None:
    ac = decode_pdu(ASSOCIATE_AC_BYTES)
    assert isinstance(ac, AssociateAC)
    assert ac.accepted_transfer_syntax(1) == "1.2.840.10008.1.2"
    assert ac.accepted_transfer_syntax(3) is None
    assert ac.accepted_transfer_syntax(5) is None


# ------------------------------------------------------------------ header check


def test_header_check_accepts_pdata_up_to_our_maximum() -> None:
    check_pdu_header(0x04, 16384, max_pdata=16384, max_associate=65536)
    with pytest.raises(PDUError) as info:
        check_pdu_header(0x04, 16385, max_pdata=16384, max_associate=65536)
    assert info.value.abort_reason == AbortReason.INVALID_PDU_PARAMETER_VALUE


def test_header_check_bounds_associate_pdus() -> None:
    check_pdu_header(0x01, 65536, max_pdata=16, max_associate=65536)
    with pytest.raises(PDUError):
        check_pdu_header(0x02, 65537, max_pdata=2**32, max_associate=65536)


def test_header_check_fixed_length_pdus_and_unknown_types() -> None:
    check_pdu_header(0x07, 4, max_pdata=0, max_associate=0)
    with pytest.raises(PDUError):
        check_pdu_header(0x05, 2**32 - 1, max_pdata=0, max_associate=0)
    with pytest.raises(PDUError) as info:
        check_pdu_header(0x00, 4, max_pdata=100, max_associate=100)
    assert info.value.abort_reason == AbortReason.UNRECOGNIZED_PDU


# ------------------------------------------------------------------ encode errors


@pytest.mark.parametrize(
    "pdu",
    [
        AssociateRQ("A" * 17, "SCU", (PresentationContextRQ(1, VERIFICATION, ("1.2",)),)),
        AssociateRQ("SCP", "BACK\\SLASH", (PresentationContextRQ(1, VERIFICATION, ("1.2",)),)),
        AssociateRQ("SCP", "SCU", ()),
        AssociateRQ("SCP", "SCU", (PresentationContextRQ(2, VERIFICATION, ("1.2",)),)),
        AssociateRQ("SCP", "SCU", (PresentationContextRQ(1, "1.2.x", ("1.2",)),)),
        AssociateRQ("SCP", "SCU", (PresentationContextRQ(1, VERIFICATION, ()),)),
        AssociateRQ(
            "SCP",
            "SCU",
            (PresentationContextRQ(1, VERIFICATION, ("1.2",)),),
            UserInformation(maximum_length=2**32),
        ),
        AssociateAC("SCP", "SCU", (PresentationContextAC(1, ContextResult.ACCEPTANCE, ""),)),
        PDataTF((PresentationDataValue(256, 0, b""),)),
        PDataTF(()),
    ],
    ids=[
        "ae-too-long",
        "ae-backslash",
        "no-context",
        "even-id",
        "bad-uid",
        "no-ts",
        "max-length",
        "accepted-without-ts",
        "pdv-id",
        "no-pdv",
    ],
)
def test_unencodable_values_raise_encode_error(pdu: AssociateRQ) -> None:
    with pytest.raises(EncodeError):
        pdu.encode()


def test_release_rq_encodes_to_constant_bytes() -> None:
    assert ReleaseRQ().encode() == annotated("05 00 00000004 00000000")
