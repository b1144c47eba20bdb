"""Large multi-frame instances and peak-memory probes, for the tests that check nothing on a
transfer path holds a whole object in memory (``tests/interop/test_large_instances.py``,
``tests/apps/dicom_net/test_large_instances.py``).

* :func:`write_multiframe`: a native multi-frame instance of about ``frames * rows *
  columns * 2`` bytes. The header goes through dicomkit's PS3.10 writer; the Pixel Data
  element is appended frame by frame, so building a 200 MB test object does not itself
  cost the test process 200 MB (or the writer's 2-3 copies of it).
* :func:`write_compressed_multiframe`: the same in JPEG-LS Lossless, real codestreams (a
  few distinct frames repeated), for the tests that convert it frame by frame.
* :func:`data_set_digest`: SHA-256 of what follows the File Meta, read in chunks. Our
  File Meta legitimately differs from the sender's (Source AE, group length); the data set
  must not.
* :func:`peak_rss_reset` / :func:`peak_rss_kib`: VmHWM of a live process (a server),
  reset through ``/proc/PID/clear_refs`` so that a step's own peak can be read.
* :func:`run_measured`: a command run to its end with its own peak RSS (``wait4``).
* :func:`remove_large_files`: for teardown. pytest keeps the last runs' ``tmp_path``
  folders, and a test here leaves 0.4-0.6 GB in them; the disk is shared.
* :class:`UnboundedMemory`: raised by :func:`assert_bounded`, so that an ``xfail`` can name
  exactly the failure it expects (``raises=UnboundedMemory``) and a transfer that fails
  outright still fails the test.

Standard library and dicomkit only (no Django), like ``peers``.
"""

from __future__ import annotations

import hashlib
import os
import random
import struct
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.value_codec import ElementValue
from dicomkit.part10.writer import write_file
from tests.builders import make_ct

MIB = 1024 * 1024
#: What a step may add to a process's peak RSS, whatever the object's size: PDUs, file
#: buffers, a header, allocator slack. A path that holds the object once adds all of it.
RSS_GROWTH_BOUND_KIB = 64 * 1024
_PIXEL_DATA_OW = struct.Struct("<HH2s2xL")
_CHUNK = 4 * MIB


class UnboundedMemory(AssertionError):
    """A step's peak RSS grew with the object it carried."""


#: The tests' object: 100 frames of 1024 x 1024 x 16 bits, 200 MiB of Pixel Data.
FRAMES = 100
PIXEL_BYTES = FRAMES * 1024 * 1024 * 2


def write_multiframe(
    path: Path,
    *,
    frames: int,
    rows: int = 1024,
    columns: int = 1024,
    seed: int = 0,
    **overrides: ElementValue,
) -> Dataset:
    """A 16-bit MONOCHROME2 Breast Tomosynthesis instance in Explicit VR Little Endian.

    Pixel values are pseudo-random (``seed``), so a frame dropped, repeated or reordered
    on the way changes :func:`data_set_digest`. Returns the header data set (without
    Pixel Data); ``overrides`` are dictionary keywords, as for ``make_ct``.
    """
    header = _tomosynthesis_header(frames, rows, columns, **overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, header, transfer_syntax_uid=uids.ExplicitVRLittleEndian)
    frame_bytes = rows * columns * 2
    rng = random.Random(seed)
    with open(path, "ab") as fp:
        fp.write(_PIXEL_DATA_OW.pack(0x7FE0, 0x0010, b"OW", frame_bytes * frames))
        for _ in range(frames):
            fp.write(rng.randbytes(frame_bytes))
    return header


def write_encapsulated_multiframe(path: Path, *, frames: int, fragment_bytes: int, seed: int = 0) -> Dataset:
    """Like :func:`write_multiframe`, but in JPEG 2000 Lossless: an empty Basic Offset Table,
    then one fragment of ``fragment_bytes`` pseudo-random bytes per frame. The fragments
    are no real codestreams; storing, sending and retrieving never decode them."""
    header = _tomosynthesis_header(frames, 1024, 1024)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, header, transfer_syntax_uid=uids.JPEG2000Lossless)
    rng = random.Random(seed)
    item = struct.Struct("<HHL")
    with open(path, "ab") as fp:
        fp.write(_PIXEL_DATA_OW.pack(0x7FE0, 0x0010, b"OB", 0xFFFFFFFF))
        fp.write(item.pack(0xFFFE, 0xE000, 0))
        for _ in range(frames):
            fp.write(item.pack(0xFFFE, 0xE000, fragment_bytes))
            fp.write(rng.randbytes(fragment_bytes))
        fp.write(item.pack(0xFFFE, 0xE0DD, 0))
    return header


