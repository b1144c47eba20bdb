"""Storage keys: where an instance lives inside a storage backend.

A key is a relative POSIX path built only from validated UIDs (PS3.5 9.1: digits and
dots, no empty component) and digits of a date, so nothing a sender puts in a data set can
make a key that leaves the storage root. :func:`check_key` enforces that for every key a
backend is handed, wherever it came from.

Layouts (``PACS_STORAGE_KEY_LAYOUT``)::

    uids   {StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm
    date   {YYYY}/{MM}/{DD}/{StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm

Invariants: a key has no empty, ``.`` or ``..`` part, no backslash or NUL, is not absolute,
and no part starts with ``.`` (names starting with ``.`` are the backends' own, e.g. the
staging folder).
"""

from __future__ import annotations

import datetime
import re
import secrets
from typing import Final

from apps.archive.errors import InvalidKeyError
from dicomkit.data.uid import is_valid_uid
from pacs_project.settings.components.storage import KeyLayout

__all__ = ["KeyLayout", "alternate_key", "check_key", "instance_key"]

SUFFIX: Final = ".dcm"
_SAFE_PART: Final = re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.\-]*")
MAX_KEY_LENGTH: Final = 1024


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative path (see the module invariants).

    Raises:
        InvalidKeyError: naming what is wrong.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKeyError("empty storage key")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"storage key of {len(key)} characters is too long")
    if key.startswith("/"):
        raise InvalidKeyError(f"storage key {key!r} is absolute")
    for part in key.split("/"):
        if part in ("", ".", "..") or not _SAFE_PART.fullmatch(part):
            raise InvalidKeyError(f"storage key {key!r} has an unsafe part {part!r}")
    return key


def _uid_part(uid: str, what: str) -> str:
    if not is_valid_uid(uid):
        raise InvalidKeyError(f"{what} {uid!r} is not a valid UID and cannot name a storage path")
    return uid


def instance_key(
    *,
    layout: KeyLayout,
    study_instance_uid: str,
    series_instance_uid: str,
    sop_instance_uid: str,
    study_date: datetime.date | None = None,
    received: datetime.date | None = None,
) -> str:
    """The key of an instance in ``layout``.

    The ``date`` layout uses the study date, else the date received, else today (UTC).
    """
    parts = [
        _uid_part(study_instance_uid, "Study Instance UID"),
        _uid_part(series_instance_uid, "Series Instance UID"),
        _uid_part(sop_instance_uid, "SOP Instance UID") + SUFFIX,
    ]
    if layout is KeyLayout.DATE:
        day = study_date or received or datetime.datetime.now(datetime.UTC).date()
        parts[:0] = [f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"]
    return check_key("/".join(parts))


def alternate_key(key: str) -> str:
    """A fresh key next to ``key`` (``<name>-<random hex>.dcm``), for when ``key`` is taken.

    Used when a replaced instance's old file or a file left over by a crash holds the key:
    stored files are never overwritten in place.
    """
    check_key(key)
    stem = key[: -len(SUFFIX)] if key.endswith(SUFFIX) else key
    return check_key(f"{stem}-{secrets.token_hex(6)}{SUFFIX}")
