"""``render IN OUT.png [--frame N] [--window C,W]``: one frame as an 8-bit PNG.

The frame goes through the display pipeline of PS3.4 N.2 as
``dicomkit.codecs.lut.to_display`` implements it: Modality LUT (rescale or
table), VOI (``--window`` if given, else the file's VOI LUT or first window,
else the frame's own range), Presentation LUT Shape / MONOCHROME1 inversion;
colour images are converted to RGB. Only the frame asked for is decoded.
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dicomkit.cli.main import Subparsers

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "render",
        help="render one frame of a DICOM image as a PNG",
        description="Render one frame of a DICOM image as an 8-bit PNG (grayscale or RGB).",
    )
    parser.add_argument("input", metavar="IN", help="the DICOM file to read")
    parser.add_argument("output", metavar="OUT", help="the PNG file to write")
    parser.add_argument("--frame", type=int, default=0, metavar="N", help="frame number, from 0 (default 0)")
    parser.add_argument(
        "--window",
        type=_window_argument,
        metavar="C,W",
        help="window centre and width, e.g. --window=40,400 (default: the file's VOI)",
    )
    parser.add_argument(
        "--function",
        choices=("LINEAR", "LINEAR_EXACT", "SIGMOID"),
        default="LINEAR",
        help="VOI LUT function used with --window (default LINEAR)",
    )
    parser.add_argument(
        "--lenient", action="store_true", help="accept malformed input where the intent is clear"
    )


def _window_argument(text: str) -> tuple[float, float]:
    center, sep, width = text.partition(",")
    try:
        if not sep:
            raise ValueError(text)
        return float(center), float(width)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CENTER,WIDTH such as 40,400, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from dicomkit.cli.main import read_input, status_stream, write_output
    from dicomkit.codecs.lut import Window
    from dicomkit.codecs.render import render_frame, write_png
    from dicomkit.errors import DicomError
    from dicomkit.part10.options import ReadOptions, Validation

    validation = Validation.LENIENT if args.lenient else Validation.STRICT
    dicom_file = read_input(args.input, ReadOptions(validation=validation))
    for finding in dicom_file.findings:
        print(f"warning: {args.input}: {finding}", file=sys.stderr)
    buffer = io.BytesIO()
    try:
        window = None if args.window is None else Window(args.window[0], args.window[1], args.function)
        image = render_frame(
            dicom_file.dataset, args.frame, transfer_syntax=dicom_file.transfer_syntax, window=window
        )
        write_png(buffer, image)
    except DicomError as exc:
        exc.add_note(args.input)
        raise
    status = status_stream(args.output)
    write_output(args.output, buffer.getbuffer())
    kind = "RGB" if image.ndim == 3 else "grayscale"
    print(f"wrote {args.output}: frame {args.frame}, {image.shape[1]}x{image.shape[0]} {kind}", file=status)
    return 0
