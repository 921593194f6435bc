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
