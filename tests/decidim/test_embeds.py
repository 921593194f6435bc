"""The embeds may be framed by the configured Decidim pages only; every other page stays framed-denied."""

import pytest
from django.urls import reverse

from tests.debates.conftest import make_debate
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def ville(settings):
    settings.CSP_FRAME_ANCESTORS = ["https://participer.ville.example", "https://participez.ville.example"]


def frame_ancestors(response) -> str:
    return next(d for d in response["Content-Security-Policy"].split("; ") if d.startswith("frame-ancestors"))


def test_the_debate_embed_may_be_framed_by_the_decidim_pages_only(client, fiona, ville):
    debate = make_debate(fiona)
    response = client.get(reverse("decidim:embed_debate", args=[debate.pk]))
    assert response.status_code == 200
    assert frame_ancestors(response) == \
        "frame-ancestors https://participer.ville.example https://participez.ville.example"
    assert "X-Frame-Options" not in response
    page = response.content.decode()
    assert f"<title>{debate.title} · Agora Live</title>" in page
    assert '<base target="_blank">' in page and 'id="live-announcer"' in page and 'aria-live="polite"' in page
    assert f'id="embed-participate" href="{debate.get_absolute_url()}"' in page
    assert 'data-parents="https://participer.ville.example https://participez.ville.example"' in page
    assert 'class="site-header"' not in page


def test_the_meeting_embed_shows_the_live_feed(client, fiona, ville):
    meeting = make_meeting(fiona)
    response = client.get(reverse("decidim:embed_meeting", args=[meeting.pk]))
    assert response.status_code == 200 and "X-Frame-Options" not in response
    assert frame_ancestors(response).startswith("frame-ancestors https://participer.ville.example")
    assert f'href="{reverse("meetings:live", args=[meeting.pk])}"' in response.content.decode()


def test_every_other_page_stays_framed_denied(client, fiona, ville):
    debate = make_debate(fiona)
    meeting = make_meeting(fiona)
    for url in (debate.get_absolute_url(), reverse("meetings:live", args=[meeting.pk]), "/",
                reverse("accounts:login")):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY", url
        assert frame_ancestors(response) == "frame-ancestors 'none'", url


def test_without_decidim_there_is_no_embed(client, fiona, settings):
    settings.CSP_FRAME_ANCESTORS = []
    debate = make_debate(fiona)
    assert client.get(reverse("decidim:embed_debate", args=[debate.pk])).status_code == 404


def test_a_wildcard_origin_stops_the_start(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DECIDIM_EMBED_ORIGINS": "*"}
    result = subprocess.run([sys.executable, "-c", "import django; from django.conf import settings; "
                             "settings.CSP_FRAME_ANCESTORS"], env={**env, "DJANGO_SETTINGS_MODULE": "live.settings"},
                            capture_output=True, text=True)
    assert result.returncode != 0 and "never a wildcard" in result.stderr


@pytest.mark.parametrize("variables", [
    {"DECIDIM_EMBED_ORIGINS": "https://www.ville.example; script-src https://evil.example"},  # a second directive
    {"DECIDIM_EMBED_ORIGINS": "https://www.ville.example 'unsafe-inline'"},
    {"DECIDIM_EMBED_ORIGINS": "https://www.ville.example/budget/"},  # a page, not an origin
    {"DECIDIM_EMBED_ORIGINS": "javascript://www.ville.example"},
    {"DECIDIM_URL": "participez.ville.example", "DECIDIM_CLIENT_ID": "x", "DECIDIM_CLIENT_SECRET": "y"},  # no scheme
    {"DECIDIM_URL": "https://participez.ville.example;", "DECIDIM_CLIENT_ID": "x", "DECIDIM_CLIENT_SECRET": "y"},
])
def test_an_address_that_is_not_an_origin_stops_the_start(variables):
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", "from django.conf import settings; settings.CSP_FRAME_ANCESTORS"],
                            env={**os.environ, **variables, "DJANGO_SETTINGS_MODULE": "live.settings"},
                            capture_output=True, text=True)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr, result.stderr[-500:]
    assert next(iter(variables)) in result.stderr  # it names the variable to fix


def test_a_cross_site_frame_gets_the_forms_hidden_and_caches_keep_the_two_apart(client, fiona, ville):
    meeting = make_meeting(fiona)
    url = reverse("decidim:embed_meeting", args=[meeting.pk])
    cross_site = client.get(url, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "iframe"})
    same_site = client.get(url, headers={"Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "iframe"})
    assert "decidim/embed-cross-site.css" in cross_site.content.decode()
    assert "decidim/embed-cross-site.css" not in same_site.content.decode()
    assert "Sec-Fetch-Site" in cross_site["Vary"]
