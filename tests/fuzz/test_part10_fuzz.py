"""Fuzz target for the Part 10 reader: mutated corpus files.

Invariant (as h11's fuzzers state it): whatever the bytes, reading and then decoding
every value raises nothing but ``DicomError`` subclasses, and no case takes longer
than a second (a hang guard, not a speed test). CI runs 20,000 cases (``CI`` set);
locally ``FUZZ_CASES`` chooses, 2,000 by default. The seed is fixed per run and
printed on failure so a case can be replayed.
"""

from __future__ import annotations

import io
import os
import random
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_file
from tests.corpus import corpus_files

CASES = int(os.environ.get("FUZZ_CASES", "20000" if os.environ.get("CI") else "2000"))
SEED = int(os.environ.get("FUZZ_SEED", "20261123"))
MAX_SEED_SIZE = 96 * 1024

_INTERESTING_LENGTHS = [0, 1, 2, 3, 0x7FFF, 0xFFFF, 0xFFFFFFFE, 0xFFFFFFFF, 0x80000000, 0x10000]


def _seeds() -> list[bytes]:
    seeds = []
    for path in corpus_files():
        data = path.read_bytes()[:MAX_SEED_SIZE]
        if len(data) > 140 and (data[128:132] == b"DICM" or path.suffix == ".dcm"):
            seeds.append(data)
    return seeds


def _flip(rng: random.Random, data: bytearray) -> None:
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)


def _set_length(rng: random.Random, data: bytearray) -> None:
    position = rng.randrange(max(len(data) - 4, 1))
    value = rng.choice(_INTERESTING_LENGTHS)
    data[position : position + 4] = struct.pack("<L", value)


def _set_vr(rng: random.Random, data: bytearray) -> None:
    position = rng.randrange(max(len(data) - 2, 1))
    data[position : position + 2] = rng.choice(
        [b"SQ", b"UN", b"OB", b"OW", b"UT", b"ZZ", b"\x00\x00", b"AT", b"DS"]
    )


def _item_tags(rng: random.Random, data: bytearray) -> None:
    position = rng.randrange(max(len(data) - 8, 1))
    tag = rng.choice([b"\xfe\xff\x00\xe0", b"\xfe\xff\x0d\xe0", b"\xfe\xff\xdd\xe0"])
    data[position : position + 8] = tag + struct.pack("<L", rng.choice(_INTERESTING_LENGTHS))


def _truncate(rng: random.Random, data: bytearray) -> None:
    del data[rng.randrange(len(data)) :]


def _splice(rng: random.Random, data: bytearray) -> None:
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(1, 64)]
    insert_at = rng.randrange(len(data))
    data[insert_at:insert_at] = chunk


def _delete(rng: random.Random, data: bytearray) -> None:
    start = rng.randrange(len(data))
    del data[start : start + rng.randint(1, 32)]


MUTATORS: list[Callable[[random.Random, bytearray], None]] = [
    _flip,
    _set_length,
    _set_vr,
    _item_tags,
    _truncate,
    _splice,
    _delete,
]


def _decode_everything(ds: Dataset) -> None:
    for element in ds.elements():
        if element.vr == "SQ":
            for item in element.sequence:
                _decode_everything(item)
        else:
            element.value  # noqa: B018 - decoding is what is fuzzed


def _one_case(data: bytes, options: ReadOptions, as_stream: bool) -> None:
    try:
        result = read_file(io.BytesIO(data) if as_stream else data, options)
        _decode_everything(result.meta)
        _decode_everything(result.dataset)
    except DicomError:
        pass


@pytest.mark.slow
def test_mutated_corpus_files_raise_only_dicomkit_errors(tmp_path: Path) -> None:
    seeds = _seeds()
    assert len(seeds) > 50
    rng = random.Random(SEED)
    slowest = 0.0
    lenient = ReadOptions(validation=Validation.LENIENT)
    strict = ReadOptions()
    for case in range(CASES):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            if data:
                rng.choice(MUTATORS)(rng, data)
        options = lenient if case % 2 else strict
        started = time.perf_counter()
        try:
            _one_case(bytes(data), options, as_stream=case % 3 == 0)
        except Exception as exc:  # pragma: no cover - a failure is the finding
            crash = tmp_path / f"crash-{case}.dcm"
            crash.write_bytes(bytes(data))
            raise AssertionError(
                f"case {case} (seed {SEED}) escaped with {type(exc).__name__}: {exc}; input saved to {crash}"
            ) from exc
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 1.0, f"slowest case took {slowest:.3f} s"
