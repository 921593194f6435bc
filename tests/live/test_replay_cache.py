"""Replays are rendered once for every socket that resumes (a reconnect storm), never reusing a rendering that a
later event on the same thing made stale."""

import pytest

from live import streams

pytestmark = pytest.mark.django_db(transaction=True)

STATE = {}
CALLS = []


@pytest.fixture(autouse=True)
def renderer():
    streams._replay_cache.clear()
    CALLS.clear()

    @streams.renderer("test.item")
    def render(event, r):
        CALLS.append(event.seq)
        return f"<p id='item-{event.data['item']}'>{STATE.get(event.data['item'], 'shown')}</p>"

    yield
    streams._renderers.pop("test.item", None)


def html_of(msgs):
    return [m["frames"]["*:fr"] for m in msgs]


def test_a_storm_renders_each_event_once():
    for item in (1, 2, 3):
        streams.append("debate.7", "test.item", item=item)
    epoch = streams.cursor("debate.7").epoch
    first = streams.replay_messages("debate.7", 0, epoch=epoch)
    calls = len(CALLS)
    for _ in range(50):
        assert html_of(streams.replay_messages("debate.7", 0, epoch=epoch)) == html_of(first)
    assert len(CALLS) == calls  # 50 more sockets, no more rendering


def test_a_later_event_on_the_same_thing_forces_a_fresh_rendering():
    streams.append("debate.7", "test.item", item=1)
    streams.append("debate.7", "test.item", item=2)
    assert "shown" in html_of(streams.replay_messages("debate.7", 0))[0]
    STATE[1] = "hidden"  # the item is hidden, and that is an event touching it
    streams.append("debate.7", "test.item", item=1)
    try:
        replayed = html_of(streams.replay_messages("debate.7", 0))
    finally:
        STATE.clear()
    assert "shown" not in replayed[0] and "hidden" in replayed[0]
    assert len(replayed) == 3
