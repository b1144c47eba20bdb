"""Fragmentation of DIMSE messages into P-DATA-TF PDUs (PS3.8 §9.3.5 and Annex E; PS3.7 §8).

A message is its command set, then (when CommandDataSetType says so) its data set,
each cut into presentation data values (PDVs). The message control header of each PDV
says which of the two it carries (bit 0) and whether it is the last fragment (bit 1):

::

    P-DATA-TF PDU:  04 00 | PDU-length (4) | PDV item ...
    PDV item:       Item-length (4) | context ID (1) | control header (1) | fragment

    control header  0x03 last command fragment     0x01 command fragment, more follow
                    0x02 last data set fragment    0x00 data set fragment, more follow

The peer's Maximum Length Received (PS3.8 D.1) bounds the PDU-length, that is the whole
variable field: the 4-byte Item-length, the context ID and the control header count
toward it, so a fragment holds at most ``max_pdu_length - 6`` bytes. 0 means no limit;
fragments are then still cut at ``UNLIMITED_FRAGMENT`` bytes so that no single PDU has
to hold a whole large data set.

Each PDU carries exactly one PDV, which is what DCMTK and pynetdicom send and what every
peer accepts; several small PDVs per PDU would save little, as a C-ECHO command already
fits one PDU. Fragments are ``memoryview`` slices of the caller's buffer (no copies);
``fragment_stream`` reads one fragment at a time from a file or any other stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from dicomkit.errors import LocalProtocolError
from dicomkit.net.pdu import PDataTF, PresentationDataValue
from dicomkit.streams import ByteReader

__all__ = [
    "COMMAND",
    "LAST",
    "PDV_OVERHEAD",
    "UNLIMITED_FRAGMENT",
    "fragment_message",
    "fragment_size",
    "fragment_stream",
]

#: Message control header bits (PS3.8 Annex E.2).
COMMAND: Final = 0x01
LAST: Final = 0x02
#: Bytes of each PDV item counted in the PDU-length besides its fragment.
PDV_OVERHEAD: Final = 6
#: Fragment size used when the peer sets no maximum (Maximum Length Received 0).
UNLIMITED_FRAGMENT: Final = 1 << 22
# PDU-length is 32 bits (PS3.8 Table 9-22).
_MAX_PDU_LENGTH: Final = 0xFFFFFFFF


def fragment_size(max_pdu_length: int) -> int:
    """The largest fragment a PDU of at most ``max_pdu_length`` can carry (0: no limit).

    Raises:
        LocalProtocolError: a maximum too small to carry a single byte of data.
    """
    if max_pdu_length == 0:
        return UNLIMITED_FRAGMENT
    if not PDV_OVERHEAD < max_pdu_length <= _MAX_PDU_LENGTH:
        raise LocalProtocolError(f"maximum PDU length {max_pdu_length} cannot carry a PDV fragment")
    return min(max_pdu_length - PDV_OVERHEAD, UNLIMITED_FRAGMENT)


def _pdus(context_id: int, data: memoryview, size: int, kind: int) -> Iterator[PDataTF]:
    total = len(data)
    if total == 0:
        yield PDataTF((PresentationDataValue(context_id, kind | LAST, b""),))
        return
    for start in range(0, total, size):
        stop = start + size
        header = kind | LAST if stop >= total else kind
        yield PDataTF((PresentationDataValue(context_id, header, data[start:stop]),))


def _as_bytes_view(data: bytes | bytearray | memoryview) -> memoryview:
    view = data if isinstance(data, memoryview) else memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def fragment_message(
    context_id: int,
    command: bytes,
    dataset: bytes | bytearray | memoryview | None,
    max_pdu_length: int,
) -> Iterator[PDataTF]:
    """The P-DATA-TF PDUs carrying one message: its command set, then its data set if any.

    ``command`` is an encoded command set (``encode_command``); ``dataset`` is the data set
    encoded in the presentation context's transfer syntax, ``None`` when the message has
    none. An empty data set still takes one (empty, last) data PDV.
    """
    size = fragment_size(max_pdu_length)
    if not command:
        raise LocalProtocolError("a DIMSE message needs a command set")
    yield from _pdus(context_id, _as_bytes_view(command), size, COMMAND)
    if dataset is not None:
        yield from _pdus(context_id, _as_bytes_view(dataset), size, 0)


def fragment_stream(
    context_id: int, stream: ByteReader, length: int, max_pdu_length: int
) -> Iterator[PDataTF]:
    """The data set PDUs of a message whose data set is the next ``length`` bytes of ``stream``.

    Reads one fragment at a time, so a data set of any size is sent from a file without
    being loaded whole. Send the command PDUs first (``fragment_message(..., None, ...)``).

    Raises:
        LocalProtocolError: the stream ends before ``length`` bytes (the message is then
            incomplete on the wire and the association must be aborted).
    """
    size = fragment_size(max_pdu_length)
    if length < 0:
        raise LocalProtocolError(f"negative data set length {length}")
    if length == 0:
        yield PDataTF((PresentationDataValue(context_id, LAST, b""),))
        return
    remaining = length
    while remaining:
        want = min(size, remaining)
        chunk = stream.read(want)
        while len(chunk) < want:  # a short read from a pipe or raw stream is not the end
            more = stream.read(want - len(chunk))
            if not more:
                raise LocalProtocolError(
                    f"data set stream ended after {length - remaining + len(chunk)} of {length} bytes"
                )
            chunk += more
        remaining -= want
        yield PDataTF((PresentationDataValue(context_id, 0 if remaining else LAST, chunk),))
