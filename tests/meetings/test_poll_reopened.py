"""A poll closed then reopened: a participant who had answered sees their answer checked, after a reload (the page
renders it) and live (the pushed card is the public one, rendered once for everyone: it asks for the person's own
form by itself, parts.html#poll, and only when someone answered already). alice answered, bob is signed in but
never joined, fiona runs the meeting (conftest)."""

import json
import re

import pytest

from live import streams
from live.models import Event
from meetings import services
from tests.meetings.conftest import english_client, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def reopened(meeting, fiona, alice_in):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Quel parc ?", kind="multiple",
                                choices=["Malraux", "Anciennes-Mairies", "Chemin de l'île"])
    services.open_poll(actor=fiona, poll=poll)
    picked = list(poll.choices.all()[:2])
    services.answer_poll(participant=alice_in, poll=poll, choices=picked)
    services.close_poll(actor=fiona, poll=poll)
    services.open_poll(actor=fiona, poll=poll)
    return poll, {c.pk for c in picked}


def _checked(html, poll):
    form = html[html.index(f'id="poll-{poll.pk}-form"'):]
    form = form[:form.index("</form>")]
    return {int(v) for v in re.findall(r'name="choice" value="(\d+)" checked', form)}


def test_after_a_reload_alices_answer_is_checked(meeting, reopened, alice):
    poll, mine = reopened
    assert _checked(signed_in(alice).get(f"/meetings/{meeting.pk}/live/").content.decode(), poll) == mine


def test_the_pushed_card_asks_for_alices_own_form_which_has_her_answer_checked(meeting, reopened, alice, bob):
    poll, mine = reopened
    event = Event.objects.filter(stream=meeting.stream_key, kind="poll.changed").last()
    pushed = json.loads(streams.pick(streams.frames(event), "public", "en"))["html"]
    assert _checked(pushed, poll) == set()  # rendered once for everyone
    url = f"/meetings/{meeting.pk}/live/polls/{poll.pk}/form/"
    assert re.search(rf'<span hidden class="participant-only" hx-get="{url}" hx-trigger="load" '
                     rf'hx-target="#poll-{poll.pk}-form" hx-swap="outerHTML"></span>', pushed)
    own = signed_in(alice).get(url, HTTP_HX_REQUEST="true")
    assert own.status_code == 200 and _checked(own.content.decode(), poll) == mine
    for outsider in (signed_in(bob), english_client()):  # no participant: nothing to swap
        assert outsider.get(url, HTTP_HX_REQUEST="true").status_code == 204


def test_a_first_opening_asks_nothing(meeting, fiona):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Où ?", choices=["Ici", "Là"])
    services.open_poll(actor=fiona, poll=poll)
    event = Event.objects.filter(stream=meeting.stream_key, kind="poll.changed").last()
    pushed = json.loads(streams.pick(streams.frames(event), "public", "en"))["html"]
    assert "hx-get" not in pushed  # 300 phones do not each ask for a form nobody answered yet


def test_a_closed_polls_form_is_not_served(meeting, reopened, fiona, alice):
    poll, _mine = reopened
    services.close_poll(actor=fiona, poll=poll)
    assert signed_in(alice).get(f"/meetings/{meeting.pk}/live/polls/{poll.pk}/form/").status_code == 204