def write_compressed_multiframe(
    path: Path, *, frames: int, rows: int = 1024, columns: int = 1024, distinct: int = 4, seed: int = 0
) -> str:
    """A 12-bit MONOCHROME2 Breast Tomosynthesis instance in JPEG-LS Lossless whose frames
    are real codestreams (our encoder), ``distinct`` pseudo-random ones repeated in turn:
    an empty Basic Offset Table, one fragment per frame. Returns the SHA-256 of the
    native Pixel Data the frames decode to (little endian, frame after frame), which is
    what a peer that accepts only uncompressed syntaxes must receive."""
    import numpy as np  # the codec tests' dependency, not the other helpers'

    from dicomkit.codecs.format import PixelFormat
    from dicomkit.codecs.registry import get_codec

    header = _tomosynthesis_header(frames, rows, columns, BitsStored=12, HighBit=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, header, transfer_syntax_uid=uids.JPEGLSLossless)
    fmt = PixelFormat(rows, columns, 1, 16, 12, 0, 0, "MONOCHROME2", 1)
    codec = get_codec(uids.JPEGLSLossless)
    rng = np.random.default_rng(seed)
    natives, encoded = [], []
    for _ in range(distinct):
        frame = rng.integers(0, 4096, size=(rows, columns), dtype=np.uint16)
        natives.append(frame.astype("<u2").tobytes())
        codestream = codec.encode_frame(frame, fmt)
        encoded.append(codestream + b"\x00" * (len(codestream) % 2))
    digest = hashlib.sha256()
    item = struct.Struct("<HHL")
    with open(path, "ab") as fp:
        fp.write(_PIXEL_DATA_OW.pack(0x7FE0, 0x0010, b"OB", 0xFFFFFFFF))
        fp.write(item.pack(0xFFFE, 0xE000, 0))
        for index in range(frames):
            fp.write(item.pack(0xFFFE, 0xE000, len(encoded[index % distinct])))
            fp.write(encoded[index % distinct])
            digest.update(natives[index % distinct])
        fp.write(item.pack(0xFFFE, 0xE0DD, 0))
    return digest.hexdigest()


def _tomosynthesis_header(frames: int, rows: int, columns: int, **overrides: ElementValue) -> Dataset:
    """A 16-bit MONOCHROME2 Breast Tomosynthesis data set without Pixel Data."""
    return make_ct(
        SOPClassUID=uids.BreastTomosynthesisImageStorage,
        Modality="MG",
        Rows=rows,
        Columns=columns,
        NumberOfFrames=str(frames),
        PixelData=None,
        **{"BitsStored": 16, "HighBit": 15, **overrides},
    )


def data_set_offset(path: Path) -> int:
    """Where the data set starts: after preamble, ``DICM`` and the File Meta group length."""
    with open(path, "rb") as fp:
        head = fp.read(144)
    if head[128:132] != b"DICM" or head[132:136] != b"\x02\x00\x00\x00":
        raise ValueError(f"{path} has no File Meta group length")
    (group_length,) = struct.unpack_from("<L", head, 140)
    return 144 + int(group_length)


def data_set_digest(path: Path) -> str:
    """SHA-256 of the bytes after the File Meta Information."""
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        fp.seek(data_set_offset(path))
        while chunk := fp.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pixel_data_digest(path: Path, length: int) -> str:
    """SHA-256 of the last ``length`` bytes: the Pixel Data value when it ends the file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        fp.seek(-length, os.SEEK_END)
        while chunk := fp.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def peak_rss_reset(pid: int) -> None:
    """Reset the process's peak RSS (VmHWM) to its current RSS (proc(5), clear_refs "5")."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_kib(pid: int) -> int:
    """The process's peak RSS (VmHWM) since it started or was reset, in KiB."""
    return _status_kib(pid, "VmHWM")


def run_measured(
    argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> tuple[int, int]:
    """Run ``argv`` to its end, output into ``log``; its exit status and peak RSS in KiB."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        try:
            _, status, usage = os.wait4(process.pid, 0)  # the child's own ru_maxrss (KiB on Linux)
        except BaseException:
            process.kill()
            process.wait()
            raise
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, int(usage.ru_maxrss)


def remove_large_files(folder: Path) -> None:
    """Delete every file of at least 1 MiB below ``folder``."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size >= MIB:
            path.unlink()


def assert_bounded(what: str, growth_kib: int, object_bytes: int) -> None:
    """Raise :class:`UnboundedMemory` unless ``growth_kib`` stays under the bound."""
    if growth_kib >= RSS_GROWTH_BOUND_KIB:
        raise UnboundedMemory(
            f"{what}: peak RSS grew by {growth_kib // 1024} MiB carrying a {object_bytes // MIB} MiB "
            f"object (bound {RSS_GROWTH_BOUND_KIB // 1024} MiB)"
        )
