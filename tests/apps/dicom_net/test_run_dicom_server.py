"""``manage.py run_dicom_server`` as a real process: DCMTK echoscu, the association log, SIGTERM.

The server runs against the test database, so these tests use ``transactional_db``
(through the ``dicom_server`` fixture): its rows become visible once written.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import pytest

from apps.dicom_net.models import AssociationLog, AssociationOutcome
from dicomkit.data.uids import Verification
from dicomkit.errors import AssociationAborted, DicomError
from dicomkit.net.aio.client import VERIFICATION_CONTEXT, open_association
from dicomkit.net.config import AEConfig
from tests.apps.dicom_net.conftest import DicomServerProcess, Echo, StartServer

GRACE = 5.0  # PACS_DICOM_SHUTDOWN_GRACE in the dicom_server fixture
EXIT_TIMEOUT = GRACE + 10


def test_echoscu_is_answered_and_the_association_logged(dicom_server: StartServer, echoscu: Echo) -> None:
    server = dicom_server("--aet", "TESTPACS")
    (pid,) = server.wait_listening()

    result = echoscu(server.port, calling="MODALITY1", called="TESTPACS")
    assert result.returncode == 0, result.stdout + result.stderr

    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0
    row = AssociationLog.objects.get()
    assert (row.calling_ae_title, row.called_ae_title) == ("MODALITY1", "TESTPACS")
    assert row.outcome == AssociationOutcome.RELEASED
    assert row.peer_host == "127.0.0.1"
    assert row.peer_port
    assert row.server_pid == pid
    assert row.messages == 1
    assert [context["abstract_syntax"] for context in row.contexts] == [Verification]
    assert row.bytes_received > 0
    assert row.bytes_sent > 0
    assert row.tls is False
    ended = server.messages("association ended")
    assert [(line["calling_ae_title"], line["outcome"]) for line in ended] == [("MODALITY1", "released")]


def test_starts_with_a_structured_line_naming_ae_port_tls_and_workers(dicom_server: StartServer) -> None:
    server = dicom_server("--aet", "STARTLINE")
    server.wait_listening()
    (line,) = server.messages("dicom server starting")
    assert line["ae_title"] == "STARTLINE"
    assert line["port"] == server.port
    assert line["tls"] is False
    assert line["workers"] == 1
    assert line["level"] == "INFO"


def _rejections(dicom_server: StartServer, echoscu: Echo) -> None:
    server = dicom_server(env={"PACS_DICOM_ALLOWED_CALLING_AE_TITLES": "FRIEND,OTHER"})
    server.wait_listening()

    assert echoscu(server.port, calling="FRIEND", called="NOT_PACS").returncode != 0
    assert echoscu(server.port, calling="STRANGER", called="PACS").returncode != 0
    assert echoscu(server.port, calling="FRIEND", called="PACS").returncode == 0
    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0


def test_wrong_called_ae_and_stranger_calling_ae_are_rejected_and_logged(
    dicom_server: StartServer, echoscu: Echo
) -> None:
    _rejections(dicom_server, echoscu)
    assert sorted(AssociationLog.objects.values_list("outcome", flat=True)) == [
        "rejected",
        "rejected",
        "released",
    ]
    details = sorted(AssociationLog.objects.filter(outcome="rejected").values_list("detail", flat=True))
    assert details == ["result 1 source 1 reason 3", "result 1 source 1 reason 7"]  # PS3.8 Table 9-21


def test_rejected_associations_are_logged_with_their_ae_titles(
    dicom_server: StartServer, echoscu: Echo
) -> None:
    _rejections(dicom_server, echoscu)
    assert sorted(AssociationLog.objects.values_list("calling_ae_title", "called_ae_title", "outcome")) == [
        ("FRIEND", "NOT_PACS", "rejected"),
        ("FRIEND", "PACS", "released"),
        ("STRANGER", "PACS", "rejected"),
    ]


def test_bare_connections_are_not_logged(dicom_server: StartServer, echoscu: Echo) -> None:
    server = dicom_server()
    server.wait_listening()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10):
        pass  # what a load balancer's health check does
    assert echoscu(server.port).returncode == 0
    assert server.terminate_and_wait(EXIT_TIMEOUT) == 0
    assert list(AssociationLog.objects.values_list("outcome", flat=True)) == ["released"]


async def _hold_association_until_aborted(port: int, server: DicomServerProcess) -> float:
    """Opens an association, SIGTERMs the server, and returns how long until it is aborted."""
    association = await open_association(
        "127.0.0.1", port, AEConfig("HOLDER"), "PACS", [VERIFICATION_CONTEXT]
    )
    started = time.monotonic()
    server.process.send_signal(15)
    with pytest.raises((AssociationAborted, DicomError)):
        await association.receive(timeout=EXIT_TIMEOUT)
    return time.monotonic() - started


def test_sigterm_aborts_an_idle_association_and_exits_cleanly_within_the_grace(
    dicom_server: StartServer,
) -> None:
    server = dicom_server()
    server.wait_listening()
    waited = asyncio.run(_hold_association_until_aborted(server.port, server))
    assert waited < GRACE
    assert server.process.wait(timeout=EXIT_TIMEOUT) == 0
    row = AssociationLog.objects.get()
    assert row.calling_ae_title == "HOLDER"
    assert row.outcome == AssociationOutcome.ABORTED_LOCALLY
    assert server.messages("dicom server stopped")


def test_invalid_flags_stop_the_command_with_every_problem(dicom_server: StartServer) -> None:
    server = dicom_server("--aet", "BAD\\AE", "--workers", "0", "--tls-cert", "/nonexistent/cert.pem")
    assert server.process.wait(timeout=60) == 1
    server.stop()
    output = server.output()
    assert "backslash" in output
    assert "workers 0" in output
    assert "private key" in output


def test_port_in_use_is_reported_not_a_traceback(dicom_server: StartServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = dicom_server(port=taken.getsockname()[1])
        assert server.process.wait(timeout=60) == 1
        server.stop()
    assert "cannot listen" in server.output()
    assert "Traceback" not in server.output()


def test_command_help_lists_the_flags() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "run_dicom_server", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0
    for flag in ("--port", "--aet", "--workers", "--tls-cert", "--tls-key", "--tls-ca"):
        assert flag in result.stdout
