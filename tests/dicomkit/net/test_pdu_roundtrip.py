"""Property tests: every PDU decodes back to itself after encoding (PS3.8 §9.3)."""

from __future__ import annotations

from hypothesis import given, settings

from dicomkit.net.pdu import PDU, PDataTF, decode_pdu, read_pdu_header
from tests.dicomkit.net.pdu_strategies import associate_acs, associate_rqs, p_data_tfs, pdus


@given(pdus)
@settings(max_examples=100)
def test_any_pdu_round_trips(pdu: PDU) -> None:
    raw = pdu.encode()
    assert decode_pdu(raw) == pdu
    pdu_type, length = read_pdu_header(raw)
    assert pdu_type == pdu.pdu_type
    assert length == len(raw) - 6


@given(associate_rqs)
def test_associate_rq_round_trips(pdu: PDU) -> None:
    assert decode_pdu(pdu.encode()) == pdu


@given(associate_acs)
def test_associate_ac_round_trips(pdu: PDU) -> None:
    assert decode_pdu(pdu.encode()) == pdu


@given(p_data_tfs)
def test_p_data_tf_length_matches_encoding(pdu: PDataTF) -> None:
    assert len(pdu.encode()) == pdu.length + 6
