"""Frozen configuration of a local Application Entity and its associations.

Inputs of association negotiation (``acse.py``, PS3.8 §7.1, PS3.7 Annex D) and of the
transport driver's timers (PS3.8 §9.1.4 ARTIM). Everything is explicit and immutable:
no process-wide defaults are read at run time. The Django side builds these from
settings in exactly one place.

Bounds, chosen and documented here:

- ``max_pdu_length`` is the Maximum Length we announce (PS3.8 Annex D.1) and the
  largest P-DATA-TF PDU we accept. 0 announces "no maximum"; memory stays bounded all
  the same, because the Connection still refuses (A-ABORT) a P-DATA-TF PDU longer than
  ``max_unlimited_pdu_length`` (64 MiB by default: one PDU is buffered whole before its
  PDVs are handed on, so this is the memory one association may hold for input).
- ``max_associate_pdu_length`` bounds A-ASSOCIATE-RQ/AC PDUs, which carry no announced
  maximum. 256 KiB holds 128 presentation contexts with a dozen transfer syntaxes each
  plus a 64 KiB user identity token (SAML, JWT), and is still a small allocation.
- ``Timeouts.min_receive_rate`` (16 KiB/s by default) bounds how long one PDU may take
  to arrive once its first byte is here: ``network`` seconds plus its length at that
  rate. The idle watchdog alone is reset by every byte, so a peer trickling one byte
  every few seconds (slowloris) would keep its association slot forever. The floor binds
  only PDUs longer than ``network`` x rate (960 KiB with the defaults): the 16-128 KiB
  PDUs modalities send get the whole ``network`` time whatever their rate, and a 16 MiB
  PDU gets 1024 s + ``network``, which a 128 kbit/s link still meets. A lower floor
  would not help an attacker much: it must still deliver each PDU's bytes at the floor.
  A DIMSE message is bounded the same way, from its first fragment: ``network`` plus the
  bytes received since at that rate, since a peer sending small complete PDUs, each
  just inside ``network``, meets every PDU's deadline. So a whole data set must arrive
  at 16 KiB/s (128 kbit/s) on average, after ``network`` seconds of grace.
- ``AEConfig.max_associations_per_peer`` caps the associations one source IP address
  holds at once (the calling AE title can be forged, the address cannot over TCP), so
  that one peer cannot take every ``max_associations`` slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from dicomkit.implementation import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

__all__ = [
    "DEFAULT_MAX_PDU_LENGTH",
    "DEFAULT_MIN_RECEIVE_RATE",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MAX_ASSOCIATE_PDU_LENGTH",
    "MAX_UNLIMITED_PDU_LENGTH",
    "AEConfig",
    "RequestedContext",
    "SupportedContext",
    "Timeouts",
]

DEFAULT_MAX_PDU_LENGTH: Final = 16384
MAX_UNLIMITED_PDU_LENGTH: Final = 64 * 1024 * 1024
MAX_ASSOCIATE_PDU_LENGTH: Final = 256 * 1024
DEFAULT_MIN_RECEIVE_RATE: Final = 16 * 1024.0  # bytes/s; see the module docstring
# A UUID-derived UID (PS3.5 §B.2), fixed for this implementation: 2.25.<UUID as integer>.

_AE_CHARS: Final = frozenset(chr(c) for c in range(0x20, 0x7F)) - {"\\"}


def _check_ae_title(title: str, what: str) -> None:
    if not title.strip(" ") or len(title) > 16 or not _AE_CHARS.issuperset(title):
        raise ValueError(f"{what} {title!r} is not an AE title of 1-16 ISO 646 characters")
    if title != title.strip(" "):
        raise ValueError(f"{what} {title!r} has leading or trailing spaces, which are not significant")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Timeouts in seconds, applied by the transport driver (``dicomkit.net.aio``).

    Attributes:
        artim: the ARTIM timer (PS3.8 §9.1.4): waiting for an A-ASSOCIATE-RQ after
            accepting a connection, and for the transport to close after a reject,
            release or abort.
        acse: waiting for the A-ASSOCIATE-AC/RJ or the A-RELEASE-RP.
        dimse: waiting for a DIMSE message; None waits forever.
        network: an idle association is aborted after this; None never.
        connect: opening the TCP (and TLS) connection.
        min_receive_rate: bytes per second; once the first byte of a PDU is here, the
            rest of its 6-byte header must follow within ``network`` seconds and the
            whole PDU within ``network`` + its length / this rate, or the association
            is aborted; likewise, once the first fragment of a DIMSE message is here,
            the message must be complete within ``network`` + the bytes received
            since / this rate. None (or ``network`` None) disables these bounds.
    """

    artim: float = 30.0
    acse: float = 30.0
    dimse: float | None = 30.0
    network: float | None = 60.0
    connect: float = 10.0
    min_receive_rate: float | None = DEFAULT_MIN_RECEIVE_RATE

    def __post_init__(self) -> None:
        if self.min_receive_rate is not None and not self.min_receive_rate > 0:
            raise ValueError(f"min_receive_rate {self.min_receive_rate} must be positive (None: no bound)")


