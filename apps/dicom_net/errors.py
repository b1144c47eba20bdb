"""Errors of the ``dicom_net`` app; the management command turns them into one-line messages.

Domain errors of the handlers (archive, worklist) become DIMSE statuses in ``handlers.py``;
the errors here concern configuring and running the server itself.
"""

from __future__ import annotations


class DicomNetError(Exception):
    """Base of this app's errors."""


class ServerConfigError(DicomNetError):
    """The server cannot be configured as asked (bad flag or setting, unreadable TLS file).

    Carries every problem found, so one run names them all.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ServerStartError(DicomNetError):
    """The server could not start listening (address in use, permission denied)."""

    @classmethod
    def cannot_listen(cls, host: str | None, port: int, exc: OSError) -> ServerStartError:
        return cls(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


class RemoteNodeError(DicomNetError):
    """A remote node cannot be created, changed or used as asked.

    ``problems`` maps a field (or ``""``) to what is wrong with it, so a command or form
    can name every problem at once.
    """

    def __init__(self, message: str, problems: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


class UnknownRemoteNode(RemoteNodeError):
    """No enabled remote node has this AE title (or it may not do the operation asked)."""


class SendError(DicomNetError):
    """A ``dicom_send`` that cannot start: a bad calling AE title, nothing to send."""
