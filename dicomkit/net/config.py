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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from dicomkit.implementation import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

__all__ = [
    "DEFAULT_MAX_PDU_LENGTH",
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
    """

    artim: float = 30.0
    acse: float = 30.0
    dimse: float | None = 30.0
    network: float | None = 60.0
    connect: float = 10.0


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
    """

    ae_title: str
    supported_contexts: tuple[SupportedContext, ...] = ()
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH
    max_associate_pdu_length: int = MAX_ASSOCIATE_PDU_LENGTH
    max_unlimited_pdu_length: int = MAX_UNLIMITED_PDU_LENGTH
    require_called_ae_title: bool = True
    allowed_calling_ae_titles: frozenset[str] | None = None
    max_associations: int = 10
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
        seen = [context.abstract_syntax for context in self.supported_contexts]
        if len(seen) != len(set(seen)):
            raise ValueError("supported_contexts lists an abstract syntax more than once")

    def supported(self, abstract_syntax: str) -> SupportedContext | None:
        """Our entry for an abstract syntax, if we support it."""
        for context in self.supported_contexts:
            if context.abstract_syntax == abstract_syntax:
                return context
        return None
