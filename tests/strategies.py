"""Hypothesis strategies for DICOM values, elements and data sets (shared by tests)."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.tag import Tag
from dicomkit.data.value_codec import ElementValue
from dicomkit.data.vr import VR, VR_INFO, VRKind

_ASCII_TEXT = string.ascii_letters + string.digits + " .-_^"
_CS = string.ascii_uppercase + string.digits + " _"


def _text(alphabet: str, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=max_size).map(lambda s: s.strip(" "))


def values_for(vr: str) -> st.SearchStrategy[ElementValue]:
    """Decoded values of one VR in the canonical Python form the data model returns."""
    info = VR_INFO[VR(vr)]
    if info.kind is VRKind.NUMBER:
        if info.struct_code in "fd":
            floats = st.floats(allow_nan=False, width=32 if info.struct_code == "f" else 64)
            return st.lists(floats, min_size=1, max_size=4)
        bits = info.item_size * 8
        signed = info.struct_code.islower()
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        return st.lists(st.integers(low, high), min_size=1, max_size=4)
    if info.kind is VRKind.TAG:
        return st.lists(st.integers(0, 0xFFFFFFFF).map(Tag), min_size=1, max_size=3)
    if info.kind is VRKind.BYTES:
        size = info.item_size
        unit = max(2, size)  # values are even length on the wire (PS3.5 7.1.1)
        return st.binary(max_size=64).map(lambda b: b[: len(b) - len(b) % unit])
    simple = {
        "AE": _text(string.ascii_uppercase + string.digits + "_ ", 16),
        "AS": st.sampled_from(["", "001D", "012W", "006M", "045Y"]),
        "CS": _text(_CS, 16),
        "DA": st.dates().map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"),
        "DT": st.datetimes().map(lambda d: d.strftime("%Y%m%d%H%M%S")),
        "TM": st.times().map(lambda t: t.strftime("%H%M%S")),
        "UI": st.lists(st.integers(0, 99999), min_size=2, max_size=6).map(lambda p: ".".join(map(str, p))),
        "UR": st.just("http://example.org/x"),
        "LT": _text(_ASCII_TEXT + "\\", 200),
        "ST": _text(_ASCII_TEXT + "\\", 200),
        "UT": _text(_ASCII_TEXT + "\\", 200),
    }
    if vr in simple:
        return simple[vr]
    if vr == "DS":
        return st.lists(st.integers(-(10**9), 10**9).map(float), min_size=1, max_size=3)
    if vr == "IS":
        return st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=3)
    # SH LO PN UC: multi-valued text in the default repertoire
    return st.lists(_text(_ASCII_TEXT, 16).filter(bool), min_size=1, max_size=3)


TAGGED_VRS = [vr.value for vr in VR if vr is not VR.SQ]


@st.composite
def elements(draw: st.DrawFn, vr: str | None = None) -> Element:
    vr = vr or draw(st.sampled_from(TAGGED_VRS))
    group = draw(st.integers(0x0004, 0x3FEF)) * 2 + 1  # a private (odd) group
    tag = Tag(group, draw(st.integers(0x1000, 0x10FF)))
    return Element(tag, vr, draw(values_for(vr)))


@st.composite
def datasets(draw: st.DrawFn, depth: int = 2) -> Dataset:
    ds = Dataset()
    for element in draw(st.lists(elements(), max_size=12)):
        ds.add(element)
    if depth > 0 and draw(st.booleans()):
        items = draw(st.lists(datasets(depth=depth - 1), max_size=3))
        ds.add(Element(Tag(0x0009, 0x1000), "SQ", items))
    return ds
