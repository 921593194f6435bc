"""The "+3" of a contribution says what it counts to a screen reader: visually hidden text (an aria-label on a span
is not read), on the phone page (and its push: the same builder,
meetings/renderers.py) and in the console. alice posts, bob supports (conftest names them)."""

import re

import pytest

from meetings import services
from tests.meetings.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def supported(meeting, fiona, alice_in, bob):
    contribution = services.post_contribution(participant=alice_in, body="Des bancs à l'ombre")
    contribution = services.approve_contribution(actor=fiona, contribution=contribution)
    services.vote(participant=services.join(meeting=meeting, user=bob), contribution=contribution)
    return contribution


def _count(html, pk, cls="vote-count"):
    item = html[html.index(f'id="contribution-{pk}"' if cls == "vote-count" else f'id="row-{pk}"'):]
    match = re.search(rf'<span class="{cls}"[^>]*>(.*?)</span></span>', item, re.S)
    assert match, item[:1500]
    return match.group(0)


def test_the_phones_count_is_read_as_what_it_counts(meeting, supported, alice):
    page = signed_in(alice).get(f"/meetings/{meeting.pk}/live/").content.decode()
    count = _count(page, supported.pk)
    assert "aria-label" not in count
    assert '<span aria-hidden="true">+1</span>' in count
    assert '<span class="visually-hidden">Supported by 1 person</span>' in count


def test_the_consoles_count_is_read_as_what_it_counts(meeting, supported, fiona):
    page = signed_in(fiona).get(f"/meetings/{meeting.pk}/console/").content.decode()
    count = _count(page, supported.pk, cls="muted vote-count")
    assert '<span class="visually-hidden">Supported by 1 person</span>' in count
