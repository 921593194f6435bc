"""/accounts/signup/: nickname, email, password; signed in at once, welcomed by a notification."""

import pytest
from django.contrib.auth import get_user_model

from live.notifications.models import Notification

pytestmark = pytest.mark.django_db

URL = "/accounts/signup/"
User = get_user_model()


def sign_up(client, **fields):
    data = {"nickname": "dora", "email": "dora@example.org", "password": "a-long-enough-passphrase", **fields}
    return client.post(URL, data, HTTP_ACCEPT_LANGUAGE="en")


def test_it_shows_a_labelled_form(client):
    html = client.get(URL).content.decode()
    for name in ("nickname", "email", "password"):
        assert f'<label for="id_{name}"' in html
    assert 'aria-describedby="id_nickname_helptext"' in html


def test_it_creates_a_participant_and_signs_them_in(client):
    response = sign_up(client)
    assert response.status_code == 302
    dora = User.objects.get(nickname="dora")
    assert dora.email == "dora@example.org"
    assert dora.role == "participant"
    assert dora.check_password("a-long-enough-passphrase")
    assert client.session["_auth_user_id"] == str(dora.pk)


def test_it_welcomes_the_newcomer(client):
    sign_up(client)
    assert Notification.objects.filter(user__nickname="dora", kind="welcome").count() == 1


def test_it_lowercases_the_email(client):
    sign_up(client, email="Dora@Example.ORG")
    assert User.objects.get(nickname="dora").email == "dora@example.org"


def test_it_accepts_an_apostrophe_in_the_email(client):
    assert sign_up(client, email="o'brien@example.org").status_code == 302


def test_it_refuses_a_taken_nickname_whatever_its_case(client, alice):
    response = sign_up(client, nickname="ALICE")
    assert response.status_code == 400
    assert "already taken" in response.content.decode()
    assert not User.objects.filter(email="dora@example.org").exists()


def test_it_refuses_a_taken_email(client, alice):
    response = sign_up(client, email="Alice@example.org")
    assert response.status_code == 400
    assert "already uses this email" in response.content.decode()


@pytest.mark.parametrize("nickname", ["ab", "a@b.c", "<script>", "evil\u202egnp", "do\u200bra", "x" * 31])
def test_it_refuses_a_bad_nickname(client, nickname):
    response = sign_up(client, nickname=nickname)
    assert response.status_code == 400
    assert User.objects.count() == 0


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", "dora-example"])
def test_it_refuses_a_weak_password(client, password):
    response = sign_up(client, password=password)
    assert response.status_code == 400
    assert 'id="id_password_error"' in response.content.decode()
    assert User.objects.count() == 0


def test_it_marks_the_invalid_field_for_screen_readers(client):
    html = sign_up(client, email="not-an-email").content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_email_helptext id_email_error"' in html


def test_it_follows_a_safe_next_url(client):
    response = client.post(URL + "?next=/meetings/", {"nickname": "dora", "email": "dora@example.org",
                                                      "password": "a-long-enough-passphrase"})
    assert response["Location"] == "/meetings/"


def test_it_is_throttled_per_ip(client, settings):
    settings.RATE_LIMITS = {"signup": "3/3600"}
    limit = 3
    for i in range(limit):
        assert sign_up(client, nickname=f"dora{i}", email=f"dora{i}@example.org").status_code == 302
        client.logout()
    response = sign_up(client, nickname="late", email="late@example.org")
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert not User.objects.filter(nickname="late").exists()


def test_it_sends_a_signed_in_person_home(client, alice):
    client.force_login(alice)
    assert client.get(URL)["Location"] == "/"
