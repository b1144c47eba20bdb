"""The Storage Service Class, SCP side (PS3.4 Annex B; C-STORE, PS3.7 §9.1.1 and §9.3.1).

A :class:`~dicomkit.net.services.protocols.ServiceClass` for every storage SOP class of
the UID registry. The application supplies a :class:`StorageHandler`; the service class
asks it for a sink as soon as a C-STORE-RQ command set has arrived, so the data set's
fragments are streamed straight into the handler's file, then hands it the complete
request and answers with the status it returns::

    C-STORE-RQ command --sink_for--> checks --IncomingStore--> handler.open_sink() -> DataSink
    data set fragments ------------------------------------------> sink.write() ... close()
    complete message ---handle---> handler.on_store(StoreRequest) -> status --> C-STORE-RSP

Checks made here, for every handler, before anything reaches it (their data set is read
and dropped, and the association goes on):

- a DIMSE request other than C-STORE-RQ: 0211H Unrecognized operation;
- Affected SOP Class UID other than the presentation context's abstract syntax (a SOP
  class that was not negotiated on that context): 0122H SOP Class not supported;
- Affected SOP Instance UID that is not a valid UID (PS3.5 §9.1): A900H;
- a sink that could not be kept (disk full while receiving): A700H Out of resources.

Sink contract (the handler's side): ``open_sink`` runs on the event loop, so it only opens
a file; it may raise :class:`~dicomkit.errors.DimseStatusError` to refuse (the data set is
then dropped and the status sent) or ``OSError`` (answered A700H). Whenever the instance is
not stored (the association ends mid-transfer, ``on_store`` raises or returns a failure
status) the service calls ``sink.abort()``, also after ``close()``: it must discard what
was received and be idempotent. Compressed data sets are stored as received: nothing here
decodes or converts them.

:class:`FileStorageHandler` is a complete handler writing PS3.10 files into a folder (for
the CLI and tests); the archive provides its own.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, ParamSpec, Protocol, TypeVar

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import is_valid_uid, storage_sop_classes
from dicomkit.errors import DicomError, DicomFormatError, DimseStatusError
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.config import SupportedContext
from dicomkit.net.dimse.assemble import DataSink, FileSink
from dicomkit.net.dimse.commands import CStoreRQ, CStoreRSP, DimseMessage
from dicomkit.net.dimse.status import (
    CANNOT_UNDERSTAND,
    DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
    DUPLICATE_SOP_INSTANCE,
    PROCESSING_FAILURE,
    REFUSED_OUT_OF_RESOURCES,
    SOP_CLASS_NOT_SUPPORTED,
    SUCCESS,
    UNRECOGNIZED_OPERATION,
    StatusCategory,
    is_final,
    status_category,
)
from dicomkit.net.services.protocols import AssociationInfo, Responder, ServiceRequest
from dicomkit.part10.meta import build_file_meta
from dicomkit.part10.options import ReadOptions, Validation
from dicomkit.part10.reader import read_file
from dicomkit.part10.transfer_syntax import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    known_transfer_syntaxes,
)
from dicomkit.part10.writer import WriteOptions, encode_file

__all__ = [
    "STORAGE_TRANSFER_SYNTAXES",
    "Duplicates",
    "FileStorageHandler",
    "IncomingStore",
    "StorageHandler",
    "StorageService",
    "StoreRequest",
    "StoreStatus",
    "storage_contexts",
]

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: What a Storage SCP accepts, preferred first. An SCU that proposes a compressed syntax
#: holds its data in it, so compressed syntaxes come first (stored as received, nothing
#: to decode on either side); then the native ones, the uncompressed default first.
STORAGE_TRANSFER_SYNTAXES: Final[tuple[str, ...]] = (
    *(ts.uid for ts in known_transfer_syntaxes() if ts.encapsulated),
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
)


def storage_contexts(
    sop_classes: Iterable[str] | None = None,
    transfer_syntaxes: tuple[str, ...] = STORAGE_TRANSFER_SYNTAXES,
) -> tuple[SupportedContext, ...]:
    """What an AE accepts to be a Storage SCP (``AEConfig.supported_contexts``).

    ``sop_classes`` defaults to every storage SOP class of the registry.
    """
    uids = storage_sop_classes() if sop_classes is None else tuple(sop_classes)
    return tuple(SupportedContext(uid, transfer_syntaxes) for uid in uids)


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The answer of a handler: a C-STORE status (PS3.4 B.2.3) and what to tell the SCU.

    ``comment`` becomes Error Comment (0000,0902), cut to 64 printable characters;
    ``offending_element`` lists tags for Offending Element (0000,0901).
    """

    status: int
    comment: str = ""
    offending_element: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class IncomingStore:
    """A C-STORE whose data set is about to arrive: what ``open_sink`` is told."""

    context: NegotiatedContext
    command: CStoreRQ
    association: AssociationInfo

    @property
    def sop_class_uid(self) -> str:
        return self.command.affected_sop_class_uid

    @property
    def sop_instance_uid(self) -> str:
        return self.command.affected_sop_instance_uid

    @property
    def transfer_syntax(self) -> str:
        """The negotiated transfer syntax: the data set's encoding, without File Meta."""
        return self.context.transfer_syntax


