"""Where files go, and how the archive stores what it receives.

``PACS_STORAGE_ROOT`` is the root of the local-filesystem storage tier (default ``var/storage``).
Object storage tiers (S3, Azure Blob) are configured by the archive app on top of this.

``PACS_TMP_DIR`` (default: the system's, usually ``/tmp``) is where the product's temporary
files go: instances converted while they are sent (their encoded frames, a deflated data
set), large uploads. They can be as large as an instance, so where ``/tmp`` is a tmpfs (held
in memory) it belongs on a disk volume, such as the archive's.

``PACS_STORAGE_DIRECT_IO`` (default on): received instances are written to the storage
volume around the page cache (``O_DIRECT``, see ``apps.archive.storage.direct_io``), where
the filesystem allows it. Off, they go through the page cache as any file does.

``PACS_INDEX_ASYNC_COMMIT`` (default on; PostgreSQL only): the common case of ingest (an
instance joining a known series) commits its index rows without waiting for PostgreSQL's
WAL flush. The file is durable and journalled before the answer either way, and its
journal stays until PostgreSQL has flushed the commit, so an instance whose rows a
database crash lost is indexed again from its file at the next start (see docs/archive.md).
Off, every commit waits for the flush.

The archive's ingest policies (``PACS_ARCHIVE``, read by ``apps.archive.conf``):

- ``PACS_STORAGE_KEY_LAYOUT``: ``uids`` (default) stores an instance at
  ``{StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm``; ``date`` prefixes the
  study date (``YYYY/MM/DD/...``, the date received when the study has none), which keeps a
  day's studies together for tier migration.
- ``PACS_DUPLICATE_POLICY``: what a second copy of a stored SOP Instance UID does:
  ``keep_first`` (default: the stored copy stays, the sender gets Success so it does not
  retry forever), ``replace`` (the new copy replaces the old one) or ``reject`` (refused
  with C-STORE status 0111H, Duplicate SOP Instance).
- ``PACS_PATIENT_CONFLICT_POLICY``: an instance whose Patient ID (+ Issuer) is known but
  whose name, birth date or sex differ: ``flag`` (default: the patient keeps its values, is
  marked as in conflict and the differing value is recorded for review), ``keep`` (ignored)
  or ``update`` (the newest values win).
- ``PACS_REQUIRE_PATIENT_ID``: refuse instances without a Patient ID (default off: each
  study without one gets a patient of its own).
- ``PACS_STORAGE_CHECKSUM``: the checksum kept with each stored file, which
  ``verify_storage`` checks the file against: ``xxh3-128`` (default: XXH3 with 128 bits,
  over ten times faster than SHA-256, finds corruption at rest such as a flipped bit or a
  truncated or swapped file) or ``sha256`` (a cryptographic digest, for sites whose policy
  asks for one). Each stored checksum names its algorithm, so a change of this setting
  leaves the files stored before it checkable.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

from pacs_project.settings.components.paths import resolve_path
from pacs_project.settings.env import Env, env_bool, env_str


class KeyLayout(enum.StrEnum):
    UIDS = "uids"
    DATE = "date"


class DuplicatePolicy(enum.StrEnum):
    KEEP_FIRST = "keep_first"
    REPLACE = "replace"
    REJECT = "reject"


class PatientConflictPolicy(enum.StrEnum):
    FLAG = "flag"
    KEEP = "keep"
    UPDATE = "update"


class ChecksumAlgorithm(enum.StrEnum):
    XXH3_128 = "xxh3-128"
    SHA256 = "sha256"


@dataclass(frozen=True, slots=True)
class ArchiveSettings:
    """The ``PACS_ARCHIVE`` setting (the storage root itself is ``PACS_STORAGE_ROOT``)."""

    key_layout: KeyLayout = KeyLayout.UIDS
    duplicate_policy: DuplicatePolicy = DuplicatePolicy.KEEP_FIRST
    patient_conflict_policy: PatientConflictPolicy = PatientConflictPolicy.FLAG
    require_patient_id: bool = False
    checksum_algorithm: ChecksumAlgorithm = ChecksumAlgorithm.XXH3_128


def storage_root(env: Env, *, var_dir: Path) -> Path:
    """``PACS_STORAGE_ROOT`` (default ``var/storage``); not created here: a system check owns that."""
    return resolve_path(env_str(env, "PACS_STORAGE_ROOT", default=str(var_dir / "storage")))


def tmp_dir(env: Env) -> Path | None:
    """``PACS_TMP_DIR``, or None for the system's temporary directory; created by the archive app."""
    raw = env_str(env, "PACS_TMP_DIR", default="")
    return resolve_path(raw) if raw else None


def storage_direct_io(env: Env) -> bool:
    """``PACS_STORAGE_DIRECT_IO`` (default on)."""
    return env_bool(env, "PACS_STORAGE_DIRECT_IO", default=True)


def index_async_commit(env: Env) -> bool:
    """``PACS_INDEX_ASYNC_COMMIT`` (default on)."""
    return env_bool(env, "PACS_INDEX_ASYNC_COMMIT", default=True)


def static_root(env: Env, *, var_dir: Path) -> Path:
    """Target of ``collectstatic`` (``DJANGO_STATIC_ROOT``, default ``var/static``)."""
    return resolve_path(env_str(env, "DJANGO_STATIC_ROOT", default=str(var_dir / "static")))


_E = TypeVar("_E", bound=enum.StrEnum)


def _choice(env: Env, name: str, kind: type[_E], default: _E) -> _E:
    raw = env_str(env, name, default=default.value).lower()
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ImproperlyConfigured(f"{name} must be one of {allowed}, got {raw!r}") from None


def archive_settings(env: Env) -> ArchiveSettings:
    """``PACS_STORAGE_KEY_LAYOUT``, ``PACS_DUPLICATE_POLICY``, ``PACS_PATIENT_CONFLICT_POLICY``,
    ``PACS_REQUIRE_PATIENT_ID``, ``PACS_STORAGE_CHECKSUM`` (see the module docstring for their
    meaning and defaults)."""
    defaults = ArchiveSettings()
    return ArchiveSettings(
        key_layout=_choice(env, "PACS_STORAGE_KEY_LAYOUT", KeyLayout, defaults.key_layout),
        duplicate_policy=_choice(env, "PACS_DUPLICATE_POLICY", DuplicatePolicy, defaults.duplicate_policy),
        patient_conflict_policy=_choice(
            env, "PACS_PATIENT_CONFLICT_POLICY", PatientConflictPolicy, defaults.patient_conflict_policy
        ),
        require_patient_id=env_bool(env, "PACS_REQUIRE_PATIENT_ID", default=defaults.require_patient_id),
        checksum_algorithm=_choice(
            env, "PACS_STORAGE_CHECKSUM", ChecksumAlgorithm, defaults.checksum_algorithm
        ),
    )


def query_pn_case_insensitive(env: Env) -> bool:
    """``PACS_QUERY_PN_CASE_INSENSITIVE``: person-name matching ignores case and Latin accents
    (default on; PS3.4 C.2.2.2.4 leaves PN case sensitivity to the SCP)."""
    return env_bool(env, "PACS_QUERY_PN_CASE_INSENSITIVE", default=True)
