"""Ingest: the one way an instance enters the archive (DIMSE C-STORE, STOW-RS, import).

::

    source ──stream──> staging file (on the archive volume, hashed while writing)
                        │ parse once (dicomkit, values deferred, lenient), while an I/O
                        │   thread fsyncs the data
                        │ validate: UIDs present and valid, as the request said, TS as negotiated
                        │ no File Meta? prepend one (the stored file is always PS3.10)
                        ▼
              services.indexing: duplicate policy, fsync + atomic link, rows in one transaction
                        ▼
              IngestResult (status 0000H)        or IngestError (reason, status, comment)

Two entry points:

- :func:`instance_ingest` takes a path or a binary stream holding a PS3.10 file (or a
  raw data set) and returns when the instance is stored and indexed.
- :func:`ingest_session` is for the DIMSE Storage SCP: it returns an :class:`IngestSink`
  that the data set's P-DATA fragments are written into as they arrive (``write``), then
  ``close()`` and ``commit()``; ``abort()`` when the association ends early. The sink starts
  the file with a File Meta Information header built from the C-STORE request. It reads
  and checks the header from the first fragments and journals the storage key while the
  pixel data still arrives (``services.header_ahead``); the commit then parses only the
  rest. Whatever that cannot handle is parsed whole at commit, as above.

Whatever fails, the staging file is removed: a refusal or error leaves no file and no row.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from types import TracebackType

from apps.archive.conf import ArchiveSettings, DuplicatePolicy, KeyLayout, archive_settings, storage_backend
from apps.archive.errors import IngestError, Refusal, StorageError
from apps.archive.services.header import InstanceHeader, header_from_dataset
from apps.archive.services.header_ahead import PIXEL_DATA, DatasetHead, HeaderReader, encoding_mismatch
from apps.archive.services.indexing import (
    IngestOutcome,
    IngestResult,
    StoredFile,
    fast_path_rolls_forward,
    instance_index,
    instance_reindex,
)
from apps.archive.storage import StagingFile, StorageBackend, instance_key
from apps.archive.storage.checksums import ChecksumAlgorithm, labelled, new_digest, stream_checksum
from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import is_valid_uid
from dicomkit.errors import DicomError
from dicomkit.part10.meta import build_file_meta
from dicomkit.part10.options import DicomFile, ReadOptions, Validation
from dicomkit.part10.reader import read_dataset_at, read_file
from dicomkit.part10.transfer_syntax import EXPLICIT_VR_LITTLE_ENDIAN
from dicomkit.part10.writer import WriteOptions, encode_file
from dicomkit.streams import ByteReader

__all__ = [
    "IngestOutcome",
    "IngestResult",
    "IngestSink",
    "Source",
    "ingest_session",
    "instance_ingest",
    "instance_restore",
]

_CHUNK = 1 << 20
# One parse of the whole structure; values above 4 KiB (pixel data) stay in the file.
_READ_OPTIONS = ReadOptions(defer_size=4096, validation=Validation.LENIENT)


# A path, or any stream with ``read`` (dicomkit's ByteReader): ingest does not seek, write
# or close the stream.
Source = str | os.PathLike[str] | ByteReader


@dataclass(frozen=True, slots=True)
class _Expected:
    sop_instance_uid: str | None = None
    sop_class_uid: str | None = None
    transfer_syntax: str | None = None
    dataset_offset: int | None = None  # where the data set starts (known for DIMSE sinks)


@dataclass(frozen=True, slots=True)
class _CheckedHeader:
    """A header read and checked while the data set arrived (``services.header_ahead``)."""

    header: InstanceHeader
    tail_offset: int  # file offset of the elements from Pixel Data on, read at commit
    # File offset where a native Pixel Data value ends (None: encapsulated, or unusual).
    # When the file ends there too, the data set is whole without reading anything back.
    pixel_value_end: int | None = None


class _HashingWriter:
    """Writes to a staging file, counting and hashing what goes in (``PACS_STORAGE_CHECKSUM``)."""

    __slots__ = ("algorithm", "digest", "size", "staged")

    def __init__(self, staged: StagingFile, algorithm: ChecksumAlgorithm) -> None:
        self.staged = staged
        self.algorithm = algorithm
        self.digest = new_digest(algorithm)
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.staged.write(data)
        self.digest.update(data)
        self.size += len(data)

    def checksum(self) -> str:
        """The labelled checksum of what was written (``storage.checksums``)."""
        return labelled(self.algorithm, self.digest)


def _new_staging(backend: StorageBackend) -> StagingFile:
    try:
        return backend.create_staging_file()
    except OSError as exc:
        raise IngestError.storage_write_failed(exc) from exc


# --------------------------------------------------------------------------------- entry 1


def instance_ingest(
    *,
    source: Source,
    expected_sop_instance_uid: str | None = None,
    expected_sop_class_uid: str | None = None,
    expected_transfer_syntax: str | None = None,
    source_ae: str | None = None,
    actor: object = None,
) -> IngestResult:
    """Store and index the instance in ``source`` (a path or a readable binary stream).

    Raises:
        IngestError: refused or failed; ``error.status`` is the C-STORE status.
    """
    backend = storage_backend()
    staged = _new_staging(backend)
    try:
        writer = _HashingWriter(staged, archive_settings().checksum_algorithm)
        _copy(source, writer)
        expected = _Expected(expected_sop_instance_uid, expected_sop_class_uid, expected_transfer_syntax)
        return _complete(backend, writer, expected, source_ae or "", actor)
    finally:
        staged.discard()


def _copy(source: Source, writer: _HashingWriter) -> None:
    if isinstance(source, str | os.PathLike):
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise IngestError(Refusal.PROCESSING_FAILURE, f"Cannot read the file: {exc.strerror}") from exc
        with stream:
            _copy_stream(stream, writer)
    else:
        _copy_stream(source, writer)


def _copy_stream(stream: ByteReader, writer: _HashingWriter) -> None:
    while True:
        try:
            chunk = stream.read(_CHUNK)
        except OSError as exc:
            raise IngestError(Refusal.PROCESSING_FAILURE, f"Cannot read the source: {exc.strerror}") from exc
        if not chunk:
            return
        try:
            writer.write(chunk)
        except OSError as exc:
            raise IngestError.storage_write_failed(exc) from exc


def instance_restore(key: str) -> bool:
    """Index again the stored file of ``key``, whose rows are missing: recovery of a store
    whose commit did not wait for the WAL flush (``PACS_INDEX_ASYNC_COMMIT``) and was lost
    with the database, or never happened (``staging_reconcile``).

    The file is checked as on ingest, its checksum computed again, and the source AE title
    taken from its File Meta Information (ingest writes it there). True when the instance
    is indexed; False when it is refused or is a duplicate of an instance stored under
    another key (``keep_first`` removed this copy): the caller then removes the file.

    Raises:
        DatabaseError, OSError: the index could not be written, or the file not read
            (leave it for the next recovery).
    """
    backend = storage_backend()
    config = archive_settings()
    try:
        with backend.open(key) as stream:
            checksum, size = stream_checksum(stream, config.checksum_algorithm)
            stream.seek(0)
            dicom_file = read_file(stream, _READ_OPTIONS)
        header = header_from_dataset(dicom_file.dataset)
        _validate(header, dicom_file.transfer_syntax, _Expected(), config)
        source_ae = dicom_file.meta.get_str(tags.SourceApplicationEntityTitle) or ""
        stored = StoredFile(size, checksum, dicom_file.transfer_syntax)
        result = instance_reindex(
            header=header, stored=stored, backend=backend, config=config, key=key, source_ae=source_ae
        )
    except (IngestError, DicomError):
        return False
    return result.outcome is not IngestOutcome.DUPLICATE  # keep_first: that copy went


# --------------------------------------------------------------------------------- entry 2


class IngestSink:
    """Receives one C-STORE data set as it arrives and stores it on :meth:`commit`.

    Duck-type compatible with a DIMSE data sink: ``write(bytes | memoryview)``, ``close()``,
    ``abort()``. A write failure (disk full) does not raise: the rest of the data set is
    still accepted (and dropped) so the association stays in step, and ``commit`` raises
    the refusal. Use as a context manager to abort on any exception.
    """

    def __init__(
        self,
        *,
        backend: StorageBackend,
        staged: StagingFile | None,
        expected: _Expected,
        source_ae: str,
        actor: object,
        failure: IngestError | None = None,
    ) -> None:
        self._backend = backend
        self._reader: HeaderReader | None = None
        self._checked: _CheckedHeader | None = None
        self._staged = staged
        algorithm = archive_settings().checksum_algorithm
        self._writer = _HashingWriter(staged, algorithm) if staged is not None else None
        self._expected = expected
        self._source_ae = source_ae
        self._actor = actor
        self._failure = failure
        self._finished = False

    @property
    def bytes_received(self) -> int:
        """Data set bytes written so far (without our File Meta header)."""
        if self._writer is None:
            return 0
        return self._writer.size - (self._expected.dataset_offset or 0)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished or self._failure is not None or self._writer is None:
            return
        try:
            self._writer.write(data)
        except OSError as exc:
            self._failure = IngestError.storage_write_failed(exc)
            self._discard()
            return
        if self._reader is not None:
            self._read_ahead(data)

    def read_header_ahead(self) -> None:
        """Read and check the header from the fragments as they come (the data set's ones:
        call after writing anything that precedes it)."""
        if self._writer is not None and self._expected.transfer_syntax is not None:
            self._reader = HeaderReader(self._expected.transfer_syntax)

    def _read_ahead(self, data: bytes | bytearray | memoryview) -> None:
        assert self._reader is not None and self._staged is not None
        head = self._reader.feed(data)
        if self._reader.done:
            self._reader = None
        if head is not None:
            self._checked = _check_ahead(head, self._staged, self._expected, self._backend)

    def close(self) -> None:
        """End of the data set (the last fragment was written): the data's last write and
        its ``fsync`` start on an I/O thread now, before the commit is handed to a handler
        thread."""
        if self._staged is not None and not self._staged.closed and self._failure is None:
            try:
                if self._writer is not None:  # whole now: the seal goes with the data's fsync
                    self._staged.seal(self._writer.size, self._writer.checksum())
                self._staged.sync_in_background()
            except OSError as exc:
                self._failure = IngestError.storage_write_failed(exc)
                self._discard()

    def abort(self) -> None:
        """Drop what was received (association aborted or released mid-transfer)."""
        self._finished = True
        self._discard()

    def commit(self) -> IngestResult:
        """Store and index the received instance.

        Raises:
            IngestError: refused or failed (the sink is cleaned up either way).
        """
        if self._finished:
            raise IngestError(Refusal.PROCESSING_FAILURE, "Data set was aborted or already committed")
        self.close()
        self._finished = True
        try:
            if self._failure is not None:
                raise self._failure
            assert self._writer is not None
            return _complete(
                self._backend, self._writer, self._expected, self._source_ae, self._actor, self._checked
            )
        finally:
            self._discard()

    def _discard(self) -> None:
        if self._staged is not None:
            self._staged.discard()

    def __enter__(self) -> IngestSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._finished:
            self.abort()


def ingest_session(
    *,
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax: str,
    source_ae: str | None = None,
    actor: object = None,
) -> IngestSink:
    """A sink for one C-STORE data set (Affected SOP Class/Instance UID and the negotiated
    transfer syntax of its presentation context)."""
    backend = storage_backend()
    expected = _Expected(sop_instance_uid, sop_class_uid, transfer_syntax)
    ae = source_ae or ""
    for value, what, tag in (
        (sop_class_uid, "Affected SOP Class UID", tags.AffectedSOPClassUID),
        (sop_instance_uid, "Affected SOP Instance UID", tags.AffectedSOPInstanceUID),
        (transfer_syntax, "Transfer Syntax UID", None),
    ):
        if not is_valid_uid(value):
            failure = IngestError(Refusal.INVALID_UID, f"{what} is not a valid UID", offending_tag=tag)
            return IngestSink(
                backend=backend, staged=None, expected=expected, source_ae=ae, actor=actor, failure=failure
            )
    try:
        staged = backend.create_staging_file()
    except OSError as exc:
        return IngestSink(
            backend=backend,
            staged=None,
            expected=expected,
            source_ae=ae,
            actor=actor,
            failure=IngestError.storage_write_failed(exc),
        )
    header = _part10_header(sop_class_uid, sop_instance_uid, transfer_syntax, ae)
    sink = IngestSink(
        backend=backend,
        staged=staged,
        expected=_Expected(sop_instance_uid, sop_class_uid, transfer_syntax, dataset_offset=len(header)),
        source_ae=ae,
        actor=actor,
    )
    sink.write(header)
    sink.read_header_ahead()
    return sink


def _part10_header(sop_class_uid: str, sop_instance_uid: str, ts_uid: str, source_ae: str) -> bytes:
    """Preamble, ``DICM`` and File Meta Information (PS3.10 7.1) for a received data set.

    The instances of one transfer differ only in their SOP Instance UID, so the header is
    encoded once per SOP class, transfer syntax, AE title and UID length, and the UID is
    put in its place (the caller has validated it: digits and dots).
    """
    template = _header_template(sop_class_uid, ts_uid, source_ae, len(sop_instance_uid))
    if template is None:
        return _encode_part10_header(sop_class_uid, sop_instance_uid, ts_uid, source_ae)
    header, offset = template
    return b"".join(
        (header[:offset], sop_instance_uid.encode("ascii"), header[offset + len(sop_instance_uid) :])
    )


@functools.lru_cache(maxsize=256)
def _header_template(
    sop_class_uid: str, ts_uid: str, source_ae: str, uid_length: int
) -> tuple[bytes, int] | None:
    """The header for a placeholder UID of ``uid_length`` characters, and where that UID is."""
    if uid_length < 8:
        return None
    placeholder = "1." + "9" * (uid_length - 2)
    header = _encode_part10_header(sop_class_uid, placeholder, ts_uid, source_ae)
    if header.count(placeholder.encode("ascii")) != 1:
        return None
    return header, header.index(placeholder.encode("ascii"))


def _encode_part10_header(sop_class_uid: str, sop_instance_uid: str, ts_uid: str, source_ae: str) -> bytes:
    identity = Dataset()
    identity.set(tags.SOPClassUID, sop_class_uid, "UI")
    identity.set(tags.SOPInstanceUID, sop_instance_uid, "UI")
    try:
        meta = build_file_meta(identity, ts_uid, source_ae_title=source_ae or None)
        return encode_file(Dataset(), meta, EXPLICIT_VR_LITTLE_ENDIAN, WriteOptions())
    except DicomError:
        # An AE title that cannot be encoded is left out rather than failing the store.
        meta = build_file_meta(identity, ts_uid)
        return encode_file(Dataset(), meta, EXPLICIT_VR_LITTLE_ENDIAN, WriteOptions())


# ------------------------------------------------------------------------------- shared


def _complete(
    backend: StorageBackend,
    writer: _HashingWriter,
    expected: _Expected,
    source_ae: str,
    actor: object,
    checked: _CheckedHeader | None = None,
) -> IngestResult:
    """Parse, validate, complete the File Meta if needed, then index (see the module diagram).

    With a header ``checked`` ahead, only the rest of the data set is parsed.
    """
    staged = writer.staged
    try:
        staged.sync_in_background()  # the data's flush and fsync run while the header is parsed
    except OSError as exc:
        raise IngestError.storage_write_failed(exc) from exc
    config = archive_settings()
    if (
        checked is not None
        and expected.transfer_syntax is not None
        and _tail_whole(staged, checked, writer.size, expected.transfer_syntax)
    ):
        header, ts_uid = checked.header, expected.transfer_syntax
    else:
        _flushed(staged)
        dicom_file = _parse(staged, expected)
        header, ts_uid = header_from_dataset(dicom_file.dataset), dicom_file.transfer_syntax
        _validate(header, ts_uid, expected, config)
        if not len(dicom_file.meta):
            writer = _with_file_meta(backend, writer, header, ts_uid, source_ae)
    stored = StoredFile(writer.size, writer.checksum(), ts_uid)
    try:
        return instance_index(
            header=header,
            staged=writer.staged,
            stored=stored,
            backend=backend,
            config=config,
            source_ae=source_ae,
            actor=actor,
        )
    finally:
        if writer.staged is not staged:
            writer.staged.discard()


def _flushed(staged: StagingFile) -> None:
    """Everything written is on file (the background job may still be writing it)."""
    try:
        staged.flush()
    except OSError as exc:
        raise IngestError.storage_write_failed(exc) from exc


def _tail_whole(staged: StagingFile, checked: _CheckedHeader, size: int, ts_uid: str) -> bool:
    """Whether the data set is whole after the header read ahead: Pixel Data ends the file
    (nothing to read back), or :func:`_parse_tail` says so."""
    if checked.pixel_value_end == size:
        return True
    _flushed(staged)
    return _parse_tail(staged, checked.tail_offset, ts_uid)


def _parse(staged: StagingFile, expected: _Expected) -> DicomFile:
    try:
        if expected.dataset_offset is not None:
            _check_encoding(staged, expected)
        return read_file(staged.path, _READ_OPTIONS)
    except DicomError as exc:
        raise IngestError(Refusal.MALFORMED, f"Not a readable DICOM data set: {exc}") from exc
    except OSError as exc:
        raise IngestError(Refusal.PROCESSING_FAILURE, f"Cannot read the staged file: {exc}") from exc


def _parse_tail(staged: StagingFile, offset: int, ts_uid: str) -> bool:
    """Parse the elements from ``offset`` (Pixel Data) to the end: the data set is whole.

    False when one of them belongs before Pixel Data (elements out of order): the header
    read ahead missed it, so the whole data set must be parsed.
    """
    try:
        tail = read_dataset_at(staged.path, offset, ts_uid, _READ_OPTIONS)
    except DicomError as exc:
        raise IngestError(Refusal.MALFORMED, f"Not a readable DICOM data set: {exc}") from exc
    except OSError as exc:
        raise IngestError(Refusal.PROCESSING_FAILURE, f"Cannot read the staged file: {exc}") from exc
    return all(tag >= PIXEL_DATA for tag in tail)


def _check_ahead(
    head: DatasetHead, staged: StagingFile, expected: _Expected, backend: StorageBackend
) -> _CheckedHeader | None:
    """Check a header read ahead and journal the key it will be stored under.

    None when anything is wrong: the commit then reads the whole file and refuses it with
    the reason (the checks are the same).
    """
    assert expected.dataset_offset is not None and expected.transfer_syntax is not None
    try:
        header = header_from_dataset(head.dataset)
        config = archive_settings()
        _validate(header, expected.transfer_syntax, expected, config)
        if config.key_layout is KeyLayout.UIDS:
            key = instance_key(
                layout=config.key_layout,
                study_instance_uid=header.study_instance_uid,
                series_instance_uid=header.series_instance_uid,
                sop_instance_uid=header.sop_instance_uid,
            )
            # Journalled now, the key is made durable by the data's own fsync at commit
            # (marked as the fast path will store it, so its store needs no second fsync).
            staged.journal(key, roll_forward=fast_path_rolls_forward(config))
            if config.duplicate_policy is not DuplicatePolicy.REPLACE and backend.exists(key):
                # Most likely re-sent: the index will answer with the stored copy (or
                # refuse it), and this file goes unstored.
                staged.sync_when_needed()
    except (IngestError, DicomError, StorageError, OSError):
        return None
    value_end = head.native_value_end(expected.transfer_syntax)
    offset = expected.dataset_offset
    return _CheckedHeader(header, offset + head.end, None if value_end is None else offset + value_end)


def _check_encoding(staged: StagingFile, expected: _Expected) -> None:
    """The received data set is encoded as its presentation context's transfer syntax says."""
    assert expected.dataset_offset is not None and expected.transfer_syntax is not None
    head = staged.read_at(expected.dataset_offset, 8)  # flushed by ``_complete``
    if not head:
        raise IngestError(Refusal.MALFORMED, "Empty data set")
    kind = encoding_mismatch(head, expected.transfer_syntax)
    if kind is not None:
        raise IngestError(Refusal.TRANSFER_SYNTAX_MISMATCH, f"Data set is {kind} VR, not as negotiated")