@dataclass(frozen=True, slots=True)
class StoreRequest:
    """A complete C-STORE as ``on_store`` sees it; its data set is in ``sink`` (closed)."""

    association: AssociationInfo
    context: NegotiatedContext
    command: CStoreRQ
    sink: DataSink
    responder: Responder = field(repr=False)

    @property
    def sop_class_uid(self) -> str:
        return self.command.affected_sop_class_uid

    @property
    def sop_instance_uid(self) -> str:
        return self.command.affected_sop_instance_uid

    @property
    def transfer_syntax(self) -> str:
        return self.context.transfer_syntax

    @property
    def message_id(self) -> int:
        return self.command.message_id

    async def run_blocking(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run blocking ``function`` (file system, database) in the server's thread pool."""
        return await self.responder.run_blocking(function, *args, **kwargs)


class StorageHandler(Protocol):
    """What the application provides to store instances (see the module docstring)."""

    def open_sink(self, incoming: IncomingStore) -> DataSink:
        """Where the data set goes; called on the event loop, so it must not block long.

        Raises:
            DimseStatusError: refuse the instance with this status (nothing is written).
            OSError: no room to receive it (answered A700H).
        """
        ...

    async def on_store(self, request: StoreRequest) -> int | StoreStatus:
        """Validate and keep the received data set; its status (0000H, Bxxx, or a failure).

        Raising DimseStatusError answers with its status; anything else with 0110H.
        """
        ...


class _Refused:
    """The sink of a C-STORE refused before its data set arrived: drops every byte."""

    __slots__ = ("comment", "status")

    def __init__(self, status: int, comment: str) -> None:
        self.status = status
        self.comment = comment

    def write(self, data: bytes | memoryview) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _discard(sink: DataSink | None) -> None:
    if sink is None:
        return
    try:
        sink.abort()
    except Exception:  # a sink that cannot clean up must not change the answer
        logger.exception("storage sink failed to abort")


class StorageService:
    """Answers C-STORE-RQ on the storage SOP classes with the handler's status.

    Args:
        handler: opens sinks and stores complete instances.
        sop_classes: what to serve; default every storage SOP class of the registry.
    """

    __slots__ = ("handler", "sop_classes")

    def __init__(self, handler: StorageHandler, *, sop_classes: Iterable[str] | None = None) -> None:
        self.handler = handler
        self.sop_classes: frozenset[str] = frozenset(
            storage_sop_classes() if sop_classes is None else sop_classes
        )

    def sink_for(
        self, context: NegotiatedContext, command: DimseMessage, association: AssociationInfo
    ) -> DataSink:
        if not isinstance(command, CStoreRQ):
            name = command.command_field.message_name
            return _Refused(UNRECOGNIZED_OPERATION, f"{name} on a storage SOP class")
        if command.affected_sop_class_uid != context.abstract_syntax:
            return _Refused(SOP_CLASS_NOT_SUPPORTED, "SOP Class not negotiated on this context")
        if not is_valid_uid(command.affected_sop_instance_uid):
            return _Refused(DATA_SET_DOES_NOT_MATCH_SOP_CLASS, "Affected SOP Instance UID is invalid")
        try:
            return self.handler.open_sink(IncomingStore(context, command, association))
        except DimseStatusError as error:
            return _Refused(error.status, error.comment)
        except OSError:
            raise  # the assembler drops the data set; handle() answers A700H
        except Exception as error:  # never let a handler's bug break the data path
            logger.exception("storage handler failed to open a sink")
            return _Refused(PROCESSING_FAILURE, type(error).__name__)

    async def handle(self, request: ServiceRequest, responder: Responder) -> None:
        command = request.command
        message = request.message
        sink = message.dataset
        if not isinstance(command, CStoreRQ):
            _discard(sink)
            name = command.command_field.message_name
            raise DimseStatusError(UNRECOGNIZED_OPERATION, f"{name} on a storage SOP class")
        if message.sink_error is not None:
            reason = message.sink_error.strerror or type(message.sink_error).__name__
            raise DimseStatusError(REFUSED_OUT_OF_RESOURCES, f"Cannot keep the data set: {reason}")
        if isinstance(sink, _Refused):
            raise DimseStatusError(sink.status, sink.comment)
        if sink is None:  # CommandDataSetType said "none": a C-STORE without a data set
            raise DimseStatusError(CANNOT_UNDERSTAND, "C-STORE-RQ without a data set")
        store = StoreRequest(request.association, request.context, command, sink, responder)
        try:
            outcome = await self.handler.on_store(store)
            result = outcome if isinstance(outcome, StoreStatus) else StoreStatus(outcome)
            if not (0 <= result.status <= 0xFFFF and is_final(result.status)):
                raise ValueError(f"{result.status:#x} is not a final C-STORE status")
        except BaseException:
            _discard(sink)
            raise
        if status_category(result.status) is StatusCategory.FAILURE:
            _discard(sink)
        await responder.send(
            CStoreRSP(
                command.message_id,
                result.status,
                command.affected_sop_class_uid,
                command.affected_sop_instance_uid,
                error_comment=_comment(result.comment),
                offending_element=result.offending_element or None,
            )
        )


def _comment(text: str) -> str | None:
    """Error Comment (0000,0902) is LO: printable ISO 646 without backslash, 64 characters."""
    cleaned = "".join(c for c in text if " " <= c <= "~" and c != "\\")[:64].strip()
    return cleaned or None


# ------------------------------------------------------------------- a folder of files


class Duplicates(enum.Enum):
    """What :class:`FileStorageHandler` does with a SOP Instance UID it already holds."""

    REPLACE = "replace"  # the new file replaces the old one (as DCMTK's storescp does)
    KEEP_BOTH = "keep-both"  # the new one is stored as <uid>-<n>.dcm
    REJECT = "reject"  # answered 0111H Duplicate SOP Instance


# Lenient as the archive is (store what can be read); a value running past the end of the
# data set is still an error.
_HEADER_OPTIONS: Final = ReadOptions(defer_size=256, validation=Validation.LENIENT)


class FileStorageHandler:
    """Stores each instance as ``<directory>/<SOP Instance UID>.dcm``, a PS3.10 file.

    The data set arrives in the negotiated transfer syntax without File Meta; the file
    gets a preamble and File Meta (with our and the sender's AE titles) written before the
    first fragment, into a hidden temporary file in ``directory``. On completion the file
    is parsed once (pixel data is only skipped, so a truncated data set is found), checked
    against the command (SOP Class and Instance UID), made durable and renamed into place.
    Any failure removes the temporary file. UIDs are validated before they become names.
    """

    __slots__ = ("directory", "duplicates", "fsync")

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        duplicates: Duplicates = Duplicates.REPLACE,
        fsync: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.duplicates = duplicates
        self.fsync = fsync

    def open_sink(self, incoming: IncomingStore) -> DataSink:
        for uid, what in ((incoming.sop_class_uid, "Class"), (incoming.sop_instance_uid, "Instance")):
            if not is_valid_uid(uid):  # before it comes near a path
                raise DimseStatusError(DATA_SET_DOES_NOT_MATCH_SOP_CLASS, f"Invalid SOP {what} UID")
        identity = Dataset()
        identity.set(tags.SOPClassUID, incoming.sop_class_uid, "UI")
        identity.set(tags.SOPInstanceUID, incoming.sop_instance_uid, "UI")
        try:
            meta = build_file_meta(
                identity, incoming.transfer_syntax, source_ae_title=incoming.association.calling_ae_title
            )
            header = encode_file(Dataset(), meta, EXPLICIT_VR_LITTLE_ENDIAN, WriteOptions())
        except DicomError:
            meta = build_file_meta(identity, incoming.transfer_syntax)
            header = encode_file(Dataset(), meta, EXPLICIT_VR_LITTLE_ENDIAN, WriteOptions())
        descriptor, path = tempfile.mkstemp(dir=self.directory, prefix=".incoming-", suffix=".part")
        os.close(descriptor)
        sink = FileSink(path)
        try:
            sink.write(header)
        except OSError:
            sink.abort()
            raise
        return sink

    async def on_store(self, request: StoreRequest) -> StoreStatus:
        sink = request.sink
        if not isinstance(sink, FileSink) or sink.path is None:
            raise TypeError("FileStorageHandler.on_store needs the FileSink it opened")
        return await request.run_blocking(
            self._finish, Path(sink.path), request.sop_class_uid, request.sop_instance_uid
        )

    def _finish(self, path: Path, sop_class_uid: str, sop_instance_uid: str) -> StoreStatus:
        try:
            result = self._check(path, sop_class_uid, sop_instance_uid)
            if result is None:
                result = self._keep(path, sop_instance_uid)
        except OSError as exc:
            result = StoreStatus(REFUSED_OUT_OF_RESOURCES, f"Cannot store: {exc.strerror or exc}")
        if result.status != SUCCESS:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return result

    @staticmethod
    def _check(path: Path, sop_class_uid: str, sop_instance_uid: str) -> StoreStatus | None:
        try:
            dataset = read_file(path, _HEADER_OPTIONS).dataset
        except DicomFormatError as exc:
            return StoreStatus(CANNOT_UNDERSTAND, f"Cannot decode the data set: {exc.reason}")
        for tag, expected, what in (
            (tags.SOPClassUID, sop_class_uid, "Class"),
            (tags.SOPInstanceUID, sop_instance_uid, "Instance"),
        ):
            if dataset.get_str(tag) != expected:
                return StoreStatus(
                    DATA_SET_DOES_NOT_MATCH_SOP_CLASS, f"SOP {what} UID differs from the command", (tag,)
                )
        return None

    def _keep(self, path: Path, sop_instance_uid: str) -> StoreStatus:
        if self.fsync:
            with open(path, "rb+") as fp:
                os.fsync(fp.fileno())
        target = self.directory / f"{sop_instance_uid}.dcm"
        if self.duplicates is Duplicates.REPLACE:
            os.replace(path, target)
        else:
            suffix = 0
            while True:
                try:
                    os.link(path, target)  # atomic: fails instead of clobbering
                    break
                except FileExistsError:
                    if self.duplicates is Duplicates.REJECT:
                        return StoreStatus(DUPLICATE_SOP_INSTANCE, "SOP Instance is already stored")
                    suffix += 1
                    target = self.directory / f"{sop_instance_uid}-{suffix}.dcm"
            path.unlink()
        if self.fsync:
            descriptor = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        return StoreStatus(SUCCESS)
