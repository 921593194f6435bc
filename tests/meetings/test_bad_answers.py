"""A poll answer naming a choice that is not one of the poll's: the whole answer is refused with a clear error on the
choices, nothing written, no rate-limit attempt spent (the socket's write is in test_socket_writes.py).

- alice: signed in, joined the meeting; fiona: the global facilitator who runs it (tests/meetings/conftest.py).
"""

import pytest

from meetings import services
from meetings.models import PollAnswer
from tests.meetings.conftest import make_meeting, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def open_meeting(fiona):
    return make_meeting(fiona, premoderation=False)


@pytest.fixture
def alice_phone(open_meeting, alice):
    services.join(meeting=open_meeting, user=alice)
    return signed_in(alice)


@pytest.fixture
def poll(open_meeting, fiona):
    poll = services.create_poll(actor=fiona, meeting=open_meeting, question="Quel parc ?", kind="multiple",
                                choices=["Parc André-Malraux", "Parc des Anciennes-Mairies"])
    return services.open_poll(actor=fiona, poll=poll)


@pytest.mark.parametrize("bad", ["abc", "999999", "", "0"])
def test_it_refuses_a_whole_answer_with_one_bad_choice_among_good_ones(settings, open_meeting, alice_phone, poll,
                                                                       bad):
    settings.RATE_LIMITS = {"vote": "1/60"}
    good = [str(c.pk) for c in poll.choices.all()]
    url = f"/meetings/{open_meeting.pk}/live/polls/{poll.pk}/answer/"
    response = alice_phone.post(url, {"choice": [good[0], bad]}, **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == f"#poll-{poll.pk}-form-errors"
    assert "choice" in response.content.decode().lower()
    assert not PollAnswer.objects.exists()
    ok = alice_phone.post(url, {"choice": good}, **HTMX)  # the refusal spent no attempt
    assert ok.status_code == 200
    assert PollAnswer.objects.count() == 2


def test_an_answer_with_a_bad_choice_is_refused_without_javascript(open_meeting, alice_phone, poll):
    good = poll.choices.first().pk
    response = alice_phone.post(f"/meetings/{open_meeting.pk}/live/polls/{poll.pk}/answer/",
                                {"choice": [str(good), "nope"]})
    assert response.status_code == 302
    page = alice_phone.get(response["Location"]).content.decode()
    assert "choice" in page[page.index('id="flash"'):][:600].lower()
    assert not PollAnswer.objects.exists()
