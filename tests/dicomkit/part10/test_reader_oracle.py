"""Oracle test: every file pydicom ships is read as pydicom reads it (or refused by both).

pydicom reads (forced, as raw data sets need) but silently accepts truncated values
and non-DICOM text; DCMTK's dcmdump is the second judge: we may refuse a file only
if DCMTK refuses it too, and read a file DCMTK refuses only by a reported recovery.
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
    if theirs is None:
        with pytest.raises(DicomError):
            read_file(path, LENIENT)
        return
    try:
        ours = read_file(path, LENIENT)
    except DicomError:
        # pydicom silently reads past truncated values and non-DICOM bytes; refusing is
        # right only when DCMTK refuses the file too.
        assert not dcmtk_reads(path), "we refuse a file both pydicom and DCMTK read"
        return
    if not dcmtk_reads(path):
        # DCMTK refuses, pydicom reads: we may read it only by a recovery we report.
        assert ours.findings, "we read without a finding a file that DCMTK refuses"
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
