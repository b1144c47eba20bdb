"""For the streamed-conversion tests (``scu.conversion``).

* :func:`corpus_with_pixel_data`: the corpus files (pydicom's) with top-level Pixel Data,
  encapsulated or native, deflated ones left out.
* :func:`read_through` reads an ``open_converted`` stream to the end in fragment-sized
  pieces, as the senders do, and returns the SHA-256 of what it read and the peak of
  Python allocations (``tracemalloc``) meanwhile.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

from dicomkit.data import tags
from dicomkit.errors import DicomError
from dicomkit.net.scu.conversion import open_converted
from dicomkit.net.scu.instances import Instance, scan_instance
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_file
from dicomkit.part10.transfer_syntax import transfer_syntax
from tests.corpus import corpus_files


def corpus_with_pixel_data(*, encapsulated: bool) -> list[Path]:
    """The corpus files whose top-level Pixel Data is (not) encapsulated, not deflated."""
    found = []
    for path in corpus_files():
        try:
            instance = scan_instance(path)
            dataset = read_file(path, ReadOptions(defer_size=1024)).dataset
        except (DicomError, OSError):
            continue
        pixel_data = dataset.get_element(tags.PixelData)
        if pixel_data is None or pixel_data.undefined_length != encapsulated:
            continue
        if transfer_syntax(instance.transfer_syntax).deflated:
            continue
        found.append(path)
    return found


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
