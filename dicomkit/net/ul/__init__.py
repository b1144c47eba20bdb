"""The DICOM Upper Layer protocol machine, sans-IO (PS3.8 §9.2).

``states``/``events`` name the thirteen states and nineteen events as the standard does;
``actions`` holds the pure actions AE-1 .. AA-8 and the effects they return; ``machine``
the transition table (Table 9-10) and ``step``; ``connection`` the h11-shaped object
that frames PDUs from bytes, drives the machine and hands out bytes and events. No
sockets and no clocks here: ``dicomkit.net.aio`` feeds this package.
"""

from dicomkit.net.ul.actions import CloseTransport, OpenTransport, StartARTIM, StopARTIM
from dicomkit.net.ul.connection import NEED_DATA, Connection, ConnectionEvent, NeedData, Role
from dicomkit.net.ul.events import Event, Primitive, ProviderAbort
from dicomkit.net.ul.states import State

__all__ = [
    "NEED_DATA",
    "CloseTransport",
    "Connection",
    "ConnectionEvent",
    "Event",
    "NeedData",
    "OpenTransport",
    "Primitive",
    "ProviderAbort",
    "Role",
    "StartARTIM",
    "State",
    "StopARTIM",
]
