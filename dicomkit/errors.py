"""The whole dicomkit error hierarchy, in one place.

Every malformed input handled by dicomkit ends in one of these types; nothing
else (IndexError, struct.error, UnicodeDecodeError, ...) may escape a public
function. Errors carry fields, not only text, so that each boundary maps them in
exactly one place: the UL state machine into A-ABORT / A-ASSOCIATE-RJ, the
``dicom_net`` app into DIMSE statuses, the REST layer into JSON error bodies.

::

    DicomError
     +-- DicomFormatError (offset, tag, reason)      malformed encoded data
     |    +-- DecodeError
     |         +-- TruncatedError                     input ends too early
     |         +-- InvalidVRError                     unknown / illegal VR
     |         +-- LengthError                        a length that cannot be right
     |         +-- CharsetError                       bytes not in the character set
     +-- EncodeError                                  a value that cannot be encoded
     +-- InvalidUIDError                              not a valid UID (PS3.5 9.1)
     +-- DictionaryError                              unknown keyword / tag
     +-- CodecError (frame)                           pixel data codec failure
     |    +-- UnsupportedTransferSyntaxError
     +-- NetError
          +-- PDUError (abort_reason)                 malformed PDU from the peer
          +-- LocalProtocolError                      we misused the protocol
          +-- RemoteProtocolError                     the peer misbehaved
          +-- AssociationRejected (result, source, reason)
          +-- AssociationAborted (source, reason)
          +-- DimseStatusError (status)
          +-- DicomTimeoutError
               +-- ConnectTimeout, AcseTimeout, DimseTimeout, NetworkTimeout
"""

from __future__ import annotations


class DicomError(Exception):
    """Base of every error raised by dicomkit."""


# --------------------------------------------------------------------------- data


class DicomFormatError(DicomError):
    """Malformed encoded DICOM data.

    Attributes:
        reason: what is wrong, in words.
        offset: byte offset in the input where the problem was found (or None).
        tag: the element being read when it happened, as an int (or None).
    """

    def __init__(self, reason: str, *, offset: int | None = None, tag: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        self.tag = tag
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.reason]
        if self.tag is not None:
            parts.append(f"element ({self.tag >> 16:04X},{self.tag & 0xFFFF:04X})")
        if self.offset is not None:
            parts.append(f"at offset {self.offset} (0x{self.offset:X})")
        return ", ".join(parts)


class DecodeError(DicomFormatError):
    """Encoded data could not be decoded."""


class TruncatedError(DecodeError):
    """The input ended before a complete header or value could be read."""


class InvalidVRError(DecodeError):
    """A VR that PS3.5 does not define, or one not allowed where it appears."""


class LengthError(DecodeError):
    """A declared length that cannot be right (odd, too large, inconsistent)."""


class CharsetError(DecodeError):
    """Bytes that are not valid in the declared Specific Character Set."""


class EncodeError(DicomError):
    """A value that cannot be encoded with the requested VR / transfer syntax."""


class InvalidUIDError(DicomError, ValueError):
    """A string that is not a valid DICOM UID (PS3.5 9.1)."""


class DictionaryError(DicomError, KeyError):
    """An unknown keyword or tag asked of the data dictionary."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


# ------------------------------------------------------------------------- codecs


class CodecError(DicomError):
    """Pixel data could not be decoded or encoded.

    Attributes:
        frame: index of the frame concerned, when one is (0-based).
    """

    def __init__(self, reason: str, *, frame: int | None = None) -> None:
        self.reason = reason
        self.frame = frame
        super().__init__(reason if frame is None else f"{reason} (frame {frame})")


class UnsupportedTransferSyntaxError(CodecError):
    """No codec is registered (or available) for this transfer syntax."""


# ---------------------------------------------------------------------------- net


class NetError(DicomError):
    """Base of network (upper layer / DIMSE) errors."""


class PDUError(NetError):
    """A malformed PDU was received.

    Attributes:
        abort_reason: the A-ABORT reason/diagnostic (PS3.8 9.3.8) to send back.
        offset: byte offset in the PDU, when known.
    """

    def __init__(self, reason: str, *, abort_reason: int = 0, offset: int | None = None) -> None:
        self.reason = reason
        self.abort_reason = abort_reason
        self.offset = offset
        where = "" if offset is None else f" at offset {offset}"
        super().__init__(f"{reason}{where}")


class LocalProtocolError(NetError):
    """We asked the protocol machine for something the current state forbids."""


class RemoteProtocolError(NetError):
    """The peer did something the protocol forbids."""


class AssociationRejected(NetError):
    """The peer (or the service provider) rejected the association request."""

    def __init__(self, result: int, source: int, reason: int) -> None:
        # Imported here because dicomkit.net.pdu imports this module: at the top it would cycle.
        from dicomkit.net.pdu.codes import describe_rejection

        self.result = result
        self.source = source
        self.reason = reason
        super().__init__(f"association {describe_rejection(result, source, reason)}")


class AssociationAborted(NetError):
    """The association was aborted (A-ABORT or A-P-ABORT), or the connection was lost.

    Without a ``source`` no A-ABORT was involved (the connection closed, say): the text
    then gives only the detail, and ``source`` and ``reason`` read 0.
    """

    def __init__(self, source: int | None = None, reason: int = 0, detail: str = "") -> None:
        # Imported here because dicomkit.net.pdu imports this module: at the top it would cycle.
        from dicomkit.net.pdu.codes import describe_abort

        self.source = 0 if source is None else source
        self.reason = reason
        self.detail = detail
        if source is None:
            text = f"association aborted: {detail}" if detail else "association aborted"
        else:
            text = f"association {describe_abort(source, reason)}"
            text = f"{text}: {detail}" if detail else text
        super().__init__(text)


class DimseStatusError(NetError):
    """A DIMSE response carried a failure status."""

    def __init__(self, status: int, comment: str = "") -> None:
        self.status = status
        self.comment = comment
        text = f"DIMSE status 0x{status:04X}"
        super().__init__(f"{text}: {comment}" if comment else text)


class DicomTimeoutError(NetError, TimeoutError):
    """A network timeout expired."""


class ConnectTimeout(DicomTimeoutError):
    """The TCP (or TLS) connection could not be made in time."""


class AcseTimeout(DicomTimeoutError):
    """No association response / release response arrived in time."""


class DimseTimeout(DicomTimeoutError):
    """No DIMSE message arrived in time."""


class NetworkTimeout(DicomTimeoutError):
    """The connection was idle for longer than allowed."""
