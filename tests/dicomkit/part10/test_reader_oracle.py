"""Oracle test: every file pydicom ships is read as pydicom reads it (or refused by both).

A file counts as readable when pydicom reads it (forced, as raw data sets need) and
DCMTK's dcmdump reads it without error: pydicom alone silently accepts truncated
values and non-DICOM text, which we must refuse with a typed error.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from dicomkit.errors import DicomError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_file
from tests.corpus import compare_datasets, corpus_files, corpus_ids, dcmtk_reads, pydicom_read

LENIENT = ReadOptions(validation=Validation.LENIENT)


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_ids())
def test_file_reads_as_pydicom_reads_it_or_both_refuse(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom_read(path)
    readable = theirs is not None and dcmtk_reads(path)
    if not readable:
        with pytest.raises(DicomError):
            read_file(path, LENIENT)
        return
    ours = read_file(path, LENIENT)
    assert theirs is not None
    problems = compare_datasets(ours.meta, theirs.file_meta, "meta:") + compare_datasets(ours.dataset, theirs)
    assert problems == []


@pytest.mark.parametrize("path", corpus_files(), ids=corpus_ids())
def test_strict_reading_gives_the_same_data_or_a_typed_error(path: Path) -> None:
    try:
        strict = read_file(path)
    except DicomError:
        return
    lenient = read_file(path, LENIENT)
    assert strict.dataset == lenient.dataset
    assert strict.findings == []
