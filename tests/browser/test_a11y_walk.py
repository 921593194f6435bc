"""Every page and significant state, checked by axe-core (WCAG 2.0/2.1 A and AA: zero violations), on the desktop
(1366x768) and the phone (390x844), light and dark colour schemes, French and English; and reflowed at 320 px wide
and at 200 % text size without sideways scrolling of the page (WCAG 1.4.4, 1.4.10).

A new page is one line in STATES: (name, path, role, setup). `path` is formatted with the world (`{w.debate.pk}`),
`role` is who looks (None: an anonymous visitor), `setup(page, w)` brings the page into the state to check (a form
with an error, a menu open...) after it loaded. One browser context per (viewport, scheme, language): the pages of a
combination are walked one after the other in it, the session cookie switched when the role changes."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from debates import services as debates
from live import ratelimit
from live.messaging import services as messaging
from live.moderation import services as moderation
from live.notifications import services as notifications
from meetings import services as meetings
from tests import helpers
from tests.browser.a11y import describe, page_overflow, run_axe
from tests.browser.conftest import wait_live
from tests.helpers import LiveServer, daphne_env, free_port
from tests.meetings.conftest import make_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 320, "height": 640}


@dataclass
class State:
    name: str
    path: str
    role: str | None = None
    setup: Callable | None = field(default=None, repr=False)
    live: bool = False  # wait for the socket before checking (pages whose content comes with the live updates)
    status: int = 200  # what the page must answer, without a redirect: a sign-in page checked instead proves nothing


# --- setups: bring a loaded page into a state -----------------------------------------------------------------------

def comment_with_error(page, w):
    """An empty comment posted: the error under the form, the field marked invalid."""
    page.locator("#comment-body").fill(" ")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("#comment-form-errors [data-refusal]")).to_be_visible()


def join_with_a_wrong_code(page, w):
    page.locator("#join-code").fill("ZZZZZZ")
    page.locator(".join-form button[type=submit]").click()
    expect(page.locator("#join-error")).to_be_visible()


def new_conversation_with_error(page, w):
    page.locator("#new-to").fill("nobody-by-that-name")
    page.locator("#new-body").fill("Bonjour")
    page.locator("#new-conversation button[type=submit]").click()
    expect(page.locator("#new-conversation-error")).to_be_visible()


def sign_in_with_error(page, w):
    page.locator("input[name=username]").fill("alice")
    page.locator("input[name=password]").fill("not her password")
    page.locator("form button[type=submit]").last.click()
    expect(page.locator(".errorlist, .form-errors").first).to_be_visible()


def rate_limited_vote(page, w):
    """alice over her vote quota posts a vote without JavaScript's help: the 429 page."""
    while ratelimit.hit("vote", w.alice)[0]:
        pass
    page.evaluate("(id) => HTMLFormElement.prototype.submit.call(document.getElementById(id))",
                  f"comment-{w.bob_comment.pk}-vote")
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_count(1)


STATES = [
    State("home", "/"),
    State("home signed in", "/", "alice"),
    State("debate list", "/debates/", "alice"),
    State("debate open", "/debates/{w.debate.pk}/", "alice", live=True),
    State("debate anonymous", "/debates/{w.debate.pk}/"),
    State("debate closed with conclusions", "/debates/{w.closed.pk}/", "alice"),
    State("debate hidden comment, moderator", "/debates/{w.debate.pk}/", "mona"),
    State("comment form with an error", "/debates/{w.debate.pk}/", "alice", comment_with_error, live=True),
    State("debate form", "/debates/new/", "fiona"),
    State("messaging inbox", "/messages/", "alice"),
    State("conversation", "/messages/{w.conversation.pk}/", "alice", live=True),
    State("new conversation with an error", "/messages/new/", "alice", new_conversation_with_error),
    State("messaging settings", "/messages/settings/", "alice"),
    State("notifications", "/notifications/", "alice"),
    State("notification preferences", "/notifications/preferences/", "alice"),
    State("meetings list", "/meetings/", "alice"),
    State("meeting", "/meetings/{w.meeting.pk}/", "alice"),
    State("meeting I registered for (reminders)", "/meetings/{w.upcoming.pk}/", "alice"),
    State("join: code and nickname", "/meetings/join/"),
    State("join: wrong code", "/meetings/join/", None, join_with_a_wrong_code),
    State("phone live page with a poll", "/meetings/{w.meeting.pk}/live/", "alice", live=True),
    State("facilitator console", "/meetings/{w.meeting.pk}/console/", "fiona", live=True),
    State("shared screen", "/meetings/{w.meeting.pk}/screen/{w.meeting.screen_token}/", None, live=True),
    State("remote participants page", "/meetings/{w.meeting.pk}/remote/", "alice", live=True),
    State("meeting form", "/meetings/new/", "fiona"),
    State("moderation queue", "/moderation/", "mona", live=True),
    State("moderation log", "/moderation/log/", "sara"),
    State("moderation of a person", "/moderation/people/{w.alice.pk}/", "mona"),
    State("my reports", "/moderation/mine/", "alice"),
    State("transparency", "/moderation/transparency/"),
    State("accessibility statement", "/accessibility/"),
    State("privacy policy", "/privacy/"),
    State("my data", "/privacy/my-data/", "alice"),
    State("account erasure", "/accounts/profile/delete/", "alice"),
    State("open data", "/opendata/"),
    State("open data, signed in (my name in the open data)", "/opendata/", "alice"),
    State("live status, staff", "/live-status/", "sara"),
    State("sign-up", "/accounts/signup/"),
    State("sign-in", "/accounts/login/"),
    State("sign-in with an error", "/accounts/login/", None, sign_in_with_error),
    State("password reset", "/accounts/password-reset/"),
    State("profile", "/accounts/people/alice/", "bob"),
    State("profile edit", "/accounts/profile/", "alice"),
    State("password change", "/accounts/password/", "alice"),
    State("403", "/moderation/", "alice", status=403),
    State("404", "/debates/999999/", status=404),
    State("429", "/debates/{w.debate.pk}/", "alice", rate_limited_vote),
]


