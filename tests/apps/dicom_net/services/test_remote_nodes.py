"""Remote nodes: services, ``manage.py remote_node``, the admin's C-ECHO action, the known-peers rule."""

from __future__ import annotations

import asyncio
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from pytest_django import Settings

from apps.dicom_net.errors import RemoteNodeError, UnknownRemoteNode
from apps.dicom_net.models import DimseOperation, RemoteNode
from apps.dicom_net.peer_access import KnownPeersPolicy, check_peer, peer_refusal
from apps.dicom_net.services.remote_nodes import (
    remote_node_create,
    remote_node_delete,
    remote_node_echo,
    remote_node_list,
    remote_node_resolve,
    remote_node_update,
)
from dicomkit.errors import DimseStatusError
from dicomkit.net.pdu import AssociateRQ
from tests.apps.dicom_net.conftest import StartServer
from tests.interop.peers import dcmtk_env, free_port, stop, wait_for_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def storescp_port() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        ["storescp", "-aet", "STORESCP", str(port)],
        env=dcmtk_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield port
    finally:
        stop(process)


def test_create_defaults_to_every_operation_and_lists_in_ae_title_order() -> None:
    remote_node_create(ae_title="ZETA", host="10.0.0.2", port=104)
    node = remote_node_create(ae_title="ALPHA", host="10.0.0.1", port=11112, incoming_operations="echo,find")
    assert node.incoming_operations == ["echo", "find"]
    assert node.outgoing_operations == ["echo", "store", "find", "move", "get"]
    assert [n.ae_title for n in remote_node_list()] == ["ALPHA", "ZETA"]


class NodeFields(TypedDict, total=False):
    """``remote_node_create``'s keyword arguments that these tests set."""

    ae_title: str
    host: str
    port: int
    tls: str
    tls_ca_file: str
    incoming_operations: list[str]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ae_title": "BAD\\AE"}, "ae_title"),
        ({"ae_title": "X" * 17}, "ae_title"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"tls": "tls"}, "tls_ca_file"),
        ({"tls": "mutual", "tls_ca_file": "/ca.pem"}, "tls_cert_file"),
        ({"incoming_operations": ["echo", "print"]}, "incoming_operations"),
    ],
)
def test_invalid_nodes_are_refused_naming_the_field(fields: NodeFields, field: str) -> None:
    values: NodeFields = {"ae_title": "NODE", "host": "h", "port": 104, **fields}
    with pytest.raises(RemoteNodeError) as caught:
        remote_node_create(**values)
    assert field in caught.value.problems
    assert not RemoteNode.objects.exists()


def test_a_taken_ae_title_is_refused() -> None:
    remote_node_create(ae_title="NODE", host="h", port=104)
    with pytest.raises(RemoteNodeError, match="ae_title"):
        remote_node_create(ae_title="NODE", host="other", port=105)


def test_update_and_delete() -> None:
    remote_node_create(ae_title="NODE", host="h", port=104)
    node = remote_node_update(ae_title="NODE", changes={"port": 105, "outgoing_operations": "move"})
    assert (node.port, node.outgoing_operations) == (105, ["move"])
    with pytest.raises(RemoteNodeError):
        remote_node_update(ae_title="NODE", changes={"id": 9})
    with pytest.raises(UnknownRemoteNode):
        remote_node_update(ae_title="NONE", changes={"port": 1})
    assert remote_node_delete(ae_title="NODE") is True
    assert remote_node_delete(ae_title="NODE") is False


def test_resolve_a_node_an_address_and_refusals() -> None:
    remote_node_create(ae_title="FINDONLY", host="10.1.1.1", port=104, outgoing_operations=["find"])
    remote_node_create(ae_title="OFF", host="10.1.1.2", port=104, enabled=False)
    peer = remote_node_resolve("FINDONLY", operation=DimseOperation.FIND)
    assert (peer.ae_title, peer.host, peer.port) == ("FINDONLY", "10.1.1.1", 104)
    assert peer.destination().ae_title == "FINDONLY"
    adhoc = remote_node_resolve("ORTHANC@[::1]:4242")
    assert (adhoc.ae_title, adhoc.host, adhoc.port) == ("ORTHANC", "::1", 4242)
    with pytest.raises(UnknownRemoteNode, match="does not allow C-MOVE"):
        remote_node_resolve("FINDONLY", operation=DimseOperation.MOVE)
    with pytest.raises(UnknownRemoteNode, match="disabled"):
        remote_node_resolve("OFF")
    with pytest.raises(UnknownRemoteNode, match="unknown"):
        remote_node_resolve("NOBODY")
    for bad in ("A@host", "A@host:99999", "@host:1", "A\\B@host:1"):
        with pytest.raises(RemoteNodeError):
            remote_node_resolve(bad)


