"""Property test: read(write(ds)) == ds for generated data sets in every explicit syntax."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from dicomkit.data.dataset import Dataset
from dicomkit.part10.reader import read_dataset, read_file
from dicomkit.part10.transfer_syntax import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
)
from dicomkit.part10.writer import SequenceLength, WriteOptions, encode_dataset, write_file
from tests.strategies import datasets

EXPLICIT = [EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]


@pytest.mark.parametrize("ts_uid", EXPLICIT)
@pytest.mark.parametrize("lengths", list(SequenceLength))
@settings(max_examples=40, deadline=None)
@given(ds=datasets())
def test_read_of_write_is_identity(ts_uid: str, lengths: SequenceLength, ds: Dataset) -> None:
    encoded = encode_dataset(ds, ts_uid, WriteOptions(sequence_length=lengths))
    assert read_dataset(encoded, ts_uid) == ds


@settings(max_examples=25, deadline=None)
@given(ds=datasets())
def test_part10_file_round_trip_keeps_data_and_meta(
    ds: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ds.set("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7")
    ds.set("SOPInstanceUID", "1.2.3.4.5")
    path = tmp_path_factory.mktemp("rt") / "x.dcm"
    write_file(path, ds, transfer_syntax_uid=EXPLICIT_VR_BIG_ENDIAN)
    result = read_file(path)
    assert result.dataset == ds
    assert result.transfer_syntax == EXPLICIT_VR_BIG_ENDIAN
    assert result.meta.get_str("MediaStorageSOPInstanceUID") == "1.2.3.4.5"
    assert result.meta.get_bytes("FileMetaInformationVersion") == b"\x00\x01"
