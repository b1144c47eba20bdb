"""Reading PS3.10 files and raw data sets.

::

    [128-byte preamble]["DICM"][group 0002, explicit VR LE][data set in its transfer syntax]

``read_file`` accepts a path, bytes or any binary stream (``dicomkit.streams``). Files
without preamble or without File Meta Information are accepted; the transfer syntax of a
raw data set is detected from its first element. Deflated data sets (PS3.5 A.5) are
inflated with a bound on their inflated size.
"""

from __future__ import annotations

import dataclasses
import io
import os
import struct
import zlib

from dicomkit.data.dataset import Dataset
from dicomkit.data.vr import VALID_VRS
from dicomkit.errors import DecodeError, DicomError, DicomFormatError, TruncatedError
from dicomkit.part10.options import DicomFile, ReadOptions
from dicomkit.part10.parser import Parser
from dicomkit.part10.source import CHUNK, Source
from dicomkit.part10.transfer_syntax import (
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    transfer_syntax,
)
from dicomkit.streams import ByteReader, SeekableByteReader

__all__ = ["read_dataset", "read_dataset_at", "read_dataset_head", "read_file"]

_PART_CHUNK = 16 * 1024  # what ``read_dataset_at`` reads at a time, values deferred

_PREAMBLE = 128
_MAGIC = b"DICM"
_TRANSFER_SYNTAX_TAG = 0x00020010
_VALID_VR_BYTES = frozenset(vr.encode() for vr in VALID_VRS)


def read_file(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview | ByteReader,
    options: ReadOptions | None = None,
) -> DicomFile:
    """Read a DICOM file (PS3.10) or a raw data set.

    A stream needs only ``read``. One that also has ``seekable``, ``seek`` and ``tell``
    and is seekable is read in chunks from where it stands; any other is read whole first.

    Raises:
        DicomFormatError: (or a subclass) for malformed input, naming the offset.
        OSError: when the path cannot be opened.
    """
    options = options or ReadOptions()
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb") as fp:
            return _read(Source.from_stream(fp, path=path), options)
    if isinstance(source, bytes | bytearray | memoryview):
        return _read(Source.from_bytes(source), options)
    if isinstance(source, SeekableByteReader) and source.seekable():
        return _read(Source.from_stream(source), options)
    return _read(Source.from_bytes(source.read()), options)


def read_dataset(
    data: bytes | bytearray | memoryview,
    transfer_syntax_uid: str = IMPLICIT_VR_LITTLE_ENDIAN,
    options: ReadOptions | None = None,
) -> Dataset:
    """Read a data set without File Meta (e.g. from a DIMSE message) in a known syntax."""
    options = options or ReadOptions()
    ts = transfer_syntax(transfer_syntax_uid)
    src = Source.from_bytes(data)
    if ts.deflated:
        src = Source.from_bytes(_inflate(src, 0, options))
    try:
        dataset, _ = Parser(src, implicit=ts.implicit_vr, little=ts.little_endian, options=options).parse(0)
    except DicomError:
        raise
    except (struct.error, IndexError, ValueError, UnicodeError, OverflowError) as exc:
        raise DecodeError(f"malformed data set: {exc}") from None
    return dataset


def read_dataset_head(
    data: bytes | bytearray | memoryview,
    transfer_syntax_uid: str,
    stop_before: int,
    options: ReadOptions | None = None,
) -> tuple[Dataset, int] | None:
    """The top-level elements of a data set's first bytes that come before ``stop_before``.

    For a data set still arriving (a C-STORE's first fragments): returns the elements and
    the offset of the first element tagged ``stop_before`` or higher, or None when ``data``
    ends before one (more bytes may complete it, or show the data set malformed).

    Raises:
        DicomFormatError: (or a subclass) for bytes that no continuation can make valid.
        ValueError: for a deflated syntax, which cannot be read in parts.
    """
    ts = transfer_syntax(transfer_syntax_uid)
    if ts.deflated:
        raise ValueError("a deflated data set cannot be read in parts")
    opts = dataclasses.replace(options or ReadOptions(), stop_before=stop_before)
    parser = Parser(Source.from_bytes(data), implicit=ts.implicit_vr, little=ts.little_endian, options=opts)
    try:
        dataset, pos = parser.parse(0)
    except TruncatedError:
        return None
    except DicomError:
        raise
    except (struct.error, IndexError, ValueError, UnicodeError, OverflowError) as exc:
        raise DecodeError(f"malformed data set: {exc}") from None
    # Stopping anywhere but at such an element means the bytes ran out first.
    return (dataset, pos) if pos < len(data) else None


