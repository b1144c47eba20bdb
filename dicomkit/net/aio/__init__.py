"""The asyncio transport of dicomkit: DICOM server and client (PS3.8 §9.1, PS3.15 B.1).

Owns sockets, TLS, timers and tasks; the protocol logic below it (``dicomkit.net.ul``,
``acse``, ``dimse``) is sans-IO. ``server`` accepts associations and dispatches DIMSE
requests to service classes (``dicomkit.net.services``); ``client`` requests them;
``association`` drives one association's Connection over one transport;
``receive_deadlines`` bounds how long a PDU and a DIMSE message may take to arrive;
``timers`` holds ARTIM, the idle watchdog and those deadlines' timers; ``balance`` spreads
associations over worker processes; ``tls`` builds SSL contexts.
"""

from dicomkit.net.aio.client import VERIFICATION_CONTEXT, Association, associate, echo_sync, open_association
from dicomkit.net.aio.server import AssociationObserver, AssociationRecord, DicomServer, Outcome, Phase
from dicomkit.net.aio.tls import client_ssl_context, server_ssl_context

__all__ = [
    "VERIFICATION_CONTEXT",
    "Association",
    "AssociationObserver",
    "AssociationRecord",
    "DicomServer",
    "Outcome",
    "Phase",
    "associate",
    "client_ssl_context",
    "echo_sync",
    "open_association",
    "server_ssl_context",
]