def build_world():
    w = SimpleNamespace()
    w.alice, w.bob, w.carol = (helpers.make_user(n) for n in ("alice", "bob", "carol"))
    w.mona = helpers.make_user("mona", role="moderator")
    w.fiona = helpers.make_user("fiona", role="facilitator")
    w.sara = helpers.make_user("sara", role="administrator", is_staff=True)  # the moderation log, the operators' page
    w.debate = debates.create_debate(author=w.fiona, title="Faut-il piétonniser la place du marché ?",
                                     description="La mairie propose de fermer la place aux voitures le samedi.")
    first = debates.post_comment(author=w.alice, debate=w.debate, body="Oui, pour les enfants du quartier.")
    w.bob_comment = debates.post_comment(author=w.bob, debate=w.debate, body="Les livraisons du matin ?",
                                         parent=first)
    hidden = debates.post_comment(author=w.carol, debate=w.debate, body="Un commentaire hors sujet et insultant")
    debates.hide_comment(comment=hidden, actor=w.mona, reason="Insulte")
    w.closed = debates.create_debate(author=w.fiona, title="Horaires de la médiathèque",
                                     description="Ouvrir le dimanche ?")
    debates.post_comment(author=w.bob, debate=w.closed, body="Le dimanche matin serait idéal.")
    debates.close_debate(debate=w.closed, actor=w.fiona,
                         conclusions="La médiathèque ouvrira le dimanche matin à l'essai.")
    moderation.report(reporter=w.carol, kind="comment", object_id=w.bob_comment.pk, reason="offensive",
                      details="Ton agressif")
    message = messaging.start_conversation(author=w.bob, recipients=[w.alice], body="Tu viens à la réunion ?")
    w.conversation = message.conversation
    messaging.send_message(author=w.alice, conversation=w.conversation, body="Oui, à ce soir.")
    notifications.notify(user=w.alice, kind="mention", text="bob vous a mentionnée", url=w.debate.get_absolute_url())
    w.meeting = make_meeting(w.fiona)
    alice_in = meetings.join(meeting=w.meeting, user=w.alice)
    guest = meetings.join(meeting=w.meeting, nickname="Gaston", ip="10.0.0.7")
    meetings.post_contribution(participant=guest, body="Où en est le projet de jardin partagé ?")
    shown = meetings.post_contribution(participant=alice_in, body="Plus de bancs sur la place, s'il vous plaît.")
    meetings.approve_contribution(actor=w.fiona, contribution=shown)
    poll = meetings.create_poll(actor=w.fiona, meeting=w.meeting, question="Un jardin sur le toit ?",
                                choices=["Oui", "Non", "Sans avis"])
    meetings.open_poll(actor=w.fiona, poll=poll)
    meetings.answer_poll(participant=guest, poll=poll, choices=[poll.choices.first().pk])
    meetings.raise_hand(participant=guest)
    # The room's voice (#20): a scale and an open-text question answered (the screen shows the cloud, opened last),
    # reactions counted, a livestream that sets cookies (the remote page asks before framing it).
    scale = meetings.create_poll(actor=w.fiona, meeting=w.meeting, question="De 1 à 5, d'accord ?", kind="scale",
                                 low_label="Pas du tout", high_label="Tout à fait")
    meetings.open_poll(actor=w.fiona, poll=scale)
    meetings.answer_poll(participant=guest, poll=scale, choices=[scale.choices.last().pk])
    cloud = meetings.create_poll(actor=w.fiona, meeting=w.meeting, question="En un mot, le quartier idéal ?",
                                 kind="words")
    meetings.open_poll(actor=w.fiona, poll=cloud)
    meetings.answer_words(participant=guest, poll=cloud, texts=["Équité", "jardins partagés"])
    meetings.answer_words(participant=alice_in, poll=cloud, texts=["équité !", "calme"])
    for entry in cloud.word_entries.filter(text__in=["Équité", "équité !", "jardins partagés"]):
        meetings.moderate_word_entry(actor=w.fiona, entry=entry, approve=True)  # "calme" waits in the console
    meetings.add_reactions(w.meeting.pk, {(None, "clap"): 12, (None, "heart"): 3})
    w.meeting = meetings.update_meeting(actor=w.fiona, meeting=w.meeting, stream_url="https://youtu.be/dQw4w9WgXcQ")
    starts = timezone.now() + timedelta(days=2)
    w.upcoming = make_meeting(w.fiona, open_live=False, title="Conseil de quartier", registration_enabled=True,
                              starts_at=starts, ends_at=starts + timedelta(hours=2))
    meetings.register(user=w.alice, meeting=w.upcoming)  # the page says what she will hear (#19)
    return w