@dataclass(frozen=True, slots=True)
class SupportedContext:
    """An abstract syntax we accept, with our transfer syntax preference (best first).

    Role selection (PS3.7 §D.3.3.4), seen from the requestor:

    Attributes:
        scu_role: the requestor may act as SCU of this SOP class (we act as SCP).
        scp_role: the requestor may act as SCP (we act as SCU, as for the storage
            sub-operations of C-GET).
    """

    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]
    scu_role: bool = True
    scp_role: bool = False

    def __post_init__(self) -> None:
        if not self.transfer_syntaxes:
            raise ValueError(f"{self.abstract_syntax}: at least one transfer syntax is needed")


@dataclass(frozen=True, slots=True)
class RequestedContext:
    """An abstract syntax we propose as requestor, with the transfer syntaxes to offer.

    ``scu_role``/``scp_role`` other than None add an SCP/SCU Role Selection sub-item
    for the SOP class (PS3.7 §D.3.3.4); None leaves the default roles.
    """

    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]
    scu_role: bool | None = None
    scp_role: bool | None = None

    def __post_init__(self) -> None:
        if not self.transfer_syntaxes:
            raise ValueError(f"{self.abstract_syntax}: at least one transfer syntax is needed")
        if (self.scu_role is None) != (self.scp_role is None):
            raise ValueError("scu_role and scp_role are given together or not at all")


@dataclass(frozen=True, slots=True)
class AEConfig:
    """A local Application Entity: its title, what it accepts and its limits.

    Attributes:
        ae_title: our AE title; an A-ASSOCIATE-RQ calling another title is rejected
            (reason 7) when ``require_called_ae_title`` is set.
        supported_contexts: what we accept as association-acceptor; one entry per
            abstract syntax.
        allowed_calling_ae_titles: peers allowed to associate; None allows any
            (otherwise a stranger is rejected with reason 3).
        max_pdu_length: the Maximum Length we announce, 0 for no maximum.
        max_unlimited_pdu_length: the largest P-DATA-TF PDU accepted when
            ``max_pdu_length`` is 0; a longer one aborts the association.
        max_associations: associations served at once; the driver passes
            ``association_limit_exceeded`` to the connection beyond it.
        max_associations_per_peer: associations one source IP address may hold at
            once; beyond it the association is rejected as for ``max_associations``
            (a value above that has no effect). None: no per-peer limit.
    """

    ae_title: str
    supported_contexts: tuple[SupportedContext, ...] = ()
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH
    max_associate_pdu_length: int = MAX_ASSOCIATE_PDU_LENGTH
    max_unlimited_pdu_length: int = MAX_UNLIMITED_PDU_LENGTH
    require_called_ae_title: bool = True
    allowed_calling_ae_titles: frozenset[str] | None = None
    max_associations: int = 10
    max_associations_per_peer: int | None = None
    implementation_class_uid: str = IMPLEMENTATION_CLASS_UID
    implementation_version_name: str = IMPLEMENTATION_VERSION_NAME
    timeouts: Timeouts = field(default_factory=Timeouts)

    def __post_init__(self) -> None:
        _check_ae_title(self.ae_title, "AE title")
        for title in self.allowed_calling_ae_titles or ():
            _check_ae_title(title, "allowed calling AE title")
        if not 0 <= self.max_pdu_length <= 0xFFFFFFFF:
            raise ValueError(f"max_pdu_length {self.max_pdu_length} must be in 0..2**32-1 (0: no maximum)")
        if not 4096 <= self.max_unlimited_pdu_length <= 0xFFFFFFFF:
            raise ValueError(
                f"max_unlimited_pdu_length {self.max_unlimited_pdu_length} must be in 4096..2**32-1"
            )
        if self.max_associate_pdu_length < 1024:
            raise ValueError("max_associate_pdu_length below 1024 cannot hold a useful A-ASSOCIATE PDU")
        if self.max_associations < 1:
            raise ValueError("max_associations must be at least 1")
        if self.max_associations_per_peer is not None and self.max_associations_per_peer < 1:
            raise ValueError("max_associations_per_peer must be at least 1 (None: no per-peer limit)")
        seen = [context.abstract_syntax for context in self.supported_contexts]
        if len(seen) != len(set(seen)):
            raise ValueError("supported_contexts lists an abstract syntax more than once")

    def supported(self, abstract_syntax: str) -> SupportedContext | None:
        """Our entry for an abstract syntax, if we support it."""
        for context in self.supported_contexts:
            if context.abstract_syntax == abstract_syntax:
                return context
        return None
