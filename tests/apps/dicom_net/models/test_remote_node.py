"""RemoteNode.clean: TLS files are checked when TLS is set up or changed, not on every edit."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from apps.dicom_net.models import RemoteNode, TlsMode

pytestmark = pytest.mark.django_db


def _pem(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


def _mutual_node(folder: Path) -> RemoteNode:
    """A saved mutual-TLS node whose three files exist, loaded back from the database."""
    node = RemoteNode(
        ae_title="PEER", host="10.0.0.9", port=104, tls=TlsMode.MUTUAL,
        tls_ca_file=str(_pem(folder, "ca.pem")), tls_cert_file=str(_pem(folder, "cert.pem")),
        tls_key_file=str(_pem(folder, "key.pem")),
    )  # fmt: skip
    node.full_clean()
    node.save()
    return RemoteNode.objects.get(pk=node.pk)


@pytest.mark.parametrize("gone", ["tls_ca_file", "tls_cert_file", "tls_key_file"])
@pytest.mark.parametrize(
    "edit",
    [
        {"enabled": False},
        {"description": "reading room 2"},
        {"host": "10.0.0.10", "port": 11112},
        {"tls": TlsMode.NONE},  # switching TLS off
    ],
)
def test_a_node_whose_tls_file_went_away_can_still_be_edited(
    tmp_path: Path, gone: str, edit: dict[str, object]
) -> None:
    node = _mutual_node(tmp_path)
    Path(getattr(node, gone)).unlink()
    for name, value in edit.items():
        setattr(node, name, value)
    node.full_clean()
    node.save()
    stored = RemoteNode.objects.get(pk=node.pk)
    assert all(getattr(stored, name) == value for name, value in edit.items())


@pytest.mark.parametrize(
    ("change", "gone", "field"),
    [
        ({"tls_ca_file": "other-ca.pem"}, None, "tls_ca_file"),  # the new path is checked
        ({"tls_cert_file": "other-cert.pem"}, None, "tls_cert_file"),
        ({"tls": TlsMode.TLS}, "tls_ca_file", "tls_ca_file"),  # another mode: its files again
    ],
)
def test_a_changed_tls_setting_checks_the_files_again(
    tmp_path: Path, change: dict[str, str], gone: str | None, field: str
) -> None:
    node = _mutual_node(tmp_path)
    if gone is not None:
        Path(getattr(node, gone)).unlink()
    for name, value in change.items():
        setattr(node, name, value if name == "tls" else str(tmp_path / value))
    with pytest.raises(ValidationError) as caught:
        node.full_clean()
    assert list(caught.value.message_dict) == [field]
    assert "does not exist" in caught.value.message_dict[field][0]


def test_switching_tls_on_checks_the_files(tmp_path: Path) -> None:
    node = RemoteNode(ae_title="PEER", host="10.0.0.9", port=104)
    node.full_clean()
    node.save()
    node = RemoteNode.objects.get(pk=node.pk)
    node.tls = TlsMode.TLS
    node.tls_ca_file = str(tmp_path / "missing.pem")
    with pytest.raises(ValidationError, match=r"missing\.pem does not exist"):
        node.full_clean()


def test_a_node_saved_and_edited_again_is_checked_against_what_it_saved(tmp_path: Path) -> None:
    node = _mutual_node(tmp_path)
    node.tls_ca_file = str(_pem(tmp_path, "new-ca.pem"))
    node.full_clean()
    node.save()
    Path(node.tls_ca_file).unlink()
    node.enabled = False  # the same object: the saved path is now the stored one
    node.full_clean()


def test_the_required_tls_files_are_still_required_on_any_edit(tmp_path: Path) -> None:
    node = _mutual_node(tmp_path)
    RemoteNode.objects.filter(pk=node.pk).update(tls_key_file="")  # as an old row might be
    node = RemoteNode.objects.get(pk=node.pk)
    node.description = "x"
    with pytest.raises(ValidationError) as caught:
        node.full_clean()
    assert caught.value.message_dict == {"tls_key_file": ["Mutual TLS needs the key of our certificate."]}


def test_a_node_loaded_with_deferred_tls_fields_is_checked_when_they_are_set(tmp_path: Path) -> None:
    node = _mutual_node(tmp_path)
    node = RemoteNode.objects.only("ae_title", "enabled").get(pk=node.pk)
    node.tls_ca_file = str(tmp_path / "missing.pem")
    with pytest.raises(ValidationError, match=r"missing\.pem does not exist"):
        node.full_clean()
