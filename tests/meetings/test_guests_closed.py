"""A facilitator switches "anonymous participants allowed" off during the meeting: from then on a guest's
contributions, +1s, poll answers, reactions and raised hands are refused with a clear "sign in" message, over HTTP
and the socket, and their phone page says so; signed-in participants go on as before.

- Gaston: a guest (no account), joined by the QR code while guests were allowed (conftest's `guest`);
- alice: signed in, joined; fiona: the global facilitator who flips the switch.
"""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from meetings import services
from meetings.models import Contribution, PollAnswer, SpeakerRequest
from tests.helpers import connect
from tests.meetings.conftest import make_meeting, signed_in
from tests.meetings.test_consumers import follow, guest_session
from tests.meetings.test_socket_writes import write

HTMX = {"HTTP_HX_REQUEST": "true"}
SIGN_IN = "signed-in participants only"


def _guests_off(meeting, fiona):
    response = signed_in(fiona).post(f"/meetings/{meeting.pk}/console/settings/", {
        "premoderation": "", "allow_anonymous": "", "slow_mode_seconds": "0"}, **HTMX)
    assert response.status_code == 204
    meeting.refresh_from_db()
    assert not meeting.allow_anonymous


@pytest.mark.django_db
def test_a_guest_is_refused_every_write_once_guests_are_switched_off_and_alice_is_not(fiona, alice, settings):
    settings.RATE_LIMITS_ENABLED = False
    meeting = make_meeting(fiona, premoderation=False)
    guest = services.join(meeting=meeting, nickname="Gaston", ip="10.0.0.7")
    alice_in = services.join(meeting=meeting, user=alice)
    theirs = services.post_contribution(participant=alice_in, body="Des bancs")
    poll = services.open_poll(actor=fiona, poll=services.create_poll(actor=fiona, meeting=meeting, question="Où ?",
                                                                      choices=["Ici", "Là"]))
    choice = str(poll.choices.first().pk)
    gaston, alice_phone = Client(HTTP_ACCEPT_LANGUAGE="en"), signed_in(alice)
    gaston.cookies["sessionid"] = guest_session(guest)
    _guests_off(meeting, fiona)

    base = f"/meetings/{meeting.pk}/live"
    writes = [("contribute/", {"body": "Et moi ?", "client_id": "g-1"}), (f"contributions/{theirs.pk}/vote/", {}),
              (f"polls/{poll.pk}/answer/", {"choice": choice}), ("react/", {"kind": "clap"}),
              ("hand/", {"action": "raise"})]
    for path, data in writes:
        refused = gaston.post(f"{base}/{path}", data, **HTMX)
        assert refused.status_code == 403, path
        assert SIGN_IN in refused.content.decode() and "sign in" in refused.content.decode().lower(), path
    assert not Contribution.objects.filter(participant=guest).exists()
    assert not PollAnswer.objects.filter(participant=guest).exists()
    assert not SpeakerRequest.objects.filter(participant=guest).exists()

    # alice, signed in, is unaffected
    assert alice_phone.post(f"{base}/contribute/", {"body": "Moi aussi", "client_id": "a-1"}, **HTMX).status_code == 200
    assert alice_phone.post(f"{base}/polls/{poll.pk}/answer/", {"choice": choice}, **HTMX).status_code == 200
    assert alice_phone.post(f"{base}/react/", {"kind": "clap"}, **HTMX).status_code == 204
    assert alice_phone.post(f"{base}/hand/", {"action": "raise"}, **HTMX).status_code == 200

    # The pages say it: the guest's page marks the state (its forms hidden, the sign-in note shown by the style),
    # alice's shows her forms as before.
    page = gaston.get(f"{base}/").content.decode()
    assert "data-guest" in page and "guests-closed" in page
    assert "/accounts/login/?next=" in page[page.index('id="live-state"'):]
    mine = alice_phone.get(f"{base}/").content.decode()
    assert "data-guest" not in mine and 'id="contribution-form"' in mine


@pytest.mark.django_db(transaction=True)
async def test_a_guests_socket_writes_are_refused_once_guests_are_switched_off(fiona, alice, settings):
    meeting = await sync_to_async(make_meeting)(fiona, premoderation=False)
    guest = await sync_to_async(services.join)(meeting=meeting, nickname="Gaston", ip="10.0.0.7")
    await sync_to_async(services.join)(meeting=meeting, user=alice)
    ws = await connect(cookie=await sync_to_async(guest_session)(guest), lang="en")  # its refusals in English
    await follow(ws, meeting.stream_key)
    tapped = await write(ws, "t0", "meetings.react", {"meeting": str(meeting.pk), "kind": "clap"})
    assert tapped["type"] == "written"  # the phone is known (meetings/phones.py) before the switch
    await sync_to_async(_guests_off)(meeting, fiona)
    for ident, action, data in (("t1", "meetings.react", {"kind": "clap"}),
                                ("c1", "meetings.contribute", {"body": "Et moi ?", "client_id": "g-2"}),
                                ("h1", "meetings.hand", {"action": "raise"})):
        refused = await write(ws, ident, action, {"meeting": str(meeting.pk), **data})
        assert refused["type"] == "refused" and refused["kind"] == "forbidden", action
        assert SIGN_IN in refused["message"]
    alice_ws = await connect(alice)
    await follow(alice_ws, meeting.stream_key)
    ok = await write(alice_ws, "a1", "meetings.contribute", {"meeting": str(meeting.pk), "body": "Moi aussi",
                                                             "client_id": "a-2"})
    assert ok["type"] == "written"
    await ws.disconnect()
    await alice_ws.disconnect()


@pytest.mark.django_db
def test_switching_guests_off_is_announced_politely_on_the_phones(fiona, settings):
    import json

    from django.utils import translation

    from live import streams
    from live.models import Event

    meeting = make_meeting(fiona, premoderation=False)
    _guests_off(meeting, fiona)
    event = Event.objects.filter(stream=meeting.stream_key, kind="session.changed").last()
    with translation.override("en"):
        html = json.loads(streams.pick(streams.frames(event), "public", "en"))["html"]
    announcer = html[html.index('id="live-announcer"'):]
    assert SIGN_IN in announcer
    services.update_session_settings(actor=fiona, meeting=meeting, slow_mode_seconds=10)  # guests stay off
    event = Event.objects.filter(stream=meeting.stream_key, kind="session.changed").last()
    assert "live-announcer" not in json.loads(streams.pick(streams.frames(event), "public", "en"))["html"]
