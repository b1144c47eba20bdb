"""Unique identifiers: validation and generation (PS3.5 §9, Annex B) and the PS3.6 Annex A registry.

Sits at the bottom of ``dicomkit.data``; the network layer negotiates with these UIDs and
the archive validates every UID before it becomes part of a storage key.

- A valid UID (PS3.5 §9.1) is 1 to 64 characters of components separated by ``.``; each
  component is ASCII digits with no leading zero unless it is ``0`` itself, and no
  component is empty. Padding (a trailing NUL in a UI value) is the caller's to strip.
- ``generate_uid()`` uses the UUID-derived form ``2.25.<uuid as integer>`` (PS3.5 §B.2);
  under an organisation's root it appends a random suffix drawn from a UUID4.
- The registry (generated ``_uids.py``, see ``scripts/generate_uids.py``) names SOP
  classes, transfer syntaxes, well-known instances and the rest of Table A-1;
  ``uids.py`` has one constant per keyword.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dicomkit.data import _uids
from dicomkit.errors import DictionaryError, InvalidUIDError

__all__ = [
    "MAX_ROOT_LENGTH",
    "MAX_UID_LENGTH",
    "NON_PATIENT_STORAGE_KEYWORDS",
    "UID_REGISTRY_EDITION",
    "UUID_ROOT",
    "UIDInfo",
    "generate_uid",
    "is_valid_uid",
    "storage_sop_classes",
    "transfer_syntaxes",
    "uid_for_keyword",
    "uid_info",
    "uid_name",
    "validate_uid",
]

MAX_UID_LENGTH: Final = 64
UUID_ROOT: Final = "2.25"
# A root leaves room for at least 19 random digits (about 63 bits), so that UIDs made under
# one root stay unique in practice (birthday bound around 3e9 UIDs).
MAX_ROOT_LENGTH: Final = 44
UID_REGISTRY_EDITION: Final = _uids.EDITION

_UID_PATTERN: Final = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
_DIGITS: Final = frozenset("0123456789")
# Digits of the largest UUID integer (2**128 - 1 has 39).
_UUID_DIGITS: Final = 39


@dataclass(frozen=True, slots=True)
class UIDInfo:
    """One row of PS3.6 Table A-1; ``type`` is e.g. "SOP Class" or "Transfer Syntax"."""

    uid: str
    name: str
    type: str
    keyword: str
    retired: bool


# --------------------------------------------------------------------------- validation


def is_valid_uid(uid: str) -> bool:
    """True if ``uid`` follows PS3.5 §9.1 (see the module docstring)."""
    return isinstance(uid, str) and len(uid) <= MAX_UID_LENGTH and _UID_PATTERN.fullmatch(uid) is not None


def _problem(uid: object) -> str | None:
    """What makes ``uid`` invalid, in words, or None if it is valid."""
    if not isinstance(uid, str):
        return f"a UID must be a str, not {type(uid).__name__}"
    if is_valid_uid(uid):
        return None
    if not uid:
        return "the UID is empty"
    if len(uid) > MAX_UID_LENGTH:
        return f"the UID is {len(uid)} characters long, more than {MAX_UID_LENGTH}"
    for position, char in enumerate(uid):
        if char != "." and char not in _DIGITS:
            return f"character {char!r} at position {position} is not a digit or '.'"
    for index, component in enumerate(uid.split("."), start=1):
        if not component:
            return f"component {index} is empty"
        if component[0] == "0":
            return f"component {index} ({component!r}) has a leading zero"
    return "the UID is malformed"  # pragma: no cover - the checks above are exhaustive


def validate_uid(uid: str) -> str:
    """Return ``uid`` if it is valid (PS3.5 §9.1).

    Raises:
        InvalidUIDError: naming what is wrong (length, character, empty component,
            leading zero).
    """
    problem = _problem(uid)
    if problem is not None:
        raise InvalidUIDError(f"invalid UID {uid!r}: {problem}")
    return uid


# --------------------------------------------------------------------------- generation


def generate_uid(root: str | None = None) -> str:
    """A new globally unique UID.

    Without ``root``: ``2.25.`` followed by a UUID4 as a decimal integer (PS3.5 §B.2).
    With ``root`` (a valid UID of at most ``MAX_ROOT_LENGTH`` characters, optionally
    ending in ``.``): the root, ``.``, and a random decimal suffix from a UUID4 filling
    the UID up to 64 characters (at most 39 digits), without a leading zero.

    Raises:
        InvalidUIDError: the root is not a valid UID or is too long to leave room for
            a unique suffix.
    """
    if root is None:
        return f"{UUID_ROOT}.{uuid.uuid4().int}"
    prefix = root[:-1] if isinstance(root, str) and root.endswith(".") else root
    problem = _problem(prefix)
    if problem is None and len(prefix) > MAX_ROOT_LENGTH:
        problem = f"the root is {len(prefix)} characters long, more than {MAX_ROOT_LENGTH}"
    if problem is not None:
        raise InvalidUIDError(f"invalid UID root {root!r}: {problem}")
    if prefix == UUID_ROOT:
        return f"{UUID_ROOT}.{uuid.uuid4().int}"
    digits = min(MAX_UID_LENGTH - len(prefix) - 1, _UUID_DIGITS)
    lowest = 10 ** (digits - 1)
    suffix = lowest + uuid.uuid4().int % (9 * lowest)
    return f"{prefix}.{suffix}"


# ----------------------------------------------------------------------------- registry

_REGISTRY: Final[Mapping[str, _uids.Entry]] = _uids.UIDS
_BY_KEYWORD: Final[Mapping[str, str]] = {entry[2]: uid for uid, entry in _REGISTRY.items() if entry[2]}

# A storage SOP class (PS3.4 Annex B, and the non-patient objects of Annex GG) is named
# "... Storage", optionally followed by " SOP Class" (the retired print objects) or by
# " - For Presentation", " - For Processing" or " - Trial". "Storage Commitment ..." does
# not match. The Media Storage Directory (DICOMDIR, PS3.10) is exchanged on media only.
_STORAGE_NAME: Final = re.compile(r"\bStorage( SOP Class)?( - (For Presentation|For Processing|Trial))?$")
_NOT_NETWORK_STORAGE: Final = frozenset({"MediaStorageDirectoryStorage"})
# PS3.4 Annex GG, Non-Patient Object Storage: C-STORE too, but these objects carry no
# patient or study, so an archive indexing patients must opt in to them.
NON_PATIENT_STORAGE_KEYWORDS: Final = frozenset(
    {
        "HangingProtocolStorage",
        "ColorPaletteStorage",
        "GenericImplantTemplateStorage",
        "ImplantAssemblyTemplateStorage",
        "ImplantTemplateGroupStorage",
        "CTDefinedProcedureProtocolStorage",
        "ProtocolApprovalStorage",
        "XADefinedProcedureProtocolStorage",
        "InventoryStorage",
    }
)


def _info(uid: str, entry: _uids.Entry) -> UIDInfo:
    name, uid_type, keyword, retired = entry
    return UIDInfo(uid, name, uid_type, keyword, retired)


def _is_storage(entry: _uids.Entry) -> bool:
    return (
        entry[1] == "SOP Class"
        and _STORAGE_NAME.search(entry[0]) is not None
        and entry[2] not in _NOT_NETWORK_STORAGE
    )


# (uid, retired, non-patient) for every storage SOP class, in UID order.
_STORAGE: Final = tuple(
    (uid, entry[3], entry[2] in NON_PATIENT_STORAGE_KEYWORDS)
    for uid, entry in _REGISTRY.items()
    if _is_storage(entry)
)
_TRANSFER_SYNTAXES: Final = tuple(
    _info(uid, entry) for uid, entry in _REGISTRY.items() if entry[1] == "Transfer Syntax"
)


def uid_info(uid: str) -> UIDInfo | None:
    """The registry row for ``uid``, or None if the standard does not define it."""
    entry = _REGISTRY.get(uid)
    return None if entry is None else _info(uid, entry)


def uid_for_keyword(keyword: str) -> str:
    """The UID of a Table A-1 keyword (``"CTImageStorage"``).

    Raises:
        DictionaryError: the keyword is not in the registry.
    """
    uid = _BY_KEYWORD.get(keyword)
    if uid is None:
        raise DictionaryError(f"unknown UID keyword: {keyword!r}")
    return uid


def uid_name(uid: str) -> str:
    """The registry name of ``uid`` (``"CT Image Storage"``); ``""`` if it is not registered."""
    entry = _REGISTRY.get(uid)
    return "" if entry is None else entry[0]


def storage_sop_classes(
    *, include_retired: bool = True, include_non_patient: bool = False
) -> tuple[str, ...]:
    """The storage SOP class UIDs of the registry, in UID order (for a Storage SCP).

    By default the Storage Service Class (PS3.4 Annex B) including its retired classes;
    ``include_non_patient`` adds the Non-Patient Object Storage classes (PS3.4 Annex GG:
    hanging protocols, color palettes, implant templates, protocols, inventories).
    """
    return tuple(
        uid
        for uid, retired, non_patient in _STORAGE
        if (include_retired or not retired) and (include_non_patient or not non_patient)
    )


def transfer_syntaxes() -> tuple[UIDInfo, ...]:
    """Every transfer syntax in the registry, retired ones included, in UID order."""
    return _TRANSFER_SYNTAXES
