"""The meetings cast, on top of tests/conftest.py:

- fiona: a global facilitator (facilitates every meeting);
- felix: facilitates this meeting only (a role assignment on "meeting.<pk>");
- alice: a signed-in participant who joined;
- a guest: an anonymous participant ("Gaston") known by the token in his session;
- bob: signed in, never joined (an outsider);
- the meeting: at the Agora, live session open, pre-moderation on.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from live.accounts.models import RoleAssignment
from meetings import services
from meetings.sessions import remember_participant
from tests import helpers


def make_meeting(actor, *, open_live=True, **fields):
    now = timezone.now()
    defaults = dict(title="Budget participatif 2027", kind="in_person", place="Agora, 20 rue de Stalingrad, Nanterre",
                    starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2), premoderation=True)
    meeting = services.create_meeting(actor=actor, agenda=[("Accueil", 10), ("Propositions", 45)],
                                      **{**defaults, **fields})
    if open_live:
        meeting = services.open_session(actor=actor, meeting=meeting)
    return meeting


@pytest.fixture
def meeting(fiona):
    return make_meeting(fiona)


@pytest.fixture
def felix(meeting):
    user = helpers.make_user("felix")
    RoleAssignment.objects.create(user=user, role="facilitator", space=meeting.space)
    return user


@pytest.fixture
def alice_in(meeting, alice):
    return services.join(meeting=meeting, user=alice)


@pytest.fixture
def guest(meeting):
    return services.join(meeting=meeting, nickname="Gaston", ip="10.0.0.7")


@pytest.fixture
def guest_client(guest):
    """A browser whose session holds the guest's signed token."""
    client = english_client()
    session = client.session
    remember_participant(session, guest)
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def english_client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def client():
    return english_client()


def signed_in(user):
    client = english_client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the source strings); French is the default language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The cast is created for every test; the production hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def answers_not_coalesced(settings):
    """Each poll answer renders at once, inside its own transaction, so the tests read its event right away; the
    frames of answers and the sweep are tested on their own (test_voice.py)."""
    settings.MEETINGS_ANSWER_FRAME_MS = 0
    settings.MEETINGS_FRAME_SWEEP_SECONDS = 0


@pytest.fixture(autouse=True)
def process_memory_forgotten():
    """What this process keeps in memory (the phones it knows, meetings/phones.py; the frames' local-memory stand-in
    without Redis, meetings/frames.py) is not carried from one test to the next, where a meeting may get the same pk
    (SQLite) while the cache was cleared."""
    from meetings import frames, phones

    def forget():
        phones.forget_all()
        for kind in frames._registry.values():
            with kind._lock:
                kind._pending.clear()
                kind._windows.clear()
                kind._since.clear()

    forget()
    yield
    forget()
