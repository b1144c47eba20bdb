"""Hypothesis strategies for Upper Layer PDUs (shared by the round-trip and fuzz tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from dicomkit.net.pdu import (
    PDU,
    AbortPDU,
    AbortSource,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    AsynchronousOperationsWindow,
    ContextResult,
    PDataTF,
    PresentationContextAC,
    PresentationContextRQ,
    PresentationDataValue,
    RejectResult,
    RejectSource,
    ReleaseRP,
    ReleaseRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
)

_component = st.one_of(st.just("0"), st.integers(1, 10**12).map(str))
uids = st.lists(_component, min_size=2, max_size=10).map(".".join).filter(lambda uid: len(uid) <= 64)
_ae_alphabet = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="\\")
ae_titles = st.text(_ae_alphabet, max_size=16).map(lambda text: text.strip(" "))
context_ids = st.integers(0, 127).map(lambda n: 2 * n + 1)
short_bytes = st.binary(max_size=40)
version_names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=16)

role_selections = st.builds(RoleSelection, uids, st.booleans(), st.booleans())
extended = st.builds(SOPClassExtendedNegotiation, uids, short_bytes)
common_extended = st.builds(
    SOPClassCommonExtendedNegotiation, uids, uids, st.lists(uids, max_size=3).map(tuple)
)
identity_rq = st.builds(UserIdentityRQ, st.integers(1, 5), short_bytes, short_bytes, st.booleans())
identity_ac = st.builds(UserIdentityAC, short_bytes)


def user_information(
    identity: st.SearchStrategy[UserIdentityRQ | UserIdentityAC],
) -> st.SearchStrategy[UserInformation]:
    return st.builds(
        UserInformation,
        maximum_length=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
        implementation_class_uid=st.one_of(st.none(), uids),
        implementation_version_name=st.one_of(st.none(), version_names),
        asynchronous_operations_window=st.one_of(
            st.none(), st.builds(AsynchronousOperationsWindow, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
        ),
        role_selections=st.lists(role_selections, max_size=3, unique_by=lambda r: r.sop_class_uid).map(tuple),
        sop_class_extended_negotiations=st.lists(
            extended, max_size=2, unique_by=lambda e: e.sop_class_uid
        ).map(tuple),
        sop_class_common_extended_negotiations=st.lists(
            common_extended, max_size=2, unique_by=lambda e: e.sop_class_uid
        ).map(tuple),
        user_identity=st.one_of(st.none(), identity),
    )


contexts_rq = st.builds(
    PresentationContextRQ, context_ids, uids, st.lists(uids, min_size=1, max_size=4, unique=True).map(tuple)
)
contexts_ac = st.one_of(
    st.builds(PresentationContextAC, context_ids, st.just(ContextResult.ACCEPTANCE), uids),
    st.builds(
        PresentationContextAC,
        context_ids,
        st.sampled_from([r for r in ContextResult if r != ContextResult.ACCEPTANCE]),
        st.one_of(st.just(""), uids),
    ),
)

associate_rqs = st.builds(
    AssociateRQ,
    ae_titles,
    ae_titles,
    st.lists(contexts_rq, min_size=1, max_size=5, unique_by=lambda c: c.context_id).map(tuple),
    user_information(identity_rq),
    uids,
    st.integers(0, 0xFFFF),
)
associate_acs = st.builds(
    AssociateAC,
    ae_titles,
    ae_titles,
    st.lists(contexts_ac, min_size=1, max_size=5, unique_by=lambda c: c.context_id).map(tuple),
    user_information(identity_ac),
    uids,
    st.integers(0, 0xFFFF),
)
associate_rjs = st.builds(
    AssociateRJ, st.sampled_from(RejectResult), st.sampled_from(RejectSource), st.integers(0, 255)
)
pdvs = st.builds(PresentationDataValue, context_ids, st.integers(0, 3), st.binary(max_size=64))
p_data_tfs = st.builds(PDataTF, st.lists(pdvs, min_size=1, max_size=4).map(tuple))
aborts = st.builds(AbortPDU, st.sampled_from(AbortSource), st.integers(0, 255))

pdus: st.SearchStrategy[PDU] = st.one_of(
    associate_rqs,
    associate_acs,
    associate_rjs,
    p_data_tfs,
    st.just(ReleaseRQ()),
    st.just(ReleaseRP()),
    aborts,
)
