"""Encoding many flat data sets of the same shape, from their value bytes (PS3.5 §7.1).

Part of ``dicomkit.part10``, beside ``writer``. A :class:`DatasetTemplate` is built once
for a fixed, ascending list of ``(tag, VR)`` in a little endian native transfer syntax:
the constant part of every element header (tag, VR, reserved bytes) is encoded then,
so encoding one data set is concatenating, per element, that prefix, the value length
and the value bytes. What a C-FIND SCP streams (thousands of response identifiers with
the same keys) costs a few microseconds each this way instead of building a
:class:`~dicomkit.data.dataset.Dataset` per match::

    template = DatasetTemplate([(tags.PatientID, "LO"), (tags.StudyInstanceUID, "UI")], ts)
    template.encode([b"PID1", b"1.2.3"])    # == encode_dataset(the same Dataset, ts)

Invariants (the bytes are those of ``writer.encode_dataset`` for the same elements and
values, which a test holds it to):

- values are padded to even length with the VR's padding byte (NUL for UI and binary
  VRs, else a space; PS3.5 §6.2); ``None`` leaves the element out, ``b""`` encodes it zero length;
- a value too long for a 16-bit explicit length is written as UN (PS3.5 §6.2.2);
- no sequences, no big endian, no deflate: :class:`~dicomkit.errors.EncodeError` when
  asked for one, so callers fall back to the writer.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

from dicomkit.data.vr import LONG_LENGTH_VRS, VALID_VRS, VR, VR_INFO
from dicomkit.errors import EncodeError
from dicomkit.part10.transfer_syntax import transfer_syntax

__all__ = ["DatasetTemplate"]

_SHORT: Final = struct.Struct("<H")
_LONG: Final = struct.Struct("<L")
_MAX_SHORT: Final = 0xFFFF


class DatasetTemplate:
    """The fixed elements of many flat data sets, encoded once; see the module docstring.

    Raises:
        EncodeError: tags not strictly ascending, an unknown VR or SQ, or a transfer
            syntax that is big endian or deflated.
    """

    __slots__ = ("_elements", "tags")

    def __init__(self, elements: Sequence[tuple[int, str]], transfer_syntax_uid: str) -> None:
        syntax = transfer_syntax(transfer_syntax_uid)
        if not syntax.little_endian or syntax.deflated:
            raise EncodeError(f"no template encoding for {syntax.name}")
        self.tags = tuple(tag for tag, _vr in elements)
        if any(later <= earlier for earlier, later in zip(self.tags, self.tags[1:], strict=False)):
            raise EncodeError("template tags must be strictly ascending")
        # Per element: header prefix, length struct, padding byte, UN prefix (or None).
        self._elements: tuple[tuple[bytes, struct.Struct, bytes, bytes | None], ...] = tuple(
            _element(tag, vr, implicit=syntax.implicit_vr) for tag, vr in elements
        )

    def encode(self, values: Sequence[bytes | None]) -> bytes:
        """One data set: ``values[i]`` is the value of element *i* (``None``: left out).

        Raises:
            EncodeError: not one value per element.
        """
        if len(values) != len(self._elements):
            raise EncodeError(f"{len(values)} values for a template of {len(self._elements)} elements")
        parts: list[bytes] = []
        append = parts.append
        for (prefix, length, pad, un_prefix), value in zip(self._elements, values, strict=True):
            if value is None:
                continue
            size = len(value)
            if size & 1:
                value += pad
                size += 1
            if un_prefix is not None and size > _MAX_SHORT:
                append(un_prefix)
                append(_LONG.pack(size))
            else:
                append(prefix)
                append(length.pack(size))
            append(value)
        return b"".join(parts)


def _element(tag: int, vr: str, *, implicit: bool) -> tuple[bytes, struct.Struct, bytes, bytes | None]:
    if vr not in VALID_VRS or vr == "SQ":
        raise EncodeError(f"no template encoding for VR {vr!r} of {tag:08X}")
    if not 0 <= tag <= 0xFFFFFFFF:
        raise EncodeError(f"tag {tag} out of range")
    group_element = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    pad = VR_INFO[VR(vr)].padding
    if implicit:
        return group_element, _LONG, pad, None
    if vr in LONG_LENGTH_VRS:
        return group_element + vr.encode() + b"\x00\x00", _LONG, pad, None
    return group_element + vr.encode(), _SHORT, pad, group_element + b"UN\x00\x00"
