"""A contribution from a signed-in phone and from a guest's, and a facilitator's approval, each through its view as
htmx posts it, cost at most MAX_QUERIES SQL statements with their pushes to the phones, the screen and the console
rendered in both languages: the write path cannot drift back (issue 17)."""

import secrets

import pytest
from django.urls import reverse

from meetings import services
from meetings.models import Contribution
from tests.live.write_cost import MAX_QUERIES, follow, pushes
from tests.meetings.conftest import make_meeting, signed_in

pytestmark = [pytest.mark.needs_postgres, pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]


def followed(meeting):
    follow((meeting.stream_key, "public"), (meeting.screen_stream_key, "screen"),
           (meeting.console_stream_key, "console"))
    return meeting


def every_audience(meeting) -> dict:
    return {meeting.stream_key: {"public:fr", "public:en"}, meeting.screen_stream_key: {"screen:fr", "screen:en"},
            meeting.console_stream_key: {"console:fr", "console:en"}}


def on_the_agenda(fiona, meeting):
    return services.set_current_item(actor=fiona, meeting=meeting, item=meeting.agenda_items.first())


def contribute(client, meeting, body):
    """As the phone's form does it with htmx: its idempotency key, and the agenda item it preselects."""
    response = client.post(reverse("meetings:contribute", args=[meeting.pk]),
                           {"body": body, "kind": "idea", "client_id": secrets.token_urlsafe(12),
                            "agenda_item": meeting.current_item_id or ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content[:300]
    return response


def test_it_takes_a_contribution_from_a_signed_in_phone_within_budget(fiona, alice, monkeypatch,
        django_assert_max_num_queries):
    meeting = followed(on_the_agenda(fiona, make_meeting(fiona, premoderation=False)))
    services.join(meeting=meeting, user=alice)
    client = signed_in(alice)
    contribute(client, meeting, "Des bancs à l'ombre.")
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(MAX_QUERIES):
        response = contribute(client, meeting, "Des fontaines sur la place.")
    assert "Posted." in response.content.decode()
    assert Contribution.objects.latest("pk").is_visible
    assert pushed == every_audience(meeting)


def test_it_takes_a_contribution_from_a_guest_within_budget(fiona, meeting, guest_client, monkeypatch,
        django_assert_max_num_queries):
    meeting = followed(on_the_agenda(fiona, services.update_session_settings(actor=fiona, meeting=meeting,
                                                                             premoderation=False)))
    contribute(guest_client, meeting, "Plus de vélos.")
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(MAX_QUERIES):
        contribute(guest_client, meeting, "Moins de voitures.")
    latest = Contribution.objects.latest("pk")
    assert latest.is_visible and latest.participant.user_id is None and latest.agenda_item == meeting.current_item
    assert pushed == every_audience(meeting)


def test_it_approves_a_contribution_within_budget(fiona, alice, monkeypatch,
        django_assert_max_num_queries):
    meeting = followed(make_meeting(fiona, premoderation=True))
    phone = services.join(meeting=meeting, user=alice)
    waiting = [services.post_contribution(participant=phone, body=f"Question {i}") for i in range(2)]
    client = signed_in(fiona)
    moderate = "meetings:moderate"
    client.post(reverse(moderate, args=[meeting.pk, waiting[0].pk]), {"action": "approve"}, HTTP_HX_REQUEST="true")
    with pushes(monkeypatch) as pushed, django_assert_max_num_queries(MAX_QUERIES):
        response = client.post(reverse(moderate, args=[meeting.pk, waiting[1].pk]), {"action": "approve"},
                               HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    waiting[1].refresh_from_db()
    assert waiting[1].is_visible
    assert pushed == every_audience(meeting)
