"""RLE Lossless (PS3.5 Annex G), our own numpy implementation.

One encoded frame is a 64-byte header and up to 15 *segments*::

    header:  UL number of segments | UL offset of segment 1 .. 15 (0 when unused)
    segment: PackBits runs over one byte plane, rows encoded separately,
             padded to even length with 0x00

A frame with S samples of B bytes has S*B segments, ordered sample by sample and,
within a sample, most significant byte first (PS3.5 G.2). Each segment holds
the bytes of one plane for every pixel in row order.

PackBits (PS3.5 G.3): header byte n; 0..127 copies the next n+1 bytes
(literal run), 129..255 repeats the next byte 257-n times (replicate run), 128
is a no-op.

PS3.5 G.3.1 only recommends how to choose runs, so encoders differ. Ours has
one parameter, ``min_replicate_run``: repetitions at least that long become
replicate runs (split into runs of 128, a remainder of one byte becoming its
own one-byte literal run), everything else gathers into literal runs of up to
128 bytes, except that a two-byte repetition ending a row is always a
replicate run; runs never cross a row. The default, 2, is byte for byte what
pydicom's native encoder and pylibjpeg-rle write; 3 is byte for byte DCMTK's
``dcmcrle`` (and compresses slightly better).

Both directions are vectorised. The encoder finds runs with numpy and writes
the output with fancy indexing. The decoder has one sequential step, finding
where the runs start (each header tells where the next one is), and takes it
in a tight Python loop: one step per run, or, in a segment compressed 3:1 or
better, one step per stretch of up to 127 two-byte runs (replicate runs and
one-byte literals), located beforehand with numpy. The loop takes four steps per
pass and records only where the fourth ends; numpy finds the three between.
Everything else is numpy on the per-run arrays: one ``numpy.repeat``
turns each run into its first byte repeated, then each literal run is copied
over that as two overlapping windows of a power-of-two width (fancy indexing
on ``V<width>`` views, one copy per width); the planes are joined into samples
with shifts.

Security bounds: the header's segment count and offsets are checked against
the frame's size; the header walk takes at least one byte per step, so it ends
within the segment; runs are cut at the plane size, so the output is exactly
rows x columns bytes per segment whatever the runs declare; every run used
lies inside its segment (only the last one can reach past the end, and is
checked), so no copy reads beyond it.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Unpack

import numpy as np
import numpy.typing as npt

from dicomkit.codecs.format import CodecOptions, PixelArray, PixelFormat, check_frame_array
from dicomkit.errors import CodecError

__all__ = [
    "RLE_LOSSLESS",
    "RLELosslessCodec",
    "decode_segment",
    "encode_segment",
    "parse_header",
]

RLE_LOSSLESS = "1.2.840.10008.1.2.5"

HEADER_LENGTH = 64
MAX_SEGMENTS = 15
_MAX_RUN = 128

Bytes = npt.NDArray[np.uint8]


def _read_only(values: list[int], dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    table = np.array(values, dtype=dtype)
    table.flags.writeable = False
    return table


# Tables indexed by a run's header byte h: bytes the run takes in the segment
# (header included), bytes it outputs, and whether it is a literal run of 2..128
# bytes (h = 0, a one-byte literal, decodes like a replicate run of one byte).
_RUN_SIZE: tuple[int, ...] = tuple(h + 2 if h < 128 else (1 if h == 128 else 2) for h in range(256))
_RUN_SIZE_BYTES = bytes(_RUN_SIZE)  # as a bytes.translate table
_RUN_SIZE_TABLE: Bytes = np.frombuffer(_RUN_SIZE_BYTES, dtype=np.uint8)
_RUN_COUNT = _read_only([h + 1 if h < 128 else (0 if h == 128 else 257 - h) for h in range(256)], np.intp)
_LITERAL = _read_only([1 <= h <= 127 for h in range(256)], np.bool_)
# Literal runs of n bytes are copied as windows of 2**k bytes, k = floor(log2 n).
_WINDOW_CLASS = _read_only([0] + [n.bit_length() - 1 for n in range(1, _MAX_RUN + 1)], np.uint8)
_WINDOW_SHIFT = _read_only([0] + [n - (1 << (n.bit_length() - 1)) for n in range(1, _MAX_RUN + 1)], np.intp)
_WINDOW_DTYPES = tuple(np.dtype(f"V{1 << k}") for k in range(8))


def parse_header(data: bytes | memoryview, *, frame: int = 0) -> list[int]:
    """Return the segment offsets from an RLE header, checked against ``len(data)``."""
    if len(data) < HEADER_LENGTH:
        raise CodecError(f"RLE frame of {len(data)} bytes is shorter than its 64-byte header", frame=frame)
    fields = struct.unpack_from("<16L", data)
    count = fields[0]
    if not 1 <= count <= MAX_SEGMENTS:
        raise CodecError(f"RLE header declares {count} segments (allowed 1..15)", frame=frame)
    offsets = list(fields[1 : count + 1])
    previous = HEADER_LENGTH
    for index, offset in enumerate(offsets):
        if offset < previous or offset > len(data):
            raise CodecError(
                f"RLE segment {index} offset {offset} outside {previous}..{len(data)}", frame=frame
            )
        previous = offset
    return offsets


def decode_segment(data: bytes | memoryview, length: int, *, frame: int = 0, segment: int = 0) -> Bytes:
    """Decode one PackBits segment into exactly ``length`` bytes.

    Bytes beyond ``length`` (encoder padding, runs crossing the end) are
    ignored; a segment that yields fewer bytes raises ``CodecError``.
    """
    if length <= 0:
        return np.zeros(0, dtype=np.uint8)
    raw = bytes(data)
    return _expand(raw, _find_runs(raw, length, frame=frame, segment=segment))


class _Runs(NamedTuple):
    """The runs that make the first ``length`` bytes of a segment, in order.

    ``positions`` index the run headers, ``counts`` are the bytes each run
    outputs (the last one cut at ``length``) and ``ends`` where each run's
    output ends. No-op runs are left out.
    """

    positions: npt.NDArray[np.intp]
    headers: Bytes
    counts: npt.NDArray[np.intp]
    ends: npt.NDArray[np.intp]


def _find_runs(raw: bytes, length: int, *, frame: int, segment: int) -> _Runs:
    """Walk the run headers of the segment ``raw`` and check it yields ``length`` bytes."""
    size = len(raw)
    buf = np.frombuffer(raw, dtype=np.uint8)
    if 3 * size <= length:  # compressed 3:1 or better, so mostly two-byte runs
        table = _stretch_table(raw)
        steps = np.frombuffer(table, dtype=np.uint8)
        hop_starts = _every_step(_walk_stretches(table), steps, size)
        hops = np.take(steps, hop_starts)
        # a step from a two-byte run's header covers step / 2 such runs, any other step one run
        stretch = np.take(_RUN_SIZE_TABLE, np.take(buf, hop_starts)) == 2
        run_sizes = np.repeat(np.where(stretch, np.uint8(2), hops), np.where(stretch, hops >> 1, 1))
        positions = np.cumsum(run_sizes, dtype=np.intp)
        positions -= run_sizes
        headers = np.take(buf, positions)
        noops = b"\x80" in raw
    else:
        positions = _every_step(_walk_headers(raw), buf, size, translate=_RUN_SIZE_TABLE)
        headers = np.take(buf, positions)
        noops = bool(np.any(headers == 128))
    counts = np.take(_RUN_COUNT, headers)
    ends = np.cumsum(counts)
    total = int(ends[-1]) if ends.size else 0
    if total < length:
        raise CodecError(f"RLE segment {segment} decodes to {total} bytes, expected {length}", frame=frame)
    last = int(np.searchsorted(ends, length))  # the first run reaching ``length``
    excess = int(ends[last]) - length
    # Every run before the last is whole (another header follows it); the
    # last must hold the bytes it contributes.
    needed = int(positions[last]) + 1 + (int(counts[last]) - excess if headers[last] < 128 else 1)
    if needed > size:
        raise CodecError(f"RLE segment {segment} is truncated", frame=frame)
    used = slice(last + 1)
    positions, headers, counts, ends = positions[used], headers[used], counts[used], ends[used]
    counts[last] -= excess
    ends[last] = length
    if noops and 128 in headers:  # drop no-op runs, so that every run outputs
        kept = np.flatnonzero(headers != 128)
        positions, headers, counts, ends = (np.take(a, kept) for a in (positions, headers, counts, ends))
    return _Runs(positions, headers, counts, ends)


# The two walks below are the decoder's only per-run Python code. Each takes four steps
# per loop pass and records only where the fourth ends (``_every_step`` fills in the
# three between with numpy): an ``append`` and a loop jump cost as much as a step.


def _walk_headers(raw: bytes) -> list[int]:
    """Where every fourth run starts (0 first): one Python step per run, each >= 1 byte.

    The last entry may lie at or past the end of ``raw``; the walk stops there.
    """
    fourths = [0]
    append = fourths.append
    run_size = _RUN_SIZE
    pos = 0
    try:
        while True:
            pos += run_size[raw[pos]]
            pos += run_size[raw[pos]]
            pos += run_size[raw[pos]]
            pos += run_size[raw[pos]]
            append(pos)
    except IndexError:  # stepped past the end
        pass
    return fourths


def _walk_stretches(table: bytes) -> list[int]:
    """Like ``_walk_headers``, but one step per stretch of two-byte runs.

    ``table`` (``_stretch_table``) holds the bytes a step covers from each position:
    a stretch of up to 127 consecutive two-byte runs (replicate runs, one-byte
    literals), or any other single run.
    """
    fourths = [0]
    append = fourths.append
    pos = 0
    try:
        while True:
            pos += table[pos]
            pos += table[pos]
            pos += table[pos]
            pos += table[pos]
            append(pos)
    except IndexError:
        pass
    return fourths


def _every_step(
    fourths: list[int], steps: Bytes, size: int, *, translate: Bytes | None = None
) -> npt.NDArray[np.intp]:
    """Every position a walk visited inside ``size`` bytes, from every fourth one.

    The step from position p is ``steps[p]`` (through ``translate`` when given).
    Positions past the end read the last byte (``clip``) and only grow, so the
    visited ones are those below ``size``.
    """
    if size == 0:
        return np.zeros(0, dtype=np.intp)
    starts = np.array(fourths, dtype=np.intp)
    visited = np.empty((starts.size, 4), dtype=np.intp)
    visited[:, 0] = starts
    for column in range(1, 4):
        step = np.take(steps, visited[:, column - 1], mode="clip")
        if translate is not None:
            step = np.take(translate, step)
        np.add(visited[:, column - 1], step, out=visited[:, column])
    flat = visited.reshape(-1)
    return flat[: int(np.searchsorted(flat, size))]


def _stretch_table(raw: bytes) -> bytes:
    """The bytes ``_walk_stretches`` steps over from each position a run may start at.

    Where the byte there would head a two-byte run, that is twice the count
    (at most 127) of the positions p, p+2, p+4, ... whose bytes all would: if p
    starts a run, so do they all. Elsewhere it is the size of the run.
    """
    sizes = np.frombuffer(raw.translate(_RUN_SIZE_BYTES), dtype=np.uint8)
    size = sizes.size
    half = (size + 1) // 2
    # Even positions, then odd ones, each closed by a 0 that ends any stretch.
    split = np.zeros(size + 2, dtype=np.uint8)
    split[:half] = sizes[0::2]
    split[half + 1 : size + 1] = sizes[1::2]
    two = split == 2
    ends = np.flatnonzero(~two)
    stretch = np.repeat(ends, np.diff(ends, prepend=-1))  # the next end at or after each position
    stretch -= np.arange(split.size)
    np.minimum(stretch, 127, out=stretch)
    stretch += stretch
    np.copyto(split, stretch, where=two, casting="unsafe")
    table = np.empty(size, dtype=np.uint8)
    table[0::2] = split[:half]
    table[1::2] = split[half + 1 : size + 1]
    return table.tobytes()


def _expand(raw: bytes, runs: _Runs) -> Bytes:
    """The plane the segment ``raw`` decodes to, from its ``runs``.

    Every run first becomes its first byte repeated (one ``numpy.repeat``,
    which is all a replicate run needs); literal runs are then copied over that
    (:func:`_copy_runs`).
    """
    payload = np.frombuffer(raw, dtype=np.uint8)[1:]  # payload[p]: the byte after header p
    plane: Bytes = np.repeat(np.take(payload, runs.positions), runs.counts)
    literal = np.flatnonzero(np.take(_LITERAL, runs.headers))
    if literal.size:
        _copy_runs(plane, runs.ends, payload, runs.positions, runs.counts, literal)
    return plane


def _copy_runs(
    into: Bytes,
    into_ends: npt.NDArray[np.intp],
    out_of: Bytes,
    out_of_starts: npt.NDArray[np.intp],
    counts: npt.NDArray[np.intp],
    selected: npt.NDArray[np.intp],
) -> None:
    """For every run i in ``selected``, copy ``counts[i]`` (1..128) bytes from
    ``out_of[out_of_starts[i]:]`` to ``into``, ending at ``into_ends[i]``, without a
    per-byte index array (or any copy of the per-run arrays but the selected entries).

    Each run is copied as its first and its last w bytes, w the largest power of two
    <= its length: the two windows cover the run and overlap on identical bytes. That
    is one fancy-index copy of ``V<w>`` items per width w, the runs sorted by width.
    """
    lengths = np.take(counts, selected)
    classes = np.take(_WINDOW_CLASS, lengths)
    order = np.argsort(classes, kind="stable")
    bounds = (2 * np.bincount(classes, minlength=len(_WINDOW_DTYPES)).cumsum()).tolist()
    selected = np.take(selected, order)
    lengths = np.take(lengths, order)
    shift = np.take(_WINDOW_SHIFT, lengths)  # from the first window to the last
    windows = np.empty((2, selected.size, 2), dtype=np.intp)
    np.take(into_ends, selected, out=windows[0, :, 0])
    windows[0, :, 0] -= lengths
    np.take(out_of_starts, selected, out=windows[1, :, 0])
    np.add(windows[:, :, 0], shift, out=windows[:, :, 1])
    to, of = windows[0].reshape(-1), windows[1].reshape(-1)
    first = 0
    for dtype, stop in zip(_WINDOW_DTYPES, bounds):
        if stop > first:
            width = dtype.itemsize
            windows_in = np.ndarray((into.size - width + 1,), dtype=dtype, buffer=into, strides=(1,))
            windows_of = np.ndarray((out_of.size - width + 1,), dtype=dtype, buffer=out_of, strides=(1,))
            windows_in[to[first:stop]] = windows_of[of[first:stop]]
        first = stop


def encode_segment(plane: Bytes, *, min_replicate_run: int = 2) -> bytes:
    """PackBits-encode a 2-D uint8 byte plane, rows separately, padded to even length."""
    columns = plane.shape[1]
    flat = np.ascontiguousarray(plane).reshape(-1)
    total = flat.size

    # Runs of equal bytes, cut at every row start.
    boundary = np.empty(total, dtype=bool)
    boundary[0] = True
    np.not_equal(flat[1:], flat[:-1], out=boundary[1:])
    boundary[::columns] = True
    run_starts = np.flatnonzero(boundary)
    run_lengths = np.diff(run_starts, append=total)

    # Short runs in a row gather into literal blocks; long runs are replicate blocks.
    # A two-byte repetition that ends a row stays a replicate run in both styles.
    short = (run_lengths == 1) | (
        (run_lengths < min_replicate_run) & ((run_starts + run_lengths) % columns != 0)
    )
    previous_short = np.concatenate(([False], short[:-1]))
    first_runs = np.flatnonzero(~short | ~previous_short | (run_starts % columns == 0))
    block_pos = run_starts[first_runs]
    block_literal = short[first_runs]
    block_len = np.diff(block_pos, append=total)  # blocks tile the plane

    # Split blocks into runs of at most 128 bytes.
    pieces = (block_len + _MAX_RUN - 1) // _MAX_RUN
    first_piece = np.cumsum(pieces) - pieces
    piece_block = np.repeat(np.arange(block_len.size), pieces)
    piece_index = np.arange(piece_block.size) - first_piece[piece_block]
    piece_pos = block_pos[piece_block] + _MAX_RUN * piece_index
    piece_len = np.minimum(_MAX_RUN, block_len[piece_block] - _MAX_RUN * piece_index)
    piece_literal = block_literal[piece_block] | (piece_len == 1)

    sizes = np.where(piece_literal, piece_len + 1, 2)
    out_pos = np.cumsum(sizes) - sizes
    encoded_size = int(out_pos[-1] + sizes[-1])
    out = np.zeros(encoded_size + (encoded_size & 1), dtype=np.uint8)
    out[out_pos] = np.where(piece_literal, piece_len - 1, 257 - piece_len).astype(np.uint8)

    replicate = ~piece_literal
    out[out_pos[replicate] + 1] = flat[piece_pos[replicate]]

    literal = np.flatnonzero(piece_literal)
    if literal.size:
        _copy_runs(out, out_pos + 1 + piece_len, flat, piece_pos, piece_len, literal)
    return out.tobytes()


@dataclass(frozen=True, slots=True)
class RLELosslessCodec:
    """RLE Lossless, 1.2.840.10008.1.2.5 (PS3.5 Annex G)."""

    transfer_syntax: str = RLE_LOSSLESS
    lossy: bool = False

    def can_encode(self, fmt: PixelFormat) -> bool:
        return fmt.bits_allocated % 8 == 0 and _segment_count(fmt) <= MAX_SEGMENTS

    def encoded_format(self, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> PixelFormat:
        _min_replicate_run(options)
        return fmt

    def decode_frame(self, data: bytes, fmt: PixelFormat, *, frame: int = 0) -> PixelArray:
        if not self.can_encode(fmt):
            raise CodecError(
                f"RLE cannot hold {fmt.bits_allocated}-bit x {fmt.samples_per_pixel}", frame=frame
            )
        raw = bytes(data)
        offsets = parse_header(raw, frame=frame)
        expected = _segment_count(fmt)
        if len(offsets) != expected:
            raise CodecError(f"RLE frame has {len(offsets)} segments, expected {expected}", frame=frame)
        planes = []
        for index, (start, end) in enumerate(zip(offsets, [*offsets[1:], len(raw)])):
            segment = raw[start:end]
            planes.append(_expand(segment, _find_runs(segment, fmt.pixels, frame=frame, segment=index)))
        return _interleave(planes, fmt)

    def encode_frame(self, array: PixelArray, fmt: PixelFormat, **options: Unpack[CodecOptions]) -> bytes:
        """Encode one frame; option ``min_replicate_run`` (2 or 3, see the module docstring)."""
        min_run = _min_replicate_run(options)
        if not self.can_encode(fmt):
            raise CodecError(f"RLE cannot hold {fmt.bits_allocated}-bit x {fmt.samples_per_pixel}")
        check_frame_array(array, fmt)
        bytes_per_sample = fmt.bits_allocated // 8
        native = np.ascontiguousarray(array, dtype=fmt.dtype)
        planes = native.reshape(fmt.rows, fmt.columns, fmt.samples_per_pixel, 1).view(np.uint8)
        segments = [
            encode_segment(
                planes[:, :, sample, bytes_per_sample - 1 - significance], min_replicate_run=min_run
            )
            for sample in range(fmt.samples_per_pixel)
            for significance in range(bytes_per_sample)
        ]
        offsets = [HEADER_LENGTH]
        for segment in segments[:-1]:
            offsets.append(offsets[-1] + len(segment))
        header = struct.pack("<16L", len(segments), *offsets, *([0] * (MAX_SEGMENTS - len(offsets))))
        return header + b"".join(segments)


def _interleave(planes: list[Bytes], fmt: PixelFormat) -> PixelArray:
    """Build the frame from its byte planes, in segment order (PS3.5 G.2)."""
    bytes_per_sample = fmt.bits_allocated // 8
    samples = [
        _join_bytes(planes[first : first + bytes_per_sample])
        for first in range(0, len(planes), bytes_per_sample)
    ]
    if fmt.samples_per_pixel == 1:
        pixels = samples[0]
    else:
        pixels = np.empty((fmt.pixels, fmt.samples_per_pixel), dtype=samples[0].dtype)
        for index, sample in enumerate(samples):
            pixels[:, index] = sample
    # native integers so far; the frame's dtype is little endian
    return pixels.astype(f"<u{bytes_per_sample}", copy=False).view(fmt.dtype).reshape(fmt.shape)


def _join_bytes(planes: list[Bytes]) -> npt.NDArray[np.unsignedinteger[Any]]:
    """One sample's byte planes, most significant first, as native unsigned integers."""
    if len(planes) == 1:
        return planes[0]
    sample = np.left_shift(planes[0], 8, dtype=f"=u{len(planes)}")
    sample |= planes[1]
    for plane in planes[2:]:
        sample <<= 8
        sample |= plane
    return sample


def _segment_count(fmt: PixelFormat) -> int:
    return fmt.samples_per_pixel * (fmt.bits_allocated // 8)


def _min_replicate_run(options: Mapping[str, object]) -> int:
    unknown = set(options) - {"min_replicate_run"}
    if unknown:
        raise CodecError(f"unknown RLE Lossless encoding options {sorted(unknown)}")
    value = options.get("min_replicate_run", 2)
    if value not in (2, 3) or isinstance(value, bool):
        raise CodecError(f"min_replicate_run must be 2 or 3, got {value!r}")
    return 2 if value == 2 else 3


def make_codec(transfer_syntax: str) -> RLELosslessCodec:
    """Registry entry point."""
    return RLELosslessCodec(transfer_syntax)