def test_echo_to_a_running_storescp_succeeds_and_to_a_closed_port_fails_clearly(storescp_port: int) -> None:
    up = remote_node_create(ae_title="STORESCP", host="127.0.0.1", port=storescp_port)
    down = remote_node_create(ae_title="DOWN", host="127.0.0.1", port=free_port())
    ok = remote_node_echo(node=up, timeout=10)
    assert ok.ok and ok.status == 0 and "answered C-ECHO" in ok.message
    failed = remote_node_echo(node=down, timeout=5)
    assert not failed.ok
    assert "connection refused" in failed.message and str(down.port) in failed.message


def test_echo_to_a_peer_that_rejects_us_names_the_reason_once(dicom_server: StartServer) -> None:
    server = dicom_server()  # our own server: AE title PACS, so NOT_PACS is refused
    server.wait_listening()
    node = remote_node_create(ae_title="NOT_PACS", host="127.0.0.1", port=server.port)
    failed = remote_node_echo(node=node, timeout=10)
    assert not failed.ok
    assert failed.message == (
        "NOT_PACS: association rejected permanently by the service-user: "
        "called AE title not recognized (result=1 source=1 reason=7)"
    )


def test_remote_node_command_adds_lists_echoes_and_removes(
    storescp_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("remote_node", "add", "STORESCP", "127.0.0.1", str(storescp_port), "--in", "echo", "--out",
                 "echo,move", "--description", "test peer")  # fmt: skip
    call_command("remote_node", "list")
    call_command("remote_node", "echo", "STORESCP")
    out = capsys.readouterr().out
    assert "added STORESCP@127.0.0.1" in out
    assert "STORESCP" in out and "echo,move" in out and "test peer" in out
    assert "C-ECHO ok" in out
    call_command("remote_node", "add", "STORESCP", "127.0.0.1", "1", "--update")
    assert RemoteNode.objects.get(ae_title="STORESCP").port == 1
    with pytest.raises(CommandError, match="C-ECHO failed: connection refused"):
        call_command("remote_node", "echo", "STORESCP")
    with pytest.raises(CommandError, match="ae_title"):
        call_command("remote_node", "add", "STORESCP", "127.0.0.1", "104")
    call_command("remote_node", "remove", "STORESCP")
    assert not RemoteNode.objects.exists()
    with pytest.raises(CommandError, match="no remote node"):
        call_command("remote_node", "remove", "STORESCP")


def test_remote_node_add_update_changes_only_the_options_given(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    call_command("remote_node", "add", "PEER", "10.0.0.9", "104", "--tls", "tls", "--tls-ca", str(ca),
                 "--description", "reading room", "--out", "echo,store", "--disabled")  # fmt: skip

    call_command("remote_node", "add", "PEER", "10.0.0.9", "11112", "--update", "--out", "echo")

    node = RemoteNode.objects.get(ae_title="PEER")
    assert (node.port, node.outgoing_operations) == (11112, ["echo"])
    # Not given, so not changed: no silent fall-back to plain TCP, no re-enabling.
    assert (node.tls, node.tls_ca_file) == ("tls", str(ca))
    assert (node.description, node.enabled) == ("reading room", False)
    call_command("remote_node", "add", "PEER", "10.0.0.9", "11112", "--update", "--enabled")
    assert RemoteNode.objects.get(ae_title="PEER").enabled


@pytest.mark.parametrize(
    ("tls", "missing"),
    [("tls", "--tls-ca"), ("mutual", "--tls-ca"), ("mutual", "--tls-cert"), ("mutual", "--tls-key")],
)
def test_remote_node_add_refuses_a_tls_file_that_does_not_exist_naming_it(
    tmp_path: Path, tls: str, missing: str
) -> None:
    files = {flag: tmp_path / f"{flag[6:]}.pem" for flag in ("--tls-ca", "--tls-cert", "--tls-key")}
    for flag, path in files.items():
        if flag != missing:
            path.write_text("-----BEGIN CERTIFICATE-----\n")
    flags = [item for flag in (("--tls-ca",) if tls == "tls" else files) for item in (flag, str(files[flag]))]

    with pytest.raises(CommandError, match=rf"{files[missing]} does not exist"):
        call_command("remote_node", "add", "PEER", "127.0.0.1", "104", "--tls", tls, *flags)
    assert not RemoteNode.objects.exists()


def test_remote_node_update_refuses_a_tls_ca_file_that_does_not_exist(tmp_path: Path) -> None:
    call_command("remote_node", "add", "PEER", "127.0.0.1", "104")
    missing = tmp_path / "nonexistent.pem"
    with pytest.raises(CommandError, match=rf"tls_ca_file: TLS CA file {missing} does not exist"):
        call_command("remote_node", "add", "PEER", "127.0.0.1", "104", "--update",
                     "--tls", "tls", "--tls-ca", str(missing))  # fmt: skip
    assert RemoteNode.objects.get(ae_title="PEER").tls == "none"


def test_remote_node_update_disables_and_describes_a_node_whose_tls_ca_file_went_away(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    call_command("remote_node", "add", "PEER", "127.0.0.1", "104", "--tls", "tls", "--tls-ca", str(ca))
    ca.unlink()
    update = ("remote_node", "add", "PEER", "127.0.0.1", "104", "--update")
    call_command(*update, "--disabled", stdout=io.StringIO())
    call_command(*update, "--description", "CA renewed soon", stdout=io.StringIO())
    node = RemoteNode.objects.get(ae_title="PEER")
    assert (node.enabled, node.description, node.tls_ca_file) == (False, "CA renewed soon", str(ca))
    # A TLS change is checked: the new path must be there.
    other = tmp_path / "other-ca.pem"
    with pytest.raises(CommandError, match=rf"tls_ca_file: TLS CA file {other} does not exist"):
        call_command(*update, "--tls-ca", str(other))
    assert RemoteNode.objects.get(ae_title="PEER").tls_ca_file == str(ca)


def test_admin_refuses_a_node_whose_tls_ca_file_does_not_exist(admin_client: Client, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.pem"
    response = admin_client.post(
        "/admin/dicom_net/remotenode/add/",
        {
            "ae_title": "VIEWER", "host": "10.0.0.9", "port": "104", "description": "", "enabled": "on",
            "tls": "tls", "tls_ca_file": str(missing),
            "incoming_operations": ["echo"], "outgoing_operations": ["echo"],
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tls_ca_file"] == [
        f"TLS CA file {missing} does not exist or is not a file."
    ]
    assert not RemoteNode.objects.exists()


def test_admin_test_connection_action_shows_success_and_failure(
    admin_client: Client, storescp_port: int
) -> None:
    up = remote_node_create(ae_title="STORESCP", host="127.0.0.1", port=storescp_port)
    down = remote_node_create(ae_title="DOWN", host="127.0.0.1", port=free_port())
    response = admin_client.post(
        "/admin/dicom_net/remotenode/",
        {"action": "test_connection", "_selected_action": [up.pk, down.pk]},
        follow=True,
    )
    assert response.status_code == 200
    shown = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert ("success", next(t for _, t in shown if t.startswith("STORESCP"))) in shown
    assert any(
        level == "error" and "DOWN: C-ECHO failed: connection refused" in text for level, text in shown
    )


def test_admin_adds_a_node_with_operation_check_boxes(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/dicom_net/remotenode/add/",
        {
            "ae_title": "VIEWER", "host": "10.0.0.9", "port": "104", "tls": "none", "description": "",
            "enabled": "on", "incoming_operations": ["find", "move"], "outgoing_operations": ["store"],
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    node = RemoteNode.objects.get(ae_title="VIEWER")
    assert (node.incoming_operations, node.outgoing_operations) == (["find", "move"], ["store"])


def test_known_peers_rule_is_off_by_default_and_checks_ae_and_operation_when_on(
    settings: Settings,
) -> None:
    remote_node_create(ae_title="VIEWER", host="h", port=104, incoming_operations=["echo", "find"])
    request = AssociateRQ(called_ae_title="PACS", calling_ae_title="STRANGER", presentation_contexts=())
    assert peer_refusal("STRANGER", DimseOperation.MOVE) is None
    assert asyncio.run(KnownPeersPolicy().check(request, "127.0.0.1", 1)) is None

    settings.PACS_DICOM_REQUIRE_KNOWN_PEERS = True
    assert peer_refusal("VIEWER", DimseOperation.FIND) is None
    assert peer_refusal("VIEWER", DimseOperation.MOVE) == "VIEWER may not ask C-MOVE"
    with pytest.raises(DimseStatusError) as caught:
        check_peer("STRANGER", DimseOperation.FIND)
    assert caught.value.status == 0x0124 and "not a known remote node" in caught.value.comment
