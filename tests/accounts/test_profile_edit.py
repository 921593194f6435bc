"""/accounts/profile/: edit one's own nickname and bio."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/accounts/profile/"


def test_it_needs_a_signed_in_person(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/profile/")


def test_it_shows_the_current_values(client, alice):
    alice.bio = "Hello"
    alice.save()
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert 'value="alice"' in html
    assert ">\nHello</textarea>" in html


def test_it_saves_nickname_and_bio(client, alice):
    client.force_login(alice)
    response = client.post(URL, {"nickname": "alice-b", "bio": "Gardener"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/people/alice-b/"
    alice.refresh_from_db()
    assert (alice.nickname, alice.bio) == ("alice-b", "Gardener")


def test_it_refuses_someone_elses_nickname_whatever_its_case(client, alice, bob):
    client.force_login(alice)
    response = client.post(URL, {"nickname": "BOB", "bio": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "already taken" in response.content.decode()
    alice.refresh_from_db()
    assert alice.nickname == "alice"


def test_it_keeps_the_header_right_when_the_form_is_invalid(client, alice):
    client.force_login(alice)
    html = client.post(URL, {"nickname": "<bad>", "bio": ""}).content.decode()
    assert 'href="/accounts/people/alice/" class="avatar-link"' in html


def test_it_refuses_control_characters_in_the_bio(client, alice):
    client.force_login(alice)
    response = client.post(URL, {"nickname": "alice", "bio": "hi\u202eevil"})
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.bio == ""


def test_it_keeps_ones_own_nickname_in_another_case(client, alice):
    client.force_login(alice)
    assert client.post(URL, {"nickname": "Alice", "bio": ""}).status_code == 302
    alice.refresh_from_db()
    assert alice.nickname == "Alice"


def test_a_nickname_older_than_the_mixed_alphabets_rule_is_kept_when_only_the_bio_changes(client, alice):
    # alice signed up as "аlice" (a Cyrillic "а") before names mixing alphabets were refused.
    legacy = "\u0430lice"
    type(alice).objects.filter(pk=alice.pk).update(nickname=legacy)
    client.force_login(alice)
    response = client.post(URL, {"nickname": legacy, "bio": "Gardener"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.nickname, alice.bio) == (legacy, "Gardener")


def test_a_new_nickname_mixing_alphabets_is_refused_and_says_it_is_the_nickname(client, alice):
    client.force_login(alice)
    response = client.post(URL, {"nickname": "b\u043eb", "bio": "Gardener"},  # a Cyrillic "о"
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Your nickname mixes letters of different alphabets" in response.content.decode()
    alice.refresh_from_db()
    assert (alice.nickname, alice.bio) == ("alice", "")