@pytest.fixture(scope="module")
def walk_server(django_db_setup, django_db_blocker):
    """The pages as production serves them (DEBUG off: the site's own error pages, no debug helpers)."""
    server = LiveServer(free_port(), daphne_env(DEBUG="0")).start()
    yield server
    server.stop()


class Walker:
    """One browser context; goes to a state as its role, with the session cookie switched when the role changes."""

    def __init__(self, browser, server, *, viewport, scheme="light", locale="fr-FR"):
        self.server = server
        self.context = browser.new_context(viewport=viewport, color_scheme=scheme, locale=locale)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10000)
        self.role = "nobody"
        self.cookies = {}

    def visit(self, state, w):
        if state.role != self.role:
            self.context.clear_cookies()
            if state.role is not None:
                if state.role not in self.cookies:
                    self.cookies[state.role] = helpers.session_cookie(getattr(w, state.role))
                self.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": self.cookies[state.role],
                                           "url": self.server.url}])
            self.role = state.role
        response = self.page.goto(self.server.url + state.path.format(w=w))
        assert (response.status, response.request.redirected_from) == (state.status, None), (
            f"{state.name}: answered {response.status} at {self.page.url}")
        if state.live:
            wait_live(self.page)
        if state.setup:
            state.setup(self.page, w)
        return self.page

    def close(self):
        self.context.close()


COMBINATIONS = [(viewport_name, scheme, locale)
                for viewport_name in ("desktop", "phone") for scheme in ("light", "dark") for locale in ("fr-FR", "en-GB")]


@pytest.mark.parametrize("viewport_name, scheme, locale", COMBINATIONS)
def test_every_page_passes_axe(walk_server, browser, viewport_name, scheme, locale):
    w = build_world()
    walker = Walker(browser, walk_server, viewport=DESKTOP if viewport_name == "desktop" else PHONE,
                    scheme=scheme, locale=locale)
    found, started = {}, time.monotonic()
    try:
        for state in STATES:
            page = walker.visit(state, w)
            violations = run_axe(page)
            if violations:
                found[state.name] = violations
    finally:
        walker.close()
    elapsed = time.monotonic() - started
    print(f"\naxe walk {viewport_name}/{scheme}/{locale}: {len(STATES)} states in {elapsed:.1f} s")
    assert not found, "\n".join(f"{name} ({viewport_name}, {scheme}, {locale}):\n{describe(v)}"
                                for name, v in found.items())


@pytest.mark.parametrize("how", ["320 px wide", "200 % text"])
def test_every_page_reflows_without_sideways_scrolling(walk_server, browser, how):
    w = build_world()
    walker = Walker(browser, walk_server, viewport=NARROW if how == "320 px wide" else DESKTOP)
    overflowing = {}
    try:
        for state in STATES:
            page = walker.visit(state, w)
            if how == "200 % text":  # the browser's text size setting: the root font size doubled
                page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
            overflow = page_overflow(page)
            if overflow:
                overflowing[state.name] = overflow
    finally:
        walker.close()
    assert not overflowing, "\n".join(f"{name}: {o}" for name, o in overflowing.items())
