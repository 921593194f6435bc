"""The profile's "Show my Decidim picture here" form takes "1" (show) or "0" (stop showing), its two buttons'
values, and nothing else: any other value is refused with a clear message and changes nothing (it used to hide
the picture). dom: signed in with Decidim, his picture shown."""

import pytest
from django.urls import reverse
from django.utils import translation

from decidim.models import PictureConsent
from tests.decidim.conftest import sign_in_with_decidim
from tests.decidim.test_sign_in import signed_in_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", [None, "", "yes", "true", "2", "01"])
def test_it_refuses_a_value_that_is_neither_show_nor_hide_and_keeps_the_picture(client, decidim, value):
    sign_in_with_decidim(client, "dom")
    client.post(reverse("decidim:finish"), {"nickname": "dom-2"})
    user = signed_in_user(client)
    client.post(reverse("decidim:picture"), {"shown": "1"})
    assert PictureConsent.objects.filter(account__user=user).exists()
    client.cookies["django_language"] = "en"  # the request's language (LocaleMiddleware), as the override is the test's
    with translation.override("en"):
        response = client.post(reverse("decidim:picture"), {} if value is None else {"shown": value},
                               HTTP_REFERER=user.get_absolute_url(), follow=True)
    assert "Choose to show your Decidim picture or to stop showing it." in response.content.decode()
    assert PictureConsent.objects.filter(account__user=user).exists()  # still shown
    client.post(reverse("decidim:picture"), {"shown": "0"})
    assert not PictureConsent.objects.filter(account__user=user).exists()
