"""A flood of poll answers past the `vote` limit is refused before the poll's row is locked: each refused answer
costs a rate-limit check, not a row lock that the other phones' answers and the facilitator's close wait behind.
A refused (bad) answer still spends none of the limit.

- alice: signed in, joined the meeting; fiona: the global facilitator who runs it (tests/meetings/conftest.py).
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from live.ratelimit import RateLimited
from meetings import services
from meetings.models import PollAnswer

pytestmark = pytest.mark.django_db


@pytest.fixture
def poll(meeting, fiona):
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Quel parc ?",
                                choices=["Parc André-Malraux", "Parc des Anciennes-Mairies"])
    return services.open_poll(actor=fiona, poll=poll)


def _locks(queries) -> list[str]:
    return [q["sql"] for q in queries if "FOR UPDATE" in q["sql"] or "FOR NO KEY UPDATE" in q["sql"]]


def test_an_answer_past_the_limit_is_refused_without_locking_the_poll(settings, meeting, alice_in, poll):
    settings.RATE_LIMITS = {"vote": "1/60"}
    first, second = poll.choices.all()
    services.answer_poll(participant=alice_in, poll=poll, choices=[first])
    with CaptureQueriesContext(connection) as queries, pytest.raises(RateLimited):
        services.answer_poll(participant=alice_in, poll=poll, choices=[second])
    assert _locks(queries.captured_queries) == []
    assert list(PollAnswer.objects.values_list("choice", flat=True)) == [first.pk]


def test_a_refused_answer_spends_none_of_the_limit(settings, meeting, fiona, alice_in, poll):
    settings.RATE_LIMITS = {"vote": "1/60"}
    first = poll.choices.first()
    for bad in (["999999"], [], [first.pk, "999999"]):
        with pytest.raises(ValidationError):
            services.answer_poll(participant=alice_in, poll=poll, choices=bad)
    other = services.create_poll(actor=fiona, meeting=meeting, question="Où ?", choices=["Ici", "Là"])
    services.close_poll(actor=fiona, poll=services.open_poll(actor=fiona, poll=other))
    with pytest.raises(ValidationError):  # closed
        services.answer_poll(participant=alice_in, poll=other, choices=[other.choices.first()])
    services.answer_poll(participant=alice_in, poll=poll, choices=[first])  # the one attempt is still there
    assert PollAnswer.objects.get().choice == first


def test_refused_words_spend_none_of_the_limit_and_a_flood_locks_nothing(settings, meeting, fiona, alice_in):
    settings.RATE_LIMITS = {"vote": "1/60"}
    poll = services.open_poll(actor=fiona, poll=services.create_poll(actor=fiona, meeting=meeting,
                                                                     question="En un mot ?", kind="words"))
    for bad in ([], ["!!!"], ["un deux trois quatre cinq six"]):
        with pytest.raises(ValidationError):
            services.answer_words(participant=alice_in, poll=poll, texts=bad)
    services.answer_words(participant=alice_in, poll=poll, texts=["ombre"])
    with CaptureQueriesContext(connection) as queries, pytest.raises(RateLimited):
        services.answer_words(participant=alice_in, poll=poll, texts=["arbres"])
    assert _locks(queries.captured_queries) == []
