"""Every write refused by a rate limit answers 429 with Retry-After and the same message, in French and in English,
with htmx and without JavaScript (issue #12 item 5), whatever the view: one case per write URL that rate limits."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from debates import services as debates
from live import ratelimit
from live.messaging import services as messaging
from meetings import services as meetings
from tests import helpers

pytestmark = pytest.mark.django_db

MESSAGE = {"en": "Too many attempts. Please try again in 60 seconds.",
           "fr": "Trop de tentatives. Réessayez dans 60 secondes."}


@pytest.fixture(autouse=True)
def _fast_users(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class World(dict):
    """What the writes act on, made on first use (each case builds only what it needs): alice takes part
    everywhere, bob is her counterpart, carol a newcomer, fiona facilitates, mona moderates."""

    def __init__(self, users):
        super().__init__()
        self.users = users

    def __missing__(self, key):
        self.update(getattr(self, f"_make_{key.split('_')[0]}")(**self.users))
        return self[key]

    def _make_debate(self, alice, bob, fiona, **_):
        debate = debates.create_debate(author=fiona, title="Des bancs sur la place ?",
                                       description="Faut-il installer des bancs sur la place ?")
        return {"debate": debate, "mine": debates.post_comment(author=alice, debate=debate, body="Oui, à l'ombre."),
                "theirs": debates.post_comment(author=bob, debate=debate, body="Non, plutôt des arbres.")}

    _make_mine = _make_theirs = _make_debate

    def _make_meeting(self, alice, bob, fiona, **_):
        now = timezone.now()
        meeting = meetings.create_meeting(actor=fiona, agenda=[("Accueil", 10)], title="Conseil de quartier",
                                          kind="in_person", place="Agora", starts_at=now - timedelta(minutes=30),
                                          ends_at=now + timedelta(hours=2), premoderation=False,
                                          registration_enabled=True, allow_anonymous=True)
        meeting = meetings.open_session(actor=fiona, meeting=meeting)
        participant = meetings.join(meeting=meeting, user=alice)
        contribution = meetings.post_contribution(participant=meetings.join(meeting=meeting, user=bob), body="Un banc")
        poll = meetings.create_poll(actor=fiona, meeting=meeting, question="Où ?", choices=["Ici", "Là"])
        meetings.open_poll(actor=fiona, poll=poll)
        return {"meeting": meeting, "contribution": contribution, "poll": poll, "choice": poll.choices.first(),
                "hand": meetings.raise_hand(participant=participant)}

    _make_contribution = _make_poll = _make_choice = _make_hand = _make_meeting

    def _make_conversation(self, alice, bob, mona, **_):
        return {"conversation": messaging.start_conversation(author=alice, recipients=[bob], body="Salut").conversation,
                "group": messaging.start_conversation(author=alice, recipients=[bob, mona], body="Salut").conversation}

    _make_group = _make_conversation

    def _make_bob(self, bob, **_):
        return {"bob": bob}


@pytest.fixture
def world(alice, bob, carol, mona, fiona):
    return World({"alice": alice, "bob": bob, "mona": mona, "fiona": fiona})


def meeting_form(w):
    start = timezone.localtime() + timedelta(days=3)
    return {"title": "Atelier vélo", "description": "", "kind": "in_person", "place": "Agora", "online_url": "",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "agenda": "Accueil | 10",
            "facilitator_names": "", "capacity": "", "registration_code": ""}


# (who posts, URL, data): every write view whose service counts attempts.
WRITES = {
    "debate create": ("fiona", lambda w: "/debates/new/",
                      lambda w: {"title": "Un nouveau débat", "description": "Une description assez longue."}),
    "debate edit": ("fiona", lambda w: f"/debates/{w['debate'].pk}/edit/",
                    lambda w: {"title": "Des bancs partout ?", "description": "Une description assez longue."}),
    "debate close": ("fiona", lambda w: f"/debates/{w['debate'].pk}/close/",
                     lambda w: {"conclusions": "Des bancs, à l'ombre des arbres."}),
    "debate reopen": ("fiona", lambda w: f"/debates/{w['debate'].pk}/reopen/", lambda w: {}),
    "debate lock": ("mona", lambda w: f"/debates/{w['debate'].pk}/lock/", lambda w: {"locked": "1", "reason": "Calme"}),
    "debate update": ("fiona", lambda w: f"/debates/{w['debate'].pk}/updates/", lambda w: {"body": "Réunion jeudi."}),
    "comment": ("alice", lambda w: f"/debates/{w['debate'].pk}/comments/", lambda w: {"body": "Encore moi."}),
    "reply": ("alice", lambda w: f"/debates/{w['debate'].pk}/comments/",
              lambda w: {"body": "Je réponds.", "parent": w["theirs"].pk}),
    "comment edit": ("alice", lambda w: f"/debates/{w['debate'].pk}/comments/{w['mine'].pk}/edit/",
                     lambda w: {"body": "Oui, mais à l'ombre."}),
    "comment delete": ("alice", lambda w: f"/debates/{w['debate'].pk}/comments/{w['mine'].pk}/delete/",
                       lambda w: {}),
    "comment vote": ("alice", lambda w: f"/debates/{w['debate'].pk}/comments/{w['theirs'].pk}/vote/",
                     lambda w: {"value": "up"}),
    "meeting create": ("fiona", lambda w: "/meetings/new/", meeting_form),
    "meeting edit": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/edit/", meeting_form),
    "meeting register": ("carol", lambda w: f"/meetings/{w['meeting'].pk}/register/", lambda w: {}),
    "meeting unregister": ("alice", lambda w: f"/meetings/{w['meeting'].pk}/unregister/", lambda w: {}),
    "meeting report": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/report/",
                       lambda w: {"report_minutes": "Compte rendu.\nSur deux lignes.", "report_attendees": "12"}),
    "join by code": (None, lambda w: "/meetings/join/", lambda w: {"code": w["meeting"].join_code,
                                                                    "nickname": "Gaston"}),
    "join the live session": ("carol", lambda w: f"/meetings/{w['meeting'].pk}/live/join/", lambda w: {}),
    "contribute": ("participant", lambda w: f"/meetings/{w['meeting'].pk}/live/contribute/",
                   lambda w: {"body": "Et un kiosque ?", "kind": "idea"}),
    "contribution vote": ("participant",
                          lambda w: f"/meetings/{w['meeting'].pk}/live/contributions/{w['contribution'].pk}/vote/",
                          lambda w: {}),
    "poll answer": ("participant", lambda w: f"/meetings/{w['meeting'].pk}/live/polls/{w['poll'].pk}/answer/",
                    lambda w: {"choice": w["choice"].pk}),
    "hand": ("participant", lambda w: f"/meetings/{w['meeting'].pk}/live/hand/", lambda w: {"action": "lower"}),
    "session close": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/close/", lambda w: {}),
    "session open": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/open/", lambda w: {}),
    "session settings": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/settings/",
                         lambda w: {"premoderation": "1", "slow_mode_seconds": "0"}),
    "screen token": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/screen-token/", lambda w: {}),
    "moderate": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/contributions/{w['contribution'].pk}/",
                 lambda w: {"action": "pin"}),
    "current item": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/agenda/", lambda w: {"item": ""}),
    "poll create": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/polls/",
                    lambda w: {"question": "Quand ?", "kind": "single", "choices": "Lundi\nMardi"}),
    "poll action": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/polls/{w['poll'].pk}/",
                    lambda w: {"action": "close"}),
    "speaker": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/speakers/{w['hand'].pk}/",
                lambda w: {"action": "floor"}),
    "speakers clear": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/speakers/clear/", lambda w: {}),
    "publish as debate": ("fiona", lambda w: f"/meetings/{w['meeting'].pk}/console/publish-debate/", lambda w: {}),
    "new conversation": ("alice", lambda w: "/messages/new/", lambda w: {"to": "carol", "body": "Bonjour"}),
    "message": ("alice", lambda w: f"/messages/{w['conversation'].pk}/send/", lambda w: {"body": "Encore"}),
    "read receipt": ("bob", lambda w: f"/messages/{w['conversation'].pk}/read/", lambda w: {}),
    "leave conversation": ("alice", lambda w: f"/messages/{w['group'].pk}/leave/", lambda w: {}),
    "add people": ("alice", lambda w: f"/messages/{w['group'].pk}/add/", lambda w: {"to": "carol"}),
    "messaging settings": ("alice", lambda w: "/messages/settings/", lambda w: {"accept_from": "nobody"}),
    "block": ("alice", lambda w: "/messages/block/", lambda w: {"nickname": "bob"}),
    "unblock": ("alice", lambda w: "/messages/unblock/", lambda w: {"nickname": "bob"}),
    "notifications read": ("alice", lambda w: "/notifications/read/", lambda w: {}),
    "report": ("alice", lambda w: "/moderation/report/",
               lambda w: {"kind": "comment", "id": w["theirs"].pk, "reason": "spam"}),
    "moderation act": ("mona", lambda w: "/moderation/act/",
                       lambda w: {"kind": "comment", "id": w["theirs"].pk, "action": "hide", "reason": "Hors sujet"}),
    "moderation space": ("mona", lambda w: f"/moderation/spaces/{w['debate'].space}/",
                         lambda w: {"action": "lock", "reason": "Calme"}),
    "moderation person": ("mona", lambda w: f"/moderation/people/{w['bob'].pk}/",
                          lambda w: {"action": "warn", "reason": "Restez courtois"}),
    "sign in": (None, lambda w: "/accounts/login/", lambda w: {"username": "alice", "password": helpers.PASSWORD}),
    "sign up": (None, lambda w: "/accounts/signup/",
                lambda w: {"nickname": "dora", "email": "dora@example.org", "password": "a-long-enough-passphrase"}),
    "profile": ("alice", lambda w: "/accounts/profile/", lambda w: {"nickname": "alice", "bio": "Bonjour"}),
    "password reset": (None, lambda w: "/accounts/password-reset/", lambda w: {"email": "alice@example.org"}),
}


def client_for(who, language):
    """A browser signed in as `who` ("participant": alice, who joined the meeting; None: nobody)."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if who is not None:
        client.force_login(get_user_model().objects.get(nickname="alice" if who == "participant" else who))
    return client


@pytest.mark.parametrize("name", WRITES)
def test_every_write_refused_by_a_rate_limit_answers_429_with_retry_after(name, world, settings):
    who, url, data = WRITES[name]
    target, payload = url(world), data(world)  # made before every limit drops to zero
    settings.RATE_LIMITS = {action: "0/60" for action in [*ratelimit.DEFAULT_LIMITS, "debate_edit",
                                                           "comment_delete", "join_code"]}
    for language, htmx in (("fr", False), ("en", True)):  # and the other way round in tests/live/test_actions.py
        client = client_for(who, language)
        response = client.post(target, payload, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
        assert response.status_code == 429, (language, htmx, response.status_code, response.content[:300])
        assert response["Retry-After"] == "60"
        assert MESSAGE[language] in response.content.decode()
