"""A poll closed then reopened: a participant who had answered sees their answer checked, after a reload (the page
renders it) and live, without any request of their phone: the pushes of a poll that is on the phones already change
its state (its heading, its results) and never the answer form, which each phone keeps from its page or its own
answer, hidden while the poll is closed (parts.html#poll). 300 phones, no request at all per reopen: only the
first opening pushes the whole card. alice answered, bob is signed in but never joined, fiona runs the meeting
(conftest)."""

import json
import re

import pytest

from live import streams
from live.models import Event
from meetings import services
from tests.meetings.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(meeting, fiona, alice_in):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Quel parc ?", kind="multiple",
                                choices=["Malraux", "Anciennes-Mairies", "Chemin de l'île"])
    services.open_poll(actor=fiona, poll=poll)
    picked = list(poll.choices.all()[:2])
    services.answer_poll(participant=alice_in, poll=poll, choices=picked)
    return poll, {c.pk for c in picked}


@pytest.fixture
def reopened(answered, fiona):
    poll, mine = answered
    services.close_poll(actor=fiona, poll=poll)
    services.open_poll(actor=fiona, poll=poll)
    return poll, mine


def _checked(html, poll):
    form = html[html.index(f'id="poll-{poll.pk}-form"'):]
    form = form[:form.index("</form>")]
    return {int(v) for v in re.findall(r'name="choice" value="(\d+)" checked', form)}


def _pushed(meeting):
    event = Event.objects.filter(stream=meeting.stream_key, kind="poll.changed").last()
    return json.loads(streams.pick(streams.frames(event), "public", "en"))["html"]


def test_after_a_reload_alices_answer_is_checked(meeting, reopened, alice):
    poll, mine = reopened
    assert _checked(signed_in(alice).get(f"/meetings/{meeting.pk}/live/").content.decode(), poll) == mine


def test_the_reopen_push_changes_the_cards_state_and_leaves_each_phones_form(meeting, reopened):
    poll, _mine = reopened
    pushed = _pushed(meeting)
    assert "hx-get" not in pushed  # no phone asks for anything: no herd of requests
    assert f'id="poll-{poll.pk}-form"' not in pushed  # the form each phone holds (its answer checked) stays
    assert f'id="poll-{poll.pk}"' not in pushed  # nor is the card replaced around it
    head = re.search(rf'<h3 id="poll-{poll.pk}-head" class="poll-question is-open" hx-swap-oob="true">', pushed)
    assert head and "Open" in pushed[head.end():pushed.index("</h3>", head.end())]
    assert f'id="poll-{poll.pk}-results"' in pushed
    assert "New poll: Quel parc ?" in pushed  # said politely, as at its first opening


def test_the_close_push_leaves_the_form_too(meeting, answered, fiona):
    poll, _mine = answered
    services.close_poll(actor=fiona, poll=poll)
    pushed = _pushed(meeting)
    assert f'id="poll-{poll.pk}-form"' not in pushed and f'id="poll-{poll.pk}"' not in pushed
    assert f'<h3 id="poll-{poll.pk}-head" class="poll-question is-closed" hx-swap-oob="true">' in pushed


def test_a_page_loaded_while_the_poll_is_closed_holds_alices_answer_for_a_reopening(meeting, answered, fiona,
                                                                                      alice, bob):
    poll, mine = answered
    services.close_poll(actor=fiona, poll=poll)
    page = signed_in(alice).get(f"/meetings/{meeting.pk}/live/").content.decode()
    assert f'<h3 id="poll-{poll.pk}-head" class="poll-question is-closed"' in page  # the form is hidden after it
    assert _checked(page, poll) == mine
    assert _checked(signed_in(bob).get(f"/meetings/{meeting.pk}/live/").content.decode(), poll) == set()


def test_a_first_opening_pushes_the_whole_card(meeting, fiona):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Où ?", choices=["Ici", "Là"])
    services.open_poll(actor=fiona, poll=poll)
    pushed = _pushed(meeting)
    assert 'hx-swap-oob="afterbegin:#polls"' in pushed and f'id="poll-{poll.pk}-form"' in pushed
    assert "hx-get" not in pushed
