"""Decidim pictures hosted elsewhere than the organization (its Active Storage on S3, a CDN): the hosts set in
DECIDIM_PICTURE_ORIGINS go into the CSP's img-src beside the organizations' origins, checked like
DECIDIM_EMBED_ORIGINS (origins only, or the start stops); a picture on a host the CSP would block is never put in an
<img> the browser refuses (no broken image on the profile, no box offering to show it).

- camille: signed in with Decidim, agreed to show her picture, which Decidim serves from a CDN."""

import os
import subprocess
import sys

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from decidim.models import PictureConsent

pytestmark = pytest.mark.django_db
User = get_user_model()
DECIDIM = "https://participez.ville.example"
CDN = "https://cdn.ville.example"
PICTURE = CDN + "/rails/active_storage/blobs/camille.png"


@pytest.fixture
def camille():
    user = User.objects.create_user(username="camille@ville.example", email="camille@ville.example",
                                    nickname="camille", password="x" * 12)
    account = SocialAccount.objects.create(user=user, provider="decidim-main", uid="42",
                                           extra_data={"id": "42", "image": PICTURE})
    PictureConsent.objects.create(account=account)
    return user


def test_a_picture_on_a_configured_host_is_shown_and_allowed_by_the_csp(client, settings, camille):
    settings.CSP_IMG_SRC = [CDN, DECIDIM]
    response = client.get(camille.get_absolute_url())
    assert f'src="{PICTURE}"' in response.content.decode()
    assert f"img-src 'self' data: {CDN} {DECIDIM};" in response["Content-Security-Policy"]


def test_a_picture_on_a_host_the_csp_blocks_is_not_shown_broken(client, settings, camille):
    settings.CSP_IMG_SRC = [DECIDIM]
    client.force_login(camille)
    page = client.get(camille.get_absolute_url()).content.decode()
    assert PICTURE not in page and 'name="shown"' not in page


def _settings(variables: dict, expression: str):
    env = {**os.environ, "DECIDIM_URL": DECIDIM, "DECIDIM_CLIENT_ID": "x", "DECIDIM_CLIENT_SECRET": "y",
           **variables, "DJANGO_SETTINGS_MODULE": "live.settings"}
    return subprocess.run([sys.executable, "-c", f"from django.conf import settings; print({expression})"],
                          env=env, capture_output=True, text=True)


def test_the_picture_hosts_setting_goes_into_img_src():
    result = _settings({"DECIDIM_PICTURE_ORIGINS": f"{CDN},https://s3.eu-west-3.amazonaws.com"},
                       "' '.join(settings.CSP_IMG_SRC)")
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.split() == ["https://cdn.ville.example", DECIDIM, "https://s3.eu-west-3.amazonaws.com"]


@pytest.mark.parametrize("value", ["*", "https://*.amazonaws.com", f"{CDN}; script-src https://evil.example",
                                   f"{CDN} 'unsafe-inline'", f"{CDN}/pictures/", "data:", "javascript://cdn.example"])
def test_a_picture_host_that_is_not_an_origin_stops_the_start(value):
    result = _settings({"DECIDIM_PICTURE_ORIGINS": value}, "settings.CSP_IMG_SRC")
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr, result.stderr[-500:]
    assert "DECIDIM_PICTURE_ORIGINS" in result.stderr
