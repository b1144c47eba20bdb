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

Both directions are vectorised: the encoder finds runs with numpy and writes
the output with fancy indexing; the decoder walks the run headers in a tight
loop (one step per run, not per byte) and expands every run with one
``numpy.repeat``.

Security bounds: the header's segment count and offsets are checked against
the frame's size; decoding stops at the plane size, so the output never exceeds
rows x columns bytes per segment whatever the runs declare.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dicomkit.codecs.format import PixelArray, PixelFormat, check_frame_array
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

# Bytes consumed by a run whose header byte is h (header included).
_RUN_SIZE: tuple[int, ...] = tuple(h + 2 if h < 128 else (1 if h == 128 else 2) for h in range(256))

Bytes = npt.NDArray[np.uint8]


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
    raw = bytes(data)
    size = len(raw)
    # One Python step per run; runs cover at least one byte each, so the loop
    # is bounded by the segment size.
    heads: list[int] = []
    append = heads.append
    run_size = _RUN_SIZE
    pos = 0
    while pos < size:
        append(pos)
        pos += run_size[raw[pos]]

    buf = np.frombuffer(raw, dtype=np.uint8)
    starts = np.array(heads, dtype=np.intp)
    codes = buf[starts].astype(np.intp)
    literal = codes < 128
    counts = np.where(literal, codes + 1, np.where(codes > 128, 257 - codes, 0))
    produced = np.cumsum(counts)
    if not produced.size or produced[-1] < length:
        got = int(produced[-1]) if produced.size else 0
        raise CodecError(f"RLE segment {segment} decodes to {got} bytes, expected {length}", frame=frame)
    last = int(np.searchsorted(produced, length))  # first run reaching ``length``
    starts = starts[: last + 1]
    literal = literal[: last + 1]
    counts = counts[: last + 1].copy()
    counts[last] -= int(produced[last]) - length

    # Each used run must have its payload inside the segment.
    needed = np.where(literal, starts + 1 + counts, np.where(counts > 0, starts + 2, starts + 1))
    if int(needed.max()) > size:
        raise CodecError(f"RLE segment {segment} is truncated", frame=frame)

    # Expand with one repeat: every literal payload byte once, every replicate
    # value byte count times, headers zero times.
    repeats = np.zeros(size + 1, dtype=np.intp)
    lit_starts = starts[literal] + 1
    repeats[lit_starts] += 1
    repeats[lit_starts + counts[literal]] -= 1  # run ends are distinct, no np.subtract.at needed
    np.cumsum(repeats, out=repeats)
    replicate = ~literal & (counts > 0)
    repeats[starts[replicate] + 1] = counts[replicate]
    return np.repeat(buf, repeats[:size])


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

    lit_pos = piece_pos[piece_literal]
    lit_len = piece_len[piece_literal]
    shift = np.repeat(out_pos[piece_literal] + 1 - lit_pos, lit_len)
    lit_first = np.cumsum(lit_len) - lit_len
    source = np.arange(shift.size) + np.repeat(lit_pos - lit_first, lit_len)
    out[source + shift] = flat[source]
    return out.tobytes()


@dataclass(frozen=True, slots=True)
class RLELosslessCodec:
    """RLE Lossless, 1.2.840.10008.1.2.5 (PS3.5 Annex G)."""

    transfer_syntax: str = RLE_LOSSLESS
    lossy: bool = False

    def can_encode(self, fmt: PixelFormat) -> bool:
        return fmt.bits_allocated % 8 == 0 and _segment_count(fmt) <= MAX_SEGMENTS

    def encoded_format(self, fmt: PixelFormat, **options: object) -> PixelFormat:
        _min_replicate_run(options)
        return fmt

    def decode_frame(self, data: bytes, fmt: PixelFormat, *, frame: int = 0) -> PixelArray:
        if not self.can_encode(fmt):
            raise CodecError(
                f"RLE cannot hold {fmt.bits_allocated}-bit x {fmt.samples_per_pixel}", frame=frame
            )
        view = memoryview(data)
        offsets = parse_header(view, frame=frame)
        expected = _segment_count(fmt)
        if len(offsets) != expected:
            raise CodecError(f"RLE frame has {len(offsets)} segments, expected {expected}", frame=frame)
        bytes_per_sample = fmt.bits_allocated // 8
        planes = np.empty((fmt.pixels, fmt.samples_per_pixel, bytes_per_sample), dtype=np.uint8)
        ends = [*offsets[1:], len(data)]
        for index, (start, end) in enumerate(zip(offsets, ends)):
            sample, significance = divmod(index, bytes_per_sample)
            planes[:, sample, bytes_per_sample - 1 - significance] = decode_segment(
                view[start:end], fmt.pixels, frame=frame, segment=index
            )
        samples = planes.reshape(fmt.rows, fmt.columns, -1).view(fmt.dtype)
        return samples.reshape(fmt.shape)

    def encode_frame(self, array: PixelArray, fmt: PixelFormat, **options: object) -> bytes:
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


def _segment_count(fmt: PixelFormat) -> int:
    return fmt.samples_per_pixel * (fmt.bits_allocated // 8)


def _min_replicate_run(options: dict[str, object]) -> int:
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
