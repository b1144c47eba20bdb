"""``convert IN OUT --transfer-syntax SYNTAX``: rewrite a DICOM file in another transfer syntax.

Between the native syntaxes (PS3.5 Annex A: Implicit VR Little Endian, Explicit VR
Little Endian, Deflated Explicit VR Little Endian, Explicit VR Big Endian) the data set
is re-encoded element by element. To or from a compressed syntax the pixel data is
decoded and encoded again by ``dicomkit.codecs.transcode``, which also updates the
Image Pixel Module and, for a lossy step, Lossy Image Compression and the SOP Instance
UID (PS3.3 C.7.6.1.1.5). File Meta is rebuilt for the new syntax (PS3.10 §7.1).

SYNTAX is a UID or a PS3.6 Table A-1 keyword or name, in any case and spacing
(``ExplicitVRBigEndian``, ``"explicit vr big endian"``, ``1.2.840.10008.1.2.2``,
``JPEG2000Lossless``, ``RLELossless``), or one of the short forms ``implicit``,
``explicit``, ``big``, ``deflated``. Codec options are given as ``-o NAME=VALUE``
(``-o quality=85``, ``-o near=3``, ``-o reversible=true``).

The input is read strictly unless ``--lenient`` is given; what lenient reading had to
recover from is printed as warnings. The output is encoded in memory before the file is
written, so a failed conversion leaves no partial file and IN may equal OUT.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, get_args, get_origin, get_type_hints

from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError

if TYPE_CHECKING:
    from dicomkit.cli.main import Subparsers

__all__ = ["add_parser", "resolve_transfer_syntax", "run"]

_SHORT_FORMS: Mapping[str, str] = {
    "implicit": "1.2.840.10008.1.2",
    "explicit": "1.2.840.10008.1.2.1",
    "big": "1.2.840.10008.1.2.2",
    "deflated": "1.2.840.10008.1.2.1.99",
}
_UID_TEXT = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="rewrite a DICOM file in another transfer syntax",
        description="Rewrite a DICOM file in another transfer syntax, compressed or not.",
    )
    parser.add_argument("input", metavar="IN", help="the DICOM file to read")
    parser.add_argument("output", metavar="OUT", help="the file to write (may be IN)")
    parser.add_argument(
        "-t",
        "--transfer-syntax",
        required=True,
        type=_syntax_argument,
        metavar="SYNTAX",
        help="UID or keyword, e.g. ExplicitVRLittleEndian, ExplicitVRBigEndian, "
        "RLELossless, JPEGLSLossless, JPEG2000Lossless, JPEGBaseline8Bit",
    )
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        type=_option_argument,
        metavar="NAME=VALUE",
        help="an encoding option of the target codec (repeatable), e.g. quality=85, near=2, "
        "reversible=true, psnr=60",
    )
    parser.add_argument(
        "--offset-table",
        choices=("basic", "extended", "none"),
        default="basic",
        help="offset table of compressed output (default: basic)",
    )
    parser.add_argument(
        "--ybr-to-rgb", action="store_true", help="store decoded YCbCr colour (e.g. from JPEG) as RGB"
    )
    parser.add_argument(
        "--lenient", action="store_true", help="accept malformed input where the intent is clear"
    )


def resolve_transfer_syntax(text: str) -> str:
    """The transfer syntax UID that ``text`` names (UID, keyword, name or short form).

    Raises:
        ValueError: ``text`` names no transfer syntax.
    """
    from dicomkit.data.uid import transfer_syntaxes
    from dicomkit.part10.transfer_syntax import is_known

    text = text.strip()
    registry = transfer_syntaxes()
    if _UID_TEXT.match(text):
        if is_known(text) or any(info.uid == text for info in registry):
            return text
        raise ValueError(f"unknown transfer syntax UID {text!r}")
    wanted = _normalise(text)
    if wanted in _SHORT_FORMS:
        return _SHORT_FORMS[wanted]
    for info in registry:
        if wanted in (_normalise(info.keyword), _normalise(info.name)):
            return info.uid
    raise ValueError(f"unknown transfer syntax {text!r}")


def _normalise(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _syntax_argument(text: str) -> str:
    try:
        return resolve_transfer_syntax(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{exc}; give a UID or a keyword such as ExplicitVRLittleEndian, ImplicitVRLittleEndian, "
            "ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian, RLELossless or JPEG2000Lossless"
        ) from None


def _option_argument(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` as the codec option ``NAME``, its value parsed as ``CodecOptions``
    declares it (so ``subsampling=444`` stays the text ``"444"``, ``quality=85`` is 85)."""
    from dicomkit.codecs.format import CodecOptions

    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    declared = get_type_hints(CodecOptions)
    if name not in declared:
        raise argparse.ArgumentTypeError(
            f"unknown codec option {name!r}; known: {', '.join(sorted(declared))}"
        )
    kind = declared[name]
    choices = get_args(kind) if get_origin(kind) is Literal else ()
    if choices:
        for choice in choices:
            if str(choice) == raw:
                return name, choice
        expected = " or ".join(str(choice) for choice in choices)
        raise argparse.ArgumentTypeError(f"{name} must be {expected}, got {raw!r}")
    if kind is bool:
        if raw.lower() not in ("true", "false"):
            raise argparse.ArgumentTypeError(f"{name} must be true or false, got {raw!r}")
        return name, raw.lower() == "true"
    try:
        return name, kind(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be a number ({kind.__name__}), got {raw!r}") from None


def run(args: argparse.Namespace) -> int:
    from dicomkit.cli.main import read_input, status_stream, write_output
    from dicomkit.codecs.transcode import transcode
    from dicomkit.part10.options import ReadOptions, Validation
    from dicomkit.part10.transfer_syntax import transfer_syntax
    from dicomkit.part10.writer import write_file

    target = transfer_syntax(args.transfer_syntax)
    validation = Validation.LENIENT if args.lenient else Validation.STRICT
    # No deferred values: everything is in memory before OUT (possibly IN) is written.
    dicom_file = read_input(args.input, ReadOptions(validation=validation))
    for finding in dicom_file.findings:
        print(f"warning: {args.input}: {finding}", file=sys.stderr)
    source = transfer_syntax(dicom_file.transfer_syntax)
    dataset = dicom_file.dataset
    options = dict(args.option)
    needs_codec = target.encapsulated or _has_encapsulated_values(dataset)
    if (target.uid != source.uid and needs_codec) or options or args.ybr_to_rgb:
        try:
            dataset = transcode(
                dataset,
                source.uid,
                target.uid,
                offset_table=args.offset_table,
                ybr_to_rgb=args.ybr_to_rgb,
                **options,
            )
        except DicomError as exc:
            exc.add_note(f"{args.input}: {source.name} -> {target.name}")
            raise
    buffer = io.BytesIO()
    try:
        write_file(buffer, dataset, transfer_syntax_uid=target.uid, meta=dicom_file.meta)
    except DicomError as exc:
        exc.add_note(args.input)
        raise
    status = status_stream(args.output)
    write_output(args.output, buffer.getbuffer())
    print(f"wrote {args.output}: {target.name} ({target.uid})", file=status)
    return 0


def _has_encapsulated_values(dataset: Dataset) -> bool:
    """Whether any element (icon images in sequences included) holds encapsulated data."""
    for element in dataset.elements():
        if element.undefined_length and element.vr != "SQ":
            return True
        if element.vr == "SQ" and any(_has_encapsulated_values(item) for item in element.sequence):
            return True
    return False
