"""An account made through Decidim has no password here: "Forgot your password?" is how its owner sets one (the link
page and docs/decidim.md send them there). Setting it proves the mailbox, not the Decidim account: the Decidim link
made without that proof goes, and comes back once the new password is given.

- camille: signs up with Decidim, then sets a password by e-mail."""

import re

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.decidim.conftest import sign_in_with_decidim

pytestmark = [pytest.mark.django_db]
User = get_user_model()
NEW_PASSWORD = "un-nouveau-mot-de-passe-42"


def set_password_by_email(client, email):
    client.post(reverse("accounts:password_reset"), {"email": email})
    assert len(mail.outbox) == 1, "no reset e-mail was sent"
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content[:500]


def test_an_account_made_with_decidim_sets_a_password_by_email_and_links_decidim_again_with_it(decidim):
    sign_in_with_decidim(Client(), "camille")
    camille = User.objects.get(nickname="camille")
    assert not camille.has_usable_password()

    set_password_by_email(Client(), "camille@decidim.example")

    client = Client()
    assert client.post(reverse("accounts:login"), {"username": "camille", "password": NEW_PASSWORD}).status_code == 302
    # Whoever used Decidim to make the account may not be who owns the mailbox: Decidim alone no longer signs in...
    assert not SocialAccount.objects.filter(user=camille).exists()
    other = Client()
    response = sign_in_with_decidim(other, "camille")
    assert response["Location"] == reverse("decidim:link")
    assert not other.get("/").wsgi_request.user.is_authenticated
    # ...until the new password is given once.
    other.post(reverse("decidim:link"), {"password": NEW_PASSWORD})
    assert other.get("/").wsgi_request.user == camille
    assert SocialAccount.objects.get().user == camille
