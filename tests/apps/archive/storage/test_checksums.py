"""Stored checksums: the configured algorithm, labelled, equal to an independent oracle."""

from __future__ import annotations

import hashlib
import io
import itertools

import pytest
import xxhash
from hypothesis import given
from hypothesis import strategies as st

from apps.archive.storage.checksums import (
    ChecksumAlgorithm,
    labelled,
    new_digest,
    parse_checksum,
    stream_checksum,
)

_ORACLES = {
    ChecksumAlgorithm.XXH3_128: lambda data: xxhash.xxh3_128(data).hexdigest(),
    ChecksumAlgorithm.SHA256: lambda data: hashlib.sha256(data).hexdigest(),
}


@pytest.mark.parametrize("algorithm", list(ChecksumAlgorithm))
@given(data=st.binary(max_size=4096), cuts=st.lists(st.integers(min_value=0, max_value=4096), max_size=6))
def test_chunked_updates_give_the_one_shot_digest_labelled(
    algorithm: ChecksumAlgorithm, data: bytes, cuts: list[int]
) -> None:
    digest = new_digest(algorithm)
    bounds = [0, *sorted(min(cut, len(data)) for cut in cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        digest.update(memoryview(data)[start:end])
    assert labelled(algorithm, digest) == f"{algorithm.value}:{_ORACLES[algorithm](data)}"


@pytest.mark.parametrize("algorithm", list(ChecksumAlgorithm))
def test_stream_checksum_reads_to_the_end_in_chunks(algorithm: ChecksumAlgorithm) -> None:
    data = bytes(range(256)) * 9000  # over 2 MiB: more than one chunk
    stream = io.BytesIO(b"skipped" + data)
    stream.seek(7)
    assert stream_checksum(stream, algorithm) == (f"{algorithm.value}:{_ORACLES[algorithm](data)}", len(data))


def test_parse_round_trips_and_refuses_what_names_no_algorithm() -> None:
    assert parse_checksum("sha256:ab12") == (ChecksumAlgorithm.SHA256, "ab12")
    assert parse_checksum("xxh3-128:00ff") == (ChecksumAlgorithm.XXH3_128, "00ff")
    # A bare 64-digit hex value is a SHA-256 digest stored before the values were labelled.
    assert parse_checksum("ab12" * 16) == (ChecksumAlgorithm.SHA256, "ab12" * 16)
    for value in ("", "ab12" * 15, "AB12" * 16, "xy12" * 16, "md5:ab12", "sha256:"):
        with pytest.raises(ValueError):
            parse_checksum(value)


def test_the_algorithms_differ() -> None:
    # A file stored under one algorithm must never verify by accident under the other.
    values = {labelled(algorithm, new_digest(algorithm)) for algorithm in ChecksumAlgorithm}
    assert len(values) == len(ChecksumAlgorithm)
