"""The files a Storage SCU sends: finding them, their identity, and conversion (PS3.10, PS3.5 §10).

Part of ``dicomkit.net.scu``, below ``storage`` (which holds the network side). Pure file
work, no sockets:

- :func:`find_files` expands files and folders (recursively) into a sorted list of paths;
- :func:`scan_instance` reads a file only up to its SOP Instance UID and records what
  a C-STORE needs: SOP Class and Instance UIDs, transfer syntax, and where the data set
  starts, so that an instance sent in its own syntax is streamed from the file as is;
- :func:`check_lengths` walks the data set's element headers, seeking past the values,
  and refuses one whose declared lengths run past the end of the file (a truncated file
  streamed as is makes the peer abort the association);
- :func:`encode_for` re-encodes an instance for another transfer syntax in memory: native
  to native through the PS3.10 writer, compressed to native (or another syntax) through
  ``dicomkit.codecs.transcode``. Senders use it only for what ``scu.conversion`` cannot
  stream (a deflated source, a few pixel layouts); its bytes are that module's oracle.

::

    [preamble 128][DICM][group 0002, explicit VR LE] | data set in its transfer syntax ... EOF
                                                     ^ dataset_offset: what C-STORE carries
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from dicomkit.data import tags
from dicomkit.data.dictionary import keyword_for_tag
from dicomkit.data.tag import Tag
from dicomkit.data.uid import is_valid_uid
from dicomkit.data.vr import LONG_LENGTH_VRS, VALID_VRS
from dicomkit.errors import DecodeError, InvalidVRError, TruncatedError
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_file
from dicomkit.part10.transfer_syntax import transfer_syntax
from dicomkit.part10.writer import encode_dataset

__all__ = ["Instance", "check_lengths", "encode_for", "find_files", "scan_instance"]

# Read no further than the SOP Instance UID: what identifies the instance.
_IDENTITY: Final = ReadOptions(stop_before=tags.SOPInstanceUID + 1)
_PREAMBLE: Final = 128
_MAGIC: Final = b"DICM"
_VR_BYTES: Final = frozenset(vr.encode() for vr in VALID_VRS)
_LONG_VR_BYTES: Final = frozenset(vr.encode() for vr in LONG_LENGTH_VRS)
_UNDEFINED: Final = 0xFFFFFFFF
_ITEM: Final = 0xFFFEE000
_ITEM_DELIMITATION: Final = 0xFFFEE00D
_SEQUENCE_DELIMITATION: Final = 0xFFFEE0DD
#: Nesting bound for undefined-length sequences walked by :func:`check_lengths`.
_MAX_DEPTH: Final = 64


@dataclass(frozen=True, slots=True)
class Instance:
    """A file to send: its identity and where its data set lies in it."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    dataset_offset: int
    dataset_length: int


def find_files(paths: Iterable[str | os.PathLike[str]], *, recursive: bool = True) -> list[Path]:
    """The files named, and those in the folders named (below them with ``recursive``).

    Files of one folder come sorted by path; hidden files inside folders are skipped. A
    path that is not a folder is returned as it is, existing or not (reading it reports).
    """
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            pattern = path.rglob("*") if recursive else path.glob("*")
            found.extend(
                sorted(
                    child
                    for child in pattern
                    if child.is_file()
                    and not any(part.startswith(".") for part in child.relative_to(path).parts)
                )
            )
        else:
            found.append(path)
    return found


def scan_instance(path: Path) -> Instance:
    """Identify the instance in a PS3.10 file (or raw data set) without reading it whole.

    Raises:
        DicomFormatError: not DICOM, or no valid SOP Class/Instance UID.
        OSError: the file cannot be read.
    """
    header = read_file(path, _IDENTITY)
    sop_class = header.dataset.get_str(tags.SOPClassUID)
    sop_instance = header.dataset.get_str(tags.SOPInstanceUID)
    for uid, what in ((sop_class, "SOP Class UID"), (sop_instance, "SOP Instance UID")):
        if not uid:
            raise DecodeError(f"no {what}: not a composite instance")
        if not is_valid_uid(uid):
            raise DecodeError(f"{what} {uid!r} is not a valid UID")
    assert sop_class is not None and sop_instance is not None
    with open(path, "rb") as fp:
        offset = _dataset_offset(fp)
        size = os.fstat(fp.fileno()).st_size
    return Instance(path, sop_class, sop_instance, header.transfer_syntax, offset, size - offset)


def _dataset_offset(fp: BinaryIO) -> int:
    """Where the data set starts: after the preamble, ``DICM`` and group 0002 (PS3.10 §7.1).

    Walks the File Meta element headers (their group length is advisory: many writers
    get it wrong). A File Meta written in implicit VR, as some old writers did, is
    recognised by a second header word that is not a VR.
    """
    head = fp.read(_PREAMBLE + len(_MAGIC))
    position = 0
    if head[_PREAMBLE:] == _MAGIC:
        position = len(head)
    elif head[: len(_MAGIC)] == _MAGIC:
        position = len(_MAGIC)
    while True:
        fp.seek(position)
        element = fp.read(12)
        if len(element) < 8 or element[:2] != b"\x02\x00":
            return position
        vr = element[4:6]
        if vr not in _VR_BYTES:
            length = struct.unpack_from("<L", element, 4)[0]
            header = 8
        elif vr in _LONG_VR_BYTES:
            if len(element) < 12:
                raise DecodeError("File Meta element header cut short", offset=position)
            length = struct.unpack_from("<L", element, 8)[0]
            header = 12
        else:
            length = struct.unpack_from("<H", element, 6)[0]
            header = 8
        if length == _UNDEFINED:
            raise DecodeError("undefined length in File Meta Information", offset=position)
        position += header + length


