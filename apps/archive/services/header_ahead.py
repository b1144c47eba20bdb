"""Reading a C-STORE data set's header while the rest of it (the pixel data) still arrives.

An :class:`~apps.archive.services.ingest.IngestSink` feeds each received fragment to a
:class:`HeaderReader` until the elements before Pixel Data (7FE0,0010) are all in. The
sink then checks the header and journals the storage key while the pixel data is still on
the wire, and its commit reads only what follows the header from the staged file, which
also proves the data set whole. Without this, all of that waits until the last fragment,
and the modality waits with it.

Fragments are copied only until the header is in, at most :data:`MAX_HEAD` bytes of them.
A data set without Pixel Data, a header larger than that, a deflated data set or one not
encoded as negotiated is read whole at commit instead, which reports what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dicomkit.data.dataset import Dataset
from dicomkit.data.vr import VALID_VRS
from dicomkit.errors import DicomError
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_dataset_head
from dicomkit.part10.transfer_syntax import transfer_syntax

__all__ = ["MAX_HEAD", "PIXEL_DATA", "DatasetHead", "HeaderReader", "encoding_mismatch"]

PIXEL_DATA = 0x7FE00010
MAX_HEAD = 1 << 20
_OPTIONS = ReadOptions(validation=Validation.LENIENT)
_VR_BYTES = frozenset(vr.encode() for vr in VALID_VRS)
# Pixel Data's tag as encoded, and the bytes its element header takes (by implicit VR).
_MARKERS = {True: b"\xe0\x7f\x10\x00", False: b"\x7f\xe0\x00\x10"}
_PIXEL_HEADER = {True: 8, False: 12}
_FIRST_LOOK = 64 * 1024


@dataclass(frozen=True, slots=True)
class DatasetHead:
    """The top-level elements before Pixel Data, the data set offset where it starts, and
    its element header (as encoded)."""

    dataset: Dataset
    end: int
    pixel_header: bytes = b""

    def native_value_end(self, transfer_syntax_uid: str) -> int | None:
        """The data set offset where Pixel Data's value ends, when it is a plain defined
        length OB/OW value (not encapsulated); else None."""
        ts = transfer_syntax(transfer_syntax_uid)
        header = self.pixel_header
        order: Literal["little", "big"] = "little" if ts.little_endian else "big"
        if len(header) != _PIXEL_HEADER[ts.implicit_vr] or header[:4] != _MARKERS[ts.little_endian]:
            return None
        if ts.implicit_vr:
            length = int.from_bytes(header[4:8], order)
        elif header[4:6] in (b"OB", b"OW") and header[6:8] == b"\0\0":
            length = int.from_bytes(header[8:12], order)
        else:
            return None
        if length == 0xFFFFFFFF or length % 2:
            return None
        return self.end + len(header) + length


def encoding_mismatch(head: bytes, transfer_syntax_uid: str) -> str | None:
    """``"explicit"`` or ``"implicit"`` when a data set's first element header (8 bytes) is
    encoded with the other VR encoding than its little endian syntax says; else None."""
    ts = transfer_syntax(transfer_syntax_uid)
    if ts.deflated or not ts.little_endian or len(head) < 8:
        return None
    looks_explicit = head[4:6] in _VR_BYTES
    if looks_explicit != ts.implicit_vr:
        return None
    return "explicit" if looks_explicit else "implicit"


class HeaderReader:
    """Collects a data set's first fragments until its header can be read (see the module).

    ``done`` turns true once :meth:`feed` returned the header or gave up; from then on it
    keeps nothing and returns None.
    """

    __slots__ = ("_buffer", "_header_size", "_marker", "_retry", "_syntax", "done")

    def __init__(self, transfer_syntax_uid: str) -> None:
        ts = transfer_syntax(transfer_syntax_uid)
        self._syntax = transfer_syntax_uid
        self._marker = _MARKERS[ts.little_endian]
        self._header_size = _PIXEL_HEADER[ts.implicit_vr]
        self._buffer = bytearray()
        self._retry = False  # the last try ended in Pixel Data's element header
        self.done = ts.deflated

    def feed(self, data: bytes | bytearray | memoryview) -> DatasetHead | None:
        """Take the next fragment; returns the header once its last element is in."""
        if self.done:
            return None
        if self._buffer:
            scan_from = len(self._buffer) - (self._header_size if self._retry else len(self._marker) - 1)
        else:
            if encoding_mismatch(bytes(data[:8]), self._syntax):
                self._give_up()
                return None
            # Mostly the header is all in the start of the first fragment: look there first,
            # without copying the pixel data that follows it.
            window = bytes(data[:_FIRST_LOOK])
            head = self._try(window, 0)
            if head is not None or self.done:
                return head
            scan_from = len(window) - self._header_size - len(self._marker)
        self._buffer += data
        if len(self._buffer) > MAX_HEAD:
            self._give_up()
            return None
        return self._try(self._buffer, max(scan_from, 0))

    def _try(self, buffer: bytes | bytearray, scan_from: int) -> DatasetHead | None:
        """The header, if it ends at an occurrence of Pixel Data's tag from ``scan_from`` on."""
        self._retry = False
        marker_at = buffer.find(self._marker, scan_from)
        while marker_at >= 0:
            stop = marker_at + self._header_size
            if stop > len(buffer):
                self._retry = True  # its element header is not all in yet
                return None
            try:
                head = read_dataset_head(memoryview(buffer)[:stop], self._syntax, PIXEL_DATA, _OPTIONS)
            except (DicomError, ValueError):
                self._give_up()  # read whole at commit, which says what is wrong
                return None
            if head is not None:
                self._give_up()
                return DatasetHead(*head, pixel_header=bytes(buffer[marker_at:stop]))
            marker_at = buffer.find(self._marker, marker_at + 1)  # that one was inside a value
        return None

    def _give_up(self) -> None:
        self.done = True
        self._buffer = bytearray()
