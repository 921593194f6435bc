"""Password guessing: failed sign-ins count per (account, IP), per account and per IP; over a quota the attempts
it covers get a 429 with the time to wait, the right password included, and nothing else happens. Nobody can lock
the owner out from their own address, and a password reset works throughout."""

import re

import pytest
from django.core import mail
from django.test import Client

from live import ratelimit
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/accounts/login/"
NAME_LIMIT, _window = ratelimit.parse(ratelimit.DEFAULT_LIMITS["login"])
ACCOUNT_LIMIT, _window = ratelimit.parse(ratelimit.DEFAULT_LIMITS["login_account"])
ATTACKER, ALICES_HOME = "203.0.113.66", "198.51.100.7"


def fail(client, name="alice", **extra):
    return client.post(URL, {"username": name, "password": "wrong-guess"}, HTTP_ACCEPT_LANGUAGE="en", **extra)


def sign_in(ip, name="alice", password=PASSWORD):
    return Client(REMOTE_ADDR=ip).post(URL, {"username": name, "password": password}, HTTP_ACCEPT_LANGUAGE="en")


def distributed_attack(name="alice"):
    """Failures from many addresses, each under the per-address quota, until the per-account bound is reached."""
    for i in range(ACCOUNT_LIMIT):
        assert fail(Client(REMOTE_ADDR=f"192.0.2.{i // (NAME_LIMIT - 1) + 1}"), name=name).status_code == 400


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


def test_guessing_alices_password_from_one_address_does_not_lock_her_out_of_hers(alice):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(NAME_LIMIT * 3):
        fail(attacker)
    assert fail(attacker).status_code == 429
    response = sign_in(ALICES_HOME)
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_per_account_bound_still_stops_a_distributed_attack(alice):
    distributed_attack()
    response = fail(Client(REMOTE_ADDR="192.0.2.250"))
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert sign_in("192.0.2.251", password="wrong-again").status_code == 429  # no password is checked


def test_email_and_nickname_count_as_the_same_account(client, alice):
    for i in range(NAME_LIMIT):
        fail(client, name="alice@example.org" if i % 2 else "alice")
    assert fail(client, name="ALICE@example.org").status_code == 429


def test_password_reset_works_while_throttled_and_lets_the_owner_in(alice):
    distributed_attack()
    owner = Client(REMOTE_ADDR=ALICES_HOME)
    assert owner.post(URL, {"username": "alice", "password": PASSWORD}).status_code == 429
    response = owner.post("/accounts/password-reset/", {"email": "alice@example.org"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    set_url = owner.get(link, follow=True).redirect_chain[-1][0]
    response = owner.post(set_url, {"new_password1": "a-brand-new-passphrase",
                                    "new_password2": "a-brand-new-passphrase"})
    assert response["Location"] == "/accounts/reset/done/"
    assert sign_in(ALICES_HOME, password="a-brand-new-passphrase").status_code == 302


@pytest.mark.parametrize(("lang", "text"), [("fr", "Trop de tentatives. Réessayez dans"),
                                            ("en", "Too many attempts. Please try again in")])
def test_the_refusal_says_when_to_retry_in_each_language(client, alice, lang, text):
    for _ in range(NAME_LIMIT):
        fail(client)
    response = client.post(URL, {"username": "alice", "password": "x"}, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 429
    assert text in response.content.decode() and response["Retry-After"] in response.content.decode()


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