def read_dataset_at(
    path: str | os.PathLike[str],
    offset: int,
    transfer_syntax_uid: str,
    options: ReadOptions | None = None,
) -> Dataset:
    """The top-level elements from ``offset`` to the end of the file at ``path``.

    The rest of a data set whose beginning :func:`read_dataset_head` read: parsing it
    checks that the data set is whole. Values above ``options.defer_size`` stay in the file.

    Raises:
        DicomFormatError: (or a subclass) for malformed input, naming the offset.
        OSError: when the path cannot be opened.
        ValueError: for a deflated syntax.
    """
    options = options or ReadOptions()
    ts = transfer_syntax(transfer_syntax_uid)
    if ts.deflated:
        raise ValueError("a deflated data set cannot be read in parts")
    file_path = os.fspath(path)
    # Large values are skipped, not read: small reads then fetch only what is parsed.
    chunk = _PART_CHUNK if options.defer_size is not None and options.defer_size <= 4096 else CHUNK
    with open(file_path, "rb") as fp:
        fp.seek(offset)
        src = Source.from_stream(fp, path=file_path, chunk=chunk)
        parser = Parser(src, implicit=ts.implicit_vr, little=ts.little_endian, options=options)
        try:
            dataset, _ = parser.parse(offset)
        except DicomError:
            raise
        except (struct.error, IndexError, ValueError, UnicodeError, OverflowError, MemoryError) as exc:
            raise DecodeError(f"malformed data set: {type(exc).__name__}: {exc}", offset=offset) from None
    return dataset


def _read(src: Source, options: ReadOptions) -> DicomFile:
    try:
        return _read_unguarded(src, options)
    except DicomError:
        raise
    except (struct.error, IndexError, ValueError, UnicodeError, OverflowError, MemoryError) as exc:
        # Defensive: every path above raises typed errors; this keeps the promise if one is missed.
        raise DecodeError(f"malformed input: {type(exc).__name__}: {exc}") from None


def _read_unguarded(src: Source, options: ReadOptions) -> DicomFile:
    result = DicomFile(dataset=Dataset())
    pos = src.start
    if (
        src.ensure(pos, _PREAMBLE + 4)
        and src.buf[pos - src.start + _PREAMBLE : pos - src.start + _PREAMBLE + 4] == _MAGIC
    ):
        result.preamble = src.take(pos, _PREAMBLE)
        pos += _PREAMBLE + 4
    elif src.ensure(pos, 4) and src.buf[pos - src.start : pos - src.start + 4] == _MAGIC:
        pos += 4
    if not src.ensure(pos, 8):
        if src.remaining(pos) == 0 and result.preamble is None:
            raise TruncatedError("empty input: no DICOM data", offset=pos)
        raise TruncatedError("input too short for a DICOM data set", offset=pos)

    head = src.buf[pos - src.start : pos - src.start + 8]
    meta_syntax = None
    if head[:2] == b"\x02\x00":
        parser = Parser(src, implicit=head[4:6] not in _VALID_VR_BYTES, little=True, options=options)
        meta, pos = _read_meta(parser, pos)
        result.findings.extend(parser.findings)
        result.meta = meta
        meta_syntax = meta.get_str(_TRANSFER_SYNTAX_TAG)
    elif result.preamble is not None and not options.lenient:
        raise DecodeError("File Meta Information (group 0002) missing after DICM", offset=pos)

    if not src.ensure(pos, 8) and src.remaining(pos) == 0:
        result.transfer_syntax = meta_syntax or EXPLICIT_VR_LITTLE_ENDIAN
        return result  # meta only (e.g. a DICOMDIR stub); nothing more to read
    ts_uid = meta_syntax or _detect_syntax(src, pos)
    ts = transfer_syntax(ts_uid)
    result.transfer_syntax = ts_uid
    implicit, little = ts.implicit_vr, ts.little_endian
    if ts.deflated:
        src = Source.from_bytes(_inflate(src, pos, options))
        pos = 0
    elif src.ensure(pos, 8):
        # Some writers declare one syntax and write another: believe the bytes.
        looks_explicit = src.buf[pos - src.start + 4 : pos - src.start + 6] in _VALID_VR_BYTES
        if looks_explicit == implicit and little:
            if not options.lenient:
                kind = "explicit" if looks_explicit else "implicit"
                raise DecodeError(f"transfer syntax {ts_uid} but data set is {kind} VR", offset=pos)
            result.findings.append(f"transfer syntax {ts_uid} disagrees with the data set encoding")
            implicit = not looks_explicit
    parser = Parser(src, implicit=implicit, little=little, options=options)
    result.dataset, _ = parser.parse(pos)
    result.findings.extend(parser.findings)
    return result


