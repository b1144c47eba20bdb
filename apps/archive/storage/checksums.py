"""Checksums of stored files, in the self-describing form the index keeps.

A stored checksum is ``<algorithm>:<hex digest>`` (``xxh3-128:6f0c...``,
``sha256:9b2e...``), so that ``verify_storage`` checks each file with the algorithm it was
stored with while new files use the one configured now (``PACS_STORAGE_CHECKSUM``). A bare
64-digit hex value is a SHA-256 digest stored before checksums were labelled (migration
0006 leaves those rows as they are rather than rewrite every row of a large archive).

Why XXH3-128 is the default: the checksum guards against corruption at rest (bit rot, a
truncated, overwritten or swapped file), which a 128-bit non-cryptographic hash detects as
surely as SHA-256, at a small fraction of the CPU: ingest hashes every byte it receives,
and SHA-256 was an eighth of a C-STORE's CPU. Tampering is a matter for access control and
the audit trail; sites whose policy still asks for a cryptographic digest choose ``sha256``.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import xxhash

from pacs_project.settings.components.storage import ChecksumAlgorithm

__all__ = ["ChecksumAlgorithm", "Digest", "labelled", "new_digest", "parse_checksum", "stream_checksum"]

_CHUNK = 1 << 20


class Digest(Protocol):
    """What hashlib's and xxhash's hash objects share, as ingest uses them."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def new_digest(algorithm: ChecksumAlgorithm) -> Digest:
    """A fresh hash object of ``algorithm``."""
    if algorithm is ChecksumAlgorithm.XXH3_128:
        return xxhash.xxh3_128()
    return hashlib.sha256()


def labelled(algorithm: ChecksumAlgorithm, digest: Digest) -> str:
    """``digest``'s value as the index keeps it: ``<algorithm>:<hex>``."""
    return f"{algorithm.value}:{digest.hexdigest()}"


def parse_checksum(value: str) -> tuple[ChecksumAlgorithm, str]:
    """The algorithm and hex digest of a stored checksum.

    Raises:
        ValueError: ``value`` names no known algorithm (or none at all).
    """
    name, separator, hex_digest = value.partition(":")
    if not separator and _is_legacy_sha256(value):
        return ChecksumAlgorithm.SHA256, value
    if not separator or not hex_digest:
        raise ValueError(f"not a labelled checksum: {value!r}")
    try:
        return ChecksumAlgorithm(name), hex_digest
    except ValueError:
        raise ValueError(f"unknown checksum algorithm {name!r}") from None


def _is_legacy_sha256(value: str) -> bool:
    return len(value) == 64 and all(character in "0123456789abcdef" for character in value)


def stream_checksum(stream: _Readable, algorithm: ChecksumAlgorithm) -> tuple[str, int]:
    """The labelled checksum of what is left to read in ``stream``, and its size in bytes."""
    digest, size = new_digest(algorithm), 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return labelled(algorithm, digest), size
