"""``dump FILE``: a readable listing of a DICOM file, one line per element.

::

    # File Meta Information
    (0002,0010) UI [1.2.840.10008.1.2.1]                  #     20, 1  TransferSyntaxUID
    # Data Set: Explicit VR Little Endian (1.2.840.10008.1.2.1)
    (0010,0010) PN [CompressedSamples^CT1]                #     22, 1  PatientName
    (0008,1140) SQ (1 item)                               #      -, 1  ReferencedImageSequence
      (FFFE,E000) item 1
        (0008,1150) UI [1.2.840.10008.5.1.4.1.1.2]        #     26, 1  ReferencedSOPClassUID
    (7FE0,0010) OW <32768 bytes>                          #  32768, 1  PixelData

Text values are shown in brackets, binary ones as hex words while short and as a length
otherwise; values not read from the file (deferred) are never loaded. Private elements
are named from the private dictionary under their creator. The file is read leniently
(PS3.10 files as found in the wild); what had to be recovered is listed at the end.
``--json`` prints the data set in the DICOM JSON model (PS3.18 Annex F) instead.
"""

from __future__ import annotations

import argparse
import struct
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.data.tag import Tag, is_private, is_private_creator
from dicomkit.data.vr import VR_INFO, VRKind
from dicomkit.errors import DicomError

if TYPE_CHECKING:
    from dicomkit.cli.main import Subparsers
    from dicomkit.part10.options import DicomFile

__all__ = ["add_parser", "dataset_lines", "dump_lines", "format_value", "run"]

DEFAULT_WIDTH = 48
#: Values longer than this are read from the file only on access: the dump never loads them.
DEFER_SIZE = 4096
#: Binary values up to this many bytes are shown in hex, longer ones as their length.
_HEX_LIMIT = 64

_KIND = {vr.value: info.kind for vr, info in VR_INFO.items()}
_ITEM = {vr.value: (info.item_size, info.struct_code) for vr, info in VR_INFO.items()}
_WORD_VRS = frozenset({"OW", "OL", "OV", "OF", "OD"})


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dump",
        help="print the elements of a DICOM file",
        description="Print the File Meta Information and the data set of a DICOM file, "
        "one element per line (or the DICOM JSON model with --json).",
    )
    parser.add_argument("file", metavar="FILE", help="a DICOM file (PS3.10) or a raw data set")
    parser.add_argument("--json", action="store_true", help="print the data set as DICOM JSON (PS3.18 F)")
    parser.add_argument(
        "--width",
        type=_width,
        default=DEFAULT_WIDTH,
        help=f"characters of a value to show before cutting it (default {DEFAULT_WIDTH})",
    )


def _width(text: str) -> int:
    try:
        width = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if width < 8:
        raise argparse.ArgumentTypeError("the width must be at least 8")
    return width


def run(args: argparse.Namespace) -> int:
    from dicomkit.cli.main import read_input
    from dicomkit.part10.options import ReadOptions, Validation

    path: str = args.file
    if args.json:
        # Every value goes into the JSON (binary as InlineBinary), so nothing is deferred.
        dicom_file = read_input(path, ReadOptions(validation=Validation.LENIENT))
        from dicomkit.data.json import dumps

        try:
            text = dumps(dicom_file.dataset, indent=2)
        except DicomError as exc:
            exc.add_note(path)
            raise
        sys.stdout.write(text)
        sys.stdout.write("\n")
        for finding in dicom_file.findings:
            print(f"warning: {finding}", file=sys.stderr)
        return 0
    dicom_file = read_input(path, ReadOptions(validation=Validation.LENIENT, defer_size=DEFER_SIZE))
    out = sys.stdout
    for line in dump_lines(dicom_file, width=args.width):
        out.write(line)
        out.write("\n")
    return 0


def dump_lines(dicom_file: DicomFile, *, width: int = DEFAULT_WIDTH) -> Iterator[str]:
    """The whole listing: File Meta, then the data set, then the findings."""
    from dicomkit.data.uid import uid_name

    findings = list(dicom_file.findings)
    preamble = "128-byte preamble" if dicom_file.preamble is not None else "no preamble"
    if len(dicom_file.meta):
        yield f"# File Meta Information ({preamble})"
        yield from dataset_lines(dicom_file.meta, width=width, findings=findings)
    else:
        yield f"# No File Meta Information ({preamble})"
    syntax = dicom_file.transfer_syntax
    yield f"# Data Set: {uid_name(syntax) or 'unknown transfer syntax'} ({syntax})"
    yield from dataset_lines(dicom_file.dataset, width=width, findings=findings)
    if findings:
        yield "# Findings:"
        yield from (f"#   {_one_line(finding)}" for finding in findings)


