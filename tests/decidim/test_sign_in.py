"""Sign in with Decidim, against a real OAuth 2 server (tests/decidim/fake_decidim): first sign-in, second
sign-in, nickname taken, linking an existing account only with its password."""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import helpers
from tests.decidim.conftest import decidim_answer, sign_in_with_decidim, start_sign_in

pytestmark = [pytest.mark.django_db]
User = get_user_model()


def signed_in_user(client):
    response = client.get("/")
    return response.wsgi_request.user


def test_without_decidim_configured_there_is_no_button_and_sign_in_works(client, alice, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": []}}
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Decidim" not in page
    assert client.get("/decidim/main/login/").status_code == 404
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": helpers.PASSWORD})
    assert response.status_code == 302 and signed_in_user(client) == alice


def test_the_button_shows_on_sign_in_and_sign_up_pages(client, decidim):
    for name in ("accounts:login", "accounts:signup"):
        page = client.get(reverse(name)).content.decode()
        assert "Se connecter avec Decidim" in page
        assert 'action="/decidim/main/login/"' in page


def test_first_sign_in_creates_the_account_with_the_decidim_nickname(client, decidim):
    authorize_url = start_sign_in(client, next_url="/debates/")
    assert authorize_url.startswith(decidim.url + "/oauth/authorize?")
    assert "state=" in authorize_url and "code_challenge=" in authorize_url
    response = client.get(decidim_answer(authorize_url, "camille").removeprefix("http://testserver"))
    assert response.status_code == 302 and response["Location"] == "/debates/"
    assert "Bienvenue, camille" in client.get("/").content.decode()
    user = signed_in_user(client)
    assert (user.nickname, user.email) == ("camille", "camille@decidim.example")
    assert not user.has_usable_password()
    account = SocialAccount.objects.get(user=user)
    assert account.provider == "decidim-main" and account.extra_data["nickname"] == "camille"
    assert account.extra_data["image"] is None


def test_second_sign_in_skips_consent_and_signs_into_the_same_account(client, decidim):
    sign_in_with_decidim(client, "camille2")
    first = signed_in_user(client)
    client.post(reverse("accounts:logout"))
    # Doorkeeper does not ask again while a token is valid: straight back with a code.
    callback = decidim_answer(start_sign_in(client), "camille2")
    assert "code=" in callback
    client.get(callback.removeprefix("http://testserver"))
    assert signed_in_user(client) == first
    assert User.objects.filter(email="camille2@decidim.example").count() == 1


def test_a_taken_nickname_gets_a_suggestion_and_nothing_is_made_until_chosen(client, decidim, alice):
    response = sign_in_with_decidim(client, "alice")
    assert response["Location"] == reverse("decidim:finish")
    assert not signed_in_user(client).is_authenticated
    assert not User.objects.filter(email="alice.martin@decidim.example").exists()
    page = client.get(reverse("decidim:finish")).content.decode()
    assert "« alice »" in page or "“alice”" in page
    assert 'value="alice-2"' in page
    response = client.post(reverse("decidim:finish"), {"nickname": "alice"})
    assert response.status_code == 400 and "déjà pris" in response.content.decode()
    response = client.post(reverse("decidim:finish"), {"nickname": "alice-2"})
    assert response.status_code == 302
    assert signed_in_user(client).nickname == "alice-2"
    assert signed_in_user(client).email == "alice.martin@decidim.example"


def test_an_account_with_the_same_address_is_linked_only_with_its_password(client, decidim, bob):
    response = sign_in_with_decidim(client, "bobby")
    assert response["Location"] == reverse("decidim:link")
    assert not signed_in_user(client).is_authenticated
    page = client.get(reverse("decidim:link")).content.decode()
    assert "bob@example.org" in page
    response = client.post(reverse("decidim:link"), {"password": "not-bobs-password"})
    assert response.status_code == 400
    assert not SocialAccount.objects.exists() and not signed_in_user(client).is_authenticated
    response = client.post(reverse("decidim:link"), {"password": helpers.PASSWORD})
    assert response.status_code == 302
    assert signed_in_user(client) == bob
    assert SocialAccount.objects.get().user == bob
    # From now on Decidim alone is enough.
    client.post(reverse("accounts:logout"))
    sign_in_with_decidim(client, "bobby")
    assert signed_in_user(client) == bob
    assert User.objects.count() == 1


def test_guessing_the_password_to_link_is_throttled(client, decidim, bob):
    sign_in_with_decidim(client, "bobby")
    statuses = [client.post(reverse("decidim:link"), {"password": f"guess-{i}"}).status_code for i in range(6)]
    assert statuses[:5] == [400] * 5 and statuses[5] == 429
    response = client.post(reverse("decidim:link"), {"password": helpers.PASSWORD})
    assert response.status_code == 429 and not SocialAccount.objects.exists()


def test_cancelling_the_link_creates_nothing(client, decidim, bob):
    sign_in_with_decidim(client, "bobby")
    response = client.post(reverse("decidim:cancel"), follow=True)
    assert "Rien n’a été créé" in response.content.decode() or "Rien n'a été créé" in response.content.decode()
    assert client.get(reverse("decidim:link"))["Location"] == reverse("accounts:login")
    assert not SocialAccount.objects.exists() and User.objects.count() == 1


def test_the_decidim_picture_is_only_linked_until_the_person_agrees(client, decidim):
    User.objects.create_user(username="x@example.org", email="x@example.org", nickname="dom", password="x" * 12)
    sign_in_with_decidim(client, "dom")  # "dom" is taken here: the nickname page, which asks about the picture
    image = decidim.url + "/uploads/decidim/user/avatar/7/dom.png"  # Decidim sent a relative path
    page = client.get(reverse("decidim:finish")).content.decode()
    assert f'href="{image}"' in page and "<img" not in page and 'name="show_picture"' in page
    client.post(reverse("decidim:finish"), {"nickname": "dom-2"})  # not ticked
    user = signed_in_user(client)
    profile = client.get(user.get_absolute_url())
    assert f'src="{image}"' not in profile.content.decode()
    assert "Afficher ma photo Decidim ici" in profile.content.decode()

    client.post(reverse("decidim:picture"), {"shown": "1"})
    profile = client.get(user.get_absolute_url())
    assert f'src="{image}"' in profile.content.decode() and 'referrerpolicy="no-referrer"' in profile.content.decode()
    assert f"img-src 'self' data: {decidim.url}" in profile["Content-Security-Policy"]
    assert f'src="{image}"' in Client().get(user.get_absolute_url()).content.decode()  # everyone sees it now
    client.post(reverse("decidim:picture"), {"shown": "0"})
    assert f'src="{image}"' not in client.get(user.get_absolute_url()).content.decode()


def test_decidims_default_avatar_counts_as_none(client, decidim):
    sign_in_with_decidim(client, "eve")
    assert SocialAccount.objects.get(user__nickname="eve").extra_data["image"] is None


def test_a_blocked_account_cannot_sign_in_with_decidim(client, decidim):
    sign_in_with_decidim(client, "blocked")
    user = User.objects.get(nickname="blocked")
    user.blocked_at = timezone.now()
    user.save()
    client.post(reverse("accounts:logout"))
    response = sign_in_with_decidim(client, "blocked")
    assert response.status_code == 403 and "bloqué" in response.content.decode()
    assert not signed_in_user(client).is_authenticated


def test_sign_out_says_it_does_not_sign_out_of_decidim(client, decidim):
    sign_in_with_decidim(client, "camille")
    response = client.post(reverse("accounts:logout"), follow=True)
    page = response.content.decode()
    assert "toujours connecté" in page and decidim.url in page
    assert not signed_in_user(client).is_authenticated


def test_signing_out_of_a_local_sign_in_says_nothing_of_decidim(client, decidim, alice):
    client.force_login(alice)
    page = client.post(reverse("accounts:logout"), follow=True).content.decode()
    assert "Decidim" not in page.split('id="flash"')[1].split("</div>")[0]


def test_a_meeting_guest_who_signs_in_with_decidim_keeps_their_contributions(client, decidim, fiona):
    from meetings.models import Contribution
    from tests.meetings.conftest import make_meeting

    meeting = make_meeting(fiona)
    client.post("/meetings/join/", {"code": meeting.join_code, "nickname": "Gaston"})
    client.post(f"/meetings/{meeting.pk}/live/contribute/", {"body": "Écrit avant de me connecter"})
    sign_in_with_decidim(client, "camille")
    assert Contribution.objects.get().participant.user.nickname == "camille"


def test_several_organizations_come_from_the_environment():
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "live.settings", "DECIDIM_URL": "https://participer.mel.example/",
           "DECIDIM_CLIENT_ID": "mel-id", "DECIDIM_CLIENT_SECRET": "mel-secret", "DECIDIM_NAME": "Participation MEL",
           "DECIDIM_ORGANIZATIONS": "roubaix", "DECIDIM_ROUBAIX_URL": "https://jeparticipe.roubaix.example",
           "DECIDIM_ROUBAIX_CLIENT_ID": "rbx-id", "DECIDIM_ROUBAIX_CLIENT_SECRET": "rbx-secret"}
    out = subprocess.run([sys.executable, "-c", "import json; from django.conf import settings; print(json.dumps("
                          "[settings.SOCIALACCOUNT_PROVIDERS, settings.CSP_FORM_ACTION]))"],
                         env=env, capture_output=True, text=True, check=True).stdout
    providers, form_action = json.loads(out)
    assert providers["decidim"]["APPS"] == [
        {"provider_id": "decidim-main", "name": "Participation MEL", "client_id": "mel-id", "secret": "mel-secret",
         "settings": {"url": "https://participer.mel.example"}},
        {"provider_id": "decidim-roubaix", "name": "Decidim Roubaix", "client_id": "rbx-id", "secret": "rbx-secret",
         "settings": {"url": "https://jeparticipe.roubaix.example"}}]
    assert form_action == ["https://jeparticipe.roubaix.example", "https://participer.mel.example"]


