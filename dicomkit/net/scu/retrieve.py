"""What the C-MOVE and C-GET SCUs share: the request, progress, cancel, results (PS3.4 C.4.2-C.4.3).

Part of ``dicomkit.net.scu``, below ``move`` and ``get``. A retrieval's pending
responses carry the four sub-operation counts (:class:`RetrieveProgress`); its final
response the status, the counts and, when some sub-operations failed, the Failed SOP
Instance UID List (:class:`RetrieveResult`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError
from dicomkit.net.acse import NegotiatedContext
from dicomkit.net.aio.client import Association
from dicomkit.net.dimse.assemble import MemorySink, Message
from dicomkit.net.dimse.commands import CCancelRQ, CGetRQ, CGetRSP, CMoveRQ, CMoveRSP
from dicomkit.net.dimse.status import DimseService, StatusCategory, status_category, status_name
from dicomkit.net.services.query_retrieve import (
    PATIENT_ROOT_GET,
    PATIENT_ROOT_MOVE,
    STUDY_ROOT_GET,
    STUDY_ROOT_MOVE,
    InformationModel,
)
from dicomkit.part10.reader import read_dataset
from dicomkit.part10.writer import encode_dataset

__all__ = [
    "GET_SOP_CLASS",
    "MOVE_SOP_CLASS",
    "CancelCheck",
    "ProgressCallback",
    "Retrieval",
    "RetrieveProgress",
    "RetrieveResult",
    "progress_of",
    "result_of",
]

MOVE_SOP_CLASS: Final = {
    InformationModel.PATIENT_ROOT: PATIENT_ROOT_MOVE,
    InformationModel.STUDY_ROOT: STUDY_ROOT_MOVE,
}
GET_SOP_CLASS: Final = {
    InformationModel.PATIENT_ROOT: PATIENT_ROOT_GET,
    InformationModel.STUDY_ROOT: STUDY_ROOT_GET,
}


@dataclass(frozen=True, slots=True)
class RetrieveProgress:
    """The counts of a pending C-MOVE/C-GET-RSP (None where the SCP left one out)."""

    remaining: int | None
    completed: int
    failed: int
    warning: int

    @property
    def total(self) -> int | None:
        if self.remaining is None:
            return None
        return self.remaining + self.completed + self.failed + self.warning


ProgressCallback = Callable[[RetrieveProgress], None]
#: Asked after each pending response; True sends C-CANCEL-RQ (PS3.7 §9.3.3.3, §9.3.4.3).
CancelCheck = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class RetrieveResult:
    """The final C-MOVE/C-GET-RSP.

    Attributes:
        status: its status (0000 all sent, B000 some failed or warned, FE00 cancelled,
            Axxx/Cxxx refused).
        failed_sop_instance_uids: the Failed SOP Instance UID List it carried.
        received: for C-GET, the instances we stored (C-STORE-RQs answered with success
            or a warning).
        service: "C-MOVE" or "C-GET", which gives the status its service-specific name
            (A801 is "Move Destination unknown" only for a C-MOVE).
    """

    status: int
    completed: int = 0
    failed: int = 0
    warning: int = 0
    remaining: int | None = None
    error_comment: str = ""
    failed_sop_instance_uids: tuple[str, ...] = ()
    received: int = 0
    service: DimseService = "C-MOVE"

    @property
    def ok(self) -> bool:
        """Every sub-operation completed (Success, or a Warning without failures)."""
        category = status_category(self.status)
        return category is StatusCategory.SUCCESS or (category is StatusCategory.WARNING and not self.failed)

    def describe(self) -> str:
        name = status_name(self.status, service=self.service)
        text = f"{name}: {self.completed} completed, {self.failed} failed, {self.warning} warning"
        if self.remaining:
            text += f", {self.remaining} remaining"
        if self.error_comment:
            text += f" ({self.error_comment})"
        return text


def progress_of(command: CMoveRSP | CGetRSP) -> RetrieveProgress:
    return RetrieveProgress(
        command.remaining_suboperations,
        command.completed_suboperations or 0,
        command.failed_suboperations or 0,
        command.warning_suboperations or 0,
    )


def result_of(message: Message, transfer_syntax: str, *, received: int = 0) -> RetrieveResult:
    """The result a final C-MOVE/C-GET-RSP message reports."""
    command = message.command
    assert isinstance(command, CMoveRSP | CGetRSP)
    failed_uids: tuple[str, ...] = ()
    sink = message.dataset
    if isinstance(sink, MemorySink) and sink.size:
        try:
            identifier = read_dataset(sink.getvalue(), transfer_syntax)
            failed_uids = tuple(identifier.get_strs(tags.FailedSOPInstanceUIDList))
        except DicomError:
            failed_uids = ()  # an unreadable list changes nothing of the counts
    return RetrieveResult(
        status=command.status,
        completed=command.completed_suboperations or 0,
        failed=command.failed_suboperations or 0,
        warning=command.warning_suboperations or 0,
        remaining=command.remaining_suboperations,
        error_comment=command.error_comment or "",
        failed_sop_instance_uids=failed_uids,
        received=received,
        service="C-MOVE" if isinstance(command, CMoveRSP) else "C-GET",
    )


class Retrieval:
    """One C-MOVE/C-GET-RQ sent on an association (:meth:`start`): its pending responses
    go to ``progress``; a C-CANCEL-RQ is sent, once, when ``cancel`` returns True."""

    __slots__ = ("association", "cancel", "cancelled", "context", "message_id", "progress")

    def __init__(
        self,
        association: Association,
        context: NegotiatedContext,
        message_id: int,
        *,
        progress: ProgressCallback | None,
        cancel: CancelCheck | None,
    ) -> None:
        self.association = association
        self.context = context
        self.message_id = message_id
        self.progress = progress
        self.cancel = cancel
        self.cancelled = False

    @classmethod
    async def start(
        cls,
        association: Association,
        sop_class_uid: str,
        identifier: Dataset,
        request: Callable[[int], CMoveRQ | CGetRQ],
        *,
        progress: ProgressCallback | None,
        cancel: CancelCheck | None,
    ) -> Retrieval:
        """Send ``request(message_id)`` with ``identifier`` on the context of ``sop_class_uid``.

        Raises:
            LocalProtocolError: no accepted context for ``sop_class_uid``.
        """
        context = association.context_for(sop_class_uid)
        message_id = association.next_message_id()
        payload = encode_dataset(identifier, context.transfer_syntax)
        await association.send_message(context.context_id, request(message_id), payload)
        return cls(association, context, message_id, progress=progress, cancel=cancel)

    async def pending(self, command: CMoveRSP | CGetRSP) -> None:
        """A pending response: report its counts, then cancel if asked to."""
        if self.progress is not None:
            self.progress(progress_of(command))
        if not self.cancelled and self.cancel is not None and self.cancel():
            self.cancelled = True
            await self.association.send_message(self.context.context_id, CCancelRQ(self.message_id))