def dataset_lines(
    dataset: Dataset, *, width: int = DEFAULT_WIDTH, findings: list[str] | None = None, depth: int = 0
) -> Iterator[str]:
    """One line per element, items of sequences indented under them.

    A value that cannot be decoded is shown as such and its error appended to ``findings``.
    """
    indent = "  " * depth
    for element in dataset.elements():
        try:
            value, vm = format_value(element, width), _vm(element)
        except DicomError as exc:
            value, vm = "<undecodable>", "?"
            if findings is not None:
                findings.append(str(exc))
        length = _length(element)
        label = _label(element, dataset)
        head = f"{indent}{element.tag} {element.vr} {value}"
        # The comment column is fixed; only long values in nested items push it right.
        yield f"{head:<{width + 15}} # {length:>6}, {vm:<3} {label}"
        if element.vr == "SQ":
            items = element.sequence
            for number, item in enumerate(items, 1):
                yield f"{indent}  (FFFE,E000) item {number}"
                yield from dataset_lines(item, width=width, findings=findings, depth=depth + 2)


def format_value(element: Element, width: int = DEFAULT_WIDTH) -> str:
    """The value of ``element`` in at most ``width`` characters, on one line.

    Raises:
        DicomError: the value bytes cannot be decoded.
    """
    vr = element.vr
    if vr == "SQ":
        count = len(element.sequence)
        return f"({count} item{'' if count == 1 else 's'})"
    if element.undefined_length:
        return f"<encapsulated, {element.length} bytes>"
    kind = _KIND.get(vr, VRKind.BYTES)
    if element.is_deferred:
        return f"<{element.length} bytes, not loaded>"
    if kind is VRKind.BYTES:
        return _cut(_binary_text(element), width)
    if kind is VRKind.ASCII and element.is_raw:
        # Shown as written (a DS stays "0.50", not 0.5); ASCII needs no character set.
        raw = element.raw_bytes() or b""
        return _cut("[" + _printable(raw.decode("latin-1").rstrip("\x00 ")) + "]", width)
    values = element.values
    if kind is VRKind.TEXT or kind is VRKind.ASCII:
        return _cut("[" + "\\".join(_printable(str(v)) for v in values) + "]", width)
    if not values:
        return "(no value)"
    single = vr == "FL"
    return _cut("\\".join(_number_text(v, single=single) for v in values), width)


def _binary_text(element: Element) -> str:
    length = element.length
    if length == 0:
        return "(no value)"
    if length > _HEX_LIMIT:
        return f"<{length} bytes>"
    data = element.value
    assert isinstance(data, bytes)  # VRKind.BYTES always decodes to bytes
    size, code = _ITEM.get(element.vr, (1, "B"))
    if element.vr not in _WORD_VRS or len(data) % size:
        return "\\".join(f"{byte:02x}" for byte in data)
    order = "<" if element.little_endian else ">"
    numbers = struct.unpack(f"{order}{len(data) // size}{code}", data)
    if code == "f":
        return "\\".join(_float32_text(number) for number in numbers)
    if code == "d":
        return "\\".join(repr(number) for number in numbers)
    return "\\".join(f"{number:0{size * 2}x}" for number in numbers)


def _number_text(value: object, *, single: bool = False) -> str:
    if isinstance(value, Tag):
        return repr(value)
    if isinstance(value, float):
        return _float32_text(value) if single else repr(value)
    return str(value)


def _float32_text(value: float) -> str:
    """The shortest text that reads back as the same 32-bit float (FL, OF)."""
    for precision in range(6, 10):
        text = f"{value:.{precision}g}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == value:
            return text
    return repr(value)


def _length(element: Element) -> str:
    if element.vr == "SQ" or element.undefined_length:
        return "-"
    try:
        return str(element.length)
    except DicomError:  # a value set in memory that cannot be encoded
        return "?"


def _vm(element: Element) -> str:
    if element.vr == "SQ":
        return "1"
    kind = _KIND.get(element.vr, VRKind.BYTES)
    if kind is VRKind.BYTES or element.is_deferred:
        return "1" if element.length else "0"
    if kind is VRKind.ASCII and element.is_raw:
        text = (element.raw_bytes() or b"").decode("latin-1").strip("\x00 ")
        return str(text.count("\\") + 1) if text else "0"
    return str(element.vm)


def _label(element: Element, dataset: Dataset) -> str:
    """The keyword (or name); for private elements the creator and the vendor's name."""
    # Imported here so that merely registering the subcommand stays cheap.
    from dicomkit.data.dictionary import keyword_for_tag, name_for_tag
    from dicomkit.data.private_dictionary import private_entry

    tag = element.tag
    if not is_private(tag):
        return keyword_for_tag(tag) or name_for_tag(tag) or "Unknown"
    if is_private_creator(tag):
        return "PrivateCreator"
    element_number = tag & 0xFFFF
    if element_number < 0x1000:
        return name_for_tag(tag) or "Unknown"
    creator_element = dataset.get_element((tag & 0xFFFF0000) | (element_number >> 8))
    creator = _creator(creator_element)
    if creator is None:
        return "Private (no creator)"
    entry = private_entry(creator, tag)
    return f"[{creator}] {entry.name if entry is not None else 'Unknown'}"


def _creator(element: Element | None) -> str | None:
    if element is None:
        return None
    try:
        value = element.value
    except DicomError:
        return None
    return value.strip(" \x00") if isinstance(value, str) and value.strip(" \x00") else None


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _one_line(text: str) -> str:
    return _printable(" ".join(text.split()))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
