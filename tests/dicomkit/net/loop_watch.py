"""For the tests that check a converted instance is produced off the event loop.

* :func:`write_slow_to_decode`: a multi-frame JPEG 2000 Lossless instance (our encoder),
  each of whose frames takes tens of milliseconds or more to decode, so that a decode on
  the event loop shows as a stall.
* :func:`frame_decode_seconds`: what one of its frames takes to decode here, measured as
  the senders read it (``open_converted`` to Explicit VR Little Endian, read in fragment
  sized pieces): a machine-relative yardstick instead of a wall-clock constant.
* :func:`watching_the_loop`: a task that sleeps 5 ms at a time and records the longest
  interval between its wake-ups, that is how long the loop was kept from serving others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dicomkit.codecs.pixels import set_pixel_data
from dicomkit.data import uids
from dicomkit.net.scu.conversion import open_converted
from dicomkit.net.scu.instances import encode_for, scan_instance
from dicomkit.part10.reader import read_dataset
from dicomkit.part10.writer import write_file
from tests.builders import make_ct

#: What the senders read at a time with a 16 KiB maximum PDU length.
_READ_SIZE = 16384 - 6


def write_slow_to_decode(path: Path, *, frames: int = 4, size: int = 1024, seed: int = 0) -> np.ndarray:
    """A CT instance of ``frames`` 12-bit ``size`` x ``size`` frames in JPEG 2000 Lossless;
    returns its pixels (noise, so that no frame decodes faster than another)."""
    pixels = np.random.default_rng(seed).integers(0, 4095, size=(frames, size, size), dtype=np.uint16)
    dataset = make_ct(PixelData=None)
    set_pixel_data(dataset, pixels, photometric_interpretation="MONOCHROME2")
    dataset.set("NumberOfFrames", str(frames))
    native = path.with_suffix(".native.dcm")
    write_file(native, dataset, transfer_syntax_uid=uids.ExplicitVRLittleEndian)
    encoded = encode_for(scan_instance(native), uids.JPEG2000Lossless)
    write_file(path, read_dataset(encoded, uids.JPEG2000Lossless), transfer_syntax_uid=uids.JPEG2000Lossless)
    native.unlink()
    return pixels


def frame_decode_seconds(path: Path, frames: int) -> float:
    """The mean time one frame of ``path`` takes to decode while it is read converted."""
    start = time.perf_counter()
    with open_converted(scan_instance(path), uids.ExplicitVRLittleEndian) as stream:
        while stream.read(_READ_SIZE):
            pass
    return (time.perf_counter() - start) / frames


@dataclass
class LoopWatch:
    """The longest interval between two wake-ups of a task sleeping ``interval`` seconds."""

    interval: float = 0.005
    longest: float = 0.0

    async def run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now


@contextlib.asynccontextmanager
async def watching_the_loop() -> AsyncIterator[LoopWatch]:
    watch = LoopWatch()
    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0)  # started before the work it watches
    try:
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
