"""The files a Storage SCU sends: finding them, their identity, and conversion (PS3.10, PS3.5 §10).

Part of ``dicomkit.net.scu``, below ``storage`` (which holds the network side). Pure file
work, no sockets:

- :func:`find_files` expands files and folders (recursively) into a sorted list of paths;
- :func:`scan_instance` reads a file only up to its SOP Instance UID and records what
  a C-STORE needs: SOP Class and Instance UIDs, transfer syntax, and where the data set
  starts, so that an instance sent in its own syntax is streamed from the file as is;
- :func:`encode_for` re-encodes an instance for another transfer syntax: native to native
  through the PS3.10 writer, compressed to native (or another syntax) through
  ``dicomkit.codecs.transcode``.

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
from dicomkit.data.uid import is_valid_uid
from dicomkit.data.vr import LONG_LENGTH_VRS, VALID_VRS
from dicomkit.errors import DecodeError
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_file
from dicomkit.part10.transfer_syntax import transfer_syntax
from dicomkit.part10.writer import encode_dataset

__all__ = ["Instance", "encode_for", "find_files", "scan_instance"]

# Read no further than the SOP Instance UID: what identifies the instance.
_IDENTITY: Final = ReadOptions(stop_before=tags.SOPInstanceUID + 1)
_PREAMBLE: Final = 128
_MAGIC: Final = b"DICM"
_VR_BYTES: Final = frozenset(vr.encode() for vr in VALID_VRS)
_LONG_VR_BYTES: Final = frozenset(vr.encode() for vr in LONG_LENGTH_VRS)
_UNDEFINED: Final = 0xFFFFFFFF


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
