"""Part 10 reading: dicomkit against ``pydicom.dcmread`` over the same files, in one run.

The file set is every file of pydicom's test and charset folders that both libraries
read (about 150 files, 8 KB to 7 MB: CT/MR/RT/SR/US, implicit/explicit/big endian,
deflated and compressed). Three operations, each timed over the whole set:

* ``header`` - stop before Pixel Data (``ReadOptions(stop_before=0x7FE00010)`` vs
  ``dcmread(stop_before_pixels=True)``); both leave values undecoded;
* ``full`` - the whole file, values undecoded (both libraries decode lazily);
* ``full+values`` - the whole file and every value decoded (text, numbers, sequences).

Goal (issue 2): at least 2x pydicom's files/s on header parse, not slower on full read.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom

from benchmarks import Comparison, Report, measure
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_file
from tests.corpus import corpus_files

HEADER = ReadOptions(stop_before=0x7FE00010, validation=Validation.LENIENT)
FULL = ReadOptions(validation=Validation.LENIENT)


def readable_files() -> list[Path]:
    files = []
    for path in corpus_files():
        try:
            read_file(path, FULL)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pydicom.dcmread(path, force=True)
        except (DicomError, Exception):
            continue
        files.append(path)
    return files


def _decode_ours(ds: Dataset) -> None:
    for element in ds.elements():
        if element.vr == "SQ":
            for item in element.sequence:
                _decode_ours(item)
        else:
            element.value  # noqa: B018


def _decode_theirs(ds: pydicom.Dataset) -> None:
    for element in ds:
        if element.VR == "SQ":
            for item in element.value:
                _decode_theirs(item)


def main(repeat: int = 9) -> Report:
    files = readable_files()
    size = sum(p.stat().st_size for p in files)
    warnings.simplefilter("ignore")

    def ours_header() -> None:
        for path in files:
            read_file(path, HEADER)

    def theirs_header() -> None:
        for path in files:
            pydicom.dcmread(path, force=True, stop_before_pixels=True)

    def ours_full() -> None:
        for path in files:
            read_file(path, FULL)

    def theirs_full() -> None:
        for path in files:
            pydicom.dcmread(path, force=True)

    def ours_values() -> None:
        for path in files:
            _decode_ours(read_file(path, FULL).dataset)

    def theirs_values() -> None:
        for path in files:
            _decode_theirs(pydicom.dcmread(path, force=True))

    report = Report(
        title="Part 10 read: dicomkit vs pydicom.dcmread",
        peer=f"pydicom {pydicom.__version__}",
        goal=">= 2x files/s on header parse, >= 1x on full read",
    )
    for operation, ours, theirs in (
        ("header", ours_header, theirs_header),
        ("full", ours_full, theirs_full),
        ("full+values", ours_values, theirs_values),
    ):
        ours_t = measure(ours, repeat=repeat)
        theirs_t = measure(theirs, repeat=repeat)
        report.rows.append(Comparison(f"{len(files)} files", operation, size, ours_t, theirs_t))
        ours_rate, their_rate = len(files) / ours_t.median, len(files) / theirs_t.median
        report.notes.append(
            f"{operation}: ours {ours_rate:,.0f} files/s, pydicom {their_rate:,.0f} files/s, "
            f"ratio {ours_rate / their_rate:.2f}x"
        )
    report.parameters["files"] = len(files)
    report.parameters["bytes"] = size
    return report
