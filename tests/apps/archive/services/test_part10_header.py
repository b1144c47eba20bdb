"""The File Meta header of a received data set, built from a template per transfer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.archive.services.ingest import _encode_part10_header, _part10_header
from dicomkit.data import uids
from dicomkit.part10.reader import read_file

_COMPONENT = st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,11}", fullmatch=True))
_UID = st.lists(_COMPONENT, min_size=1, max_size=8).map(".".join).filter(lambda uid: len(uid) <= 64)


@settings(max_examples=200, deadline=None)
@given(
    instance_uid=_UID,
    sop_class=st.sampled_from([uids.CTImageStorage, uids.MRImageStorage, "1.2.3.4.5.6.7.8.9.999999"]),
    ts=st.sampled_from([uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian, uids.JPEGBaseline8Bit]),
    ae=st.sampled_from(["", "STORESCU", "A", "MODALITY_CT_0001", "CT\u00e9"]),
)
def test_the_templated_header_equals_one_encoded_for_the_instance(
    instance_uid: str, sop_class: str, ts: str, ae: str
) -> None:
    templated = _part10_header(sop_class, instance_uid, ts, ae)
    assert templated == _encode_part10_header(sop_class, instance_uid, ts, ae)


def test_instances_of_one_transfer_get_their_own_uid() -> None:
    first = _part10_header(uids.CTImageStorage, "1.2.3.4.5.6.7.8", uids.ExplicitVRLittleEndian, "STORESCU")
    second = _part10_header(uids.CTImageStorage, "1.2.3.4.5.6.7.9", uids.ExplicitVRLittleEndian, "STORESCU")
    assert read_file(first).meta.get_str(0x00020003) == "1.2.3.4.5.6.7.8"
    assert read_file(second).meta.get_str(0x00020003) == "1.2.3.4.5.6.7.9"
