"""The system checks' AE title rule agrees with what dicomkit's AEConfig accepts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from apps.dicom_net.validation import ae_title_problems
from dicomkit.net.config import AEConfig

titles = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=18),
    st.text(max_size=18),
)


@given(titles)
def test_a_title_passes_the_check_exactly_when_dicomkit_accepts_it(title: str) -> None:
    try:
        AEConfig(ae_title=title)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert (ae_title_problems(title) == []) == accepted