_REQUIRED_UIDS = (
    (tags.SOPClassUID, "SOP Class UID", "sop_class_uid"),
    (tags.SOPInstanceUID, "SOP Instance UID", "sop_instance_uid"),
    (tags.StudyInstanceUID, "Study Instance UID", "study_instance_uid"),
    (tags.SeriesInstanceUID, "Series Instance UID", "series_instance_uid"),
)


def _validate(header: InstanceHeader, ts_uid: str, expected: _Expected, config: ArchiveSettings) -> None:
    for tag, name, field in _REQUIRED_UIDS:
        value = getattr(header, field)
        if not value:
            raise IngestError(Refusal.MISSING_ATTRIBUTE, f"{name} {tag} is missing", offending_tag=tag)
        if not is_valid_uid(value):
            raise IngestError(Refusal.INVALID_UID, f"{name} is not a valid UID", offending_tag=tag)
    if expected.sop_instance_uid is not None and header.sop_instance_uid != expected.sop_instance_uid:
        raise IngestError(
            Refusal.SOP_INSTANCE_MISMATCH,
            "SOP Instance UID differs from the request's",
            offending_tag=tags.SOPInstanceUID,
        )
    if expected.sop_class_uid is not None and header.sop_class_uid != expected.sop_class_uid:
        raise IngestError(
            Refusal.SOP_CLASS_MISMATCH,
            "SOP Class UID differs from the request's",
            offending_tag=tags.SOPClassUID,
        )
    if expected.transfer_syntax is not None and ts_uid != expected.transfer_syntax:
        raise IngestError(Refusal.TRANSFER_SYNTAX_MISMATCH, "Transfer syntax is not the one negotiated")
    if config.require_patient_id and not header.patient.patient_id:
        raise IngestError(Refusal.PATIENT_ID_REQUIRED, "Patient ID is required", offending_tag=tags.PatientID)


def _with_file_meta(
    backend: StorageBackend, writer: _HashingWriter, header: InstanceHeader, ts_uid: str, source_ae: str
) -> _HashingWriter:
    """A new staging file: File Meta Information, then the raw data set as received."""
    prefix = _part10_header(header.sop_class_uid, header.sop_instance_uid, ts_uid, source_ae)
    staged = _new_staging(backend)
    completed = _HashingWriter(staged, writer.algorithm)
    try:
        completed.write(prefix)
        with open(writer.staged.path, "rb") as original:
            _copy_stream(original, completed)
    except OSError as exc:
        staged.discard()
        raise IngestError.storage_write_failed(exc) from exc
    except BaseException:
        staged.discard()
        raise
    return completed
