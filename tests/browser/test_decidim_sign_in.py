"""A resident of the city signs in with their Decidim account in Chromium (a real OAuth 2 server: the fake Decidim
of tests/decidim), consents, comes back signed in, comments, and another resident sees it live."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests import helpers
from tests.browser.conftest import wait_live
from tests.browser.test_debates_live import article, post_root
from tests.debates.conftest import make_debate
from tests.decidim.conftest import AGORA_PORT, CLIENT_ID, CLIENT_SECRET, PASSWORD, FakeDecidim
from tests.helpers import LiveServer, daphne_env

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def fake_decidim(tmp_path_factory):
    server = FakeDecidim(tmp_path_factory.mktemp("fake-decidim")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def agora_with_decidim(fake_decidim, django_db_setup, django_db_blocker):
    """Agora Live as a city runs it with its Decidim configured (DECIDIM_URL ...), on the port the fake Decidim
    knows as its redirect URI."""
    server = LiveServer(AGORA_PORT, daphne_env(DECIDIM_URL=fake_decidim.url, DECIDIM_CLIENT_ID=CLIENT_ID,
                                               DECIDIM_CLIENT_SECRET=CLIENT_SECRET)).start()
    yield server
    server.stop()


def test_claire_signs_in_with_decidim_and_bob_sees_her_comment_live(browser, agora_with_decidim, fake_decidim,
                                                                     bob, fiona):
    debate = make_debate(fiona)
    url = agora_with_decidim.url
    claire = browser.new_context(locale="fr-FR").new_page()
    bob_context = browser.new_context(locale="fr-FR")
    bob_context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": helpers.session_cookie(bob),
                              "url": url}])
    try:
        bob_page = bob_context.new_page()
        bob_page.goto(url + debate.get_absolute_url())
        wait_live(bob_page)

        claire.goto(url + "/accounts/login/?next=" + debate.get_absolute_url())
        claire.get_by_role("button", name="Se connecter avec Decidim").click()
        # On Decidim: sign in there, then consent.
        expect(claire).to_have_url(re.compile(re.escape(fake_decidim.url + "/users/sign_in")))
        claire.locator("input[name=username]").fill("claire")
        claire.locator("input[name=password]").fill(PASSWORD)
        claire.get_by_role("button", name="Se connecter").click()
        expect(claire.get_by_role("heading")).to_contain_text("Autoriser Agora Live")
        claire.get_by_role("button", name="Autoriser").click()

        # Back on Agora Live, signed in, on the debate she came from.
        expect(claire).to_have_url(url + debate.get_absolute_url())
        expect(claire.locator(".site-header")).to_contain_text("claire")
        expect(claire.locator("#flash")).to_contain_text("Bienvenue, claire")
        wait_live(claire)
        post_root(claire, "Connectée depuis Decidim, je soutiens le projet.")
        expect(article(claire, "Connectée depuis Decidim")).to_be_visible()

        bob_page.locator("#new-comments-button").click()
        expect(article(bob_page, "Connectée depuis Decidim")).to_contain_text("claire")
    finally:
        claire.context.close()
        bob_context.close()
