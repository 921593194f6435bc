"""Password guessing: failed sign-ins count per account name and per IP; over the quota every attempt gets a 429
with the time to wait, the right password included, and nothing else happens."""

import pytest

from live import ratelimit
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/accounts/login/"
NAME_LIMIT, _window = ratelimit.parse(ratelimit.DEFAULT_LIMITS["login"])


def fail(client, name="alice", **extra):
    return client.post(URL, {"username": name, "password": "wrong-guess"}, HTTP_ACCEPT_LANGUAGE="en", **extra)


def test_it_refuses_with_429_after_too_many_failures(client, alice):
    for _ in range(NAME_LIMIT):
        assert fail(client).status_code == 400
    response = fail(client)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many attempts. Please try again in" in html
    assert int(response["Retry-After"]) > 0
    assert f"in {response['Retry-After']} seconds" in html


def test_it_refuses_even_the_right_password_while_throttled(client, alice):
    last_login = alice.last_login
    for _ in range(NAME_LIMIT):
        fail(client)
    response = client.post(URL, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    alice.refresh_from_db()
    assert alice.last_login == last_login
    assert 'value="alice"' in response.content.decode()  # the name stays typed in


def test_it_counts_the_name_whatever_its_case(client, alice):
    for i in range(NAME_LIMIT):
        fail(client, name="ALICE" if i % 2 else " alice ")
    assert fail(client, name="Alice").status_code == 429


def test_it_leaves_other_accounts_alone(client, alice, bob):
    for _ in range(NAME_LIMIT + 1):
        fail(client)
    response = client.post(URL, {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302


def test_it_throttles_one_ip_guessing_many_names(client, db):
    ip_limit, _ = ratelimit.parse(ratelimit.DEFAULT_LIMITS["login_ip"])
    for i in range(ip_limit):
        assert fail(client, name=f"someone{i}").status_code == 400
    assert fail(client, name="yet-another").status_code == 429


def test_it_does_not_count_successful_sign_ins(alice):
    from django.test import Client

    # A room full of people on the venue's wifi: one IP, many successful sign-ins.
    for _ in range(NAME_LIMIT * 3):
        assert Client().post(URL, {"username": "alice", "password": PASSWORD}).status_code == 302


def test_it_does_not_count_incomplete_forms(client, alice):
    for _ in range(NAME_LIMIT * 2):
        client.post(URL, {"username": "alice", "password": ""})
    assert client.post(URL, {"username": "alice", "password": PASSWORD}).status_code == 302
