"""File Meta Information (PS3.10 §7.1): group 0002, always explicit VR little endian.

``build_file_meta`` writes what PS3.10 requires: group length, version 00 01, the
Media Storage SOP Class/Instance from the data set, the transfer syntax, and this
implementation's class UID and version name.
"""

from __future__ import annotations

from dicomkit.data.dataset import Dataset
from dicomkit.errors import EncodeError
from dicomkit.implementation import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

__all__ = ["IMPLEMENTATION_CLASS_UID", "IMPLEMENTATION_VERSION_NAME", "build_file_meta"]

_SOP_CLASS = 0x00080016
_SOP_INSTANCE = 0x00080018


def build_file_meta(
    dataset: Dataset,
    transfer_syntax: str,
    *,
    previous: Dataset | None = None,
    source_ae_title: str | None = None,
) -> Dataset:
    """File Meta for writing ``dataset`` in ``transfer_syntax``.

    Optional elements of ``previous`` (e.g. Source/Sending AE titles, private
    information) are kept; the required ones are always rewritten.
    """
    meta = Dataset()
    if previous is not None:
        for element in previous.elements():
            if element.tag >> 16 == 2 and element.tag not in (0x00020000,):
                meta.add(element.copy())
    sop_class = dataset.get_str(_SOP_CLASS) or (previous.get_str(0x00020002) if previous else None)
    sop_instance = dataset.get_str(_SOP_INSTANCE) or (previous.get_str(0x00020003) if previous else None)
    if not sop_class or not sop_instance:
        raise EncodeError("a Part 10 file needs SOP Class UID and SOP Instance UID in the data set")
    meta.set(0x00020001, b"\x00\x01", "OB")
    meta.set(0x00020002, sop_class, "UI")
    meta.set(0x00020003, sop_instance, "UI")
    meta.set(0x00020010, transfer_syntax, "UI")
    meta.set(0x00020012, IMPLEMENTATION_CLASS_UID, "UI")
    meta.set(0x00020013, IMPLEMENTATION_VERSION_NAME, "SH")
    if source_ae_title is not None:
        meta.set(0x00020016, source_ae_title, "AE")
    return meta
