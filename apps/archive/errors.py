"""Errors of the archive app, and the one table that turns ingest refusals into C-STORE statuses.

Every refusal of the ingest pipeline is an :class:`IngestError` with a :class:`Refusal`
reason and a comment for the sender. :data:`C_STORE_STATUS` maps each reason to its status
(PS3.4 Annex B.2.3 for the Storage Service Class, PS3.7 Annex C for the general DIMSE
statuses); ``apps.dicom_net`` answers a C-STORE with ``error.status`` and
``error.comment`` (Error Comment (0000,0902), at most 64 characters), STOW-RS and
``import_dicom`` report the same reason and comment. Likewise a refused or failed query is
a :class:`QueryError` with a :class:`QueryFailure` reason, and :data:`C_FIND_STATUS` is the
one table from reason to C-FIND status (QIDO-RS maps the same reasons to HTTP 400/500).

::

    ArchiveError
     +-- IngestError (reason, comment, status)     an instance refused
     +-- QueryError (reason, comment, status)      a C-FIND / QIDO-RS query refused or failed
     +-- StorageError                               storage backend problems
          +-- InvalidKeyError                       a key that could leave the storage root
          +-- KeyExistsError                        a key that is already taken (no clobbering)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final


class Refusal(enum.Enum):
    """Why an instance was not stored."""

    MALFORMED = "malformed"  # not DICOM, truncated, undecodable header
    MISSING_ATTRIBUTE = "missing_attribute"  # a required UID is absent or empty
    INVALID_UID = "invalid_uid"  # a UID that is not PS3.5 9.1 conformant
    SOP_INSTANCE_MISMATCH = "sop_instance_mismatch"  # data set vs C-STORE command
    SOP_CLASS_MISMATCH = "sop_class_mismatch"  # data set vs C-STORE command
    TRANSFER_SYNTAX_MISMATCH = "transfer_syntax_mismatch"  # not encoded as negotiated
    UID_CONFLICT = "uid_conflict"  # e.g. a Series Instance UID already used in another study
    PATIENT_ID_REQUIRED = "patient_id_required"  # PACS_REQUIRE_PATIENT_ID and none given
    DUPLICATE = "duplicate"  # PACS_DUPLICATE_POLICY=reject and the instance is stored
    OUT_OF_RESOURCES = "out_of_resources"  # disk full, storage unwritable
    PROCESSING_FAILURE = "processing_failure"  # anything else on our side


# The single mapping from refusal to C-STORE status.
C_STORE_STATUS: Final[Mapping[Refusal, int]] = MappingProxyType(
    {
        Refusal.MALFORMED: 0xC000,  # Error: Cannot understand
        Refusal.MISSING_ATTRIBUTE: 0xA900,  # Error: Data Set does not match SOP Class
        Refusal.INVALID_UID: 0xA900,
        Refusal.SOP_INSTANCE_MISMATCH: 0xA900,
        Refusal.SOP_CLASS_MISMATCH: 0xA900,
        Refusal.TRANSFER_SYNTAX_MISMATCH: 0xC000,
        Refusal.UID_CONFLICT: 0xA900,
        Refusal.PATIENT_ID_REQUIRED: 0xA900,
        Refusal.DUPLICATE: 0x0111,  # Failure: Duplicate SOP Instance (PS3.7 C.4)
        Refusal.OUT_OF_RESOURCES: 0xA700,  # Refused: Out of Resources
        Refusal.PROCESSING_FAILURE: 0x0110,  # Failure: Processing failure (PS3.7 C.4)
    }
)


class QueryFailure(enum.Enum):
    """Why a query (``apps.archive.query``) was not answered."""

    MISSING_LEVEL = "missing_level"  # no Query/Retrieve Level (0008,0052)
    UNSUPPORTED_LEVEL = "unsupported_level"  # a level the information model does not have
    MISSING_UNIQUE_KEY = "missing_unique_key"  # hierarchical: a level above lacks its unique key
    INVALID_KEY = "invalid_key"  # a key used in a way PS3.4 C.2.2.2 does not allow
    INVALID_VALUE = "invalid_value"  # a malformed range, date, time or number
    PROCESSING_FAILURE = "processing_failure"  # the index could not be read


# The single mapping from query failure to C-FIND status (PS3.4 C.4.1.1.4, PS3.7 C).
C_FIND_STATUS: Final[Mapping[QueryFailure, int]] = MappingProxyType(
    {
        QueryFailure.MISSING_LEVEL: 0xA900,  # Failed: Identifier does not match SOP Class
        QueryFailure.UNSUPPORTED_LEVEL: 0xA900,
        QueryFailure.MISSING_UNIQUE_KEY: 0xA900,
        QueryFailure.INVALID_KEY: 0xA900,
        QueryFailure.INVALID_VALUE: 0xC000,  # Failed: Unable to process
        QueryFailure.PROCESSING_FAILURE: 0xC001,  # Failed: Unable to process
    }
)

# Error Comment (0000,0902) is LO: at most 64 characters.
MAX_COMMENT_LENGTH: Final = 64


class ArchiveError(Exception):
    """Base of this app's errors."""


class IngestError(ArchiveError):
    """An instance was refused.

    Attributes:
        reason: why, as a :class:`Refusal`.
        comment: a short text for the sender (fits Error Comment when cut to 64 chars).
        offending_tag: the attribute concerned, when there is one (for Offending Element).
    """

    def __init__(self, reason: Refusal, comment: str, *, offending_tag: int | None = None) -> None:
        super().__init__(comment)
        self.reason = reason
        self.comment = comment
        self.offending_tag = offending_tag

    @classmethod
    def storage_write_failed(cls, exc: OSError) -> IngestError:
        """The refusal when the storage cannot take the file (disk full, I/O error)."""
        return cls(Refusal.OUT_OF_RESOURCES, f"Cannot write to storage: {exc.strerror or exc}")

    @property
    def status(self) -> int:
        """The C-STORE status for this refusal."""
        return C_STORE_STATUS[self.reason]

    @property
    def error_comment(self) -> str:
        """``comment`` cut to fit Error Comment (0000,0902)."""
        return self.comment[:MAX_COMMENT_LENGTH]


class QueryError(ArchiveError):
    """A query identifier the engine refuses, or a query that failed while running.

    Attributes:
        reason: why, as a :class:`QueryFailure`.
        comment: a short text for the requester (fits Error Comment when cut to 64 chars).
        offending_tag: the key concerned, when there is one (for Offending Element).
    """

    def __init__(self, reason: QueryFailure, comment: str, *, offending_tag: int | None = None) -> None:
        super().__init__(comment)
        self.reason = reason
        self.comment = comment
        self.offending_tag = offending_tag

    @property
    def status(self) -> int:
        """The C-FIND status for this failure."""
        return C_FIND_STATUS[self.reason]

    @property
    def error_comment(self) -> str:
        """``comment`` cut to fit Error Comment (0000,0902)."""
        return self.comment[:MAX_COMMENT_LENGTH]


class StorageError(ArchiveError):
    """A storage backend could not do what was asked."""


class InvalidKeyError(StorageError):
    """A storage key that is not a safe relative path below the storage root."""


class KeyExistsError(StorageError):
    """The key is taken; stored objects are never overwritten in place."""
