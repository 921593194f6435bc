"""The debate embed inside a Decidim page, in Chromium: from a page of the same site (decidim.ville.localhost framing
live.ville.localhost) a signed-in resident comments inside the frame; from another site (127.0.0.1) the frame is
live and readable, and "Participer" opens the full page; a page of no configured origin cannot frame it at all."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from playwright.sync_api import expect

from debates import services
from meetings import services as meetings
from tests import helpers
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_debates_live import article, post_root
from tests.debates.conftest import make_debate
from tests.helpers import LiveServer, daphne_env, free_port
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HOST_PORT, AGORA_PORT = free_port(), free_port()
LIVE = f"http://live.ville.localhost:{AGORA_PORT}"
SAME_SITE, CROSS_SITE, FOREIGN = (f"http://decidim.ville.localhost:{HOST_PORT}", f"http://127.0.0.1:{HOST_PORT}",
                                  f"http://localhost:{HOST_PORT}")


class DecidimPage(BaseHTTPRequestHandler):
    """A Decidim page with the snippet of docs/decidim.md pasted in it."""

    def do_GET(self):  # noqa: N802
        parts = self.path.strip("/").split("/")  # /debate/42 or /meeting/7
        if len(parts) != 2 or parts[0] not in ("debate", "meeting"):
            self.send_error(404)  # the browser's /favicon.ico
            return
        kind, pk = parts
        body = f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Decidim</title></head><body>
<h1>Budget participatif</h1>
<iframe id="agora-live" src="{LIVE}/decidim/embed/{kind}s/{pk}/" title="En direct sur Agora Live"
        style="width:100%;border:0" height="150"></iframe>
<script>
window.addEventListener("message", function (event) {{
  if (event.origin !== "{LIVE}" || !event.data || event.data.type !== "agora-live:height") return;
  document.getElementById("agora-live").style.height = event.data.height + "px";
}});
</script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def decidim_pages():
    server = ThreadingHTTPServer(("127.0.0.1", HOST_PORT), DecidimPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def agora(django_db_setup, django_db_blocker):
    server = LiveServer(AGORA_PORT, daphne_env(ALLOWED_HOSTS="127.0.0.1,localhost,live.ville.localhost",
                                               DECIDIM_URL=SAME_SITE, DECIDIM_CLIENT_ID="x", DECIDIM_CLIENT_SECRET="y",
                                               DECIDIM_EMBED_ORIGINS=CROSS_SITE)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ville_browser(browser):
    """Chromium with every *.ville.localhost name on loopback."""
    other = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=[
        *CHROMIUM_ARGS, "--host-resolver-rules=MAP *.ville.localhost 127.0.0.1"])
    yield other
    other.close()


def signed_in_context(ville_browser, user=None):
    context = ville_browser.new_context(locale="fr-FR")
    if user is not None:
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": helpers.session_cookie(user),
                              "url": LIVE}])
    return context


def embed_of(page):
    frame = page.frame_locator("#agora-live")
    frame.locator("html[data-live='connected']").wait_for(state="attached", timeout=15000)
    return frame


def test_bob_comments_inside_the_embed_of_a_same_site_decidim_page(ville_browser, agora, decidim_pages, alice,
                                                                    bob, fiona):
    debate = make_debate(fiona)
    bob_context, alice_context = signed_in_context(ville_browser, bob), signed_in_context(ville_browser, alice)
    try:
        page = bob_context.new_page()
        page.goto(f"{SAME_SITE}/debate/{debate.pk}")
        frame = embed_of(page)
        alice_page = alice_context.new_page()
        alice_page.goto(LIVE + debate.get_absolute_url())
        alice_page.locator("html[data-live='connected']").wait_for(state="attached")

        # The frame is sized to its content: the page's listener gets the embed's height, and again as it grows.
        height = "() => parseInt(document.getElementById('agora-live').style.height) || 0"
        page.wait_for_function(f"({height})() > 150")
        before = page.evaluate(height)
        # Same site: the SameSite=Lax session cookie came along, Bob is signed in inside the frame.
        expect(frame.locator("#comment-form")).to_be_visible()
        post_root(frame, "Depuis la page Decidim, je vote pour.")
        expect(article(frame, "Depuis la page Decidim")).to_be_visible()
        page.wait_for_function(f"({height})() > {before}")
        alice_page.locator("#new-comments-button").click()
        expect(article(alice_page, "Depuis la page Decidim")).to_contain_text("bob")
    finally:
        bob_context.close()
        alice_context.close()


def test_a_cross_site_embed_is_live_and_participer_opens_the_full_page(ville_browser, agora, decidim_pages, alice,
                                                                        bob, fiona):
    debate = make_debate(fiona)
    context = signed_in_context(ville_browser, bob)  # Bob is signed in on Agora Live...
    try:
        page = context.new_page()
        page.goto(f"{CROSS_SITE}/debate/{debate.pk}")
        frame = embed_of(page)
        # ...but this Decidim page is another site: no cookie in the frame, nothing to fill that could not work.
        expect(frame.locator("#comment-form")).to_be_hidden()
        expect(frame.locator("#embed-participate")).to_be_visible()

        services.post_comment(author=alice, debate=debate, body="Commentaire publié pendant la lecture.", alignment=1)
        frame.locator("#new-comments-button").click()
        expect(article(frame, "publié pendant la lecture")).to_be_visible()

        with page.expect_popup() as popup:
            frame.locator("#embed-participate").click()
        full = popup.value
        expect(full).to_have_url(LIVE + debate.get_absolute_url())
        expect(full.locator("#comment-form")).to_be_visible()  # the full page, where Bob is signed in
    finally:
        context.close()


def test_a_page_of_no_configured_origin_cannot_frame_it(ville_browser, agora, decidim_pages, fiona):
    debate = make_debate(fiona)
    context = signed_in_context(ville_browser)
    try:
        page = context.new_page()
        page.goto(f"{FOREIGN}/debate/{debate.pk}")  # waits for the frame's load too
        frame = next(f for f in page.frames if f != page.main_frame)
        # Under load the refused frame may not have committed its error page when the parent's load fires.
        page.wait_for_function("() => !!document.getElementById('agora-live')")
        frame.wait_for_url("chrome-error://chromewebdata/", timeout=10000)
        assert frame.url == "chrome-error://chromewebdata/"  # Chromium's "refused to connect" in place of the embed
        assert page.frame_locator("#agora-live").locator("#embed-participate").count() == 0
    finally:
        context.close()


def test_a_meetings_live_feed_in_a_cross_site_decidim_page(ville_browser, agora, decidim_pages, alice, fiona):
    meeting = make_meeting(fiona, premoderation=True)
    context = signed_in_context(ville_browser)
    try:
        page = context.new_page()
        page.goto(f"{CROSS_SITE}/meeting/{meeting.pk}")
        frame = embed_of(page)
        expect(frame.locator("#embed-participate")).to_have_attribute("href", f"/meetings/{meeting.pk}/live/")
        contribution = meetings.post_contribution(participant=meetings.join(meeting=meeting, user=alice),
                                                  body="Des bancs à l’ombre sur la place")
        meetings.approve_contribution(actor=fiona, contribution=contribution)
        expect(frame.locator("#contributions")).to_contain_text("Des bancs à l’ombre sur la place")
    finally:
        context.close()



def test_a_cross_site_meeting_embed_offers_no_join_form_that_would_fail(ville_browser, agora, decidim_pages, fiona):
    # From another site the frame has none of our cookies and cannot keep one (SameSite=Lax): a join form posted from
    # it ended on "Formulaire expiré" (no CSRF cookie). "Participer" is the way in, to the full page.
    meeting = make_meeting(fiona, premoderation=True, allow_anonymous=True)
    context = signed_in_context(ville_browser)
    try:
        page = context.new_page()
        page.goto(f"{CROSS_SITE}/meeting/{meeting.pk}")
        frame = embed_of(page)
        expect(frame.locator("#embed-participate")).to_be_visible()
        expect(frame.locator("#live-nickname")).to_be_hidden()
        expect(frame.locator(f'form[action="/meetings/{meeting.pk}/live/join/"]')).to_be_hidden()
        expect(frame.locator("#join-title")).to_be_hidden()
        with page.expect_popup() as popup:
            frame.locator("#embed-participate").click()
        expect(popup.value.locator("#live-nickname")).to_be_visible()  # the full page: joining works there
    finally:
        context.close()


def test_a_same_site_meeting_embed_keeps_its_join_form(ville_browser, agora, decidim_pages, fiona):
    meeting = make_meeting(fiona, premoderation=True, allow_anonymous=True)
    context = signed_in_context(ville_browser)
    try:
        page = context.new_page()
        page.goto(f"{SAME_SITE}/meeting/{meeting.pk}")
        frame = embed_of(page)
        expect(frame.locator("#live-nickname")).to_be_visible()
    finally:
        context.close()
