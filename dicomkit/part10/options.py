"""Options and results of reading (PS3.10 files and raw data sets).

Strictness is an explicit argument, never a process global: ``STRICT`` raises on
anything malformed; ``LENIENT`` recovers where the intent is unambiguous (a VR
missing in an explicit-VR stream, a transfer syntax that lies about implicit/explicit
VR, an unknown character set term) and records each recovery as a finding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from dicomkit.data.dataset import Dataset

__all__ = ["DicomFile", "ReadOptions", "Validation"]


class Validation(enum.Enum):
    STRICT = "strict"
    LENIENT = "lenient"


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read.

    Attributes:
        stop_before: stop at the first top-level element whose tag is >= this one
            (e.g. 0x7FE00010 to read only the header).
        defer_size: values longer than this many bytes are left in the file and read
            on access (only when reading from a path); encapsulated pixel data too, once
            its fragments' item headers are checked.
        validation: STRICT (default) or LENIENT.
        max_inflated_size: bound for a deflated data set once inflated.
        max_depth: bound for sequence nesting.
    """

    stop_before: int | None = None
    defer_size: int | None = None
    validation: Validation = Validation.STRICT
    max_inflated_size: int = 4 * 1024**3
    max_depth: int = 64

    @property
    def lenient(self) -> bool:
        return self.validation is Validation.LENIENT


@dataclass(slots=True)
class DicomFile:
    """A data set with the File Meta Information it was stored with.

    ``meta`` is empty and ``preamble`` None for a raw data set read without meta.
    ``findings`` lists what LENIENT reading had to recover from, and in either mode the
    elements that repeat an earlier tag or break the ascending tag order (PS3.5 7.1).
    """

    dataset: Dataset
    meta: Dataset = field(default_factory=Dataset)
    transfer_syntax: str = "1.2.840.10008.1.2.1"
    preamble: bytes | None = None
    findings: list[str] = field(default_factory=list)
