"""For the tests that bound what a streamed conversion allocates.

:func:`read_through` reads an ``open_converted`` stream to the end in fragment-sized
pieces, as the senders do, and returns the SHA-256 of what it read and the peak of
Python allocations (``tracemalloc``) meanwhile.
"""

from __future__ import annotations

import hashlib
import tracemalloc

from dicomkit.net.scu.conversion import open_converted
from dicomkit.net.scu.instances import Instance


def read_through(instance: Instance, target: str) -> tuple[str, int]:
    """The SHA-256 hex digest of the converted data set and the allocation peak in bytes."""
    streamed = hashlib.sha256()
    tracemalloc.start()
    try:
        with open_converted(instance, target) as stream:
            while piece := stream.read(16 * 1024):
                streamed.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return streamed.hexdigest(), peak
