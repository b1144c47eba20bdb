"""DIMSE command sets: round trips, byte equality with pynetdicom, strict decoding."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset as PydicomDataset
from pynetdicom.dsutils import encode as pynetdicom_encode

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import is_valid_uid
from dicomkit.errors import EncodeError, RemoteProtocolError
from dicomkit.net.dimse import (
    MAX_COMMAND_LENGTH,
    MESSAGE_TYPES,
    CCancelRQ,
    CEchoRQ,
    CEchoRSP,
    CFindRSP,
    CMoveRQ,
    CommandField,
    CStoreRQ,
    CStoreRSP,
    DimseMessage,
    DimseRequest,
    NGetRQ,
    NSetRQ,
    NSetRSP,
    Priority,
    decode_command,
    encode_command,
    failure_response,
    response_type,
)
from tests.dicomkit.net.dimse.dimse_strategies import (
    MESSAGE_CLASSES,
    messages,
    messages_of,
    pynetdicom_message,
)

CT = "1.2.840.10008.5.1.4.1.1.2"

# C-ECHO-RQ, message ID 7, as PS3.7 Annex E lays it out (Implicit VR Little Endian).
ECHO_RQ_BYTES = bytes.fromhex(
    "00000000"
    "04000000"
    "38000000"  # (0000,0000) UL length 4: 56 bytes follow
    "00000200"
    "12000000"
    "312e322e3834302e31303030382e312e3100"  # (0000,0002) UI "1.2.840.10008.1.1\0"
    "00000001"
    "02000000"
    "3000"  # (0000,0100) US C-ECHO-RQ
    "00001001"
    "02000000"
    "0700"  # (0000,0110) US message ID 7
    "00000008"
    "02000000"
    "0101"  # (0000,0800) US no data set
)


def element(number: int, value: bytes) -> bytes:
    return struct.pack("<HHL", 0, number, len(value)) + value


def command_bytes(*elements: bytes, group_length: bool = True) -> bytes:
    body = b"".join(elements)
    return (element(0x0000, struct.pack("<L", len(body))) if group_length else b"") + body


def us(value: int) -> bytes:
    return struct.pack("<H", value)


# --------------------------------------------------------------------- coverage


def test_every_command_field_has_exactly_one_message_class() -> None:
    assert set(MESSAGE_TYPES) == set(CommandField)
    assert all(cls.command_field is field for field, cls in MESSAGE_TYPES.items())
    assert len(CommandField) == 23  # 11 DIMSE-C + 12 DIMSE-N messages (PS3.7 §9.3, §10.3)


def test_c_echo_rq_encodes_to_the_bytes_of_ps3_7() -> None:
    assert encode_command(CEchoRQ(7)) == ECHO_RQ_BYTES
    assert decode_command(ECHO_RQ_BYTES) == CEchoRQ(7)


# ------------------------------------------------------------------- round trips


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.__name__)
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_type_survives_encode_then_decode(cls: type[DimseMessage], data: st.DataObject) -> None:
    message = data.draw(messages_of(cls))
    encoded = encode_command(message)
    assert decode_command(encoded) == message
    assert len(encoded) % 2 == 0


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.__name__)
@settings(max_examples=10)
@given(data=st.data())
def test_every_message_type_survives_to_dataset_then_from_dataset(
    cls: type[DimseMessage], data: st.DataObject
) -> None:
    message = data.draw(messages_of(cls))
    dataset = message.to_dataset()
    assert dataset.get_int(tags.CommandField) == message.command_field
    assert dataset.get_int(tags.CommandDataSetType) == (0x0001 if message.has_dataset else 0x0101)
    assert cls.from_dataset(dataset) == message


def test_from_dataset_reads_a_hand_built_dataset_and_ignores_a_stale_group_length() -> None:
    dataset = Dataset()
    dataset.set(tags.CommandGroupLength, 9999)
    dataset.set(tags.AffectedSOPClassUID, CT)
    dataset.set(tags.CommandField, 0x0001)
    dataset.set(tags.MessageID, 3)
    dataset.set(tags.Priority, 2)
    dataset.set(tags.CommandDataSetType, 0x0000)
    dataset.set(tags.AffectedSOPInstanceUID, "1.2.3")
    assert CStoreRQ.from_dataset(dataset) == CStoreRQ(3, CT, "1.2.3", Priority.LOW)


def test_from_dataset_of_another_command_is_refused() -> None:
    with pytest.raises(RemoteProtocolError, match="not C-STORE-RQ"):
        CStoreRQ.from_dataset(CEchoRQ(1).to_dataset())


def test_from_dataset_with_an_element_outside_group_0000_is_refused() -> None:
    dataset = CEchoRQ(1).to_dataset()
    dataset.set(tags.PatientName, "X")
    with pytest.raises(RemoteProtocolError, match="not in group 0000"):
        CEchoRQ.from_dataset(dataset)


# ------------------------------------------------------ pynetdicom as the oracle


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_encoding_is_byte_identical_to_pynetdicom(message: DimseMessage) -> None:
    expected = pynetdicom_encode(pynetdicom_message(message).command_set, True, True)
    assert encode_command(message) == expected


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_pynetdicom_command_sets_decode_to_the_same_message(message: DimseMessage) -> None:
    encoded = pynetdicom_encode(pynetdicom_message(message).command_set, True, True)
    assert encoded is not None  # None would mean pynetdicom failed to encode
    assert decode_command(encoded) == message


def test_a_pydicom_built_c_store_rsp_with_odd_length_values_decodes() -> None:
    ds = PydicomDataset()
    ds.AffectedSOPClassUID = CT
    ds.CommandField = 0x8001
    ds.MessageIDBeingRespondedTo = 12
    ds.CommandDataSetType = 0x0101
    ds.Status = 0xB000
    ds.OffendingElement = [0x00100010, 0x00100020]
    ds.ErrorComment = "odd"
    ds.AffectedSOPInstanceUID = "1.2.3"
    encoded = pynetdicom_encode(ds, True, True)  # no group length at all: it is optional to us
    assert encoded is not None
    assert decode_command(encoded) == CStoreRSP(12, 0xB000, CT, "1.2.3", "odd", (0x00100010, 0x00100020))


# ------------------------------------------------------------------- data set flag


def test_command_data_set_type_follows_has_dataset() -> None:
    pending = CFindRSP(1, 0xFF00, CT, has_dataset=True)
    final = CFindRSP(1, 0x0000, CT)
    assert pending.has_dataset and not final.has_dataset
    assert pending.to_dataset().get_int(tags.CommandDataSetType) == 0x0001
    assert final.to_dataset().get_int(tags.CommandDataSetType) == 0x0101
    assert CStoreRQ(1, CT, "1.2").has_dataset and not CEchoRQ(1).has_dataset


@pytest.mark.parametrize("value", [0x0000, 0x0001, 0x0102, 0xFEFE])
def test_any_data_set_type_but_0101_announces_a_data_set(value: int) -> None:
    encoded = command_bytes(
        element(0x0002, b"1.2\x00"), element(0x0100, us(0x8020)), element(0x0120, us(4)),
        element(0x0800, us(value)), element(0x0900, us(0xFF00)),
    )  # fmt: skip
    assert decode_command(encoded) == CFindRSP(4, 0xFF00, "1.2", has_dataset=True)


def test_has_dataset_override_lets_a_test_peer_send_a_lie() -> None:
    encoded = encode_command(CEchoRQ(1), has_dataset=True)
    with pytest.raises(RemoteProtocolError, match="without a data set"):
        decode_command(encoded)


def test_c_store_rq_without_a_data_set_is_refused() -> None:
    encoded = encode_command(CStoreRQ(1, CT, "1.2"), has_dataset=False)
    with pytest.raises(RemoteProtocolError, match="C-STORE-RQ must come with a data set"):
        decode_command(encoded)


# ------------------------------------------------------------------ strict decoding

_ECHO_BODY = (element(0x0002, b"1.2\x00"), element(0x0100, us(0x0030)), element(0x0110, us(1)))


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        (b"", "no \\(0000,0100\\)"),
        (command_bytes(*_ECHO_BODY), "without \\(0000,0800\\)"),
        (command_bytes(*_ECHO_BODY[:2], element(0x0800, us(0x0101))), "without \\(0000,0110\\) MessageID"),
        (command_bytes(element(0x0100, us(0x0031)), element(0x0800, us(0x0101))), "unknown CommandField"),
        (command_bytes(*_ECHO_BODY, element(0x0800, b"\x01\x01\x00\x00")), "US needs 2"),
        (command_bytes(*_ECHO_BODY, element(0x0800, us(0x0101)), element(0x0110, us(2))), "appears twice"),
        (command_bytes(*_ECHO_BODY, struct.pack("<HHL", 8, 0x18, 0)), "not in group 0000"),
        (command_bytes(*_ECHO_BODY, element(0x0800, us(0x0101)))[:-1], "declares 2 bytes"),
        (command_bytes(*_ECHO_BODY, element(0x0800, us(0x0101))) + b"\x00\x00", "header cut short"),
        (element(0, struct.pack("<L", 99)) + command_bytes(*_ECHO_BODY, group_length=False), "follow it"),
        (
            command_bytes(*_ECHO_BODY, struct.pack("<HHL", 0, 0x0800, 0xFFFFFFFF)),
            "declares 4294967295 bytes",
        ),
        (command_bytes(element(0x0002, b"1.2\x00"), element(0x0100, b"\x30")), "US needs 2"),
        (command_bytes(element(0x0901, b"\x10\x00"), element(0x0100, us(0x8001))), "multiple of 4"),
        (command_bytes(element(0x0902, b"x" * 66), element(0x0100, us(0x8001))), "longer than 64"),
    ],
    ids=[
        "empty", "no-dataset-type", "missing-message-id", "unknown-field", "us-too-long", "duplicate",
        "other-group", "value-cut", "header-cut", "wrong-group-length", "undefined-length",
        "us-too-short", "at-odd", "lo-too-long",
    ],
)  # fmt: skip
def test_malformed_command_sets_raise_remote_protocol_error(encoded: bytes, reason: str) -> None:
    with pytest.raises(RemoteProtocolError, match=reason):
        decode_command(encoded)


def test_an_unknown_priority_is_refused() -> None:
    encoded = command_bytes(
        element(0x0002, b"1.2\x00"), element(0x0100, us(0x0020)), element(0x0110, us(1)),
        element(0x0700, us(3)), element(0x0800, us(1)),
    )  # fmt: skip
    with pytest.raises(RemoteProtocolError, match="unknown priority 3"):
        decode_command(encoded)


def test_a_command_set_over_the_bound_is_refused_before_parsing() -> None:
    with pytest.raises(RemoteProtocolError, match="exceed"):
        decode_command(bytes(MAX_COMMAND_LENGTH + 2))


def test_retired_elements_are_skipped_and_order_is_not_required() -> None:
    encoded = command_bytes(
        element(0x0800, us(0x0101)),
        element(0x0110, us(9)),
        element(0x0010, b"ACR-NEMA"),  # (0000,0010) CommandRecognitionCode, retired
        element(0x4000, b"X "),  # (0000,4000) DialogReceiver, retired
        element(0x0100, us(0x0030)),
        element(0x0002, b"1.2.840.10008.1.1\x00"),
    )
    assert decode_command(encoded) == CEchoRQ(9)


def test_padding_and_empty_optional_uids_are_tolerated() -> None:
    encoded = command_bytes(
        element(0x0002, b" 1.2.3 "), element(0x0100, us(0x8001)), element(0x0120, us(5)),
        element(0x0800, us(0x0101)), element(0x0900, us(0)), element(0x1000, b""),
    )  # fmt: skip
    assert decode_command(encoded) == CStoreRSP(5, 0, "1.2.3", None)


@pytest.mark.parametrize(
    "raw", [b"1.2.3/4\x00", b"../../etc/passwd", b"1.2.abc\x00", b"1." * 33, b"1.2\xff.3\x00"],
    ids=["slash", "path", "letters", "too-long", "not-ascii"],
)  # fmt: skip
def test_malformed_uids_are_kept_as_text_for_the_service_to_refuse(raw: bytes) -> None:
    encoded = command_bytes(
        element(0x0002, CT.encode() + b"\x00" * (len(CT) % 2)), element(0x0100, us(0x0001)),
        element(0x0110, us(3)), element(0x0800, us(0x0001)), element(0x1000, raw),
    )  # fmt: skip
    message = decode_command(encoded)
    assert isinstance(message, CStoreRQ)
    uid = message.affected_sop_instance_uid
    assert uid == raw.rstrip(b"\x00").decode("ascii", "replace") and not is_valid_uid(uid)


def test_failure_response_leaves_out_a_malformed_uid_of_the_request_and_encodes() -> None:
    request = CStoreRQ(4, CT, "1.2.3/4")
    response = failure_response(request, 0xA900, "Affected SOP Instance UID is invalid")
    assert response == CStoreRSP(4, 0xA900, CT, None, error_comment="Affected SOP Instance UID is invalid")
    assert decode_command(encode_command(response)) == response


def test_a_memoryview_is_decoded_like_bytes() -> None:
    assert decode_command(memoryview(b"xx" + ECHO_RQ_BYTES)[2:]) == CEchoRQ(7)


# -------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (CEchoRQ(70000), "0..65535"),
        (CEchoRQ(-1), "0..65535"),
        (CEchoRQ(1, "1.2.abc"), "not a valid UID"),
        (CEchoRQ(1, ""), "not a valid UID"),
        (CEchoRSP(1, 0, error_comment="x" * 65), "at most 64"),
        (CEchoRSP(1, 0, error_comment="back\\slash"), "without backslash"),
        (CEchoRSP(1, 0, error_comment="caf\u00e9"), "ISO 646"),
        (CMoveRQ(1, CT, "A" * 17), "at most 16"),
        (NGetRQ(1, CT, "1.2", ()), "non-empty tuple"),
        (NGetRQ(1, CT, "1.2", (0x1_0000_0000,)), "is not a tag"),
    ],
)
def test_values_that_do_not_fit_their_vr_raise_encode_error(message: DimseMessage, reason: str) -> None:
    with pytest.raises(EncodeError, match=reason):
        encode_command(message)


def test_command_sets_have_even_values_and_are_sorted() -> None:
    encoded = encode_command(CMoveRQ(1, "1.2.3", "ODD", Priority.HIGH))
    pos, seen = 0, []
    while pos < len(encoded):
        _, number, length = struct.unpack_from("<HHL", encoded, pos)
        assert length % 2 == 0
        seen.append(number)
        pos += 8 + length
    assert seen == sorted(seen) == [0x0000, 0x0002, 0x0100, 0x0110, 0x0600, 0x0700, 0x0800]


def test_c_cancel_rq_carries_no_sop_class() -> None:
    assert encode_command(CCancelRQ(3)) == command_bytes(
        element(0x0100, us(0x0FFF)), element(0x0120, us(3)), element(0x0800, us(0x0101))
    )
    assert CommandField.C_CANCEL_RQ.message_name == "C-CANCEL-RQ"


# ------------------------------------------------------------- failure responses

REQUEST_CLASSES = [cls for cls in MESSAGE_CLASSES if not cls.command_field & 0x8000 and cls is not CCancelRQ]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(REQUEST_CLASSES).flatmap(messages_of), st.integers(0, 0xFFFF))
def test_failure_response_answers_any_request_and_survives_the_wire(
    request: DimseRequest, status: int
) -> None:
    assert not isinstance(request, CCancelRQ)  # not in REQUEST_CLASSES: C-CANCEL has no response
    response = failure_response(request, status, "disk full")
    assert type(response) is response_type(request)
    assert response.command_field == request.command_field | 0x8000
    assert response.message_id_being_responded_to == request.message_id
    assert response.status == status
    assert decode_command(encode_command(response)) == response


def test_failure_response_to_a_c_store_names_the_instance_and_carries_the_comment() -> None:
    request = CStoreRQ(7, CT, "1.2.3.4")
    assert failure_response(request, 0xA700, "out of resources") == CStoreRSP(
        7, 0xA700, CT, "1.2.3.4", error_comment="out of resources"
    )


def test_failure_response_to_an_n_set_takes_the_requested_uids_as_affected() -> None:
    request = NSetRQ(3, "1.2.840.10008.3.1.2.3.3", "1.2.3.9")
    response = failure_response(request, 0x0110)
    assert response == NSetRSP(3, 0x0110, "1.2.840.10008.3.1.2.3.3", "1.2.3.9")


def test_failure_comment_is_cut_to_64_lo_characters_without_backslash_or_controls() -> None:
    comment = "a\\b\nc\u00e9" + "x" * 100
    response = failure_response(CEchoRQ(1), 0x0110, comment)
    assert isinstance(response, CEchoRSP)
    assert response.error_comment == "abc" + "x" * 61
    assert failure_response(CEchoRQ(1), 0x0110, "\n\t").error_comment is None


@pytest.mark.parametrize("message", [CCancelRQ(5), CEchoRSP(1, 0), CStoreRSP(2, 0)])
def test_messages_without_a_response_are_refused(message: DimseMessage) -> None:
    with pytest.raises(ValueError, match="has no response"):
        failure_response(message, 0x0110)
