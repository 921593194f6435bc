"""/accounts/password/: change one's password, knowing the current one."""

import pytest

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/accounts/password/"


def test_it_needs_a_signed_in_person(client):
    assert client.get(URL)["Location"].startswith("/accounts/login/")


def test_it_changes_the_password_and_keeps_the_session(client, alice):
    client.force_login(alice)
    response = client.post(URL, {"old_password": PASSWORD, "new_password1": "another-long-passphrase",
                                 "new_password2": "another-long-passphrase"})
    assert response["Location"] == "/accounts/people/alice/"
    alice.refresh_from_db()
    assert alice.check_password("another-long-passphrase")
    assert client.get("/accounts/profile/").status_code == 200


def test_it_refuses_a_wrong_current_password(client, alice):
    client.force_login(alice)
    response = client.post(URL, {"old_password": "nope", "new_password1": "another-long-passphrase",
                                 "new_password2": "another-long-passphrase"})
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_guessing_the_current_password_is_rate_limited(client, alice, settings):
    settings.RATE_LIMITS = {"password_change": "3/300"}
    client.force_login(alice)
    wrong = {"old_password": "guess", "new_password1": "another-long-passphrase",
             "new_password2": "another-long-passphrase"}
    assert [client.post(URL, wrong).status_code for _ in range(3)] == [200, 200, 200]
    response = client.post(URL, {**wrong, "old_password": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)  # the fourth try was not even checked
