"""Who may do what, for every role: global facilitator (fiona), this meeting's facilitator (felix), the facilitator of
another meeting (otto), a moderator (mona), a participant (alice), an anonymous guest, an outsider signed in (bob)
and an anonymous visitor."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied

from live import streams
from live.accounts.models import RoleAssignment
from meetings import services
from meetings.models import Contribution, Poll
from meetings.permissions import is_facilitator, participant_for
from meetings.sessions import allow_screen, remember_participant, session_participant
from tests import helpers
from tests.meetings.conftest import make_meeting, signed_in

pytestmark = pytest.mark.django_db

ROLES = ["fiona", "felix", "otto", "mona", "alice", "guest", "bob", "visitor"]
FACILITATORS = {"fiona", "felix"}
PARTICIPANTS = {"alice", "guest"}


@pytest.fixture
def cast(meeting, fiona, felix, mona, alice, bob):
    """role -> (user, session) as a socket or a view would see them."""
    other = make_meeting(fiona, title="Autre réunion")
    otto = helpers.make_user("otto")
    RoleAssignment.objects.create(user=otto, role="facilitator", space=other.space)
    services.join(meeting=meeting, user=alice)
    guest = services.join(meeting=meeting, nickname="Gaston", ip="10.0.0.1")
    guest_session = SessionStore()
    remember_participant(guest_session, guest)
    guest_session.save()
    users = {"fiona": fiona, "felix": felix, "otto": otto, "mona": mona, "alice": alice, "bob": bob}
    cast = {name: (user, SessionStore()) for name, user in users.items()}
    cast["guest"] = (AnonymousUser(), guest_session)
    cast["visitor"] = (AnonymousUser(), SessionStore())
    return cast


@pytest.mark.parametrize("role", ROLES)
def test_only_facilitators_facilitate(role, cast, meeting):
    user, _session = cast[role]
    assert is_facilitator(user, meeting) == (role in FACILITATORS)
    actions = [
        lambda: services.update_session_settings(actor=user, meeting=meeting, slow_mode_seconds=5),
        lambda: services.set_current_item(actor=user, meeting=meeting, item=meeting.agenda_items.first()),
        lambda: services.create_poll(actor=user, meeting=meeting, question="?", choices=["a", "b"]),
        lambda: services.clear_speakers(actor=user, meeting=meeting),
        lambda: services.save_report(actor=user, meeting=meeting, minutes="m", attendees=1, publish=True),
    ]
    for action in actions:
        if role in FACILITATORS:
            action()
        else:
            with pytest.raises(PermissionDenied):
                action()
    if role not in FACILITATORS:
        assert not Poll.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_facilitators_moderate_contributions(role, cast, meeting):
    user, _session = cast[role]
    author = participant_for(*cast["alice"], meeting)
    contribution = services.post_contribution(participant=author, body="À modérer")
    for action in ("approve", "pin", "answered", "hide", "unhide", "reject"):
        if role in FACILITATORS:
            services.MODERATION_ACTIONS[action](user, contribution)
        else:
            with pytest.raises(PermissionDenied):
                services.MODERATION_ACTIONS[action](user, contribution)
    expected = "rejected" if role in FACILITATORS else "pending"
    assert Contribution.objects.get(pk=contribution.pk).status == expected


@pytest.mark.parametrize("role", ROLES)
def test_only_participants_contribute_vote_answer_and_raise_hands(role, cast, meeting, fiona):
    user, session = cast[role]
    participant = participant_for(user, session, meeting)
    assert (participant is not None) == (role in PARTICIPANTS)
    services.update_session_settings(actor=fiona, meeting=meeting, premoderation=False)
    other_author = services.join(meeting=meeting, nickname="Autre", ip="10.0.0.2")
    visible = services.post_contribution(participant=other_author, body="Visible")
    poll = services.create_poll(actor=fiona, meeting=meeting, question="?", choices=["a", "b"])
    services.open_poll(actor=fiona, poll=poll)
    actions = [
        lambda: services.post_contribution(participant=participant, body="Moi aussi"),
        lambda: services.vote(participant=participant, contribution=visible),
        lambda: services.answer_poll(participant=participant, poll=poll, choices=[poll.choices.first().pk]),
        lambda: services.raise_hand(participant=participant),
    ]
    for action in actions:
        if role in PARTICIPANTS:
            action()
        else:
            with pytest.raises(PermissionDenied, match="Join the meeting first"):
                action()
    assert Contribution.objects.count() == (2 if role in PARTICIPANTS else 1)


@pytest.mark.parametrize("role", ROLES)
def test_stream_audiences(role, cast, meeting):
    user, session = cast[role]
    viewer = streams.Viewer(user=user, session=session)
    assert streams.authorize(viewer, meeting.stream_key) == "public"
    for key, audience in ((meeting.console_stream_key, "console"), (meeting.screen_stream_key, "screen")):
        if role in FACILITATORS:
            assert streams.authorize(viewer, key) == audience
        else:
            with pytest.raises(PermissionDenied):
                streams.authorize(viewer, key)


def test_the_screen_session_follows_the_screen_stream_only(meeting, fiona):
    session = SessionStore()
    allow_screen(session, meeting)
    viewer = streams.Viewer(user=AnonymousUser(), session=session)
    assert streams.authorize(viewer, meeting.screen_stream_key) == "screen"
    with pytest.raises(PermissionDenied):
        streams.authorize(viewer, meeting.console_stream_key)
    # A new secret screen URL locks out the old screens.
    services.rotate_screen_token(actor=fiona, meeting=meeting)
    with pytest.raises(PermissionDenied):
        streams.authorize(viewer, meeting.screen_stream_key)


def test_unknown_meetings_and_parts_do_not_exist(meeting):
    viewer = streams.Viewer(user=AnonymousUser(), session=SessionStore())
    for key in (f"meeting.{meeting.pk + 999}", f"meeting.{meeting.pk}.secret", "meeting.x"):
        with pytest.raises(ObjectDoesNotExist):
            streams.authorize(viewer, key)


def test_a_guest_token_is_scoped_to_one_meeting(meeting, fiona):
    guest = services.join(meeting=meeting, nickname="Gaston", ip="10.0.0.1")
    other = make_meeting(fiona, title="Autre")
    session = SessionStore()
    remember_participant(session, guest)
    assert session_participant(session, meeting) == guest
    assert session_participant(session, other) is None
    # The same signed token copied under the other meeting's id is refused (the meeting is in the salt).
    tokens = session["meetings.participants"]
    session["meetings.participants"] = {str(other.pk): tokens[str(meeting.pk)]}
    assert session_participant(session, other) is None
    session["meetings.participants"] = {str(meeting.pk): tokens[str(meeting.pk)][:-2] + "xx"}
    assert session_participant(session, meeting) is None


@pytest.mark.parametrize("role,status", [("fiona", 200), ("felix", 200), ("otto", 403), ("mona", 403),
                                         ("alice", 403), ("bob", 403)])
def test_console_and_exports_over_http(role, status, cast, meeting):
    client = signed_in(cast[role][0])
    for name in ("console", "export_csv", "export_polls_csv", "export_json", "edit", "report"):
        from django.urls import reverse

        assert client.get(reverse(f"meetings:{name}", args=[meeting.pk])).status_code == status, name


def test_anonymous_visitors_are_sent_to_sign_in_for_the_console(client, meeting):
    response = client.get(f"/meetings/{meeting.pk}/console/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