def _read_meta(parser: Parser, pos: int) -> tuple[Dataset, int]:
    """Group 0002 elements, explicit VR LE (PS3.10 §7.1). Stops at the first other group."""
    src = parser.src
    end = pos
    # Find where group 0002 ends by walking headers; the group length is advisory
    # only, as many writers get it wrong.
    implicit = parser.implicit
    while src.ensure(end, 8):
        buf_pos = end - src.start
        group = int.from_bytes(src.buf[buf_pos : buf_pos + 2], "little")
        if group != 2:
            break
        if implicit:
            length = int.from_bytes(src.buf[buf_pos + 4 : buf_pos + 8], "little")
            end += 8 + length
        else:
            vr = src.buf[buf_pos + 4 : buf_pos + 6]
            if vr in (
                b"OB",
                b"OW",
                b"OF",
                b"SQ",
                b"UN",
                b"UT",
                b"UC",
                b"UR",
                b"OD",
                b"OL",
                b"OV",
                b"SV",
                b"UV",
            ):
                if not src.ensure(end, 12):
                    raise TruncatedError("File Meta element header cut short", offset=end)
                length = int.from_bytes(src.buf[buf_pos + 8 : buf_pos + 12], "little")
                end += 12 + length
            else:
                length = int.from_bytes(src.buf[buf_pos + 6 : buf_pos + 8], "little")
                end += 8 + length
        if length == 0xFFFFFFFF:
            raise DecodeError("undefined length in File Meta Information", offset=end)
        if end > src.size:
            raise TruncatedError("File Meta element runs past the end of the input", offset=end)
    meta, after = parser.parse(pos, end)
    return meta, after


def _detect_syntax(src: Source, pos: int) -> str:
    """Guess the syntax of a raw data set from its first element header."""
    head = src.buf[pos - src.start : pos - src.start + 8]
    explicit = head[4:6] in _VALID_VR_BYTES
    group_le = int.from_bytes(head[0:2], "little")
    group_be = int.from_bytes(head[0:2], "big")
    little = group_le <= group_be or group_le in (0x0008, 0x0002)
    if not little:
        return EXPLICIT_VR_BIG_ENDIAN if explicit else "1.2.840.10008.1.2"  # implicit BE does not exist
    return EXPLICIT_VR_LITTLE_ENDIAN if explicit else IMPLICIT_VR_LITTLE_ENDIAN


def _inflate(src: Source, pos: int, options: ReadOptions) -> bytes:
    """Inflate a deflated data set (raw deflate, PS3.5 A.5), bounded by ``max_inflated_size``."""
    compressed = src.take(pos, src.remaining(pos))
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = io.BytesIO()
    data = compressed
    while data:
        try:
            chunk = inflater.decompress(data, 1 << 20)
        except zlib.error as exc:
            raise DicomFormatError(f"deflated data set is corrupt: {exc}", offset=pos) from None
        out.write(chunk)
        if out.tell() > options.max_inflated_size:
            raise DicomFormatError("deflated data set inflates beyond the allowed size", offset=pos)
        data = inflater.unconsumed_tail
        if inflater.eof or (not chunk and not data):
            break
    return out.getvalue()
