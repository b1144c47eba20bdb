"""The web admin answers and a superuser made by ``createsuperuser`` can use it."""

from __future__ import annotations

from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


def test_admin_login_page_answers(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_anonymous_user_is_sent_to_the_login_page(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_superuser_created_by_createsuperuser_logs_in_and_sees_admin_index(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command(
        "createsuperuser", interactive=False, username="root", email="root@example.org", stdout=StringIO()
    )

    login = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD, "next": "/admin/"}
    )
    assert login.status_code == 302
    assert login["Location"] == "/admin/"

    index = client.get("/admin/")
    assert index.status_code == 200
    assert b"Site administration" in index.content


def test_wrong_password_is_refused(client: Client, django_user_model: type[User]) -> None:
    django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)
    response = client.post("/admin/login/", {"username": "root", "password": "not-it"})
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


def test_asgi_application_serves_http_through_the_protocol_router() -> None:
    from pacs_project.asgi import application

    communicator = HttpCommunicator(application, "GET", "/admin/login/", headers=[(b"host", b"testserver")])
    response = async_to_sync(communicator.get_response)()
    assert response["status"] == 200