def check_lengths(instance: Instance) -> None:
    """Check that every element of the instance's data set ends inside the file.

    Reads element headers only and seeks past the values, so pixel data is never read:
    a defined length is compared with the bytes that remain; an undefined length (a
    sequence, encapsulated pixel data) is walked item by item to its delimiter. Elements
    of defined length are not looked into. A deflated data set cannot be walked without
    inflating it, and is not checked.

    Raises:
        TruncatedError: a declared length runs past the end of the file, or a header,
            item or delimiter is missing there.
        DecodeError: an explicit VR that PS3.5 does not define, where an item should be
            something else, or sequences nested beyond the bound.
        OSError: the file cannot be read.
    """
    syntax = transfer_syntax(instance.transfer_syntax)
    if syntax.deflated:
        return
    with open(instance.path, "rb") as fp:
        walk = _LengthWalk(fp, instance.dataset_offset + instance.dataset_length)
        walk.elements(
            instance.dataset_offset,
            implicit=syntax.implicit_vr,
            little=syntax.little_endian,
            depth=0,
            in_item=False,
        )


class _LengthWalk:
    """Element and item headers of one data set, read at absolute offsets (PS3.5 §7.1, §7.5)."""

    def __init__(self, fp: BinaryIO, end: int) -> None:
        self.fp = fp
        self.end = end

    def header(self, pos: int, *, implicit: bool, little: bool) -> tuple[int, bytes, int, int]:
        """The tag, VR (empty when implicit), declared length and value offset at ``pos``."""
        self.fp.seek(pos)
        raw = self.fp.read(min(12, self.end - pos))
        if len(raw) < 8:
            raise TruncatedError("element header cut short by the end of the file", offset=pos)
        order = "<" if little else ">"
        group, element = struct.unpack_from(order + "HH", raw)
        tag = group << 16 | element
        if implicit or group == 0xFFFE:  # item tags carry no VR, even in explicit VR
            return tag, b"", struct.unpack_from(order + "L", raw, 4)[0], pos + 8
        vr = raw[4:6]
        if vr in _LONG_VR_BYTES:
            if len(raw) < 12:
                raise TruncatedError("element header cut short by the end of the file", offset=pos, tag=tag)
            return tag, vr, struct.unpack_from(order + "L", raw, 8)[0], pos + 12
        if vr not in _VR_BYTES:
            raise InvalidVRError(f"invalid VR {vr!r}", offset=pos + 4, tag=tag)
        return tag, vr, struct.unpack_from(order + "H", raw, 6)[0], pos + 8

    def skip(self, tag: int, length: int, value: int) -> int:
        """The offset after a value of defined length, if the file holds it whole."""
        remaining = self.end - value
        if length > remaining:
            what = keyword_for_tag(tag) or str(Tag(tag))
            raise TruncatedError(
                f"{what} declares {length} bytes but only {remaining} remain in the file",
                offset=value,
                tag=tag,
            )
        return value + length

    def elements(self, pos: int, *, implicit: bool, little: bool, depth: int, in_item: bool) -> int:
        """Walk a data set (or an undefined-length item, up to its delimiter)."""
        while pos < self.end:
            tag, vr, length, value = self.header(pos, implicit=implicit, little=little)
            if in_item and tag == _ITEM_DELIMITATION:
                return value
            if length != _UNDEFINED:
                pos = self.skip(tag, length, value)
            elif vr == b"UN":  # a sequence in implicit VR little endian (PS3.5 §6.2.2)
                pos = self.items(value, tag, implicit=True, little=True, depth=depth + 1)
            else:  # a sequence, or encapsulated pixel data (PS3.5 A.4)
                pos = self.items(value, tag, implicit=implicit, little=little, depth=depth + 1)
        if in_item:
            raise TruncatedError("undefined-length item has no Item Delimitation Item", offset=pos)
        return pos

    def items(self, pos: int, owner: int, *, implicit: bool, little: bool, depth: int) -> int:
        """Walk the items of an undefined-length element up to its Sequence Delimitation Item."""
        if depth > _MAX_DEPTH:
            raise DecodeError(f"sequences nested deeper than {_MAX_DEPTH}", offset=pos, tag=owner)
        while True:
            tag, _, length, value = self.header(pos, implicit=implicit, little=little)
            if tag == _SEQUENCE_DELIMITATION:
                return value
            if tag != _ITEM:
                raise DecodeError(f"expected an item, found {Tag(tag)}", offset=pos, tag=owner)
            if length == _UNDEFINED:
                pos = self.elements(value, implicit=implicit, little=little, depth=depth, in_item=True)
            else:
                pos = self.skip(tag, length, value)


def encode_for(instance: Instance, target_syntax: str) -> bytes:
    """The instance's data set encoded in ``target_syntax`` (read whole, then converted).

    Raises:
        DicomFormatError: the file cannot be read whole.
        CodecError: compressed pixel data that cannot be decoded or encoded for the target.
        EncodeError: a value the target syntax cannot hold.
    """
    dataset = read_file(instance.path).dataset
    source = instance.transfer_syntax
    if transfer_syntax(source).encapsulated or transfer_syntax(target_syntax).encapsulated:
        from dicomkit.codecs.transcode import transcode  # numpy and codecs only when needed

        dataset = transcode(dataset, source, target_syntax)
    return encode_dataset(dataset, target_syntax)