def test_each_organization_has_its_button_and_its_own_decidim(client, decidim, settings):
    other = {**settings.SOCIALACCOUNT_PROVIDERS["decidim"]["APPS"][0], "provider_id": "decidim-roubaix",
             "name": "Je participe Roubaix", "settings": {"url": "https://jeparticipe.roubaix.example"}}
    settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": [settings.SOCIALACCOUNT_PROVIDERS["decidim"]["APPS"][0],
                                                             other]}}
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Se connecter avec Decidim" in page and "Se connecter avec Je participe Roubaix" in page
    assert start_sign_in(client, org="roubaix").startswith("https://jeparticipe.roubaix.example/oauth/authorize?")
    assert start_sign_in(client).startswith(decidim.url + "/oauth/authorize?")


def test_an_organization_without_its_secret_stops_the_start():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "live.settings", "DECIDIM_ORGANIZATIONS": "lille",
           "DECIDIM_LILLE_URL": "https://participation.lille.example", "DECIDIM_LILLE_CLIENT_ID": "x"}
    result = subprocess.run([sys.executable, "-c", "from django.conf import settings; settings.DEBUG"], env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "DECIDIM_LILLE_CLIENT_SECRET is missing" in result.stderr


def test_the_admin_has_no_allauth_pages(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "socialaccount" not in page and "Social applications" not in page
    assert admin_client.get("/admin/socialaccount/socialapp/").status_code == 404


@pytest.mark.parametrize("switch", ["SOCIALACCOUNT_EMAIL_AUTHENTICATION", "SOCIALACCOUNT_PROVIDERS"])
def test_the_same_address_never_signs_into_an_account_even_with_allauths_email_authentication_on(
        client, decidim, bob, settings, switch):
    # Decidim lets an account sign in before its address is confirmed (Decidim.unconfirmed_access_for, 2 days by
    # default in older versions): its address proves nothing, whatever allauth is told.
    if switch == "SOCIALACCOUNT_EMAIL_AUTHENTICATION":
        settings.SOCIALACCOUNT_EMAIL_AUTHENTICATION = settings.SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
    else:
        settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {**settings.SOCIALACCOUNT_PROVIDERS["decidim"],
                                                        "EMAIL_AUTHENTICATION": True}}
    response = sign_in_with_decidim(client, "bobby")
    assert response["Location"] == reverse("decidim:link")
    assert not signed_in_user(client).is_authenticated
    assert not SocialAccount.objects.exists()


def test_the_same_decidim_id_in_two_organizations_is_two_people_and_no_token_is_kept(client, decidim, settings):
    from allauth.socialaccount.models import SocialToken

    # "twin": another organization whose Decidim numbers its people as "main" does (here the same server).
    settings.SOCIALACCOUNT_PROVIDERS = {"decidim": {"APPS": decidim.organizations(twin=decidim.url)}}
    sign_in_with_decidim(client, "camille")
    camille = signed_in_user(client)
    other = Client()
    response = sign_in_with_decidim(other, "camille", org="twin")  # the same id, the same address, another org
    assert response["Location"] == reverse("decidim:link")  # not camille's account: her password is asked
    assert not signed_in_user(other).is_authenticated
    assert list(SocialAccount.objects.values_list("provider", "user")) == [("decidim-main", camille.pk)]
    assert not SocialToken.objects.exists()
