"""Erasing an account made through Decidim (no password here): a fresh Decidim sign-in stands for the password.

- dora: signs up and in with Decidim only."""

from datetime import timedelta

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.decidim.conftest import sign_in_with_decidim

pytestmark = [pytest.mark.django_db]
User = get_user_model()


def test_a_decidim_account_is_erased_after_a_fresh_decidim_sign_in_and_can_come_back_as_someone_new(decidim):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    sign_in_with_decidim(client, "dora")
    dora = User.objects.get(nickname="dora")
    assert not dora.has_usable_password()
    page = client.get("/accounts/profile/delete/").content.decode()
    assert 'name="password"' not in page and 'action="/decidim/main/login/"' in page
    User.objects.filter(pk=dora.pk).update(last_login=timezone.now() - timedelta(minutes=30))

    stale = client.post("/accounts/profile/delete/", {"confirm": "on"})

    assert stale.status_code == 403
    assert "Sign in again with Decidim" in stale.content.decode()
    assert not User.objects.get(pk=dora.pk).is_erased

    sign_in_with_decidim(client, "dora")  # the fresh sign-in, from the same page
    response = client.post("/accounts/profile/delete/", {"confirm": "on"})

    assert response.status_code == 302
    assert User.objects.get(pk=dora.pk).is_erased
    assert not SocialAccount.objects.filter(user_id=dora.pk).exists()
    sign_in_with_decidim(Client(), "dora")
    again = User.objects.get(nickname="dora")
    assert again.pk != dora.pk
