"""Who a phone is, remembered per process (meetings/phones.py): a tap costs no SQL statement once its phone is known,
and what a tap relies on is read again as soon as it changes (the session closed, a guest claimed by an account)."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict

from live import ratelimit
from meetings import phones, reactions, services, writes
from meetings.models import Meeting, ReactionCount
from meetings.sessions import remember_participant
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_meeting(fiona):
    return make_meeting(fiona, premoderation=False)


@pytest.fixture
def frames_later(monkeypatch):
    scheduled = []
    monkeypatch.setattr(reactions.FRAMES, "_schedule",
                        lambda delay, meeting_pk: scheduled.append(lambda: reactions.flush(meeting_pk)))
    return scheduled


def guest_phone(meeting, nickname="Gaston"):
    """An anonymous phone: its session holds the guest's signed token, as after the QR code's join page."""
    guest = services.join(meeting=meeting, nickname=nickname, ip="10.0.0.7")
    session = SessionStore()
    remember_participant(session, guest)
    return SimpleNamespace(user=AnonymousUser(), session=session, participant=guest)


def tap(phone, meeting, kind="clap"):
    return writes.react(user=phone.user, session=phone.session, meeting_pk=meeting.pk, data=QueryDict(f"kind={kind}"))


def counts(meeting, frames_later):
    while frames_later:
        frames_later.pop()()
    return dict(ReactionCount.objects.filter(meeting=meeting).values_list("kind", "count"))


def test_a_known_phone_taps_without_sql(open_meeting, alice, frames_later, django_assert_num_queries):
    services.join(meeting=open_meeting, user=alice)
    signed_in = SimpleNamespace(user=alice, session=SessionStore())
    guest = guest_phone(open_meeting)
    tap(signed_in, open_meeting)
    tap(guest, open_meeting)
    with django_assert_num_queries(0):
        for _ in range(5):
            tap(signed_in, open_meeting, "heart")
            tap(guest, open_meeting, "heart")
    assert counts(open_meeting, frames_later) == {"clap": 2, "heart": 10}


def test_the_rate_limit_counts_the_same_phone_over_http_and_socket(open_meeting, alice, frames_later, settings):
    settings.RATE_LIMITS = {"reaction": "3/10"}
    services.join(meeting=open_meeting, user=alice)
    phone = SimpleNamespace(user=alice, session=SessionStore())
    services.react(participant=open_meeting.participants.get(user=alice), kind="clap")  # as the HTTP view counted
    tap(phone, open_meeting)
    tap(phone, open_meeting)
    with pytest.raises(ratelimit.RateLimited) as refused:
        tap(phone, open_meeting)
    assert refused.value.retry_after >= 1
    guest = guest_phone(open_meeting)  # others are not held back
    tap(guest, open_meeting)
    assert counts(open_meeting, frames_later) == {"clap": 4}


def test_closing_the_session_refuses_the_next_tap(open_meeting, fiona, frames_later,
                                                  django_capture_on_commit_callbacks):
    phone = guest_phone(open_meeting)
    tap(phone, open_meeting)
    with django_capture_on_commit_callbacks(execute=True):
        services.close_session(actor=fiona, meeting=open_meeting)
    with pytest.raises(ValidationError, match="closed"):
        tap(phone, open_meeting)
    assert counts(open_meeting, frames_later) == {"clap": 1}  # the tap before the close is in the report


def test_a_guest_claimed_by_an_account_no_longer_taps_as_the_guest(open_meeting, bob, frames_later,
                                                                     django_capture_on_commit_callbacks):
    phone = guest_phone(open_meeting)
    tap(phone, open_meeting)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_participant(participant=phone.participant, user=bob)  # signed up in the same browser
    with pytest.raises(PermissionDenied):
        tap(phone, open_meeting)


def test_a_guest_of_another_meeting_and_a_stranger_are_refused(open_meeting, fiona, bob, frames_later):
    other = make_meeting(fiona, title="Autre réunion", premoderation=False)
    phone = guest_phone(other)
    tap(phone, other)
    with pytest.raises(PermissionDenied, match="Join the meeting first"):
        tap(phone, open_meeting)  # the token is signed for its own meeting only
    forged = SimpleNamespace(user=AnonymousUser(), session=SessionStore())
    forged.session["meetings.participants"] = {str(open_meeting.pk): phone.session["meetings.participants"][
        str(other.pk)]}
    with pytest.raises(PermissionDenied):
        tap(forged, open_meeting)  # another meeting's token under this meeting's number
    with pytest.raises(PermissionDenied):
        tap(SimpleNamespace(user=bob, session=SessionStore()), open_meeting)  # signed in, never joined
    with pytest.raises(Meeting.DoesNotExist):
        tap(phone, Meeting(pk=other.pk + 1000))
    assert counts(open_meeting, frames_later) == {}


def test_what_no_stamp_covers_is_read_again_after_the_recheck_delay(open_meeting, frames_later, settings,
                                                                     django_assert_num_queries):
    phone = guest_phone(open_meeting)
    tap(phone, open_meeting)
    Meeting.objects.filter(pk=open_meeting.pk).update(live_open=False)  # behind the services' back
    tap(phone, open_meeting)  # still remembered as open
    settings.MEETINGS_PHONE_RECHECK_SECONDS = 0
    with pytest.raises(ValidationError, match="closed"):
        tap(phone, open_meeting)


def test_while_the_cache_is_down_every_tap_reads_the_database(open_meeting, frames_later, monkeypatch,
                                                              django_assert_num_queries):
    phone = guest_phone(open_meeting)
    tap(phone, open_meeting)
    monkeypatch.setattr(phones, "stamp", lambda meeting_pk: None)
    with django_assert_num_queries(2):  # the meeting, the participant
        tap(phone, open_meeting)


def test_the_current_agenda_item_is_followed(open_meeting, fiona, frames_later, django_capture_on_commit_callbacks):
    phone = guest_phone(open_meeting)
    tap(phone, open_meeting)
    frames_later.pop()()
    item = open_meeting.agenda_items.first()
    with django_capture_on_commit_callbacks(execute=True):
        services.set_current_item(actor=fiona, meeting=open_meeting, item=item)
    tap(phone, open_meeting, "heart")
    frames_later.pop()()
    assert ReactionCount.objects.get(kind="heart").agenda_item == item
    assert ReactionCount.objects.get(kind="clap").agenda_item is None


def test_bad_kinds_are_refused(open_meeting, frames_later):
    phone = guest_phone(open_meeting)
    for data in (QueryDict("kind=%F0%9F%92%A9"), QueryDict(""), {"kind": ["clap"]}, {"kind": None}):
        with pytest.raises(ValidationError, match="Unknown reaction"):
            writes.react(user=phone.user, session=phone.session, meeting_pk=open_meeting.pk, data=data)
    assert frames_later == []
