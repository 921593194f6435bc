"""Where a form says to go next (`next`, the Referer): one check, live.actions.safe_next. A bare word used to
reach redirect(), which took it for a view name and answered 500; "/\\evil.example" left the site."""

import pytest
from django.test import Client

from debates import services as debates
from live.messaging.models import Block

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices(alice, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    return client


@pytest.mark.parametrize("target", ["-1", "home"])
def test_a_bare_word_is_not_somewhere_to_go(alices, bob, target):
    response = alices.post("/messages/block/", {"nickname": "bob", "next": target})
    assert response.status_code == 302 and response["Location"] == "/messages/settings/"
    assert Block.objects.filter(blocked=bob).exists()


def test_a_vote_does_not_send_the_voter_off_the_site(alices, fiona):
    debate = debates.create_debate(author=fiona, title="Un débat", description="Pour voter.")
    comment = debates.post_comment(author=fiona, debate=debate, body="Votez !")
    response = alices.post(f"/debates/{debate.pk}/comments/{comment.pk}/vote/",
                           {"value": "up", "next": "/\\evil.example/"})
    assert response.status_code == 302
    assert response["Location"].startswith(f"/debates/{debate.pk}/")


def test_a_path_of_the_site_is_kept(alices, bob):
    response = alices.post("/messages/block/", {"nickname": "bob", "next": "/messages/"})
    assert response["Location"] == "/messages/"


def test_signing_up_with_a_bare_word_as_next_lands_home(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    response = client.post("/accounts/signup/?next=-1", {"nickname": "dora", "email": "dora@example.org",
                                                          "password": "a-long-enough-passphrase"})
    assert response.status_code == 302 and response["Location"] == "/"
