"""/accounts/people/<nickname>/: the public profile."""

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_it_shows_nickname_initials_bio_and_joined_date(client, alice):
    alice.bio = "I live near the river.\nI like trees."
    alice.save()
    response = client.get("/accounts/people/alice/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>alice</h1>" in html
    assert f'class="avatar avatar-large" style="--hue: {alice.avatar_hue}" aria-hidden="true">AL</span>' in html
    assert "I live near the river.<br>I like trees." in html
    assert f'datetime="{timezone.localtime(alice.date_joined).isoformat()}"' in html
    assert "Member since" in html


def test_it_offers_editing_to_its_owner_only(client, alice, bob):
    assert "/accounts/profile/" not in client.get("/accounts/people/alice/").content.decode()
    client.force_login(bob)
    assert 'href="/accounts/profile/"' not in client.get("/accounts/people/alice/").content.decode()
    client.force_login(alice)
    assert 'href="/accounts/profile/"' in client.get("/accounts/people/alice/").content.decode()


def test_it_shows_the_role_of_staff(client, mona):
    html = client.get("/accounts/people/mona/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span class="badge badge-role">Moderator</span>' in html


def test_it_escapes_the_bio(client, alice):
    alice.bio = '<img src=x onerror="alert(1)">'
    alice.save()
    html = client.get("/accounts/people/alice/").content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html


def test_it_redirects_another_case_to_the_real_nickname(client, alice):
    response = client.get("/accounts/people/ALICE/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/people/alice/"


def test_it_hides_a_blocked_account(client, alice):
    alice.bio = "Something I wrote"
    alice.blocked_at = timezone.now()
    alice.save()
    html = client.get("/accounts/people/alice/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "blocked by moderation" in html
    assert "Something I wrote" not in html


@pytest.mark.parametrize("nickname", ["nobody", "alice"])
def test_it_404s_for_unknown_or_deactivated_people(client, alice, nickname):
    alice.is_active = False
    alice.save()
    assert client.get(f"/accounts/people/{nickname}/").status_code == 404
