"""One policy for what people type (live/text.py), through every textarea of the product and its real HTTP view:
line breaks are kept, emoji/RTL/CJK come back exactly as typed, and NUL or a bidi override gets a clear error and
writes nothing. Posted without htmx, as a browser without JavaScript does (the htmx answers have their own tests).

The cast: alice (participant, writes), bob (participant, alice's correspondent and reporter), fiona (facilitator:
debates, meetings, minutes), mona (moderator).
"""

import uuid

import pytest
from django.test import Client

from debates import services as debates
from debates.models import Comment, Debate, DebateUpdate
from live.accounts.models import User
from live.messaging import services as messaging
from live.messaging.models import Message
from live.moderation.models import ActionLog, Report
from meetings import services as meetings
from meetings.models import Contribution, Meeting
from tests import helpers
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db

TWO_LINES = "First line, with enough words\nsecond line"
WORLD = "Ça pousse 🌳 👩‍💻 🇫🇷 👍🏽\nمرحبا بالعالم — 你好，世界 — こんにちは"
# What a browser posts: a textarea's line breaks travel as CRLF, and are stored as one "\n".
CRLF = ("First line, with enough words\r\nsecond line", TWO_LINES)
BAD = ["A NUL\x00 in the middle of the text", "An override \u202e in the middle of the text"]
# A NUL is refused at the door for every form (live.middleware.RequestInputMiddleware); a bidi override by the policy.
CLEAR_ERRORS = ("characters that cannot be used (such as a NUL byte", "invisible or control characters")


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


# Each textarea: (who posts, the URL, the form with the text in it, the stored texts of that field).

def comment(alice, bob, fiona, mona):
    debate = debates.create_debate(author=fiona, title="Des arbres rue Pasteur ?",
                                   description="La mairie propose de planter vingt arbres.")
    return alice, f"/debates/{debate.pk}/comments/", lambda text: {"body": text}, \
        lambda: list(Comment.objects.values_list("body", flat=True))


def debate_update(alice, bob, fiona, mona):
    debate = debates.create_debate(author=fiona, title="Des arbres rue Pasteur ?",
                                   description="La mairie propose de planter vingt arbres.")
    return fiona, f"/debates/{debate.pk}/updates/", lambda text: {"body": text}, \
        lambda: list(DebateUpdate.objects.values_list("body", flat=True))


def debate_description(alice, bob, fiona, mona):
    return fiona, "/debates/new/", lambda text: {"title": "Des arbres rue Pasteur ?", "description": text,
                                                 "instructions": text}, \
        lambda: [text for d in Debate.objects.all() for text in (d.description, d.instructions)]


def conclusions(alice, bob, fiona, mona):
    debate = debates.create_debate(author=fiona, title="Des arbres rue Pasteur ?",
                                   description="La mairie propose de planter vingt arbres.")
    return fiona, f"/debates/{debate.pk}/close/", lambda text: {"conclusions": text, "password": helpers.PASSWORD}, \
        lambda: [c for c in Debate.objects.values_list("conclusions", flat=True) if c]


def message(alice, bob, fiona, mona):
    first = messaging.start_conversation(author=alice, recipients=["bob"], body="Bonjour", client_id=uuid.uuid4())
    return alice, f"/messages/{first.conversation_id}/send/", \
        lambda text: {"body": text, "client_id": str(uuid.uuid4())}, \
        lambda: list(Message.objects.exclude(pk=first.pk).filter(kind=Message.Kind.MESSAGE)
                     .values_list("body", flat=True))


def contribution(alice, bob, fiona, mona):
    meeting = make_meeting(fiona)
    meetings.join(meeting=meeting, user=alice)
    return alice, f"/meetings/{meeting.pk}/live/contribute/", lambda text: {"body": text, "kind": "idea"}, \
        lambda: list(Contribution.objects.values_list("body", flat=True))


def minutes(alice, bob, fiona, mona):
    meeting = make_meeting(fiona)
    return fiona, f"/meetings/{meeting.pk}/report/", \
        lambda text: {"report_minutes": text, "report_attendees": "12", "publish": "on"}, \
        lambda: [m for m in Meeting.objects.values_list("report_minutes", flat=True) if m]


def meeting_description(alice, bob, fiona, mona):
    form = {"title": "Conseil de quartier", "kind": "in_person", "place": "Agora", "online_url": "",
            "starts_at": "2026-12-10T18:00", "ends_at": "2026-12-10T20:00", "agenda": "", "facilitator_names": "",
            "capacity": "", "registration_code": ""}
    return fiona, "/meetings/new/", lambda text: {**form, "description": text}, \
        lambda: list(Meeting.objects.values_list("description", flat=True))


def bio(alice, bob, fiona, mona):
    return alice, "/accounts/profile/", lambda text: {"nickname": "alice", "bio": text}, \
        lambda: [b for b in User.objects.values_list("bio", flat=True) if b]


def report_details(alice, bob, fiona, mona):
    debate = debates.create_debate(author=fiona, title="Des arbres rue Pasteur ?",
                                   description="La mairie propose de planter vingt arbres.")
    reported = debates.post_comment(author=alice, debate=debate, body="Plantez donc des palmiers")
    return bob, "/moderation/report/", \
        lambda text: {"kind": "comment", "id": reported.pk, "reason": "spam", "details": text}, \
        lambda: list(Report.objects.values_list("details", flat=True))


def warning_reason(alice, bob, fiona, mona):
    return mona, f"/moderation/people/{alice.pk}/", lambda text: {"action": "warn", "reason": text}, \
        lambda: list(ActionLog.objects.values_list("reason", flat=True))


TEXTAREAS = [comment, debate_update, debate_description, conclusions, message, contribution, minutes,
             meeting_description, bio, report_details, warning_reason]


@pytest.fixture(params=TEXTAREAS, ids=lambda textarea: textarea.__name__)
def textarea(request, alice, bob, fiona, mona):
    return request.param(alice, bob, fiona, mona)


def post(textarea, text):
    who, url, form, _stored = textarea
    return browser(who).post(url, form(text), follow=True)


@pytest.mark.parametrize("typed, stored", [(TWO_LINES, TWO_LINES), CRLF, (WORLD, WORLD)],
                         ids=["two-lines", "crlf", "emoji-rtl-cjk"])
def test_a_text_keeps_its_line_breaks_and_characters_exactly(textarea, typed, stored):
    response = post(textarea, typed)
    assert response.status_code == 200
    assert stored in textarea[3]()


@pytest.mark.parametrize("bad", BAD, ids=["nul", "bidi-override"])
def test_nul_or_a_bidi_override_gets_a_clear_error_and_nothing_is_written(textarea, bad):
    before = textarea[3]()
    response = post(textarea, bad)
    page = response.content.decode()
    assert any(error in page for error in CLEAR_ERRORS), page
    assert textarea[3]() == before
