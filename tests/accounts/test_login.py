"""/accounts/login/: sign in by email or nickname, blocked accounts refused, password guessing throttled."""

import pytest
from django.conf import settings
from django.utils import timezone

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/accounts/login/"


def test_it_shows_a_labelled_form(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username"' in html
    assert '<label for="id_password"' in html
    assert 'autocomplete="current-password"' in html


@pytest.mark.parametrize("login", ["alice@example.org", "ALICE@example.org", "alice", "Alice"])
def test_it_signs_in_by_email_or_nickname(client, alice, login):
    response = client.post(URL, {"username": login, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_it_follows_a_safe_next_url(client, alice):
    response = client.post(URL, {"username": "alice", "password": PASSWORD, "next": "/notifications/"})
    assert response["Location"] == "/notifications/"


def test_it_ignores_a_foreign_next_url(client, alice):
    response = client.post(URL, {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_it_refuses_a_wrong_password_with_a_clear_message(client, alice):
    response = client.post(URL, {"username": "alice", "password": "not-the-password"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "do not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_refuses_a_blocked_account_with_the_reason(client, alice):
    alice.blocked_at = timezone.now()
    alice.save()
    response = client.post(URL, {"username": "alice", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "blocked by moderation" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_does_not_tell_a_blocked_account_apart_without_the_password(client, alice):
    alice.blocked_at = timezone.now()
    alice.save()
    response = client.post(URL, {"username": "alice", "password": "guess"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "blocked" not in response.content.decode()


def test_it_refuses_an_inactive_account(client, alice):
    alice.is_active = False
    alice.save()
    response = client.post(URL, {"username": "alice", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 400


def test_it_redirects_a_signed_in_person_away(client, alice):
    client.force_login(alice)
    assert client.get(URL).status_code == 302


def test_it_signs_out_a_blocked_session_on_its_next_request(client, alice):
    client.force_login(alice)
    alice.blocked_at = timezone.now()
    alice.save()
    response = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert "blocked by moderation" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert settings.SESSION_COOKIE_NAME in client.cookies
