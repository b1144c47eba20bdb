"""The thirteen states of the DICOM UL protocol machine (PS3.8 §9.2.1, Tables 9-1 to 9-5).

Bottom of ``dicomkit.net.ul``. Members are named as in the standard (``State.STA6``) and
carry the standard's definition in ``description``.
"""

from __future__ import annotations

import enum

__all__ = ["State"]


class State(enum.IntEnum):
    """A state of the UL protocol machine; ``description`` quotes PS3.8."""

    description: str

    # mypy checks a value lookup (``State(6)``) against ``__new__``; at run time a lookup
    # never reaches it. The default only lets lookups type-check: every member has a description.
    def __new__(cls, value: int, description: str = "") -> State:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    STA1 = 1, "Idle"
    STA2 = 2, "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)"
    STA3 = 3, "Awaiting local A-ASSOCIATE response primitive (from local user)"
    STA4 = 4, "Awaiting transport connection opening to complete (from local transport service)"
    STA5 = 5, "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU"
    STA6 = 6, "Association established and ready for data transfer"
    STA7 = 7, "Awaiting A-RELEASE-RP PDU"
    STA8 = 8, "Awaiting local A-RELEASE response primitive (from local user)"
    STA9 = 9, "Release collision requestor side; awaiting A-RELEASE response (from local user)"
    STA10 = 10, "Release collision acceptor side; awaiting A-RELEASE-RP PDU"
    STA11 = 11, "Release collision requestor side; awaiting A-RELEASE-RP PDU"
    STA12 = 12, "Release collision acceptor side; awaiting A-RELEASE response primitive (from local user)"
    STA13 = 13, "Awaiting Transport Connection Close Indication (Association no longer exists)"
