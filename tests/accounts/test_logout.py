"""/accounts/logout/: POST only; ends the session (its sockets close: see test_sockets.py)."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/accounts/logout/"


def test_it_refuses_get(client, alice):
    client.force_login(alice)
    assert client.get(URL).status_code == 405
    assert "_auth_user_id" in client.session


def test_it_signs_out_and_says_so(client, alice):
    client.force_login(alice)
    response = client.post(URL, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "_auth_user_id" not in client.session
    assert "You are signed out." in response.content.decode()


def test_it_needs_the_csrf_token(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(URL).status_code == 403
    assert "_auth_user_id" in client.session


def test_it_is_harmless_when_already_signed_out(client):
    assert client.post(URL).status_code == 302
