"""The codec registry: transfer syntax UID -> ``Codec`` (PS3.5 §10, PS3.6 Annex A).

Codec modules are imported on first use, so a process that never touches JPEG
never loads imagecodecs, and a missing back end surfaces as
``UnsupportedTransferSyntaxError`` for its syntaxes only. The table below is
the whole registry; it is immutable.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import Protocol

from dicomkit.codecs.format import Codec
from dicomkit.errors import UnsupportedTransferSyntaxError

__all__ = [
    "NATIVE_TRANSFER_SYNTAXES",
    "available_transfer_syntaxes",
    "get_codec",
    "is_encapsulated",
    "known_transfer_syntaxes",
]

# Syntaxes whose Pixel Data is native (not encapsulated), PS3.5 §A.1-A.3, §A.5.
NATIVE_TRANSFER_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2",  # Implicit VR Little Endian
        "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
        "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
        "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired)
    }
)

_MODULES = MappingProxyType(
    {
        "1.2.840.10008.1.2": "native",
        "1.2.840.10008.1.2.1": "native",
        "1.2.840.10008.1.2.1.98": "native",  # Encapsulated Uncompressed Explicit VR LE
        "1.2.840.10008.1.2.1.99": "native",
        "1.2.840.10008.1.2.2": "native",
        "1.2.840.10008.1.2.5": "rle",
        "1.2.840.10008.1.2.4.50": "jpeg",
        "1.2.840.10008.1.2.4.51": "jpeg",
        "1.2.840.10008.1.2.4.57": "jpeg",
        "1.2.840.10008.1.2.4.70": "jpeg",
        "1.2.840.10008.1.2.4.80": "jpegls",
        "1.2.840.10008.1.2.4.81": "jpegls",
        "1.2.840.10008.1.2.4.90": "jpeg2000",
        "1.2.840.10008.1.2.4.91": "jpeg2000",
        "1.2.840.10008.1.2.4.201": "jpeg2000",
        "1.2.840.10008.1.2.4.202": "jpeg2000",
        "1.2.840.10008.1.2.4.203": "jpeg2000",
        "1.2.840.10008.1.2.4.110": "jpegxl",
        "1.2.840.10008.1.2.4.111": "jpegxl",
        "1.2.840.10008.1.2.4.112": "jpegxl",
    }
)


class _CodecModule(Protocol):
    def make_codec(self, transfer_syntax: str) -> Codec: ...


def get_codec(transfer_syntax: str) -> Codec:
    """The codec for ``transfer_syntax``.

    Raises:
        UnsupportedTransferSyntaxError: no codec is registered for the UID, or
            its back end (imagecodecs) cannot be imported.
    """
    name = _MODULES.get(transfer_syntax)
    if name is None:
        raise UnsupportedTransferSyntaxError(f"no pixel codec for transfer syntax {transfer_syntax}")
    try:
        module: _CodecModule = importlib.import_module(f"dicomkit.codecs.{name}")
    except ImportError as exc:
        raise UnsupportedTransferSyntaxError(
            f"the codec for {transfer_syntax} is unavailable: {exc}"
        ) from exc
    return module.make_codec(transfer_syntax)


def known_transfer_syntaxes() -> tuple[str, ...]:
    """Every transfer syntax UID the registry has an entry for."""
    return tuple(sorted(_MODULES))


def available_transfer_syntaxes() -> tuple[str, ...]:
    """The registered transfer syntaxes whose codec can be loaded here."""
    available = []
    for uid in sorted(_MODULES):
        try:
            get_codec(uid)
        except UnsupportedTransferSyntaxError:
            continue
        available.append(uid)
    return tuple(available)


def is_encapsulated(transfer_syntax: str) -> bool:
    """True when Pixel Data is encapsulated under ``transfer_syntax`` (PS3.5 §A.4).

    Every syntax but the native ones encapsulates, including unknown ones
    (all compressed syntaxes PS3.5 defines do).
    """
    return transfer_syntax not in NATIVE_TRANSFER_SYNTAXES
